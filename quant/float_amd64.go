//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// floatAVX2 reports whether the AVX2/FMA/F16C kernels for F32, F16 and BF16
// dot products can run here. It is fixed at program start.
var floatAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

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

// fmaF32AVX2 returns x*y+z with one rounding (needs floatAVX2).
//
//go:noescape
func fmaF32AVX2(x, y, z float32) float32
