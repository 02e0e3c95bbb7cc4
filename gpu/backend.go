package gpu

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/engine/cpu"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
)

// maxBatch is the most tokens one command buffer processes; longer Evals
// are cut into batches of this size.
const maxBatch = 512

// Backend is the WebGPU implementation of engine.Backend and
// engine.ArgmaxBackend.
type Backend struct {
	res  resources
	d    *device
	cfg  engine.Config
	nCtx int

	step     *wgpu.Buffer // Step: n_tok, pos, token ids
	stepHost []byte
	logits   *wgpu.Buffer
	result   *wgpu.Buffer    // argmax: index, value bits, n_tok
	readRes  [2]*wgpu.Buffer // MapRead copies of result (two: see ahead)
	readLog  *wgpu.Buffer    // MapRead copy of logits
	topk     *wgpu.Buffer    // top-k: topkMax indexes, their value bits, n_tok
	readTopK *wgpu.Buffer    // MapRead copy of topk

	xq [2]*wgpu.Buffer // rounded activations

	rec recorder // records and submits without Go allocations (native.go)

	decode []dispatch // one token
	batch  []dispatch // several tokens
	// decodeTopK and batchTopK are decode and batch with the top-k pick
	// (topk.wgsl) in the argmax's place.
	decodeTopK, batchTopK []dispatch

	batchTT int // tokens per pass of the batched matrix kernel

	// pre is the next greedy decode step's command buffer, recorded while
	// the GPU ran the last one, for the program starting at preKey, copying
	// its result to readRes[preSlot].
	pre     cmdBuf
	preKey  *dispatch
	preLen  int
	preSlot int

	// ahead is the greedy decode step submitted before it was asked for.
	// The argmax kernel leaves the next step (one token: the one it chose,
	// at the next position) in the step buffer, so after a greedy Eval the
	// backend submits that step at once and the GPU runs it while the host
	// reads the chosen token back and the caller decides to go on. If the
	// caller then asks for exactly that step, its result is already on the
	// way; otherwise it is dropped (it wrote only the KV cache at a position
	// the next Eval writes before anything reads it, the step buffer and its
	// own result buffer). noAhead turns this off (HEARTH_GPU_AHEAD=0).
	ahead   aheadStep
	noAhead bool

	// Dispatches counts the dispatches recorded by the last Eval.
	Dispatches int
	// encodeTime is the host time of recording and submitting the last
	// batch's command buffer.
	encodeTime time.Duration
}

var (
	_ engine.Backend       = (*Backend)(nil)
	_ engine.ArgmaxBackend = (*Backend)(nil)
	_ engine.TopKBackend   = (*Backend)(nil)
)

