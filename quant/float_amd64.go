//go:build !purego

package quant

// The kernels take n > 0, a multiple of 32, and return the reduced sum of
// the first n products the way ggml-cpu's AVX2 ggml_vec_dot_f32,
// ggml_vec_dot_f16 and ggml_vec_dot_bf16 compute it (same lanes, FMA where
// ggml uses it, same reduction tree); the callers add the leftovers like
// ggml. Implemented in float_amd64.s.

//go:noescape
func dotF32AVX2(x, y *float32, n int) float32

//go:noescape
func dotF16AVX2(x, y *uint16, n int) float32

//go:noescape
func dotBF16AVX2(x, y *uint16, n int) float32

// fmaF32AVX2 returns x*y+z with one rounding (needs LevelAVX2).
//
//go:noescape
func fmaF32AVX2(x, y, z float32) float32
