//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// haveAVX2 reports whether the AVX2 K-quant kernels (which also use FMA and
// F16C, like llama.cpp's haswell build) can run here. Fixed at program start.
var haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// q3KGroupDotsAVX2 stores, for each of nb Q3_K/Q8_K block pairs, the
// block's integer dot sum_g (sc_g-32)*(sum(q*q8) - 4*bsum_g) into out[i].
//
//go:noescape
func q3KGroupDotsAVX2(x, y *byte, nb int, out *int32)

// q2KGroupDotsAVX2 stores, for each of nb Q2_K/Q8_K block pairs, the
// block's scaled dot sum_g (sc_g&15)*sum(q*q8) into out[2i] and its min
// term sum_g (sc_g>>4)*bsum_g into out[2i+1].
//
//go:noescape
func q2KGroupDotsAVX2(x, y *byte, nb int, out *int32)

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