// New uploads m's weights to a WebGPU device and builds every pipeline and
// bind group of the forward pass. It returns an error wrapping ErrNoAdapter
// when no allowed adapter exists.
func New(m *engine.Model, o engine.Options, g Options) (engine.Backend, error) {
	b, err := newBackend(m, o, g)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func newBackend(m *engine.Model, o engine.Options, g Options) (*Backend, error) {
	c := m.Config
	if c.NHead%c.NHeadKV != 0 || c.HeadDim%4 != 0 || c.HeadDim > 128 || c.RopeDim > c.HeadDim {
		return nil, fmt.Errorf("gpu: unsupported attention shape: %d heads, %d kv heads, head dim %d, rope dim %d",
			c.NHead, c.NHeadKV, c.HeadDim, c.RopeDim)
	}
	d, err := openDevice(g)
	if err != nil {
		return nil, err
	}
	b := &Backend{d: d, cfg: c, res: resources{d: d}, rec: newRecorder(d)}
	b.noAhead = os.Getenv(aheadEnv) == "0"
	if v, err := strconv.Atoi(os.Getenv("HEARTH_GPU_TPR")); err == nil && v >= 4 && v <= 256 && v&(v-1) == 0 {
		b.res.tpr = v // tuning experiments
	}
	if b.res.tune, err = readMVDTuning(); err != nil {
		b.Close()
		return nil, err
	}
	if v, err := strconv.Atoi(os.Getenv("HEARTH_GPU_TT")); err == nil && v >= 1 && v <= 32 {
		b.batchTT = v // tuning experiments
	}
	b.nCtx = o.ContextSize
	if b.nCtx <= 0 {
		b.nCtx = engine.DefaultContextSize(c)
	}
	if err := b.build(m); err != nil {
		b.Close()
		return nil, fmt.Errorf("gpu: %s: %w", d.info.Name, err)
	}
	return b, nil
}

// Name returns "gpu".
func (b *Backend) Name() string { return "gpu" }

// Adapter describes the adapter in use.
func (b *Backend) Adapter() string {
	return fmt.Sprintf("%s (%s, %s)", b.d.info.Name, b.d.info.AdapterType, b.d.info.BackendType)
}

// Close releases every GPU resource.
func (b *Backend) Close() error {
	if b.ahead.on {
		b.d.dev.Poll(true, nil)
	}
	b.dropAhead()
	b.rec.free()
	b.res.release()
	b.d.release()
	b.d = nil
	return nil
}

// vector dequantizes a 1-row tensor to float32 bytes.
func vector(t engine.Tensor) ([]byte, error) {
	tr, err := quant.For(t.Type)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	v := make([]float32, t.Cols)
	tr.Dequantize(v, t.Data)
	return wgpu.ToBytes(v), nil
}

func sameType(ts ...engine.Tensor) bool {
	for _, t := range ts[1:] {
		if t.Type != ts[0].Type {
			return false
		}
	}
	return true
}

// ropeTable holds (cos, sin) for every position and rotated pair, computed
// like ggml's rope cache (theta multiplied by base^(-2/n_rot) in float32).
func ropeTable(c engine.Config, nCtx int, ff []float32) []float32 {
	half := c.RopeDim / 2
	out := make([]float32, nCtx*half*2)
	for p := 0; p < nCtx; p++ {
		// the CPU's own table (its sincosf, not the correctly rounded
		// values: they differ in rare last bits)
		cpu.RopeCache(out[2*p*half:2*(p+1)*half], p, c.RopeDim, c.RopeBase, 1/c.RopeScale, ff)
	}
	return out
}

func (b *Backend) build(m *engine.Model) error {
	c := b.cfg
	r := &b.res
	qDim, kvDim := c.NHead*c.HeadDim, c.NHeadKV*c.HeadDim
	qkvStride := qDim + 2*kvDim
	var err error
	buf := func(label string, n int, extra wgpu.BufferUsage) *wgpu.Buffer {
		if err != nil {
			return nil
		}
		var bb *wgpu.Buffer
		bb, err = r.buffer(label, n, extra)
		return bb
	}
	b.stepHost = make([]byte, 16+4*maxBatch)
	b.step = buf("step", len(b.stepHost), 0)
	x := buf("x", 4*maxBatch*c.NEmbd, 0)
	xn := buf("xn", 4*maxBatch*c.NEmbd, 0)
	qkv := buf("qkv", 4*maxBatch*qkvStride, 0)
	att := buf("att", 4*maxBatch*qDim, 0)
	ff := buf("ff", 4*maxBatch*c.NFF, 0)
	b.logits = buf("logits", 4*c.NVocab, 0)
	b.result = buf("result", 16, 0)
	b.topk = buf("top-k", topkBytes, 0)
	if err != nil {
		return err
	}
	if b.readTopK, err = d2hBuffer(r, "top-k readback", topkBytes); err != nil {
		return err
	}
	for i := range b.readRes {
		if b.readRes[i], err = d2hBuffer(r, "result readback", 16); err != nil {
			return err
		}
	}
	if b.readLog, err = d2hBuffer(r, "logits readback", 4*c.NVocab); err != nil {
		return err
	}

	var ff32 []float32
	if m.RopeFreqs.Data != nil {
		v := make([]float32, m.RopeFreqs.Cols)
		tr, e := quant.For(m.RopeFreqs.Type)
		if e != nil {
			return e
		}
		tr.Dequantize(v, m.RopeFreqs.Data)
		ff32 = v
	}
	cs, err := r.upload("rope table", wgpu.ToBytes(ropeTable(c, b.nCtx, ff32)))
	if err != nil {
		return err
	}

	// embedding lookup
	emb, err := r.uploadWeight("token_embd", 0, m.TokEmbd)
	if err != nil {
		return err
	}
	var embDs []dispatch
	for _, ch := range emb.chunks {
		if len(emb.chunks) > 1 {
			return fmt.Errorf("token_embd (%d bytes) exceeds one storage binding", emb.rows*emb.rowBytes)
		}
		src, e := buildShader("get_rows", typeKernel[emb.typ], nil, nil)
		if e != nil {
			return e
		}
		p, e := r.pipeline("get_rows "+emb.typ.String(), src)
		if e != nil {
			return e
		}
		u, e := r.uniform("get_rows params", uint32(emb.cols), uint32(emb.rowBytes), 0, 0)
		if e != nil {
			return e
		}
		bg, e := r.bind("get_rows", p, ch.buf, x, u, b.step)
		if e != nil {
			return e
		}
		embDs = append(embDs, dispatch{label: "get_rows", pipe: p, bg: bg, x: 1, y: 1, tokX: true})
	}
	b.decode = append(b.decode, embDs...)
	b.batch = append(b.batch, embDs...)

	ropeSrc, err := buildShader("rope_kv", "", nil, nil)
	if err != nil {
		return err
	}
	ropeP, err := r.pipeline("rope_kv", ropeSrc)
	if err != nil {
		return err
	}
	attSrc, err := buildShader("attention", "", nil, nil)
	if err != nil {
		return err
	}
	attP, err := r.pipeline("attention", attSrc)
	if err != nil {
		return err
	}
	ropeU, err := r.uniform("rope params", uint32(c.NHead), uint32(c.NHeadKV), uint32(c.HeadDim), uint32(c.RopeDim), uint32(qkvStride), 0, 0, 0)
	if err != nil {
		return err
	}
	attU, err := r.uniform("attention params", uint32(c.NHead), uint32(c.NHeadKV), uint32(c.HeadDim), uint32(qkvStride),
		f32w(1/float32(math.Sqrt(float64(c.HeadDim)))), 0, 0, 0) // the CPU's rounding of the scale (engine/cpu)
	if err != nil {
		return err
	}
	// decode: split attention whose partials the output projection merges
	// (when the fused kernel takes the output projection)
	comb := attnSplit(c.NHead, c.HeadDim, b.nCtx, r.tune.attnSplit)
	var attSP *wgpu.ComputePipeline
	var attSU, attp *wgpu.Buffer
	if woVdt, e := vecDotType(m.Layers[0].Wo.Type); e == nil && r.mvdOK(qDim, woVdt) &&
		mvdLDS(qDim, &comb) <= int(b.d.limits.MaxComputeWorkgroupStorageSize) {
		src, e := buildShader("attention", "", nil, map[string]bool{"SPLIT": true})
		if e != nil {
			return e
		}
		if attSP, e = r.pipeline("attention split", src); e != nil {
			return e
		}
		attSU, e = r.uniform("attention split params", uint32(c.NHead), uint32(c.NHeadKV), uint32(c.HeadDim), uint32(qkvStride),
			f32w(1/float32(math.Sqrt(float64(c.HeadDim)))), uint32(comb.split), uint32(comb.slots), 0)
		if e != nil {
			return e
		}
		if attp, e = r.buffer("attention partials", 4*comb.floats(), 0); e != nil {
			return e
		}
	}
	xqCols := max(c.NEmbd, qDim, c.NFF)
	b.xq = [2]*wgpu.Buffer{buf("xq0", 4*maxBatch*xqCols, 0), buf("xq1", 4*maxBatch*xqCols, 0)}
	xq := b.xq
	if err != nil {
		return err
	}
	// both programs: decode fuses the norm (tt=1), batch runs rmsnorm first (tt=8)
	type prog struct {
		ds *[]dispatch
		tt int
	}
	if b.batchTT == 0 {
		b.batchTT = 8
	}
	progs := []prog{{&b.decode, 1}, {&b.batch, b.batchTT}}
	addMV := func(p prog, m mv) error {
		ds, e := r.product(b.step, m) // prefill.go: tiled GEMM for the batch program
		if e != nil {
			return e
		}
		*p.ds = append(*p.ds, ds...)
		return nil
	}
	// group records the matrix products mvs that share the input src
	// (normalized by g when not nil): inputs are rounded to each weight's
	// vec-dot type like the CPU does (actq), or, for F32 vec-dot types,
	// normalized inside the matrix kernel (decode, last) or by rmsnorm.
	// Decode (and the batch's last-token output) uses the fused kernel
	// (mvd.go) where it fits: no actq or rmsnorm dispatch, and with rope
	// set the QKV product also applies RoPE and writes the KV cache.
	//
	// Decode: prep, when not nil, is the row the previous residual product
	// prepared for these products (they load it instead of preparing it
	// themselves, where its format is theirs); tail, when not nil, makes
	// this residual product prepare the next group's row (planTail).
	group := func(p prog, label string, src *wgpu.Buffer, cols int, g *wgpu.Buffer, mvs []mv, last bool, rope *ropeSpec,
		prep, tail *tailSpec) error {
		// fused sets m up for the fused kernel (mvd.go), where it runs
		fused := func(m mv) (mv, gguf.TensorType, bool, error) {
			vdt, e := vecDotType(m.w.typ)
			if e != nil {
				return m, 0, false, e
			}
			m.tt, m.last = p.tt, last
			if last {
				m.tt = 1
			}
			if m.tt != 1 || !r.mvdOK(cols, vdt) {
				return m, vdt, false, nil
			}
			m.x, m.norm, m.eps = src, g, c.RMSEps
			if prep != nil && g != nil && cols == prep.cols {
				if f, e := r.prepFmtOf(m.w.typ, mvOutRows(m), rope); e == nil && f == prep.fmt {
					m.x, m.prep = prep.out, prep
				}
			}
			m.tail = tail
			return m, vdt, true, nil
		}
		if rope != nil && len(mvs) == 2 && !r.tune.noPair {
			// Q, K and V in two runs of two weight types: one dispatch
			ma, va, oka, e := fused(mvs[0])
			if e != nil {
				return e
			}
			mb, vb, okb, e := fused(mvs[1])
			if e != nil {
				return e
			}
			if oka && okb {
				ds, ok, e := r.mvdPair(b.step, ma, mb, va, vb, rope)
				if e != nil {
					return e
				}
				if ok {
					*p.ds = append(*p.ds, ds...)
					return nil
				}
			}
		}
		seen := map[gguf.TensorType]*wgpu.Buffer{}
		normed := false
		for _, m := range mvs {
			m, vdt, ok, e := fused(m)
			if e != nil {
				return e
			}
			if ok {
				ds, e := r.mvd(b.step, m, vdt, rope)
				if e != nil {
					return e
				}
				*p.ds = append(*p.ds, ds...)
				continue
			}
			if rope != nil {
				return fmt.Errorf("%s: fused RoPE without the fused kernel", label)
			}
			if tail != nil {
				return fmt.Errorf("%s: a prepared row without the fused kernel", label)
			}
			switch {
			case vdt == gguf.TypeF32 && g == nil:
				m.x = src
			case vdt == gguf.TypeF32 && (p.tt == 1 || last):
				m.x, m.norm, m.eps = src, g, c.RMSEps
			case vdt == gguf.TypeF32:
				if !normed {
					ds, e := b.rmsnorm(label, src, g, xn, cols)
					if e != nil {
						return e
					}
					*p.ds = append(*p.ds, ds)
					normed = true
				}
				m.x = xn
			default:
				q, ok := seen[vdt]
				if !ok {
					if len(seen) == len(xq) {
						return fmt.Errorf("%s: too many activation types", label)
					}
					q = xq[len(seen)]
					ds, e := b.actq(label, src, g, q, cols, vdt, last)
					if e != nil {
						return e
					}
					*p.ds = append(*p.ds, ds)
					seen[vdt] = q
				}
				m.x = q
			}
			if e := addMV(p, m); e != nil {
				return e
			}
		}
		return nil
	}

	// the norms' weights first: a residual product prepares the next
	// layer's normalized row
	gAttns := make([]*wgpu.Buffer, len(m.Layers))
	gFFNs := make([]*wgpu.Buffer, len(m.Layers))
	for li, l := range m.Layers {
		for _, n := range []struct {
			t   engine.Tensor
			dst **wgpu.Buffer
		}{{l.AttnNorm, &gAttns[li]}, {l.FFNNorm, &gFFNs[li]}} {
			v, e := vector(n.t)
			if e != nil {
				return e
			}
			if *n.dst, e = r.upload(n.t.Name, v); e != nil {
				return e
			}
		}
	}
	outNorm, err := vector(m.OutputNorm)
	if err != nil {
		return err
	}
	gOut, err := r.upload("output_norm", outNorm)
	if err != nil {
		return err
	}
	// prepared rows (decode, mvd.go tailSpec): one row and one counter
	// serve every pair, which run one after the other
	var prepOut, prepCnt *wgpu.Buffer
	if r.tune.tail != tailNever {
		prepOut = buf("prepared row", 4*prepWords(c.NEmbd), 0)
		prepCnt = buf("prepared row count", 4, 0)
		if err != nil {
			return err
		}
	}
	// planTail returns the prepared row a residual product w of cols
	// columns (merging comb's attention partials when not nil) can make
	// for products cs normalized with g, or nil
	planTail := func(w *weight, cols int, comb *combSpec, g *wgpu.Buffer, cs []prodShape) *tailSpec {
		if prepOut == nil || !r.tune.tailsAllowed() || len(w.chunks) != 1 || cols < c.NEmbd || c.NEmbd%32 != 0 ||
			mvdLDS(cols, comb)+mvdTailLDS > int(r.d.limits.MaxComputeWorkgroupStorageSize) {
			return nil
		}
		f, e := r.prepFmtOf(w.typ, c.NEmbd, nil)
		if e != nil || !r.tune.tail.takes(f) || !r.mvdOK(cols, f.vdt) || !r.mvdOK(c.NEmbd, f.vdt) {
			return nil
		}
		for _, p := range cs {
			if pf, e := r.prepFmtOf(p.typ, p.outRows, p.rope); e != nil || pf != f {
				return nil
			}
		}
		return &tailSpec{fmt: f, cols: c.NEmbd, g: g, eps: c.RMSEps, out: prepOut, cnt: prepCnt}
	}
	ropeDims := &ropeSpec{qDim: qDim, kvDim: kvDim} // the QKV products' shape, for planTail
	var pend *tailSpec                              // decode: the row the last ffn_down prepared

	for li, l := range m.Layers {
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s", li, s) }
		gAttn, gFFN := gAttns[li], gFFNs[li]
		// Q, K and V in as few weights as their types allow (runs of one type)
		var qkvMVs []mv
		qkvFused := true // decode: RoPE and the KV write in the QKV product
		off := 0
		for _, run := range qkvRuns(l) {
			label := name("attn_qkv")
			if len(run) < 3 {
				label = run[0].Name
			}
			w, e := r.uploadWeight(label, 0, run...)
			if e != nil {
				return e
			}
			vdt, e := vecDotType(w.typ)
			if e != nil {
				return e
			}
			if !r.mvdOK(c.NEmbd, vdt) || len(w.chunks) != 1 || w.rows%2 != 0 {
				qkvFused = false
			}
			qkvMVs = append(qkvMVs, mv{w: w, y: qkv, yOff: off, yStride: qkvStride, mode: modeStore})
			for _, t := range run {
				off += t.Rows
			}
		}
		kc, e := r.buffer(name("k cache"), 4*b.nCtx*kvDim, 0)
		if e != nil {
			return e
		}
		vc, e := r.buffer(name("v cache"), 4*b.nCtx*kvDim, 0)
		if e != nil {
			return e
		}
		ropeBG, e := r.bind(name("rope"), ropeP, qkv, kc, vc, cs, ropeU, b.step)
		if e != nil {
			return e
		}
		attBG, e := r.bind(name("attention"), attP, qkv, kc, vc, att, attU, b.step)
		if e != nil {
			return e
		}
		var attSBG *wgpu.BindGroup
		if attSP != nil && l.Wo.Type == m.Layers[0].Wo.Type {
			if attSBG, e = r.bind(name("attention split"), attSP, qkv, kc, vc, attp, attSU, b.step); e != nil {
				return e
			}
		}
		wo, e := r.uploadWeight(name("attn_output"), 0, l.Wo)
		if e != nil {
			return e
		}
		var ffnMVs []mv
		if sameType(l.WGate, l.WUp) && (l.WGate.Rows+l.WUp.Rows)*l.WGate.RowBytes()+8 <= int(b.d.limits.MaxStorageBufferBindingSize) {
			w, e := r.uploadWeight(name("ffn_gate_up"), 0, l.WGate, l.WUp)
			if e != nil {
				return e
			}
			ffnMVs = append(ffnMVs, mv{w: w, y: ff, yStride: c.NFF, mode: modeSwiGLU})
		} else {
			up, e := r.uploadWeight(l.WUp.Name, 0, l.WUp)
			if e != nil {
				return e
			}
			gate, e := r.uploadWeight(l.WGate.Name, 0, l.WGate)
			if e != nil {
				return e
			}
			ffnMVs = append(ffnMVs, mv{w: up, y: ff, yStride: c.NFF, mode: modeStore},
				mv{w: gate, y: ff, yStride: c.NFF, mode: modeSiluMul})
		}
		down, e := r.uploadWeight(name("ffn_down"), 0, l.WDown)
		if e != nil {
			return e
		}
		rope := &ropeSpec{kc: kc, vc: vc, cs: cs, headDim: c.HeadDim, ropeDim: c.RopeDim, qDim: qDim, kvDim: kvDim}
		// what this layer's residual products prepare (decode): ffn_norm's
		// row for the FFN, and the next layer's attn_norm row for its
		// Q, K and V (or output_norm's for the output)
		var woComb *combSpec // decode's attn_output merges the split attention
		if attSBG != nil {
			woComb = &comb
		}
		ffnTail := planTail(wo, qDim, woComb, gFFN, []prodShape{{l.WGate.Type, c.NFF, nil}, {l.WUp.Type, c.NFF, nil}})
		var downTail *tailSpec
		if li+1 < len(m.Layers) {
			var cs []prodShape
			for _, run := range qkvRuns(m.Layers[li+1]) {
				n := 0
				for _, t := range run {
					n += t.Rows
				}
				cs = append(cs, prodShape{run[0].Type, n, ropeDims})
			}
			downTail = planTail(down, c.NFF, nil, gAttns[li+1], cs)
		} else {
			downTail = planTail(down, c.NFF, nil, gOut, []prodShape{{m.Output.Type, c.NVocab, nil}})
		}
		for _, p := range progs {
			fuse := p.tt == 1 && qkvFused
			var rs *ropeSpec
			if fuse {
				rs = rope
			}
			var prep, tail1, tail2 *tailSpec
			if p.tt == 1 {
				prep, tail1, tail2 = pend, ffnTail, downTail
				pend = downTail
			}
			if e := group(p, name("attn"), x, c.NEmbd, gAttn, qkvMVs, false, rs, prep, nil); e != nil {
				return e
			}
			if !fuse {
				*p.ds = append(*p.ds, dispatch{label: name("rope_kv"), pipe: ropeP, bg: ropeBG, x: 1, y: 1, tokX: true})
			}
			woMV := mv{w: wo, y: x, yStride: c.NEmbd, mode: modeAdd}
			woSrc := att
			if p.tt == 1 && attSBG != nil {
				*p.ds = append(*p.ds,
					dispatch{label: name("attention split"), pipe: attSP, bg: attSBG, x: uint32(c.NHead), y: uint32(comb.slots)})
				woMV.comb, woSrc = &comb, attp
			} else {
				ad := dispatch{label: name("attention"), pipe: attP, bg: attBG, x: uint32(c.NHead), y: 1, tokY: true}
				if p.tt > 1 { // prefill.go: tiled causal attention for the batch program
					if ad, e = r.attentionBatch(c.NHead, c.HeadDim, qkv, kc, vc, att, attU, b.step, ad); e != nil {
						return e
					}
				}
				*p.ds = append(*p.ds, ad)
			}
			if e := group(p, name("attn_output"), woSrc, qDim, nil, []mv{woMV}, false, nil, nil, tail1); e != nil {
				return e
			}
			if e := group(p, name("ffn"), x, c.NEmbd, gFFN, ffnMVs, false, nil, tail1, nil); e != nil {
				return e
			}
			if e := group(p, name("ffn_down"), ff, c.NFF, nil, []mv{{w: down, y: x, yStride: c.NEmbd, mode: modeAdd}}, false, nil, nil, tail2); e != nil {
				return e
			}
		}
	}
	out, err := r.uploadWeight("output", 0, m.Output)
	if err != nil {
		return err
	}
	argD, err := r.argmax(b.logits, b.result, b.step, c.NVocab)
	if err != nil {
		return err
	}
	topD, err := r.topK(b.logits, b.topk, b.step, c.NVocab)
	if err != nil {
		return err
	}
	for _, p := range progs {
		// the output only needs the last token
		var prep *tailSpec
		if p.tt == 1 {
			prep = pend
		}
		if e := group(p, "output", x, c.NEmbd, gOut, []mv{{w: out, y: b.logits, yStride: c.NVocab, mode: modeStore}}, true, nil, prep, nil); e != nil {
			return e
		}
		*p.ds = append(*p.ds, argD)
	}
	b.decodeTopK = append(slices.Clone(b.decode[:len(b.decode)-1]), topD)
	b.batchTopK = append(slices.Clone(b.batch[:len(b.batch)-1]), topD)
	return nil
}

// argmaxChunk is the logits a workgroup of argmax.wgsl takes (WG * UNR).
const argmaxChunk = 1024

// argmax builds the greedy pick over the n logits in logits: the chosen
// index and value to result, the next greedy step to step.
func (r *resources) argmax(logits, result, step *wgpu.Buffer, n int) (dispatch, error) {
	src, err := buildShader("argmax", "", nil, nil)
	if err != nil {
		return dispatch{}, err
	}
	p, err := r.pipeline("argmax", src)
	if err != nil {
		return dispatch{}, err
	}
	u, err := r.uniform("argmax params", uint32(n), 0, 0, 0)
	if err != nil {
		return dispatch{}, err
	}
	nwg := (n + argmaxChunk - 1) / argmaxChunk
	cand, err := r.buffer("argmax candidates", 4*(1+2*nwg), 0)
	if err != nil {
		return dispatch{}, err
	}
	bg, err := r.bind("argmax", p, logits, result, u, step, cand)
	if err != nil {
		return dispatch{}, err
	}
	return dispatch{label: "argmax", pipe: p, bg: bg, x: uint32(nwg), y: 1}, nil
}

// topkMax is the most candidates EvalTopK returns: topk.wgsl's KMAX.
const topkMax = 64

// topkBytes is the size of topk.wgsl's result: topkMax indexes, their
// values' bits and the step's token count, padded to 16 bytes.
const topkBytes = 4 * (2*topkMax + 4)

// topkPiece is the logits topk.wgsl sorts at a time (PIECE); topkGroups
// the most workgroups it runs (their candidates, topkGroups*topkMax, fill
// its final sort of SLOTS = 2048).
const (
	topkPiece  = 1024
	topkGroups = 32
)

// topK builds the top-k pick over the n logits in logits (topk.wgsl): the
// topkMax largest, in order, with their indexes to result.
func (r *resources) topK(logits, result, step *wgpu.Buffer, n int) (dispatch, error) {
	src, err := buildShader("topk", "", nil, nil)
	if err != nil {
		return dispatch{}, err
	}
	p, err := r.pipeline("top-k", src)
	if err != nil {
		return dispatch{}, err
	}
	u, err := r.uniform("top-k params", uint32(n), 0, 0, 0)
	if err != nil {
		return dispatch{}, err
	}
	nwg := min(topkGroups, (n+topkPiece-1)/topkPiece)
	cand, err := r.buffer("top-k candidates", 4*(1+2*nwg*topkMax), 0)
	if err != nil {
		return dispatch{}, err
	}
	bg, err := r.bind("top-k", p, logits, result, u, step, cand)
	if err != nil {
		return dispatch{}, err
	}
	return dispatch{label: "top-k", pipe: p, bg: bg, x: uint32(nwg), y: 1}, nil
}

// qkvRuns splits a layer's Q, K and V weights into runs of one type: the
// fewest weights the QKV product can take.
func qkvRuns(l engine.Layer) [][]engine.Tensor {
	ts := []engine.Tensor{l.Wq, l.Wk, l.Wv}
	var runs [][]engine.Tensor
	for i := 0; i < len(ts); {
		j := i + 1
		for j < len(ts) && ts[j].Type == ts[i].Type {
			j++
		}
		runs = append(runs, ts[i:j])
		i = j
	}
	return runs
}

// vecDotType is the type the CPU rounds activations to before a product
// with weights of type t.
func vecDotType(t gguf.TensorType) (gguf.TensorType, error) {
	tr, err := quant.For(t)
	if err != nil {
		return 0, err
	}
	return tr.VecDotType, nil
}

// rmsnorm builds the batch RMSNorm dispatch src -> dst.
func (b *Backend) rmsnorm(label string, src, g, dst *wgpu.Buffer, cols int) (dispatch, error) {
	r := &b.res
	shader, err := buildShader("rmsnorm", "", nil, nil)
	if err != nil {
		return dispatch{}, err
	}
	p, err := r.pipeline("rmsnorm", shader)
	if err != nil {
		return dispatch{}, err
	}
	u, err := r.uniform("rmsnorm params", uint32(cols), f32w(b.cfg.RMSEps), 0, 0)
	if err != nil {
		return dispatch{}, err
	}
	bg, err := r.bind(label+" rmsnorm", p, src, g, dst, u, b.step)
	if err != nil {
		return dispatch{}, err
	}
	return dispatch{label: label + " rmsnorm", pipe: p, bg: bg, x: 1, y: 1, tokX: true}, nil
}

// actq builds the activation-rounding dispatch src -> dst (see actq.wgsl).
func (b *Backend) actq(label string, src, g, dst *wgpu.Buffer, cols int, vdt gguf.TensorType, last bool) (dispatch, error) {
	r := &b.res
	defs := map[string]bool{"NORM": g != nil, "LAST": last}
	bs := 256
	switch vdt {
	case gguf.TypeQ8_0, gguf.TypeQ8_1:
		defs["Q8"], bs = true, 32
	case gguf.TypeQ8_K:
		defs["Q8"], defs["Q8_K"], bs = true, true, 256
	case gguf.TypeF16:
		defs["F16"] = true
	case gguf.TypeBF16:
		defs["BF16"] = true
	default:
		defs["F32"] = true
	}
	if !defs["Q8"] {
		for _, c := range []int{256, 64, 4} {
			if cols%c == 0 {
				bs = c
				break
			}
		}
	}
	if cols%bs != 0 {
		return dispatch{}, fmt.Errorf("%s: %d columns are not a multiple of the %s block %d", label, cols, vdt, bs)
	}
	// a workgroup rounds 2048 columns of a token (its norm's sum of squares
	// once): Q8 types staged in workgroup memory, 32 values a thread
	// (STAGED), the others block after block
	bpw := max(1, 2048/bs)
	consts := map[string]int{"BS": bs, "BPW": bpw}
	if defs["Q8"] {
		defs["STAGED"] = true
		consts["TPB"], consts["XSN"] = bs/32, 33*64 // actq.wgsl's WG
	}
	shader, err := buildShader("actq", "", consts, defs)
	if err != nil {
		return dispatch{}, err
	}
	p, err := r.pipeline("actq "+vdt.String(), shader)
	if err != nil {
		return dispatch{}, err
	}
	u, err := r.uniform("actq params", uint32(cols), f32w(b.cfg.RMSEps), 0, 0)
	if err != nil {
		return dispatch{}, err
	}
	bufs := []*wgpu.Buffer{src, dst, u, b.step}
	if g != nil {
		bufs = append(bufs, g)
	}
	bg, err := r.bind(label+" actq", p, bufs...)
	if err != nil {
		return dispatch{}, err
	}
	ds := dispatch{label: label + " actq", pipe: p, bg: bg, x: uint32((cols/bs + bpw - 1) / bpw), y: 1, tokY: !last}
	return ds, nil
}

func d2hBuffer(r *resources, label string, n int) (*wgpu.Buffer, error) {
	bb, err := r.d.dev.CreateBuffer(&wgpu.BufferDescriptor{
		Label: label,
		Size:  uint64(n),
		Usage: wgpu.BufferUsageMapRead | wgpu.BufferUsageCopyDst,
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: buffer %s: %w", label, err)
	}
	r.bufs = append(r.bufs, bb)
	return bb, nil
}

// Eval implements engine.Backend.
func (b *Backend) Eval(ctx context.Context, tokens []int32, pos int, logits []float32) error {
	if err := engine.CheckEval(&b.cfg, b.nCtx, tokens, pos, logits); err != nil {
		return err
	}
	out := outNone
	if logits != nil {
		out = outLogits
	}
	_, err := b.run(ctx, tokens, pos, out, func(p []byte) { copy(logits, wgpu.FromBytes[float32](p)) })
	return err
}

// EvalArgmax implements engine.ArgmaxBackend: only the chosen token id comes
// back from the GPU.
func (b *Backend) EvalArgmax(ctx context.Context, tokens []int32, pos int) (int32, error) {
	if err := engine.CheckEval(&b.cfg, b.nCtx, tokens, pos, nil); err != nil {
		return 0, err
	}
	return b.run(ctx, tokens, pos, outArgmax, nil)
}

// MaxTopK implements engine.TopKBackend.
func (b *Backend) MaxTopK() int { return topkMax }

// EvalTopK implements engine.TopKBackend: the top-k pick (topk.wgsl) runs
// on the GPU and only its candidates come back.
func (b *Backend) EvalTopK(ctx context.Context, tokens []int32, pos int, ids []int32, logits []float32) error {
	if err := engine.CheckEval(&b.cfg, b.nCtx, tokens, pos, nil); err != nil {
		return err
	}
	k := len(ids)
	if k == 0 || k != len(logits) || k > topkMax || k > b.cfg.NVocab {
		return fmt.Errorf("gpu: eval top-k: %d ids and %d logits: want as many of each, between 1 and %d", k, len(logits), min(topkMax, b.cfg.NVocab))
	}
	var bad error
	_, err := b.run(ctx, tokens, pos, outTopK, func(p []byte) {
		nFinal := len(tokens) - (len(tokens)-1)/maxBatch*maxBatch // the last batch's tokens
		if got := binary.LittleEndian.Uint32(p[8*topkMax:]); got != uint32(nFinal) {
			bad = fmt.Errorf("gpu: eval top-k: stale result (a batch of %d tokens, want %d)", got, nFinal)
			return
		}
		for i := range k {
			ids[i] = int32(binary.LittleEndian.Uint32(p[4*i:]))
			logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*(topkMax+i):]))
			if ids[i] < 0 || int(ids[i]) >= b.cfg.NVocab {
				bad = fmt.Errorf("gpu: eval top-k: candidate %d is token %d, outside the vocabulary", i, ids[i])
			}
		}
	})
	if err == nil {
		err = bad
	}
	return err
}

