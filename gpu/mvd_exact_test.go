package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
	"github.com/stretchr/testify/require"
)

// TestMVDExactOrder requires the fused decode kernel's products to equal the
// CPU backend's bit for bit (gpu/NUMERICS.md): the input row is rounded to
// the weight's vec-dot type by quant (the kernel's own rounding is checked
// by TestActivationRounding) and multiplied the way engine/cpu does it on
// one token: quant.GemvQ4_0x8 on the rows interleaved as engine/cpu loads
// them (quant.RepackQ4_0x8) for Q4_0 weights with rows % 8 == 0 and
// quant.GemvQ4K for Q4_K (llama.cpp's repacked kernels' arithmetic),
// GemvF32 for F32, quant.Gemv (the type's VecDot) otherwise. Row counts of
// 64 and 36 take both paths.
func TestMVDExactOrder(t *testing.T) {
	d := testDevice(t)
	types := []gguf.TensorType{gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ4_0, gguf.TypeQ4_1,
		gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0, gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K,
		gguf.TypeQ5_K, gguf.TypeQ6_K}
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			tr, err := quant.For(typ)
			require.NoError(t, err)
			vt, err := quant.For(tr.VecDotType)
			require.NoError(t, err)
			r := &resources{d: d}
			defer r.release()
			r.tune.inexact = os.Getenv(mvdExactEnv) == "0" // shows what the earlier tasks give
			step, err := r.buffer("step", 64, 0)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(5, uint64(typ)))
			// a last chunk that runs past the row (zero tasks): 640
			// columns, K-quants 1280
			past := 640
			if typ.BlockSize() == 256 {
				past = 1280
			}
			shapes := []struct{ rows, cols int }{{64, 768}, {36, 512}, {16, past}}
			if typ == gguf.TypeQ4_K { // XSB with 2 parts a super-block, and 1
				shapes = append(shapes, struct{ rows, cols int }{16, 2048}, struct{ rows, cols int }{8, 4096})
			}
			if typ == gguf.TypeF32 {
				shapes = append(shapes, struct{ rows, cols int }{20, 172}) // a tail past the last 32 (stories260K's ffn_down)
			}
			if typ == gguf.TypeQ8_0 {
				shapes = append(shapes, struct{ rows, cols int }{16, 800}) // XQV: 25 blocks, one past its groups of 8
			}
			// every path of the type: Q4_K super-block jobs (XSB, the
			// default) and XCH's chunks; F32/F16/BF16 two lanes a thread
			// (XFV, the default) and one; Q8_0 a thread a lane (XQV) with
			// 16 rows a workgroup (the default), 8 and 32, and XCH's chunks
			variants := []mvdTuning{{xqv: 16}}
			switch typ {
			case gguf.TypeQ4_K:
				variants = append(variants, mvdTuning{noSB: true})
			case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16:
				variants = append(variants, mvdTuning{noXFV: true})
			case gguf.TypeQ8_0:
				variants = append(variants, mvdTuning{}, mvdTuning{xqv: 8}, mvdTuning{xqv: 32})
			case gguf.TypeQ6_K:
				variants = append(variants, mvdTuning{xqv: 16, xqv6: xqv6All}, mvdTuning{xqv: 32, xqv6: xqv6All})
			}
			for _, v := range variants {
				r.tune.noSB, r.tune.noXFV, r.tune.xqv, r.tune.xqv6 = v.noSB, v.noXFV, v.xqv, v.xqv6
				for _, sh := range shapes {
					if typ == gguf.TypeQ4_K && sh.rows%8 != 0 {
						continue // the CPU's vec_dot order has no exact GPU path
					}
					wf := make([]float32, sh.rows*sh.cols)
					for i := range wf {
						wf[i] = float32(rng.NormFloat64() * 0.5)
					}
					w := engine.Tensor{Name: "w", Type: typ, Rows: sh.rows, Cols: sh.cols}
					rb := w.RowBytes()
					w.Data = make([]byte, sh.rows*rb)
					for i := 0; i < sh.rows; i++ {
						tr.Quantize(w.Data[i*rb:(i+1)*rb], wf[i*sh.cols:(i+1)*sh.cols])
					}
					gw, err := r.uploadWeight("w", 0, w)
					require.NoError(t, err)
					x := make([]float32, sh.cols)
					for i := range x {
						x[i] = float32(rng.NormFloat64() * 2)
					}
					xb, err := r.upload("x", f32Bytes(x))
					require.NoError(t, err)
					yb, err := r.buffer("y", 4*sh.rows, 0)
					require.NoError(t, err)
					m := mv{w: gw, x: xb, y: yb, yStride: sh.rows, mode: modeStore, last: true, tt: 1, eps: 1e-5}
					ds, err := r.mvd(step, m, tr.VecDotType, nil)
					require.NoError(t, err)
					run(t, d, step, ds, 1, 0, nil)
					got := readF32(t, d, yb, sh.rows)

					a := make([]byte, vt.RowSize(sh.cols))
					tr.QuantizeActivation(a, x)
					want := make([]float32, sh.rows)
					switch {
					case typ == gguf.TypeQ4_0 && sh.rows%8 == 0:
						wx := make([]byte, quant.Q4_0x8Size(sh.rows, sh.cols))
						quant.RepackQ4_0x8(wx, w.Data, rb, sh.rows, sh.cols)
						tab := make([]byte, quant.Q4_0x8TabSize(sh.cols))
						quant.Q4_0x8Tab(tab, a, sh.cols)
						quant.GemvQ4_0x8(want, wx, sh.cols, a, tab, 0, sh.rows)
					case typ == gguf.TypeQ4_K:
						quant.GemvQ4K(want, w.Data, rb, sh.cols, a, 0, sh.rows)
					case typ == gguf.TypeF32:
						quant.GemvF32(want, w.Data, rb, sh.cols, a, 0, sh.rows)
					default:
						quant.Gemv(tr, want, w.Data, rb, sh.cols, a, 0, sh.rows)
					}
					bad := 0
					first := ""
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							if bad == 0 {
								first = fmt.Sprintf("row %d: gpu %g cpu %g", i, got[i], want[i])
							}
							bad++
						}
					}
					require.Zerof(t, bad, "%s %dx%d (tuning %+v): %d of %d rows differ from the CPU's bits (first %s)", typ, sh.rows, sh.cols, v, bad, sh.rows, first)
				}
			}
		})
	}
}
