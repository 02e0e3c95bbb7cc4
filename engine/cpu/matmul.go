package cpu

import (
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
)

// matTask multiplies up to three weight matrices that share one input by a
// batch of activation rows. Its items are row chunks of the matrices, one
// after the other.
type matTask struct {
	b      *Backend
	nm     int
	m      [3]*mat
	dst    [3][]float32
	a      [3][]byte // converted activations for each matrix
	aRow   [3]int    // bytes per activation row
	pk     [3][]byte // the activations packed for quant.GemmQ8_0, or nil
	tab    [3][]byte // one token's table for quant.GemvQ4_0x8, or nil
	starts [4]int    // first item of each matrix
	chunk  int       // rows per item
	ntok   int
	q      quantTask // converts a batch's activations before the products
}

// quantTask converts the activation rows of a batch to a VecDotType, one
// row per item (the rows are independent, so the result does not depend on
// how the rows are split).
type quantTask struct {
	vt   *quant.Traits
	src  []float32
	cols int
	a    []byte
	aRow int
	n    int    // rows
	pack []byte // when not nil, items are groups of eight rows, packed here too (quant.PackQ8_0x8)
	// blocks: one row (n = 1) whose items are its blocks of vt.BlockSize
	// elements (the blocks are independent too); pieces of blocks start at
	// multiples of 8 elements.
	blocks bool
	// glu, when not nil (one row only), is multiplied in first: src =
	// silu(src)*glu (swiGLU) for the elements being converted, in place.
	// swiGLU's SIMD blocks of 8 start at the row's start either way, so
	// the result does not depend on the split.
	glu []float32
}

func (q *quantTask) run(_, i0, i1 int) {
	if q.blocks {
		bs := q.vt.BlockSize
		e0, e1 := i0*bs, min(i1*bs, q.cols)
		if q.glu != nil {
			swiGLU(q.src[e0:e1], q.glu[e0:e1])
		}
		bb := q.vt.RowSize(bs)
		q.vt.QuantizeActivation(q.a[i0*bb:i1*bb], q.src[e0:e1])
		return
	}
	if q.glu != nil {
		swiGLU(q.src[:q.cols], q.glu[:q.cols])
	}
	if q.pack == nil {
		q.rows(i0, i1)
		return
	}
	for g := i0; g < i1; g++ {
		q.rows(8*g, min(8*g+8, q.n))
		if 8*g+8 <= q.n {
			quant.PackQ8_0x8(q.pack, q.a, q.aRow, q.cols, g, g+1)
		}
	}
}

func (q *quantTask) rows(r0, r1 int) {
	for r := r0; r < r1; r++ {
		q.vt.QuantizeActivation(q.a[r*q.aRow:(r+1)*q.aRow], q.src[r*q.cols:(r+1)*q.cols])
	}
}

// packsQ8_0 says whether a batch of n rows for m goes through
// quant.GemmQ8_0 (Q8_0 weights, at least one group of eight rows).
func packsQ8_0(m *mat, n int) bool {
	return n >= 8 && m.tr.Type == gguf.TypeQ8_0
}

func (t *matTask) run(_, i0, i1 int) {
	// Items of one matrix in [i0, i1) are consecutive row chunks: one call.
	for j := 0; j < t.nm && i0 < i1; j++ {
		s, e := t.starts[j], t.starts[j+1]
		if i0 >= e {
			continue
		}
		a, z := max(i0, s), min(i1, e)
		m := t.m[j]
		t.rows(j, m, (a-s)*t.chunk, min((z-s)*t.chunk, m.rows))
		i0 = z
	}
}

// rows computes rows [r0, r1) of matrix j for the batch.
func (t *matTask) rows(j int, m *mat, r0, r1 int) {
	switch {
	case t.ntok == 1 && m.repack == repackQ4_0:
		quant.GemvQ4_0x8(t.dst[j], m.wx, m.cols, t.a[j], t.tab[j], r0, r1)
	case t.ntok == 1 && m.repack == repackQ4K:
		quant.GemvQ4Kx8(t.dst[j], m.wx, m.cols, t.a[j], r0, r1)
	case t.ntok == 1 && m.tr.Type == gguf.TypeF32:
		quant.GemvF32(t.dst[j], m.w, m.rb, m.cols, t.a[j], r0, r1)
	case t.ntok == 1:
		quant.Gemv(m.tr, t.dst[j], m.w, m.rb, m.cols, t.a[j], r0, r1)
	case m.repack == repackQ4_0:
		quant.GemmQ4_0x8(t.dst[j], m.rows, m.wx, m.cols, t.a[j], t.aRow[j], t.ntok, r0, r1)
	case m.repack == repackQ4K:
		quant.GemmQ4Kx8(t.dst[j], m.rows, m.wx, m.cols, t.a[j], t.aRow[j], t.ntok, r0, r1)
	case t.pk[j] != nil:
		quant.GemmQ8_0(t.dst[j], m.rows, m.w, m.rb, m.cols, t.a[j], t.aRow[j], t.ntok, t.pk[j], r0, r1)
	default:
		quant.MatMul(m.tr, t.dst[j], m.rows, m.w, m.rb, m.cols, t.a[j], t.aRow[j], t.ntok, r0, r1)
	}
}

