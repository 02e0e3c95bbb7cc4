// Package cpu is Hearth's CPU backend: the llama forward pass of llama.cpp's
// graph computed in Go, with matrix products through the quant package and
// work split over a persistent pool of worker goroutines.
package cpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
)

// maxBatch is how many tokens one pass over the weights processes. Longer
// evaluations are split into batches of this size.
const maxBatch = 64

// minParallelWork is the number of multiply-adds below which an operation
// runs on the calling goroutine alone.
const minParallelWork = 1 << 16

// mat is one weight matrix with the traits of its type and of the type its
// activations are converted to.
type mat struct {
	name           string
	tr, vt         *quant.Traits
	w              []byte
	rows, cols, rb int
	repack         repackKind // llama.cpp's one-token kernel for this weight, see repack.go
	// wx holds Q4_0 or Q4_K weights (repackQ4_0, repackQ4K) interleaved
	// eight rows at a time (quant.RepackQ4_0x8, RepackQ4Kx8); their
	// products read it instead of w.
	wx []byte
}

type layer struct {
	attnNorm, ffnNorm []float32
	wq, wk, wv, wo    mat
	wGate, wUp, wDown mat
	// KV cache, one pair of slices in use: keys as [pos][kvDim], values
	// transposed as [kvDim][nCtx] (like llama.cpp without flash attention).
	k16, v16 []uint16
	k32, v32 []float32
}

// worker is the scratch of one worker goroutine.
type worker struct {
	qa     []float32 // one query head rounded to F16
	scores []float32 // attention weights over the context
	pa     []float32 // attention weights rounded to F16
}

// Backend is the CPU engine.Backend. Create it with New.
type Backend struct {
	c       engine.Config
	nCtx    int
	threads int
	kvElem  int
	scale   float32

	tokEmbd *quant.Traits
	embd    engine.Tensor
	outNorm []float32
	output  mat
	ropeFF  []float32
	layers  []layer

	pool    *pool
	workers []worker
	closed  bool

	// Per-batch activations, maxBatch rows each.
	x, xn, q, k, v, att, gate, up, out []float32
	acts                               [3][]byte // activation rows converted to a VecDotType
	packs                              [3][]byte // Q8_0 activation rows packed for quant.GemmQ8_0 (64-byte aligned)
	tabs                               [3][]byte // one token's Q8_0 row tables for quant.GemvQ4_0x8
	rope                               []float32 // cos/sin per token of the batch
	logits                             []float32

	touched byte // what prefault read (kept so that the reads stay)

	mm   matTask
	attn attnTask
	rt   rowTask
}

// New creates a CPU backend for m. It checks that every weight type is
// supported and allocates the KV cache and all scratch memory up front.
func New(m *engine.Model, o engine.Options) (engine.Backend, error) {
	return newBackend(m, o)
}

