package quant

import "github.com/hearthllm/hearth/gguf"

// gemvK23Prefetch is how far ahead of the block it works on the Q2_K and
// Q3_K one-token kernels prefetch, in bytes (the stream runs on into the
// next rows, which lie right after).
const gemvK23Prefetch = 2048

// gemvK23 is Gemv for Q2_K or Q3_K weights (typ) on AVX2: the rows are
// looped inside the kernel, which prefetches pf bytes ahead of each block.
// Each row's result is q2KDotAVX2's or q3KDotAVX2's bits, i.e. the type's
// AVX2 VecDot.
func gemvK23(typ gguf.TensorType, dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1, pf int) {
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
	if typ == gguf.TypeQ2_K {
		_ = w[(r1-1)*rowBytes+nb*q2KBytes-1]
		q2KGemvAVX2(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], nb, r1-r0, pf)
		return
	}
	_ = w[(r1-1)*rowBytes+nb*q3KBytes-1]
	q3KGemvAVX2(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], nb, r1-r0, pf)
}
