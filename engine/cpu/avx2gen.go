package cpu

// The AVX2 kernels of this package are generated with avo by quant/_avo
// (AVO_SET=avx2-cpu, _avo/avx2_cpu.go) into avx2cpu_amd64.{s,go}:
//
//   - the exponentials of softmax and SwiGLU (expSumBlocksAVX2,
//     swiGLUBlocksAVX2): ggml_v_expf eight lanes at a time with the
//     hardware fused multiply-add, as llama.cpp's AVX2 build computes it.
//     Both stop before a block that needs ggml_v_expf's slow path
//     (|n| > 126) and return how many elements they did; expSumBlocks and
//     swiGLUBlocks finish such blocks in Go.
//   - the AVX2+FMA+F16C attention kernels (tinyDotRowsF16AVX2,
//     ggmlDotRowsF16AVX2, ggmlDotRowsF16ShortAVX2, ggmlDotRowsF16x8AVX2,
//     roundF16AVX2), bit for bit equal to their Go twins in attention.go
//     (tinyDotRowsF16, ggmlDotRowsF16, roundF16s). Callers check the
//     bounds: rows rows of n elements, stride elements apart, from x; n
//     elements of y; rows results at out.
//
// Regenerate them with `go generate ./engine/cpu` and commit both files
// (quant/_avo/check.sh compares).
//
//go:generate sh -c "cd ../../quant/_avo && AVO_SET=avx2-cpu go run . -out ../../engine/cpu/avx2cpu_amd64.s -stubs ../../engine/cpu/avx2cpu_amd64.go -pkg cpu"
