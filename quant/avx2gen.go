package quant

// Some of the AVX2 kernels (so far the float dot products dotF32AVX2,
// dotF16AVX2, dotBF16AVX2 and fmaF32AVX2, and the Q8_0 activation quantizer
// quantizeActQ8_0AVX2) are generated with avo like the AVX-512 ones (see
// avx512.go): _avo/avx2_float.go writes avx2gen_amd64.s
// and avx2gen_amd64.go when AVO_SET=avx2; regenerate them with
// `go generate ./quant` and commit both (_avo/check.sh compares).
//
//go:generate sh -c "cd _avo && AVO_SET=avx2 go run . -out ../avx2gen_amd64.s -stubs ../avx2gen_amd64.go -pkg quant"
//go:generate sh -c "cd _avo && AVO_SET=avx2-act go run . -out ../avx2act_amd64.s -stubs ../avx2act_amd64.go -pkg quant"
