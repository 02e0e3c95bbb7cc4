//go:build !purego

package quant

// q4KQ8KDot4AVX2 is the batched form of q4KDotAVX2: one Q4_K weight row (w,
// nb blocks) times four Q8_K activation rows (row 0 at a, the others
// aStride bytes apart), writing out[0..3], each equal bit for bit to
// q4KDotAVX2 on that pair. tmp is 352 bytes of scratch. It needs
// LevelAVX2 and nb > 0.
//
//go:noescape
func q4KQ8KDot4AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32)

// q6KQ8KDot4AVX2 is the batched form of q6KDotAVX2, with the arguments of
// q4KQ8KDot4AVX2; tmp is 640 bytes of scratch.
//
//go:noescape
func q6KQ8KDot4AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32)

// q4KQ8KDot8AVX2 is the eight-row form of q4KQ8KDot4AVX2: activation rows
// 0..7 at aStride, out eight sums; tmp is 704 bytes of scratch.
//
//go:noescape
func q4KQ8KDot8AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32)

// q6KQ8KDot8AVX2 is the eight-row form of q6KQ8KDot4AVX2; tmp is 960 bytes
// of scratch.
//
//go:noescape
func q6KQ8KDot8AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32)