// output is what a batch's last command buffer brings back.
type output uint8

const (
	outNone   output = iota
	outLogits        // every logit of the last token
	outArgmax        // argmax.wgsl's pick
	outTopK          // topk.wgsl's candidates
)

// run evaluates tokens in batches of at most maxBatch; the last one brings
// back out: the argmax's id is returned, logits and top-k results are
// handed to read (mapped, valid during the call).
func (b *Backend) run(ctx context.Context, tokens []int32, pos int, out output, read func([]byte)) (int32, error) {
	for len(tokens) > 0 {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n := min(len(tokens), maxBatch)
		final := n == len(tokens)
		o := outNone
		if final {
			o = out
		}
		id, sub, err := b.submit(tokens[:n], pos, o)
		if err != nil {
			return 0, err
		}
		if final {
			var rerr error
			switch out {
			case outLogits:
				rerr = b.d.readback("readback", b.readLog, 4*b.cfg.NVocab, read)
			case outTopK:
				rerr = b.d.readbackAfter("readback", b.readTopK, topkBytes, pending{&b.rec, sub}, read)
			}
			return id, rerr
		}
		tokens, pos = tokens[n:], pos+n
	}
	return 0, nil
}

// aheadEnv turns off submitting greedy decode steps ahead ("0").
const aheadEnv = "HEARTH_GPU_AHEAD"

