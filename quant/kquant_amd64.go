//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// haveAVX2 reports whether the AVX2 K-quant kernels (which also use FMA and
// F16C, like llama.cpp's haswell build) can run here. Fixed at program start.
var haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// q4KDotAVX2 is ggml_vec_dot_q4_K_q8_K's AVX2 kernel over nb blocks,
// bit-identical to llama.cpp's haswell build.
//
//go:noescape
func q4KDotAVX2(x, y *byte, nb int) float32

// q6KDotAVX2 is ggml_vec_dot_q6_K_q8_K's AVX2 kernel over nb blocks,
// bit-identical to llama.cpp's haswell build.
//
//go:noescape
func q6KDotAVX2(x, y *byte, nb int) float32

// q5KDotAVX2 is ggml_vec_dot_q5_K_q8_K's AVX2 kernel over nb blocks,
// bit-identical to llama.cpp's haswell build.
//
//go:noescape
func q5KDotAVX2(x, y *byte, nb int) float32

// q2KDotAVX2 is ggml_vec_dot_q2_K_q8_K's AVX2 kernel over nb blocks,
// bit-identical to llama.cpp's haswell build.
//
//go:noescape
func q2KDotAVX2(x, y *byte, nb int) float32

// q3KDotAVX2 is ggml_vec_dot_q3_K_q8_K's AVX2 kernel over nb blocks,
// bit-identical to llama.cpp's haswell build.
//
//go:noescape
func q3KDotAVX2(x, y *byte, nb int) float32
