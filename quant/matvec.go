package quant

// MatVec computes dst[r] = W[r,:]·a for r in [r0, r1): the seam the CPU
// backend splits over threads and SIMD replaces. w is the whole matrix with
// row stride rowBytes, n the row length in elements, and a one activation row
// already converted to tr.VecDotType. dst is indexed by absolute row.
func MatVec(tr *Traits, dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) {
	dot := tr.VecDot
	dst = dst[:r1]
	for r := r0; r < r1; r++ {
		off := r * rowBytes
		dst[r] = dot(n, w[off:off+rowBytes], a)
	}
}

// dotChunk is how many blocks a dot product's integer kernel handles per
// call (its sums live on the stack).
const dotChunk = 64

// matMulRowTile is how many weight rows MatMul keeps hot in cache while it
// walks the activation rows.
const matMulRowTile = 16

// MatMul computes dst[i*ldDst+r] = W[r,:]·A[i,:] for weight rows r in
// [r0, r1) and activation rows i in [0, m): the batched (prefill) form of
// MatVec. A holds m rows of aRowBytes each, already converted to
// tr.VecDotType. Weight rows are visited in small tiles so that each tile is
// read from memory once for all m activation rows. Results equal MatVec's
// bit for bit.
func MatMul(tr *Traits, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) {
	dot := tr.VecDot
	for t0 := r0; t0 < r1; t0 += matMulRowTile {
		t1 := min(t0+matMulRowTile, r1)
		for i := 0; i < m; i++ {
			ar := a[i*aRowBytes : (i+1)*aRowBytes]
			out := dst[i*ldDst : i*ldDst+t1]
			for r := t0; r < t1; r++ {
				off := r * rowBytes
				out[r] = dot(n, w[off:off+rowBytes], ar)
			}
		}
	}
}
