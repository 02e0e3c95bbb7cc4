//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// legacyAVX2 reports whether the AVX2 kernels for the 32-element block types
// can run here. It is fixed at program start.
var legacyAVX2 = cpu.X86.HasAVX2

// The kernels below store, for each of nb weight/activation block pairs, the
// exact integer dot product of the block's quants into out[i]; the callers
// scale and accumulate them in float32 exactly as the portable code does, so
// results equal the portable path's. They serve CPUs with AVX2 but without
// FMA/F16C; the *DotAVX2 kernels below take precedence. Implemented in
// legacy_amd64.s.

//go:noescape
func q4_0Q8_0SumsAVX2(w, a *byte, nb int, out *int32)

//go:noescape
func q4_1Q8_1SumsAVX2(w, a *byte, nb int, out *int32)

//go:noescape
func q5_0Q8_0SumsAVX2(w, a *byte, nb int, out *int32)

//go:noescape
func q5_1Q8_1SumsAVX2(w, a *byte, nb int, out *int32)

//go:noescape
func q8_0Q8_0SumsAVX2(w, a *byte, nb int, out *int32)

// Whole-row dot products in ggml-cpu's AVX2 order (see legacy_amd64.s);
// they need floatAVX2 (AVX2, FMA, F16C) and nb > 0.

//go:noescape
func q4_0Q8_0DotAVX2(w, a *byte, nb int) float32

//go:noescape
func q4_1Q8_1DotAVX2(w, a *byte, nb int) float32

//go:noescape
func q5_0Q8_0DotAVX2(w, a *byte, nb int) float32

//go:noescape
func q5_1Q8_1DotAVX2(w, a *byte, nb int) float32

//go:noescape
func q8_0Q8_0DotAVX2(w, a *byte, nb int) float32
