package cpu

// attnTask computes causal multi-head attention for a batch; its items are
// (token, head) pairs.
type attnTask struct {
	b     *Backend
	layer int
	pos   int
}

// attention fills b.att for the n tokens of the batch at positions pos..
// from b.q and the layer's KV cache (already holding the batch's K and V).
func (b *Backend) attention(layer, n, pos int) {
	t := &b.attn
	t.layer, t.pos = layer, pos
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
// converted to the cache type. Both products are computed like tinyBLAS,
// which llama.cpp uses for them when decoding.
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
		if f16 {
			qa := ws.qa[:hd]
			for d, v := range q {
				qa[d] = roundF16(v)
			}
			kc := l.k16
			for j := range scores {
				off := j*kvDim + kvh*hd
				scores[j] = tinyDotF16(kc[off:off+hd], qa) * b.scale
			}
			softmax(scores)
			pa := ws.pa[:nkv]
			for j, p := range scores {
				pa[j] = roundF16(p)
			}
			for d := range out {
				row := (kvh*hd + d) * b.nCtx
				if nkv%8 != 0 {
					out[d] = ggmlDotF16(l.v16[row:row+nkv], pa)
				} else {
					out[d] = tinyDotF16(l.v16[row:row+nkv], pa)
				}
			}
			continue
		}
		kc := l.k32
		for j := range scores {
			off := j*kvDim + kvh*hd
			scores[j] = tinyDotF32(kc[off:off+hd], q) * b.scale
		}
		softmax(scores)
		for d := range out {
			row := (kvh*hd + d) * b.nCtx
			if nkv%8 != 0 {
				out[d] = ggmlDotF32(l.v32[row:row+nkv], scores)
			} else {
				out[d] = tinyDotF32(l.v32[row:row+nkv], scores)
			}
		}
	}
}
