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
