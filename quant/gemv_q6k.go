package quant

// gemvQ6KPrefetch is how far ahead of the block it works on the Q6_K
// one-token kernel prefetches, in bytes (the stream runs on into the next
// rows, which lie right after).
const gemvQ6KPrefetch = 1024

// gemvQ6K is Gemv for Q6_K weights on AVX2: the rows are looped inside the
// kernel, which prefetches pf bytes ahead of each block. Each row's result
// is q6KDotAVX2's bits.
func gemvQ6K(dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1, pf int) {
	dst = dst[:r1]
	if r0 >= r1 {
		return
	}
	nb := n / qkK
	if nb == 0 {
		for r := r0; r < r1; r++ {
			dst[r] = 0
		}
		return
	}
	a = a[:nb*q8KBytes]
	_ = w[(r1-1)*rowBytes+nb*q6KBytes-1]
	q6KGemvAVX2(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], nb, r1-r0, pf)
}
