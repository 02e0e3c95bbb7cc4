package quant

// gemvQ6KPrefetch is how far ahead of the block it works on the Q6_K
// one-token kernel prefetches, in bytes (the stream runs on into the next
// rows, which lie right after). 1536 (about 7 blocks) read 4-6 % faster out
// of DRAM on the Zen 3 VM than 1024; 2048 and more gained less.
const gemvQ6KPrefetch = 1536

// gemvQ6K is Gemv for Q6_K weights on AVX2: the rows are looped inside the
// kernel, which prefetches pf bytes ahead of each block. Each row's result
// is q6KDotAVX2's bits.
func gemvQ6K(dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1, pf int) {
	gemvRowLoop(q6KGemvAVX2, q6KBytes, dst, w, rowBytes, n, a, r0, r1, pf)
}

// rowLoopKernel is a K-quant one-token kernel that loops over rows weight
// rows itself (rowBytes apart, nb blocks each, against nb Q8_K activation
// blocks at a), prefetching pf bytes ahead, and stores one float a row.
type rowLoopKernel func(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int)

// gemvRowLoop runs kern over rows [r0, r1) of w (blockBytes a weight
// block): dst[r] for those rows, 0 for rows of no whole block.
func gemvRowLoop(kern rowLoopKernel, blockBytes int, dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1, pf int) {
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
	_ = w[(r1-1)*rowBytes+nb*blockBytes-1]
	kern(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], nb, r1-r0, pf)
}
