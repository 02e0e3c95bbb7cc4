//go:build !purego

package quant

// Batched Q4_0 kernels in the repacked-GEMM arithmetic (matmul_q40r_amd64.s).
// They need LevelAVX2 and nb > 0.

// q4_0Pack8AVX2 unpacks nb blocks of eight Q4_0 rows (row j at w +
// j*rowBytes) into pack, 288 bytes a block: eight vectors of 4-bit quants,
// 32-bit lane j holding four quants of row j, then the rows' float32 d_w.
//
//go:noescape
func q4_0Pack8AVX2(w *byte, rowBytes, nb int, pack *byte)

// q8_0GemmTabAVX2 stores float32(d_a) and the int32 8*Σq_a of block b of
// Q8_0 activation row i (at a + i*aStride) at tab[(i*nb+b)*8:], for i <
// rows and b < nb.
//
//go:noescape
func q8_0GemmTabAVX2(a *byte, aStride, rows, nb int, tab *byte)

// q4_0GemmR4AVX2 carries the accumulators dst[i*ldDst+0..7] of activation
// rows i = 0..3 (at a + i*aStride, table entries at tab + i*tabStride)
// with the eight packed weight rows through nb blocks.
//
//go:noescape
func q4_0GemmR4AVX2(pack, a *byte, aStride int, tab *byte, tabStride, nb int, dst *float32, ldDst int)
