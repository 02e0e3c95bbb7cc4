//go:build !purego

package quant

// The kernels below store, for each of nb weight/activation block pairs, the
// exact integer dot product of the block's quants into out[i] (equal to the
// portable q*Sums). The AVX2 level's row dots use the *DotAVX2 kernels
// below instead; these remain for the portable dot's inner loop when the AVX2
// level is on but a caller asks for the portable order. Implemented in
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
// they need LevelAVX2 (AVX2, FMA, F16C) and nb > 0.

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

// q4_0Q8_0GemvAVX2 is one row of GemvQ4_0 (ggml_gemv_q4_0_8x8_q8_0's
// order); it needs LevelAVX2 and nb > 0.
//
//go:noescape
func q4_0Q8_0GemvAVX2(w, a *byte, nb int) float32
