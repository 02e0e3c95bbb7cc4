//go:build !purego

package quant

// The batched four- and eight-row legacy kernels and the three-row float
// kernels are generated (avx2matmul_amd64.{s,go}, quant/_avo/avx2_matmul.go).

// q8_0PairSums8AVX2 stores, for blocks b < nb of eight Q8_0 activation rows
// (row r at a + r*aStride), the 16 int16 sums 8*(a_2i + a_2i+1) at
// corr[(b*8+r)*32:] (matmul_q40c_amd64.s). It needs LevelAVX2 and nb > 0.
//
//go:noescape
func q8_0PairSums8AVX2(a *byte, aStride, nb int, corr *byte)

// q4_0Q8_0Dot8CAVX2 is q4_0Q8_0Dot8AVX2 (same sums bit for bit) with the
// pair sums q8_0PairSums8AVX2 computed for the same activation rows.
//
//go:noescape
func q4_0Q8_0Dot8CAVX2(w, a *byte, aStride int, tab *float32, corr *byte, nb int, out *float32)
