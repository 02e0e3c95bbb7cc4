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

// TestActivationRounding checks the actq kernel against quant's
// QuantizeActivation followed by the vec-dot type's dequantizer: the GPU
// must feed its products exactly the values the CPU rounds to.
func TestActivationRounding(t *testing.T) {
	d := testDevice(t)
	// 5632 columns: three workgroups a token, the last one partial
	for _, tc := range []struct {
		wt   gguf.TensorType
		cols int
	}{
		{gguf.TypeQ4_0, 512}, {gguf.TypeQ4_0, 5632}, {gguf.TypeQ4_1, 512}, {gguf.TypeQ4_K, 512},
		{gguf.TypeQ4_K, 5632}, {gguf.TypeF16, 512}, {gguf.TypeF16, 5632}, {gguf.TypeBF16, 512},
	} {
		wt, cols := tc.wt, tc.cols
		t.Run(fmt.Sprintf("%s/%d", wt, cols), func(t *testing.T) {
			tr, err := quant.For(wt)
			require.NoError(t, err)
			vt, err := quant.For(tr.VecDotType)
			require.NoError(t, err)
			nTok := 3
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
			g := make([]float32, cols)
			for i := range g {
				g[i] = float32(1 + 0.3*rng.NormFloat64())
			}
			gb, err := b.res.upload("g", f32Bytes(g))
			require.NoError(t, err)
			for _, norm := range []bool{false, true} {
				var gbuf = gb
				if !norm {
					gbuf = nil
				}
				ds, err := b.actq("test", xb, gbuf, qb, cols, tr.VecDotType, false)
				require.NoError(t, err)
				run(t, d, b.step, []dispatch{ds}, nTok, 0, nil)
				got := readF32(t, d, qb, len(x))
				buf := make([]byte, vt.RowSize(cols))
				want := make([]float32, cols)
				xr := make([]float32, cols)
				flips := 0
				for tk := 0; tk < nTok; tk++ {
					copy(xr, x[tk*cols:(tk+1)*cols])
					if norm {
						refRMSNorm(xr, g, 1e-5)
					}
					tr.QuantizeActivation(buf, xr)
					vt.Dequantize(want, buf)
					for i := range want {
						if math.Abs(float64(want[i]-got[tk*cols+i])) > 1e-6*float64(1+abs32f(want[i])) {
							flips++
						}
					}
				}
				// a float32 vs float64 norm may move a value across a rounding boundary, rarely
				require.LessOrEqualf(t, flips, 2, "norm=%v: %d of %d values differ", norm, flips, len(x))
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

// refRMSNorm is the CPU's RMSNorm (squares summed in float64).
func refRMSNorm(x, g []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		x[i] = (v * scale) * g[i]
	}
}
