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

// TestMVDAllTypes checks the fused decode kernel (mvd.wgsl) of every weight
// type against a float64 reference built on quant: the input row (the
// batch's last) is RMS-normalized (or not), rounded with quant's
// QuantizeActivation and dequantized, then multiplied with the weights as
// quant dequantizes them. Shapes exercise the hand-written tasks (Q4_K,
// Q6_K with blocks at odd byte offsets, Q4_0/Q8_0 block pairs, F16), the
// generic unit_dot path, partial workgroups and the SwiGLU epilogue.
func TestMVDAllTypes(t *testing.T) {
	d := testDevice(t)
	types := []gguf.TensorType{gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ4_0, gguf.TypeQ4_1,
		gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0, gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K,
		gguf.TypeQ5_K, gguf.TypeQ6_K}
	cases := []struct {
		rows, cols int
		mode       string
	}{{37, 512, modeStore}, {70, 768, modeSwiGLU}}
	const nTok = 2 // the kernel reads the last token's row
	tunings := []mvdTuning{{}, {pk: true}, {small: []mvdRule{{rows: 4096, tpr: 32, rpw: 2}}},
		{pk: true, small: []mvdRule{{rows: 50, tpr: 8, rpw: 8}, {rows: 4096, tpr: 64, rpw: 4}}},
		{small: []mvdRule{{rows: 50, tpr: 8, rpw: 8}, {rows: 4096, tpr: 64, rpw: 4}}},
		{q4k: 64}, {pk: true, q4k: 64}, {pf: 8}, {pk: true, q4k: 64, pf: 3}, {noPrep: 3}, {noPrep: 2, pf: 8},
		// 64 threads: the norm weights of three vec4s a thread (GPF) at
		// 768 columns, against the same tiling without GPF
		{small: []mvdRule{{rows: 50, tpr: 8, rpw: 8}, {rows: 4096, tpr: 64, rpw: 4}}, noPrep: 3}}
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			tr, err := quant.For(typ)
			require.NoError(t, err)
			vt, err := quant.For(tr.VecDotType)
			require.NoError(t, err)
			r := &resources{d: d}
			defer r.release()
			step, err := r.buffer("step", 64, 0)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(3, uint64(typ)))
			for _, sh := range cases {
				mode := sh.mode
				wRows := sh.rows
				if mode == modeSwiGLU {
					wRows *= 2 // gate rows, then up rows
				}
				wf := make([]float32, wRows*sh.cols)
				for i := range wf {
					wf[i] = float32(rng.NormFloat64() * 0.5)
				}
				w := engine.Tensor{Name: "w", Type: typ, Rows: wRows, Cols: sh.cols}
				w.Data = make([]byte, wRows*w.RowBytes())
				for i := 0; i < wRows; i++ {
					tr.Quantize(w.Data[i*w.RowBytes():(i+1)*w.RowBytes()], wf[i*sh.cols:(i+1)*sh.cols])
				}
				gw, err := r.uploadWeight("w", 0, w)
				require.NoError(t, err)
				x := make([]float32, nTok*sh.cols)
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 2)
				}
				g := make([]float32, sh.cols)
				for i := range g {
					g[i] = float32(1 + 0.3*rng.NormFloat64())
				}
				xb, err := r.upload("x", f32Bytes(x))
				require.NoError(t, err)
				gb, err := r.upload("g", f32Bytes(g))
				require.NoError(t, err)
				for _, norm := range []bool{false, true} {
					name := fmt.Sprintf("%dx%d %s norm=%v", sh.rows, sh.cols, mode, norm)
					yb, err := r.buffer("y", 4*sh.rows, 0)
					require.NoError(t, err)
					m := mv{w: gw, x: xb, y: yb, yStride: sh.rows, mode: mode, last: true, tt: 1, eps: 1e-5}
					if norm {
						m.norm = gb
					}
					// today's kernel, then the tuning switches: packed
					// quants (the same bits), and other threads per row
					// and rows per workgroup (sums in another order)
					base := map[string][]float32{}
					var gots [][]float32
					for _, tu := range tunings {
						r.tune = tu
						ds, err := r.mvd(step, m, tr.VecDotType, nil)
						require.NoError(t, err)
						run(t, d, step, ds, nTok, 0, nil)
						got := readF32(t, d, yb, sh.rows)
						// the same summation order as an earlier tuning
						// but for PK, PF or the prep's switches: the same
						// bits
						key := fmt.Sprint(tu.small, tu.q4k)
						if b, ok := base[key]; ok {
							require.Equalf(t, b, got, "%s %s %+v: packed quants, prefetch or the prep's switches changed the result", typ, name, tu)
						} else {
							base[key] = got
						}
						gots = append(gots, got)
					}
					r.tune = mvdTuning{}

					// reference
					xr := append([]float32(nil), x[(nTok-1)*sh.cols:]...)
					if norm {
						refRMSNorm(xr, g, 1e-5)
					}
					buf := make([]byte, vt.RowSize(sh.cols))
					tr.QuantizeActivation(buf, xr)
					xq := make([]float32, sh.cols)
					vt.Dequantize(xq, buf)
					row := make([]float32, sh.cols)
					dot := func(i int) float64 {
						if tr.VecDotType == gguf.TypeQ8_1 {
							// the CPU's product: Q4_1/Q5_1's min term takes
							// the activations' block sums s (mvd.wgsl prep)
							return float64(tr.VecDot(sh.cols, w.Data[i*w.RowBytes():(i+1)*w.RowBytes()], buf))
						}
						tr.Dequantize(row, w.Data[i*w.RowBytes():(i+1)*w.RowBytes()])
						var s float64
						for j, v := range row {
							s += float64(v) * float64(xq[j])
						}
						return s
					}
					for k, got := range gots {
						var num, den float64
						for i := 0; i < sh.rows; i++ {
							want := dot(i)
							if mode == modeSwiGLU {
								gt := want
								want = gt / (1 + math.Exp(-gt)) * dot(i+sh.rows)
							}
							e := float64(got[i]) - want
							num += e * e
							den += want * want
						}
						rel := math.Sqrt(num / den)
						// a float32 norm may round a rare activation the other
						// way than the float64 reference (see knownMismatch)
						tol := 1e-5
						if norm {
							tol = 1e-3
						}
						require.Lessf(t, rel, tol, "%s %s %+v: relative error %g", typ, name, tunings[k], rel)
					}
				}
			}
		})
	}
}

// TestReadMVDTuning checks the parsing of the prep's switches: the bits of
// HEARTH_GPU_MVD_PREP that are off, the diagnostics, and clear errors.
func TestReadMVDTuning(t *testing.T) {
	for _, tc := range []struct {
		prep, diag string
		noPrep     int
		err        bool
	}{
		{prep: "", noPrep: 0},
		{prep: "3", noPrep: 0},
		{prep: "0", noPrep: 3},
		{prep: "1", noPrep: 2},
		{prep: "2", noPrep: 1},
		{prep: "4", err: true},
		{prep: "x", err: true},
		{diag: "noq8"},
		{diag: "nonorm"},
		{diag: "noprep"},
		{diag: "fast", err: true},
	} {
		t.Setenv(mvdPrepEnv, tc.prep)
		t.Setenv(mvdDiagEnv, tc.diag)
		tu, err := readMVDTuning()
		if tc.err {
			require.Errorf(t, err, "%+v", tc)
			continue
		}
		require.NoErrorf(t, err, "%+v", tc)
		require.Equalf(t, tc.noPrep, tu.noPrep, "%+v", tc)
		require.Equalf(t, tc.diag, tu.diag, "%+v", tc)
	}
}