// aheadStep is a greedy decode step in flight that no Eval has asked for
// yet: one token, tok (the argmax of the step before), at position pos; its
// result goes to readRes[slot].
type aheadStep struct {
	on   bool
	pos  int
	tok  int32
	slot int
	sub  submission
}

// submit records and runs one batch in a single command buffer, which
// brings back out: the argmax's id is returned; for top-k the submission,
// which the caller reads the result after.
func (b *Backend) submit(tokens []int32, pos int, out output) (int32, submission, error) {
	n := len(tokens)
	wantArgmax := out == outArgmax
	greedy := wantArgmax
	if a := b.ahead; greedy && a.on && n == 1 && pos == a.pos && tokens[0] == a.tok {
		// Asked for the step already in flight: send the one after it and
		// collect this one.
		b.ahead.on = false
		if err := b.submitAhead(pos+1, a.slot^1); err != nil {
			return 0, 0, err
		}
		id, err := b.collect(a.slot, a.sub, 1)
		return id, 0, err
	}
	b.ahead.on = false // whatever is in flight is not what is asked for
	d := b.d
	t0 := time.Now()
	d.scope.push()
	var sub submission
	err := func() error {
		b.writeStep(tokens, pos)
		ds := b.decode
		if n > 1 {
			ds = b.batch
		}
		switch out {
		case outTopK:
			ds = b.decodeTopK
			if n > 1 {
				ds = b.batchTopK
			}
		case outNone, outLogits:
			ds = ds[:len(ds)-1] // argmax is last
		}
		b.Dispatches = len(ds)
		// Software adapters run a long batch as several submissions:
		// wgpu-native gives up waiting on a submission after a few seconds
		// and then frees resources the CPU rasterizer still uses.
		if d.software && n > 1 {
			for len(ds) > 4 {
				if err := b.submitPart(ds[:4], n); err != nil {
					return err
				}
				d.dev.Poll(true, nil)
				ds = ds[4:]
			}
		}
		// Greedy and top-k decode steps each record the same command buffer
		// every time (the token and position travel in the step buffer),
		// so the next step's is recorded while the GPU runs this one.
		cb, err := b.takeOrRecord(ds, n, out, 0)
		if err != nil {
			return err
		}
		sub = b.rec.submit(cb)
		b.encodeTime = time.Since(t0)
		if n == 1 && ((greedy && b.noAhead) || out == outTopK) {
			return b.preRecord(ds, out, 0)
		}
		return nil
	}()
	if perr := d.scope.pop("eval"); perr != nil {
		return 0, 0, perr
	}
	if err != nil {
		return 0, 0, fmt.Errorf("gpu: eval: %w", err)
	}
	if out == outTopK {
		return 0, sub, nil
	}
	if !wantArgmax {
		d.dev.Poll(true, nil)
		return 0, 0, nil
	}
	if greedy && !b.noAhead && pos+n < b.nCtx {
		if err := b.submitAhead(pos+n, 1); err != nil {
			return 0, 0, err
		}
	}
	id, err := b.collect(0, sub, n)
	return id, 0, err
}

