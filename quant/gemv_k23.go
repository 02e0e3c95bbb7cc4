package quant

import "github.com/hearthllm/hearth/gguf"

// gemvK23Prefetch is how far ahead of the block it works on the Q2_K and
// Q3_K one-token kernels prefetch, in bytes (the stream runs on into the
// next rows, which lie right after). 3072 measured 1.2-2.1 % faster than
// 2048 in TinyLlama Q2_K decode (tokens alternated in one process, 2
// threads); 1024 and 1536 were slower, 4096 and 6144 no better.
const gemvK23Prefetch = 3072

// gemvK23 is Gemv for Q2_K or Q3_K weights (typ) on AVX2: the rows are
// looped inside the kernel, which prefetches pf bytes ahead of each block.
// Each row's result is q2KDotAVX2's or q3KDotAVX2's bits, i.e. the type's
// AVX2 VecDot.
func gemvK23(typ gguf.TensorType, dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1, pf int) {
	if typ == gguf.TypeQ2_K {
		gemvRowLoop(q2KGemvAVX2, q2KBytes, dst, w, rowBytes, n, a, r0, r1, pf)
		return
	}
	gemvRowLoop(q3KGemvAVX2, q3KBytes, dst, w, rowBytes, n, a, r0, r1, pf)
}
