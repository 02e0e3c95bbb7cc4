package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
	"github.com/stretchr/testify/require"
)

// TestTailMatchesPrep runs a residual product with a tail (mvd.wgsl TAIL)
// and then a normed product twice, once preparing its own input in every
// workgroup and once loading the tail's prepared row (PREPD): the two must
// give the same bits. The row is TinyLlama's width (2048), and the
// producers run 256, 128 and 64 threads a workgroup, so a tail thread holds
// 8, 16 and 32 values (one Q8_K sum per 16 across threads, one, two).
func TestTailMatchesPrep(t *testing.T) {
	d := testDevice(t)
	const n = 2048 // the residual row
	for _, typ := range []gguf.TensorType{gguf.TypeQ4_K, gguf.TypeQ8_0, gguf.TypeQ4_1, gguf.TypeF16} {
		for _, rpw := range []int{0, 8, 4} {
			t.Run(fmt.Sprintf("%s/rpw=%d", typ, rpw), func(t *testing.T) {
				tr, err := quant.For(typ)
				require.NoError(t, err)
				r := &resources{d: d}
				defer r.release()
				r.tune.xqv = 16
				if rpw > 0 {
					r.tune.small = []mvdRule{{rows: n, tpr: 16, rpw: rpw}}
				}
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
				step, err := r.buffer("step", 64, 0)
				require.NoError(t, err)
				xin, err := r.upload("x", f32Bytes(vec(n, 2)))
				require.NoError(t, err)
				res, err := r.upload("residual", f32Bytes(vec(n, 1)))
				require.NoError(t, err)
				g, err := r.upload("norm", f32Bytes(vec(n, 1)))
				require.NoError(t, err)
				out, err := r.buffer("prepared row", 4*prepWords(n), 0)
				require.NoError(t, err)
				cnt, err := r.buffer("count", 4, 0)
				require.NoError(t, err)
				f, err := r.prepFmtOf(typ, n, nil)
				require.NoError(t, err)
				spec := &tailSpec{fmt: f, cols: n, g: g, eps: 1e-5, out: out, cnt: cnt}

				prod := mv{w: weight("producer", n, n), x: xin, y: res, yStride: n, mode: modeAdd, tt: 1, tail: spec}
				ds, err := r.mvd(step, prod, f.vdt, nil)
				require.NoError(t, err)
				run(t, d, step, ds, 1, 0, nil)

				cw := weight("consumer", 64, n)
				var got [2][]float32
				for i, prep := range []*tailSpec{nil, spec} {
					y, err := r.buffer("y", 4*64, 0)
					require.NoError(t, err)
					m := mv{w: cw, x: res, y: y, yStride: 64, mode: modeStore, tt: 1, norm: g, eps: 1e-5}
					if prep != nil {
						m.x, m.prep = prep.out, prep
					}
					ds, err := r.mvd(step, m, f.vdt, nil)
					require.NoError(t, err)
					run(t, d, step, ds, 1, 0, nil)
					got[i] = readF32(t, d, y, 64)
				}
				bad := 0
				for i := range got[0] {
					if math.Float32bits(got[0][i]) != math.Float32bits(got[1][i]) {
						bad++
					}
				}
				require.Zerof(t, bad, "%d of 64 rows differ between the product's own prep and the prepared row (first rows %v / %v)",
					bad, got[0][:4], got[1][:4])
				// the counter is back to zero for the next tail
				require.Equal(t, float32(0), readF32(t, d, cnt, 1)[0])
			})
		}
	}
}
