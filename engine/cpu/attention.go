package cpu

import "github.com/hearthllm/hearth/quant"

// attnTask computes causal multi-head attention for a batch; its items are
// (token, head) pairs.
type attnTask struct {
	b     *Backend
	layer int
	pos   int
	avx2  bool // run the AVX2 kernels (quant's kernel level is LevelAVX2 or above)
	// batched: the batch has several tokens, for which llama.cpp computes
	// attention with tinyBLAS instead of ggml_vec_dot.
	batched bool
}

// attention fills b.att for the n tokens of the batch at positions pos..
// from b.q and the layer's KV cache (already holding the batch's K and V).
func (b *Backend) attention(layer, n, pos int) {
	t := &b.attn
	t.layer, t.pos, t.batched = layer, pos, n > 1
	lvl, _ := quant.KernelLevel()
	t.avx2 = lvl >= quant.LevelAVX2
	c := &b.c
	// Heads are shared from an eighth of minParallelWork on: each head
	// also pays for the conversions and the softmax, and a serial step
	// longer than the workers' polling costs a wake-up (TinyLlama: from
	// the second position on).
	workers := b.threads
	if n*c.NHead*(pos+n)*c.HeadDim*2 < minParallelWork/8 {
		workers = 1
	}
	b.pool.run(t, n*c.NHead, 1, workers)
}

// run follows llama.cpp's attention without flash attention: KQ = K·q with
// q converted to the cache type, softmax(KQ*scale) in float32, then each
// output element is a dot product of a transposed V row with the weights
// converted to the cache type. llama.cpp computes both products with
// tinyBLAS (llamafile_sgemm) when the batch has several tokens and with
// ggml_vec_dot_f32/f16 when it has one (sgemm declines n < 2); its rows of
// scores and V are padded with masked positions (zero weights) to n_kv, a
// multiple of 256 positions or the context size, which in ggml_vec_dot puts
// every real product in the 32-wide SIMD blocks.
func (t *attnTask) run(w, i0, i1 int) {
	b := t.b
	c := &b.c
	l := &b.layers[t.layer]
	ws := &b.workers[w]
	hd := c.HeadDim
	qDim, kvDim := c.NHead*hd, c.NHeadKV*hd
	group := c.NHead / c.NHeadKV
	f16 := b.kvElem == 2
	avx2 := t.avx2
	for i := i0; i < i1; i++ {
		tok, h := i/c.NHead, i%c.NHead
		nkv := t.pos + tok + 1
		kvh := h / group
		q := b.q[tok*qDim+h*hd : tok*qDim+(h+1)*hd]
		scores := ws.scores[:nkv]
		out := b.att[tok*qDim+h*hd : tok*qDim+(h+1)*hd]
		// KQ goes through tinyBLAS only for a batch with the F16 cache: with
		// the F32 cache the permuted queries are not contiguous and need no
		// conversion, so llama.cpp takes ggml_vec_dot_f32 (and tinyBLAS
		// declines k % 8 != 0).
		tiny := t.batched && f16 && hd%8 == 0
		// Decoding, the value products run over nkv rounded up to 32 (at
		// most the context), the extra weights zero.
		npad := nkv
		if !t.batched {
			npad = min((nkv+31)&^31, b.nCtx)
		}
		if f16 {
			qa := ws.qa[:hd]
			roundF16s(avx2, qa, q)
			if tiny {
				tinyDotRowsF16(avx2, l.k16[kvh*hd:], kvDim, qa, b.scale, scores)
			} else {
				ggmlDotRowsF16(avx2, l.k16[kvh*hd:], kvDim, qa, scores)
				for j := range scores {
					scores[j] *= b.scale
				}
			}
			softmax(scores)
			pa := ws.pa[:npad]
			roundF16s(avx2, pa[:nkv], scores)
			clear(pa[nkv:])
			v := l.v16[kvh*hd*b.nCtx:]
			if t.batched {
				tinyDotRowsF16(avx2, v, b.nCtx, pa, 1, out)
			} else {
				ggmlDotRowsF16(avx2, v, b.nCtx, pa, out)
			}
			continue
		}
		kc := l.k32
		for j := range scores {
			off := j*kvDim + kvh*hd
			if tiny {
				scores[j] = tinyDotF32(kc[off:off+hd], q) * b.scale
			} else {
				scores[j] = ggmlDotF32(kc[off:off+hd], q) * b.scale
			}
		}
		softmax(scores)
		sp := ws.scores[:npad]
		clear(sp[nkv:])
		for d := range out {
			row := (kvh*hd + d) * b.nCtx
			if t.batched {
				out[d] = tinyDotF32(l.v32[row:row+nkv], scores)
			} else {
				out[d] = ggmlDotF32(l.v32[row:row+npad], sp)
			}
		}
	}
}

// tinyDotRowsF16 sets out[r] = tinyDotF16(x[r*stride:r*stride+n], y) * scale
// for each r, n = len(y) > 0, with the AVX2 kernel when avx2 is set (the CPU
// must have it) and the last row can be read up to n rounded up to 8. A
// scale of 1 leaves the dot products as they are.
func tinyDotRowsF16(avx2 bool, x []uint16, stride int, y []float32, scale float32, out []float32) {
	n := len(y)
	if len(out) == 0 || n == 0 {
		return
	}
	last := (len(out) - 1) * stride
	_ = x[last+n-1] // the last row is in range
	if avx2 && last+(n+7)&^7 <= len(x) {
		tinyDotRowsF16AVX2(&x[0], stride, len(out), &y[0], n, scale, &out[0])
		return
	}
	for r := range out {
		out[r] = tinyDotF16(x[r*stride:r*stride+n], y) * scale
	}
}

// ggmlDotRowsF16 sets out[r] = ggmlDotF16(x[r*stride:r*stride+n], y) for
// each r, n = len(y) > 0, with the AVX2 kernel when avx2 is set (the CPU
// must have it).
func ggmlDotRowsF16(avx2 bool, x []uint16, stride int, y []float32, out []float32) {
	n := len(y)
	if len(out) == 0 || n == 0 {
		return
	}
	_ = x[(len(out)-1)*stride+n-1] // the last row is in range
	if avx2 {
		rows := len(out)
		if n < 32 && n%8 == 0 && rows >= 8 { // tiny heads: eight rows at a time
			r8 := rows &^ 7
			ggmlDotRowsF16ShortAVX2(&x[0], stride, r8, &y[0], n, &out[0])
			if r8 == rows {
				return
			}
			x, out = x[r8*stride:], out[r8:]
		}
		if n%32 == 0 && rows >= 8 { // no tail: eight rows' reductions at once
			r8 := rows &^ 7
			ggmlDotRowsF16x8AVX2(&x[0], stride, r8, &y[0], n, &out[0])
			if r8 == rows {
				return
			}
			x, out = x[r8*stride:], out[r8:]
		}
		ggmlDotRowsF16AVX2(&x[0], stride, len(out), &y[0], n, &out[0])
		return
	}
	for r := range out {
		out[r] = ggmlDotF16(x[r*stride:r*stride+n], y)
	}
}

// roundF16s sets dst[i] = roundF16(src[i]) for i < len(src), with the AVX2
// kernel for whole groups of eight when avx2 is set (the CPU must have it).
func roundF16s(avx2 bool, dst, src []float32) {
	dst = dst[:len(src)]
	i := 0
	if n8 := len(src) &^ 7; avx2 && n8 > 0 {
		roundF16AVX2(&dst[0], &src[0], n8)
		i = n8
	}
	for ; i < len(src); i++ {
		dst[i] = roundF16(src[i])
	}
}
