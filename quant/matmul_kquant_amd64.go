//go:build !purego

package quant

// q2KQ8KDotNAVX2 is the batched form of q2KDotAVX2 (matmul_k23_amd64.s):
// one Q2_K weight row (w, nb blocks) times rows Q8_K activation rows (row 0
// at a, the others aStride bytes apart), 0 < rows <= 8, writing
// out[0..rows-1], each equal bit for bit to q2KDotAVX2 on that pair. tmp
// is 640 bytes of scratch. It needs LevelAVX2 and nb > 0.
//
//go:noescape
func q2KQ8KDotNAVX2(w, a *byte, aStride int, tmp *byte, nb, rows int, out *float32)

// q3KQ8KDotNAVX2 is the batched form of q3KDotAVX2, with the arguments of
// q2KQ8KDotNAVX2; tmp is 928 bytes of scratch.
//
//go:noescape
func q3KQ8KDotNAVX2(w, a *byte, aStride int, tmp *byte, nb, rows int, out *float32)

// q5KQ8KDotNAVX2 is the batched form of q5KDotAVX2, with the arguments of
// q2KQ8KDotNAVX2; tmp is 736 bytes of scratch.
//
//go:noescape
func q5KQ8KDotNAVX2(w, a *byte, aStride int, tmp *byte, nb, rows int, out *float32)