func newBackend(m *engine.Model, o engine.Options) (*Backend, error) {
	c := m.Config
	b := &Backend{c: c, nCtx: o.ContextSize, threads: o.Threads}
	if b.threads <= 0 {
		b.threads = runtime.NumCPU()
	}
	if b.nCtx <= 0 {
		b.nCtx = engine.DefaultContextSize(c)
	}
	switch o.KVType {
	case engine.KVF16:
		b.kvElem = 2
	case engine.KVF32:
		b.kvElem = 4
	default:
		return nil, fmt.Errorf("cpu: unknown KV type %v", o.KVType)
	}
	var err error
	b.scale = 1 / float32(math.Sqrt(float64(c.HeadDim)))

	if b.tokEmbd, err = quant.For(m.TokEmbd.Type); err != nil || b.tokEmbd.Dequantize == nil {
		return nil, fmt.Errorf("cpu: %s: cannot dequantize %s: %w", m.TokEmbd.Name, m.TokEmbd.Type, orUnsupported(err))
	}
	b.embd = m.TokEmbd
	if b.outNorm, err = vector(m.OutputNorm); err != nil {
		return nil, err
	}
	if b.output, err = newMat(m.Output); err != nil {
		return nil, err
	}
	if m.RopeFreqs.Data != nil {
		if b.ropeFF, err = vector(m.RopeFreqs); err != nil {
			return nil, err
		}
	}
	kvDim := c.NHeadKV * c.HeadDim
	b.layers = make([]layer, c.NLayer)
	for i, ml := range m.Layers {
		l := &b.layers[i]
		if l.attnNorm, err = vector(ml.AttnNorm); err != nil {
			return nil, err
		}
		if l.ffnNorm, err = vector(ml.FFNNorm); err != nil {
			return nil, err
		}
		for _, p := range []struct {
			dst *mat
			t   engine.Tensor
		}{{&l.wq, ml.Wq}, {&l.wk, ml.Wk}, {&l.wv, ml.Wv}, {&l.wo, ml.Wo}, {&l.wGate, ml.WGate}, {&l.wUp, ml.WUp}, {&l.wDown, ml.WDown}} {
			if *p.dst, err = newMat(p.t); err != nil {
				return nil, err
			}
		}
		if b.kvElem == 2 {
			l.k16 = make([]uint16, b.nCtx*kvDim)
			l.v16 = make([]uint16, b.nCtx*kvDim)
		} else {
			l.k32 = make([]float32, b.nCtx*kvDim)
			l.v32 = make([]float32, b.nCtx*kvDim)
		}
	}

	qDim := c.NHead * c.HeadDim
	nb := min(maxBatch, b.nCtx)
	b.x = make([]float32, nb*c.NEmbd)
	b.xn = make([]float32, nb*c.NEmbd)
	b.out = make([]float32, nb*c.NEmbd)
	b.q = make([]float32, nb*qDim)
	b.att = make([]float32, nb*qDim)
	b.k = make([]float32, nb*kvDim)
	b.v = make([]float32, nb*kvDim)
	b.gate = make([]float32, nb*c.NFF)
	b.up = make([]float32, nb*c.NFF)
	b.rope = make([]float32, nb*c.RopeDim)
	b.logits = make([]float32, c.NVocab)
	widest := max(c.NEmbd, qDim, c.NFF)
	for i := range b.acts {
		b.acts[i] = make([]byte, nb*4*widest) // 4 bytes per element covers every VecDotType
		b.tabs[i] = make([]byte, quant.Q4_0x8TabSize(widest))
		if nb >= 8 && b.hasQ8_0() {
			b.packs[i] = aligned64(quant.Q8_0x8Size(widest, nb))
		}
	}
	b.workers = make([]worker, b.threads)
	for i := range b.workers {
		b.workers[i] = worker{
			qa:     make([]float32, c.HeadDim),
			scores: make([]float32, b.nCtx),
			pa:     make([]float32, b.nCtx),
		}
	}
	b.mm.b = b
	b.attn.b = b
	b.rt.b = b
	b.pool = newPool(b.threads)
	b.repack(m.File)
	b.prefault()
	return b, nil
}

// pageSize is the stride at which prefault touches the weights: the
// smallest page size of the platforms Hearth runs on.
const pageSize = 4096

// prefault reads one byte of every page of the layer and output weights,
// so that the mapping's page faults happen while the model loads and not
// in the first evaluation, as llama.cpp's loader does (it maps the file
// with MAP_POPULATE). A first 128-token prompt of a TinyLlama-sized Q8_0
// model otherwise spends about a tenth of its time in them; touching 1.1
// GB takes about 0.1 s of the load.
func (b *Backend) prefault() {
	var sum byte
	touch := func(w []byte) {
		for i := 0; i < len(w); i += pageSize {
			sum += w[i]
		}
	}
	for _, m := range b.mats() {
		touch(m.weights())
	}
	b.touched = sum
}

// weights returns the bytes m's products read.
func (m *mat) weights() []byte {
	if m.wx != nil {
		return m.wx
	}
	return m.w
}

// repack fills the interleaved copies of the weights that have one
// (mat.wx), a matrix per goroutine on up to b.threads of them, and
// releases the file's pages of those weights (f may be nil: then none
// are), so they do not count twice.
func (b *Backend) repack(f *gguf.File) {
	var ms []*mat
	for _, m := range b.mats() {
		if m.wx != nil {
			ms = append(ms, m)
		}
	}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(b.threads, len(ms)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(ms); i = int(next.Add(1) - 1) {
				m := ms[i]
				if m.repack == repackQ4_0 {
					quant.RepackQ4_0x8(m.wx, m.w, m.rb, m.rows, m.cols)
				} else {
					quant.RepackQ4Kx8(m.wx, m.w, m.rb, m.rows, m.cols)
				}
				if f != nil {
					f.ReleasePages(m.w[:m.rows*m.rb])
				}
			}
		})
	}
	wg.Wait()
}