// submitAhead submits the greedy decode step at pos whose token the last
// submitted step's argmax chose (both in the step buffer), its result going
// to readRes[slot], and records the command buffer of the step after it.
func (b *Backend) submitAhead(pos, slot int) error {
	if pos >= b.nCtx {
		return nil
	}
	d := b.d
	t0 := time.Now()
	d.scope.push()
	err := func() error {
		cb, err := b.takeOrRecord(b.decode, 1, outArgmax, slot)
		if err != nil {
			return err
		}
		b.ahead = aheadStep{on: true, pos: pos, slot: slot, sub: b.rec.submit(cb)}
		b.encodeTime = time.Since(t0)
		return b.preRecord(b.decode, outArgmax, slot^1)
	}()
	if perr := d.scope.pop("eval ahead"); perr != nil {
		b.ahead.on = false
		return perr
	}
	if err != nil {
		b.ahead.on = false
		return fmt.Errorf("gpu: eval ahead: %w", err)
	}
	return nil
}

// collect reads back the argmax that submission sub copied to readRes[slot]
// for a batch of n tokens; a step in flight behind it (ahead) learns that
// it runs this token.
func (b *Backend) collect(slot int, sub submission, n int) (int32, error) {
	var id int32
	err := b.d.readbackAfter("readback", b.readRes[slot], 16, pending{&b.rec, sub}, func(p []byte) {
		id = int32(binary.LittleEndian.Uint32(p))
		if got := binary.LittleEndian.Uint32(p[8:]); got != uint32(n) {
			id = -1
		}
	})
	if err != nil {
		b.ahead.on = false
		return 0, err
	}
	if id < 0 || int(id) >= b.cfg.NVocab {
		b.ahead.on = false
		return 0, fmt.Errorf("gpu: eval: argmax result %d is stale or out of range", id)
	}
	b.ahead.tok = id
	return id, nil
}