// splitsRow says whether one token's row of cols elements is converted to
// vt on threads workers (a hand-off to spinning workers costs about half a
// microsecond): not for Q8_0, whose AVX2 quantizer converts a 2048-element
// row in about a microsecond, nor for rows of fewer than 2 blocks a worker.
func splitsRow(vt *quant.Traits, cols, threads int) bool {
	return vt.Type != gguf.TypeQ8_0 && cols/vt.BlockSize >= 2*threads
}

// matmul computes dK[t*rows+r] = mK[r,:]·src[t*cols:(t+1)*cols] for the n
// rows of src and each given matrix (m2, m3 may be nil). The input is
// converted once per distinct VecDotType. glu, when not nil (one token, one
// matrix), is the up projection: src (the gate projection) becomes
// silu(src)*glu in place as it is converted (see quantTask.glu).
func (b *Backend) matmul(n int, src []float32, cols int, glu []float32, m1 *mat, d1 []float32, m2 *mat, d2 []float32, m3 *mat, d3 []float32) {
	t := &b.mm
	t.m = [3]*mat{m1, m2, m3}
	t.dst = [3][]float32{d1, d2, d3}
	t.nm = 1
	if m2 != nil {
		t.nm = 2
		if m3 != nil {
			t.nm = 3
		}
	}
	t.ntok = n
	rows, work := 0, 0
	for j := 0; j < t.nm; j++ {
		m := t.m[j]
		rows += m.rows
		work += m.rows * m.cols * n
		t.aRow[j] = m.vt.RowSize(cols)
		t.a[j], t.pk[j] = nil, nil
		pack := packsQ8_0(m, n)
		for k := 0; k < j; k++ {
			if t.m[k].vt == m.vt && (!pack || t.pk[k] != nil) {
				t.a[j], t.pk[j] = t.a[k], t.pk[k]
				break
			}
		}
		if t.a[j] == nil {
			a := b.acts[j][:n*t.aRow[j]]
			t.q = quantTask{vt: m.vt, src: src, cols: cols, a: a, aRow: t.aRow[j], n: n, glu: glu}
			glu = nil // applied once, by the first conversion
			items := n
			if pack {
				// Groups of eight rows, each quantized and packed by one worker.
				t.q.pack = b.packs[j][:quant.Q8_0x8Size(cols, n)]
				items = (n + 7) / 8
			}
			switch {
			case n > 1 && work >= minParallelWork:
				// A batch's rows are converted on all threads (about two
				// items each).
				b.pool.run(&t.q, items, (items+2*b.threads-1)/(2*b.threads), b.threads)
			case n == 1 && b.threads > 1 && work >= minParallelWork && splitsRow(m.vt, cols, b.threads):
				// One token's row, split into a run of blocks per
				// worker (as ggml splits src1's conversion).
				t.q.blocks = true
				bs := m.vt.BlockSize
				nb := cols / bs
				chunk := (nb + b.threads - 1) / b.threads
				if bs < 8 {
					chunk = (chunk + 7) &^ 7
				}
				b.pool.run(&t.q, nb, chunk, b.threads)
			default:
				t.q.run(0, 0, items)
			}
			t.a[j], t.pk[j] = a, t.q.pack
			t.q = quantTask{}
		}
		t.tab[j] = nil
		if n == 1 && m.repack == repackQ4_0 {
			for k := 0; k < j; k++ {
				if t.tab[k] != nil && &t.a[k][0] == &t.a[j][0] {
					t.tab[j] = t.tab[k]
					break
				}
			}
			if t.tab[j] == nil {
				t.tab[j] = b.tabs[j][:quant.Q4_0x8TabSize(cols)]
				quant.Q4_0x8Tab(t.tab[j], t.a[j], cols)
			}
		}
	}
	workers := b.threads
	if work < minParallelWork {
		workers = 1
	}
	// A batch: about four items per worker, in multiples of 16 rows. One
	// token: items of 16 rows, claimed in shrinking pieces (runGuided), as
	// the threads wait for the slowest at every product.
	chunk := 16
	if n > 1 {
		chunk = (rows + 4*workers - 1) / (4 * workers)
		chunk = max(16, (chunk+15)/16*16)
	}
	items := 0
	for j := 0; j < t.nm; j++ {
		t.starts[j] = items
		items += (t.m[j].rows + chunk - 1) / chunk
	}
	for j := t.nm; j < 4; j++ {
		t.starts[j] = items
	}
	t.chunk = chunk
	if n == 1 {
		b.pool.runGuided(t, items, 1, workers)
	} else {
		b.pool.run(t, items, 1, workers)
	}
	t.m, t.dst, t.a, t.pk, t.tab = [3]*mat{}, [3][]float32{}, [3][]byte{}, [3][]byte{}, [3][]byte{}
}