// mats returns the backend's weight matrices: every layer's, then the
// output.
func (b *Backend) mats() []*mat {
	var ms []*mat
	for i := range b.layers {
		l := &b.layers[i]
		ms = append(ms, &l.wq, &l.wk, &l.wv, &l.wo, &l.wGate, &l.wUp, &l.wDown)
	}
	return append(ms, &b.output)
}

// hasQ8_0 says whether a layer weight is Q8_0 (batches of them go through
// quant.GemmQ8_0).
func (b *Backend) hasQ8_0() bool {
	for i := range b.layers {
		l := &b.layers[i]
		for _, m := range []*mat{&l.wq, &l.wk, &l.wv, &l.wo, &l.wGate, &l.wUp, &l.wDown} {
			if m.tr.Type == gguf.TypeQ8_0 {
				return true
			}
		}
	}
	return false
}

// aligned64 returns n bytes that start at a multiple of 64 bytes (the
// packed kernels' 32-byte loads then never cross a cache line).
func aligned64(n int) []byte {
	buf := make([]byte, n+63)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & 63)
	return buf[off : off+n : off+n]
}

func orUnsupported(err error) error {
	if err == nil {
		return quant.ErrUnsupported
	}
	return err
}

// vector dequantizes a one-row tensor (a norm weight) to float32.
func vector(t engine.Tensor) ([]float32, error) {
	tr, err := quant.For(t.Type)
	if err != nil || tr.Dequantize == nil {
		return nil, fmt.Errorf("cpu: %s: cannot dequantize %s: %w", t.Name, t.Type, orUnsupported(err))
	}
	v := make([]float32, t.Rows*t.Cols)
	tr.Dequantize(v, t.Data)
	return v, nil
}

// newMat prepares the weight t for products. Q4_0 and Q4_K weights of
// whole groups of eight rows get room for an interleaved copy (mat.wx),
// which repack fills.
func newMat(t engine.Tensor) (mat, error) {
	tr, err := quant.For(t.Type)
	if err != nil || tr.VecDot == nil {
		return mat{}, fmt.Errorf("cpu: %s: no dot product for %s: %w", t.Name, t.Type, orUnsupported(err))
	}
	vt, err := quant.For(tr.VecDotType)
	if err != nil || vt.QuantizeActivation == nil {
		return mat{}, fmt.Errorf("cpu: %s: cannot convert activations to %s: %w", t.Name, tr.VecDotType, orUnsupported(err))
	}
	if t.Cols%vt.BlockSize != 0 {
		return mat{}, fmt.Errorf("cpu: %s: row length %d is not a multiple of the %s block size %d", t.Name, t.Cols, vt.Type, vt.BlockSize)
	}
	m := mat{name: t.Name, tr: tr, vt: vt, w: t.Data, rows: t.Rows, cols: t.Cols, rb: tr.RowSize(t.Cols),
		repack: repackFor(t.Type, t.Rows)}
	if m.repack != repackNone {
		if len(m.w) < m.rows*m.rb {
			return mat{}, fmt.Errorf("cpu: %s: %d bytes of data for %d rows of %d", t.Name, len(m.w), m.rows, m.rb)
		}
		if m.repack == repackQ4_0 {
			m.wx = aligned64(quant.Q4_0x8Size(m.rows, m.cols))
		} else {
			m.wx = aligned64(quant.Q4Kx8Size(m.rows, m.cols))
		}
	}
	return m, nil
}

// Name returns "cpu".
func (b *Backend) Name() string { return "cpu" }

// ContextSize returns the number of positions the KV cache holds.
func (b *Backend) ContextSize() int { return b.nCtx }

// Threads returns the number of workers the backend computes with.
func (b *Backend) Threads() int { return b.threads }

// Close stops the worker goroutines and releases the KV cache.
func (b *Backend) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	b.pool.close()
	b.layers = nil
	return nil
}

var errClosed = errors.New("cpu: backend is closed")

// Eval runs tokens at positions pos.. and writes the last token's logits to
// logits when it is not nil. See engine.Backend.
func (b *Backend) Eval(ctx context.Context, tokens []int32, pos int, logits []float32) error {
	if err := b.eval(ctx, tokens, pos, logits, logits != nil); err != nil {
		return err
	}
	if logits != nil {
		copy(logits, b.logits)
	}
	return nil
}

