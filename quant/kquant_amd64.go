//go:build !purego

package quant

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
