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
	if typ == gguf.TypeQ2_K {
		gemvQ2K(dst, w, rowBytes, n, a, r0, r1, pf, gemvQ2KAhead*4*rowBytes)
		return
	}
	gemvRowLoop(q3KGemvAVX2, q3KBytes, dst, w, rowBytes, n, a, r0, r1, pf)
}

// gemvQ2KAhead is how many four-row passes ahead q2KGemv4AVX2 prefetches.
const gemvQ2KAhead = 1

// gemvQ2K is gemvK23 for Q2_K: four rows a pass through q2KGemv4AVX2
// (prefetching the rows pfOff bytes on), the last (r1-r0)%4 rows through
// q2KGemvAVX2 (prefetching pf bytes ahead of each block). Each row gets
// q2KDotAVX2's bits.
func gemvQ2K(dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1, pf, pfOff int) {
	r4 := r0 + (r1-r0)/4*4
	if r4 > r0 {
		dst = dst[:r1]
		nb := n / qkK
		if nb == 0 {
			gemvRowLoop(q2KGemvAVX2, q2KBytes, dst, w, rowBytes, n, a, r0, r4, pf)
		} else {
			a = a[:nb*q8KBytes]
			_ = w[(r4-1)*rowBytes+nb*q2KBytes-1]
			q2KGemv4AVX2(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], nb, (r4-r0)/4, pfOff)
		}
	}
	gemvRowLoop(q2KGemvAVX2, q2KBytes, dst, w, rowBytes, n, a, r4, r1, pf)
}