// takeOrRecord returns the pre-recorded command buffer if it is the one
// asked for, else records it.
func (b *Backend) takeOrRecord(ds []dispatch, n int, out output, slot int) (cmdBuf, error) {
	if n == 1 && (out == outArgmax || out == outTopK) && b.pre != nil && b.preKey == &ds[0] && b.preLen == len(ds) && b.preSlot == slot {
		cb := b.pre
		b.pre = nil
		return cb, nil
	}
	b.releasePre()
	return b.record(ds, n, out, slot)
}

// preRecord records the decode step ds bringing back out (outArgmax: to
// readRes[slot]; or outTopK) for a later submission.
func (b *Backend) preRecord(ds []dispatch, out output, slot int) error {
	b.releasePre()
	cb, err := b.record(ds, 1, out, slot)
	if err != nil {
		return err
	}
	b.pre, b.preKey, b.preLen, b.preSlot = cb, &ds[0], len(ds), slot
	return nil
}

// writeStep writes the token count, position and token ids of a batch into
// the step buffer (through the queue, ahead of the work that reads it).
func (b *Backend) writeStep(tokens []int32, pos int) {
	n := len(tokens)
	binary.LittleEndian.PutUint32(b.stepHost[0:], uint32(n))
	binary.LittleEndian.PutUint32(b.stepHost[4:], uint32(pos))
	for i, t := range tokens {
		binary.LittleEndian.PutUint32(b.stepHost[16+4*i:], uint32(t))
	}
	b.rec.write(b.step, b.stepHost[:16+4*n])
}

// record records ds for n tokens and the copy of out (the argmax result to
// readRes[slot], the logits or the top-k result) to its readback buffer
// into a command buffer.
func (b *Backend) record(ds []dispatch, n int, out output, slot int) (cmdBuf, error) {
	var c copySpec
	switch out {
	case outArgmax:
		c = copySpec{b.result, b.readRes[slot], 16}
	case outLogits:
		c = copySpec{b.logits, b.readLog, uint64(4 * b.cfg.NVocab)}
	case outTopK:
		c = copySpec{b.topk, b.readTopK, topkBytes}
	}
	return b.rec.record(ds, n, c, copySpec{})
}

// releasePre drops the pre-recorded decode command buffer.
func (b *Backend) releasePre() {
	b.rec.release(b.pre)
	b.pre = nil
}

// dropAhead forgets the pre-recorded step and the step in flight (which
// completes on its own).
func (b *Backend) dropAhead() {
	b.releasePre()
	b.ahead.on = false
}

// submitPart records ds into a command buffer of its own and submits it.
func (b *Backend) submitPart(ds []dispatch, n int) error {
	cb, err := b.rec.record(ds, n, copySpec{}, copySpec{})
	if err != nil {
		return err
	}
	b.rec.submit(cb)
	return nil
}
