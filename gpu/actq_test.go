package gpu

import (
	"math/rand/v2"
	"testing"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
	"github.com/stretchr/testify/require"
)

// TestActivationRounding checks the actq kernel against quant's
// QuantizeActivation followed by the vec-dot type's dequantizer: the GPU
// must feed its products exactly the values the CPU rounds to.
func TestActivationRounding(t *testing.T) {
	d := testDevice(t)
	for _, wt := range []gguf.TensorType{gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ4_K, gguf.TypeF16, gguf.TypeBF16} {
		t.Run(wt.String(), func(t *testing.T) {
			tr, err := quant.For(wt)
			require.NoError(t, err)
			vt, err := quant.For(tr.VecDotType)
			require.NoError(t, err)
			cols, nTok := 512, 3
			rng := rand.New(rand.NewPCG(7, uint64(wt)))
			x := make([]float32, nTok*cols)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			b := &Backend{d: d, res: resources{d: d}, cfg: engine.Config{RMSEps: 1e-5}}
			defer b.res.release()
			xb, err := b.res.upload("x", f32Bytes(x))
			require.NoError(t, err)
			qb, err := b.res.buffer("xq", 4*len(x), 0)
			require.NoError(t, err)
			b.step, err = b.res.buffer("step", 64, 0)
			require.NoError(t, err)
			ds, err := b.actq("test", xb, nil, qb, cols, tr.VecDotType, false)
			require.NoError(t, err)
			run(t, d, b.step, []dispatch{ds}, nTok, 0, nil)
			got := readF32(t, d, qb, len(x))
			buf := make([]byte, vt.RowSize(cols))
			want := make([]float32, cols)
			for tk := 0; tk < nTok; tk++ {
				tr.QuantizeActivation(buf, x[tk*cols:(tk+1)*cols])
				vt.Dequantize(want, buf)
				for i := range want {
					require.InDeltaf(t, want[i], got[tk*cols+i], 1e-6*float64(1+abs32f(want[i])), "token %d element %d", tk, i)
				}
			}
		})
	}
}

func abs32f(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
