package cpu

// attnTask computes causal multi-head attention for a batch; its items are
// (token, head) pairs.
type attnTask struct {
	b     *Backend
	layer int
	pos   int
	// batched: the batch has several tokens, for which llama.cpp computes
	// attention with tinyBLAS instead of ggml_vec_dot.
	batched bool
}

// attention fills b.att for the n tokens of the batch at positions pos..
// from b.q and the layer's KV cache (already holding the batch's K and V).
func (b *Backend) attention(layer, n, pos int) {
	t := &b.attn
	t.layer, t.pos, t.batched = layer, pos, n > 1
	c := &b.c
	workers := b.threads
	if n*c.NHead*(pos+n)*c.HeadDim*2 < minParallelWork {
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
	for i := i0; i < i1; i++ {
		tok, h := i/c.NHead, i%c.NHead
		nkv := t.pos + tok + 1
		kvh := h / group
		q := b.q[tok*qDim+h*hd : tok*qDim+(h+1)*hd]
		scores := ws.scores[:nkv]
		out := b.att[tok*qDim+h*hd : tok*qDim+(h+1)*hd]
		tiny := t.batched && hd%8 == 0 // tinyBLAS for KQ (it declines k % 8 != 0)
		// Decoding, the value products run over nkv rounded up to 32 (at
		// most the context), the extra weights zero.
		npad := nkv
		if !t.batched {
			npad = min((nkv+31)&^31, b.nCtx)
		}
		if f16 {
			qa := ws.qa[:hd]
			for d, v := range q {
				qa[d] = roundF16(v)
			}
			kc := l.k16
			for j := range scores {
				off := j*kvDim + kvh*hd
				if tiny {
					scores[j] = tinyDotF16(kc[off:off+hd], qa) * b.scale
				} else {
					scores[j] = ggmlDotF16(kc[off:off+hd], qa) * b.scale
				}
			}
			softmax(scores)
			pa := ws.pa[:npad]
			for j, p := range scores {
				pa[j] = roundF16(p)
			}
			clear(pa[nkv:])
			for d := range out {
				row := (kvh*hd + d) * b.nCtx
				if t.batched {
					out[d] = tinyDotF16(l.v16[row:row+nkv], pa)
				} else {
					out[d] = ggmlDotF16(l.v16[row:row+npad], pa)
				}
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
