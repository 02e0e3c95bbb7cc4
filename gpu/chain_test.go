package gpu

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
	"github.com/stretchr/testify/require"
)

// TestChainMatchesSeparate runs a residual product with a tail (2048
// columns, 128 workgroups) and a product that loads its prepared row, once
// as two dispatches and once chained in one (mvd.go chain), several times
// over the same inputs: the consumer's rows must come out the same bits
// every time, and the counters back at zero. A consumer workgroup that read
// the row before the tail wrote it, or a flag left set for the next token,
// shows up as rows that differ in some rounds.
func TestChainMatchesSeparate(t *testing.T) {
	d := testDevice(t)
	const n, rows = 2048, 512
	for _, typ := range []gguf.TensorType{gguf.TypeQ4_K, gguf.TypeQ8_0} {
		t.Run(typ.String(), func(t *testing.T) {
			tr, err := quant.For(typ)
			require.NoError(t, err)
			r := &resources{d: d}
			defer r.release()
			r.tune.xqv, r.tune.chain = 16, 1
			rng := rand.New(rand.NewPCG(7, uint64(typ)))
			weight := func(name string, rows, cols int) *weight {
				wf := make([]float32, rows*cols)
				for i := range wf {
					wf[i] = float32(rng.NormFloat64() * 0.5)
				}
				w := engine.Tensor{Name: name, Type: typ, Rows: rows, Cols: cols}
				rb := w.RowBytes()
				w.Data = make([]byte, rows*rb)
				for i := 0; i < rows; i++ {
					tr.Quantize(w.Data[i*rb:(i+1)*rb], wf[i*cols:(i+1)*cols])
				}
				gw, err := r.uploadWeight(name, 0, w)
				require.NoError(t, err)
				return gw
			}
			vec := func(k int, scale float64) []float32 {
				v := make([]float32, k)
				for i := range v {
					v[i] = float32(rng.NormFloat64() * scale)
				}
				return v
			}
			buf := func(label string, size int) *wgpu.Buffer {
				b, err := r.buffer(label, size, 0)
				require.NoError(t, err)
				return b
			}
			step := buf("step", 64)
			xin, err := r.upload("x", f32Bytes(vec(n, 2)))
			require.NoError(t, err)
			res0 := vec(n, 1)
			res := buf("residual", 4*n)
			g, err := r.upload("norm", f32Bytes(vec(n, 1)))
			require.NoError(t, err)
			out := buf("prepared row", 4*prepWords(n))
			cnt := buf("count", 16)
			y := buf("y", 4*rows)
			f, err := r.prepFmtOf(typ, n, nil)
			require.NoError(t, err)
			spec := &tailSpec{fmt: f, cols: n, g: g, eps: 1e-5, out: out, cnt: cnt}
			prod := mv{w: weight("producer", n, n), x: xin, y: res, yStride: n, mode: modeAdd, tt: 1, tail: spec}
			cons := mv{w: weight("consumer", rows, n), x: out, y: y, yStride: rows, mode: modeStore, tt: 1, norm: g,
				eps: 1e-5, prep: spec}
			pd, err := r.mvd(step, prod, f.vdt, nil)
			require.NoError(t, err)
			cd, err := r.mvd(step, cons, f.vdt, nil)
			require.NoError(t, err)
			apart := append(append([]dispatch{}, pd...), cd...)
			chained, err := r.chain(apart)
			require.NoError(t, err)
			require.Len(t, chained, 1)
			require.Contains(t, chained[0].label, " => ")
			stale := make([]byte, 4*prepWords(n))
			for i := range stale {
				stale[i] = 0x3f // a row no tail writes: a consumer that did not wait reads it
			}
			runOnce := func(ds []dispatch) []float32 {
				require.NoError(t, d.queue.WriteBuffer(res, 0, f32Bytes(res0)))
				require.NoError(t, d.queue.WriteBuffer(out, 0, stale))
				require.NoError(t, d.queue.WriteBuffer(y, 0, make([]byte, 4*rows)))
				run(t, d, step, ds, 1, 0, nil)
				return readF32(t, d, y, rows)
			}
			want := runOnce(apart)
			for round := 0; round < 6; round++ {
				got := runOnce(chained)
				bad := 0
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						bad++
					}
				}
				require.Zerof(t, bad, "round %d: %d of %d rows differ", round, bad, rows)
				c := readF32(t, d, cnt, 3)
				require.Equal(t, [3]uint32{}, [3]uint32{math.Float32bits(c[0]), math.Float32bits(c[1]), math.Float32bits(c[2])},
					"round %d: counters", round)
			}
		})
	}
}

// TestChainedDecode checks that decode with chained products gives the
// same logits as without, on a model of one type and on mixedQKV (whose
// even layers chain ffn_down into a paired Q+K / V dispatch), and that
// every layer chains attn_output into ffn_gate_up and ffn_down into what
// follows.
func TestChainedDecode(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"synthetic/tiny-synth-q4_k.gguf", mixedQKV} {
		t.Run(name, func(t *testing.T) {
			m := loadDecodeModel(t, name)
			build := func(mode string) (*Backend, int) {
				t.Setenv(mvdChainEnv, mode)
				g, _ := newTestBackends(t, m, 32)
				chains := 0
				for _, d := range g.decode {
					chains += strings.Count(d.label, " => ")
				}
				return g, chains
			}
			on, chains := build("1")
			off, none := build("0")
			require.Zero(t, none)
			require.Equal(t, 2*len(m.Layers), chains, "attn_output => ffn_gate_up and ffn_down => next, every layer")
			require.Equal(t, len(off.decode)-chains, len(on.decode))
			tol := 0.0
			if !isSoftware(on.d.info) {
				tol = 1e-4 // as checkDecode
			}
			a := make([]float32, m.NVocab)
			b := make([]float32, m.NVocab)
			for i, tok := range tokenPath(16, m.NVocab) {
				require.NoError(t, on.Eval(ctx, []int32{tok}, i, a))
				require.NoError(t, off.Eval(ctx, []int32{tok}, i, b))
				d, at := maxAbsDiff(a, b)
				require.LessOrEqual(t, d, tol, fmt.Sprintf("step %d: max |logit diff| %g at %d", i, d, at))
			}
		})
	}
}
