//go:build !purego

package quant

// Batched kernels (matmul_amd64.s): one weight row times four activation
// rows, each equal bit for bit to the matching single-row *DotAVX2 kernel.
// a points at activation row 0, rows 1..3 follow at aStride bytes; tab holds
// per block the fp32 activation scales of the four rows (Q4_1/Q5_1: then
// their fp32 s values); out receives four sums (Q4_1/Q5_1: then four min
// terms the caller adds last). They need LevelAVX2 and nb > 0.

//go:noescape
func q4_0Q8_0Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)

//go:noescape
func q5_0Q8_0Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)

//go:noescape
func q8_0Q8_0Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)

//go:noescape
func q4_1Q8_1Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)

//go:noescape
func q5_1Q8_1Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)

// dotF32x3AVX2 and dotF16x3AVX2 add the products of one weight row chunk
// (n elements, n > 0 a multiple of 32) with three activation row chunks of
// the same type (row 0 at y, rows 1 and 2 at yStride bytes apart) into the twelve
// eight-lane accumulators at acc (96 floats: four per activation row),
// exactly as dotF32AVX2/dotF16AVX2 accumulate. reduceF32x3AVX2 reduces them
// into out[0..2] like those kernels. They need LevelAVX2.

//go:noescape
func dotF32x3AVX2(x, y *float32, yStride, n int, acc *float32)

//go:noescape
func dotF16x3AVX2(x, y *uint16, yStride, n int, acc *float32)

//go:noescape
func reduceF32x3AVX2(acc *float32, out *float32)

// q8_0Q8_0Dot8AVX2, q4_0Q8_0Dot8AVX2 and q5_0Q8_0Dot8AVX2 are the eight-row forms of the
// batched kernels: activation rows 0..7 at aStride, tab eight fp32(d_a) per
// block, out eight sums.

//go:noescape
func q8_0Q8_0Dot8AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)

//go:noescape
func q4_0Q8_0Dot8AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)

//go:noescape
func q5_0Q8_0Dot8AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)

// dotF32x3FullAVX2 and dotF16x3FullAVX2 are dotF32x3AVX2/dotF16x3AVX2 from
// zero accumulators over whole rows (n > 0 a multiple of 32) followed by
// reduceF32x3AVX2 into out[0..2]. They need LevelAVX2.

//go:noescape
func dotF32x3FullAVX2(x, y *float32, yStride, n int, out *float32)

//go:noescape
func dotF16x3FullAVX2(x, y *uint16, yStride, n int, out *float32)
