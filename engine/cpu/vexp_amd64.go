//go:build !purego

package cpu

// AVX2+FMA kernels for the exponentials of softmax and SwiGLU
// (vexp_amd64.s): ggml_v_expf eight lanes at a time with the hardware
// fused multiply-add, as llama.cpp's AVX2 build computes it. Both stop
// before a block that needs ggml_v_expf's slow path (|n| > 126) and return
// how many elements they did; expSumBlocks and swiGLUBlocks finish such
// blocks in Go.

// expSumBlocksAVX2 replaces x[i] by vExpf(x[i]-mx) for whole blocks of 8
// of the first n8 elements and adds each block's sum to *sum.
//
//go:noescape
func expSumBlocksAVX2(x *float32, n8 int, mx float32, sum *float64) int

// swiGLUBlocksAVX2 sets gate[i] = silu(gate[i])*up[i] for whole blocks of
// 8 of the first n8 elements.
//
//go:noescape
func swiGLUBlocksAVX2(gate, up *float32, n8 int) int
