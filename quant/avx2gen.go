package quant

// Most AVX2 kernels are generated with avo like the AVX-512 ones (see
// avx512.go), one output per set of quant/_avo (AVO_SET): the float dot
// products and the Q8_0 activation quantizer (_avo/avx2_float.go, "avx2":
// avx2gen_amd64.{s,go}), the K-quant dot products (_avo/avx2_kquant.go,
// "avx2-kquant": avx2kquant_amd64.{s,go}), the Q4_0/Q4_1/Q5_0/Q5_1/Q8_0
// kernels (_avo/avx2_legacy.go, "avx2-legacy": avx2legacy_amd64.{s,go}),
// the Q8_K activation quantizer and the row-looping Q6_K gemv
// (_avo/avx2_act.go, "avx2-act": avx2act_amd64.{s,go}), and the batched
// Q2_K/Q3_K/Q5_K kernels (_avo/avx2_mmk23.go, "avx2-mmk23":
// avx2mmk23_amd64.{s,go}), and the register-blocked batched F16 kernel
// (_avo/avx2_f16gemm.go, "avx2-f16gemm": avx2f16gemm_amd64.{s,go}), and the
// kernels of Q4_0 weights interleaved eight rows at a time (_avo/q40x8.go,
// "q40x8": q40x8_amd64.{s,go}) and Q4_K weights (_avo/q4kx8.go, "q4kx8":
// q4kx8_amd64.{s,go}), AVX2 and AVX512_VNNI.
// Regenerate them with `go generate ./quant` and commit both files of each
// (_avo/check.sh compares).
//
//go:generate sh -c "cd _avo && AVO_SET=avx2 go run . -out ../avx2gen_amd64.s -stubs ../avx2gen_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-kquant go run . -out ../avx2kquant_amd64.s -stubs ../avx2kquant_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-legacy go run . -out ../avx2legacy_amd64.s -stubs ../avx2legacy_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-act go run . -out ../avx2act_amd64.s -stubs ../avx2act_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-mmk23 go run . -out ../avx2mmk23_amd64.s -stubs ../avx2mmk23_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-mmkquant go run . -out ../avx2mmkquant_amd64.s -stubs ../avx2mmkquant_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-gemv go run . -out ../avx2gemv_amd64.s -stubs ../avx2gemv_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-q80q40 go run . -out ../avx2q80q40_amd64.s -stubs ../avx2q80q40_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-matmul go run . -out ../avx2matmul_amd64.s -stubs ../avx2matmul_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-k4r go run . -out ../avx2k4r_amd64.s -stubs ../avx2k4r_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-f16gemm go run . -out ../avx2f16gemm_amd64.s -stubs ../avx2f16gemm_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=q40x8 go run . -out ../q40x8_amd64.s -stubs ../q40x8_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=q4kx8 go run . -out ../q4kx8_amd64.s -stubs ../q4kx8_amd64.go -pkg quant"