// EvalArgmax runs tokens like Eval and returns the index of the largest
// logit of the last token.
func (b *Backend) EvalArgmax(ctx context.Context, tokens []int32, pos int) (int32, error) {
	if err := b.eval(ctx, tokens, pos, nil, true); err != nil {
		return -1, err
	}
	return int32(argmax(b.logits)), nil
}

func (b *Backend) eval(ctx context.Context, tokens []int32, pos int, logits []float32, wantLogits bool) error {
	if b.closed {
		return errClosed
	}
	if err := engine.CheckEval(&b.c, b.nCtx, tokens, pos, logits); err != nil {
		return fmt.Errorf("cpu: %w", err)
	}
	nb := len(b.x) / b.c.NEmbd
	for start := 0; start < len(tokens); start += nb {
		end := min(start+nb, len(tokens))
		if err := b.batch(ctx, tokens[start:end], pos+start, wantLogits && end == len(tokens)); err != nil {
			return err
		}
	}
	return nil
}

// batch runs up to maxBatch tokens through the model.
func (b *Backend) batch(ctx context.Context, tokens []int32, pos int, wantLogits bool) error {
	c := &b.c
	n := len(tokens)
	E := c.NEmbd
	for t, tok := range tokens {
		rb := b.tokEmbd.RowSize(E)
		b.tokEmbd.Dequantize(b.x[t*E:(t+1)*E], b.embd.Data[int(tok)*rb:(int(tok)+1)*rb])
		ropeCache(b.rope[t*c.RopeDim:(t+1)*c.RopeDim], pos+t, c.RopeDim, c.RopeBase, 1/c.RopeScale, b.ropeFF)
	}
	qDim := c.NHead * c.HeadDim
	// The steps between the matrix products go row by row over the pool
	// (rows.go); a layer's last addition is fused with the next layer's
	// first norm.
	if len(b.layers) > 0 {
		b.rows(opAttnNorm, &b.layers[0], nil, n, pos)
	}
	for li := range b.layers {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cpu: eval: %w", err)
		}
		l := &b.layers[li]

		// Attention.
		b.matmul(n, b.xn, E, nil, &l.wq, b.q, &l.wk, b.k, &l.wv, b.v)
		b.rows(opRopeKV, l, nil, n, pos)
		b.attention(li, n, pos)
		b.matmul(n, b.att, qDim, nil, &l.wo, b.out, nil, nil, nil, nil)

		// Feed-forward.
		b.rows(opAddFFNNorm, l, nil, n, pos)
		b.matmul(n, b.xn, E, nil, &l.wGate, b.gate, &l.wUp, b.up, nil, nil)
		var glu []float32
		if n == 1 {
			// One token: SwiGLU goes with the conversion of its output,
			// split over the workers.
			glu = b.up[:c.NFF]
		} else {
			b.rows(opSwiGLU, l, nil, n, pos)
		}
		b.matmul(n, b.gate, c.NFF, glu, &l.wDown, b.out, nil, nil, nil, nil)
		if li+1 < len(b.layers) {
			b.rows(opAddAttnNorm, l, &b.layers[li+1], n, pos)
		} else {
			b.rows(opAdd, l, nil, n, pos)
		}
	}
	if !wantLogits {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cpu: eval: %w", err)
	}
	last := (n - 1) * E
	rmsNorm(b.xn[:E], b.x[last:last+E], b.outNorm, c.RMSEps)
	b.matmul(1, b.xn, E, nil, &b.output, b.logits, nil, nil, nil, nil)
	return nil
}

// storeKV writes one position's keys and values into the layer's cache,
// converting them to the cache type (round to nearest even for F16).
func (b *Backend) storeKV(l *layer, p int, k, v []float32) {
	kvDim := len(k)
	if l.k16 != nil {
		kc := l.k16[p*kvDim : (p+1)*kvDim]
		for e, x := range k {
			kc[e] = quant.FP32ToFP16(x)
		}
		for e, x := range v {
			l.v16[e*b.nCtx+p] = quant.FP32ToFP16(x)
		}
		return
	}
	copy(l.k32[p*kvDim:(p+1)*kvDim], k)
	for e, x := range v {
		l.v32[e*b.nCtx+p] = x
	}
}
