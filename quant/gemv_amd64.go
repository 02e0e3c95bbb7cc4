//go:build !purego

package quant

// The one-token multi-row GEMV kernels (q4KGemvAVX2, q4_0Q8_0Gemv8AVX2,
// prefetchRange, gemvF32AVX2, q4KGemv8AVX2, gemvF32x8AVX2) are generated
// with avo: avx2gemv_amd64.{s,go} (_avo/avx2_gemv.go, see avx2gen.go).

// hasPrefetch says whether prefetchRange does anything.
const hasPrefetch = true

// q2KGemvAVX2 sets dst[0:rows] to q2KDotAVX2 of rows > 0 consecutive Q2_K
// rows from w (stride rowBytes, nb > 0 blocks) with a, prefetching pf > 0
// bytes ahead of each block.
//
//go:noescape
func q2KGemvAVX2(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int)

// q3KGemvAVX2 is q2KGemvAVX2 for Q3_K rows, each row q3KDotAVX2's bits.
//
//go:noescape
func q3KGemvAVX2(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int)
