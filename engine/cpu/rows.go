package cpu

// rowOp is one of the per-token steps of a batch between its matrix
// products. Each token's row is computed on its own, so the result does not
// depend on how the rows are split between workers.
type rowOp uint8

const (
	opAttnNorm    rowOp = iota // xn = rmsNorm(x) * attn_norm
	opRopeKV                   // RoPE on q and k, k and v into the KV cache
	opAddFFNNorm               // x += out; xn = rmsNorm(x) * ffn_norm
	opSwiGLU                   // gate = silu(gate) * up
	opAdd                      // x += out
	opAddAttnNorm              // x += out; xn = rmsNorm(x) * the next layer's attn_norm
)

// rowTask runs a rowOp for the tokens of a batch, one token per item.
type rowTask struct {
	b       *Backend
	op      rowOp
	l, next *layer
	pos     int
}

func (t *rowTask) run(_, i0, i1 int) {
	b, c := t.b, &t.b.c
	E := c.NEmbd
	qDim, kvDim := c.NHead*c.HeadDim, c.NHeadKV*c.HeadDim
	for tk := i0; tk < i1; tk++ {
		x, xn, out := b.x[tk*E:(tk+1)*E], b.xn[tk*E:(tk+1)*E], b.out[tk*E:(tk+1)*E]
		switch t.op {
		case opAttnNorm:
			rmsNorm(xn, x, t.l.attnNorm, c.RMSEps)
		case opRopeKV:
			cs := b.rope[tk*c.RopeDim : (tk+1)*c.RopeDim]
			ropeNorm(b.q[tk*qDim:(tk+1)*qDim], c.NHead, c.HeadDim, cs)
			ropeNorm(b.k[tk*kvDim:(tk+1)*kvDim], c.NHeadKV, c.HeadDim, cs)
			b.storeKV(t.l, t.pos+tk, b.k[tk*kvDim:(tk+1)*kvDim], b.v[tk*kvDim:(tk+1)*kvDim])
		case opAddFFNNorm:
			add(x, out)
			rmsNorm(xn, x, t.l.ffnNorm, c.RMSEps)
		case opSwiGLU: // per row: ggml's SIMD blocks start at each row
			swiGLU(b.gate[tk*c.NFF:(tk+1)*c.NFF], b.up[tk*c.NFF:(tk+1)*c.NFF])
		case opAdd:
			add(x, out)
		case opAddAttnNorm:
			add(x, out)
			rmsNorm(xn, x, t.next.attnNorm, c.RMSEps)
		}
	}
}

// rows runs op for the n tokens of the batch at positions pos..: on the
// pool for a batch, on the calling goroutine for one token (too little work
// to share).
func (b *Backend) rows(op rowOp, l, next *layer, n, pos int) {
	t := &b.rt
	t.op, t.l, t.next, t.pos = op, l, next, pos
	if n < 2 || b.threads < 2 {
		t.run(0, 0, n)
	} else {
		b.pool.run(t, n, (n+2*b.threads-1)/(2*b.threads), b.threads)
	}
	t.l, t.next = nil, nil
}
