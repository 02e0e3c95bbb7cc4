package gpu

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
	"github.com/stretchr/testify/require"
)

// blkPrefix matches a layer's tensor name prefix.
var blkPrefix = regexp.MustCompile(`^blk\.[0-9]+\.`)

func silu64(x float64) float64 { return x / (1 + math.Exp(-x)) }

// relErr is ||got - want|| / ||want||.
func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i, v := range want {
		e := float64(got[i]) - v
		num += e * e
		den += v * v
	}
	return math.Sqrt(num / den)
}

// gemmCase runs one GEMM (mode, tiling) over nTok random activation rows
// and compares every output with the float64 reference built on quant's
// dequantizers. For SWIGLU, ws holds the gate and the up tensor.
func gemmCase(t *testing.T, r *resources, rng *rand.Rand, g gemmTile, mode string, nTok, chunkRows int, ws ...engine.Tensor) {
	t.Helper()
	w := ws[0]
	gw, err := r.uploadWeight(w.Name, chunkRows, ws...)
	require.NoError(t, err)
	x := make([]float32, nTok*w.Cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	rows := w.Rows
	if mode == modeSwiGLU {
		rows = ws[0].Rows
	}
	// outputs live at y_off 3 of a wider row, to check offsets and strides
	const yOff, pad = 3, 5
	stride := rows + yOff + pad
	y0 := make([]float32, nTok*stride)
	for i := range y0 {
		y0[i] = float32(rng.NormFloat64())
	}
	xb, err := r.upload("x", f32Bytes(x))
	require.NoError(t, err)
	yb, err := r.buffer("y", 4*len(y0), 0)
	require.NoError(t, err)
	require.NoError(t, r.d.queue.WriteBuffer(yb, 0, f32Bytes(y0)))
	step, err := r.buffer("step", 64, 0)
	require.NoError(t, err)
	ds, err := r.gemm(step, mv{w: gw, x: xb, y: yb, yOff: yOff, yStride: stride, mode: mode, tt: 8}, g)
	require.NoError(t, err)
	run(t, r.d, step, ds, nTok, 0, nil)
	got := readF32(t, r.d, yb, nTok*stride)
	for tk := 0; tk < nTok; tk++ {
		x64 := make([]float64, w.Cols)
		for i := range x64 {
			x64[i] = float64(x[tk*w.Cols+i])
		}
		dot := refMatVec(t, w, x64)
		var upDot []float64
		if mode == modeSwiGLU {
			upDot = refMatVec(t, ws[1], x64)
		}
		want := make([]float64, stride)
		for i := range want {
			want[i] = float64(y0[tk*stride+i])
		}
		for i := 0; i < rows; i++ {
			o := &want[yOff+i]
			switch mode {
			case modeStore:
				*o = dot[i]
			case modeAdd:
				*o += dot[i]
			case modeSiluMul:
				*o *= silu64(dot[i])
			case modeSwiGLU:
				*o = silu64(dot[i]) * upDot[i]
			}
		}
		rel := relErr(got[tk*stride:(tk+1)*stride], want)
		require.Lessf(t, rel, 1e-5, "%s %s %s %+v token %d of %d: relative error %g",
			w.Type, w.Name, mode, g, tk, nTok, rel)
		// the padding around the outputs is untouched
		for _, i := range []int{0, 1, 2, yOff + rows, stride - 1} {
			require.Equalf(t, y0[tk*stride+i], got[tk*stride+i], "token %d element %d outside the outputs was written", tk, i)
		}
	}
}

// prefillChildEnv marks a re-executed test process (see inFreshProcess).
const prefillChildEnv = "HEARTH_GPU_PREFILL_TEST_CHILD"

// inFreshProcess runs the calling test in a child process and reports
// false to the parent, or true inside the child, which then runs the test
// body. lavapipe now and then segfaults in JIT-compiled shader code (see
// docs/benchmarks-gpu.md, known issues), which would take the whole test
// binary down: the test passes when one of three fresh processes passes,
// and every failed attempt is logged. A kernel bug fails all three.
func inFreshProcess(t *testing.T) bool {
	t.Helper()
	if os.Getenv(prefillChildEnv) == t.Name() {
		return true
	}
	var fails []string
	for attempt := 1; attempt <= 3; attempt++ {
		cmd := exec.Command(os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v")
		cmd.Env = append(os.Environ(), prefillChildEnv+"="+t.Name())
		out, err := cmd.CombinedOutput()
		var keep []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "XDG_RUNTIME_DIR") || strings.Contains(l, "[wgpu] [Warn]") || strings.TrimSpace(l) == "" {
				continue
			}
			keep = append(keep, l)
		}
		text := strings.Join(keep, "\n")
		if err == nil {
			if strings.Contains(text, "SKIP LOUDLY") {
				t.Skip(text)
			}
			for _, f := range fails {
				t.Logf("LAVAPIPE RETRY: an earlier attempt failed:\n%s", f)
			}
			return false
		}
		fails = append(fails, fmt.Sprintf("attempt %d: %v\n%s", attempt, err, text))
	}
	t.Fatalf("%s failed in 3 processes:\n%s", t.Name(), strings.Join(fails, "\n"))
	return false
}

// TestGemmAllTypes checks the tiled prefill GEMM of every weight type on
// the tiny-synth tensors (quantized by llama.cpp) against the float64
// reference: every output mode, token counts below, at and above one
// token tile, and weights split into 100-row chunks (partial row tiles).
// Each type runs in its own fresh process (lavapipe crashes, see
// inFreshProcess).
func TestGemmAllTypes(t *testing.T) {
	// the default, and the coalesced loads (every type's unit_store under
	// the row-major unit order, reading staged raw blocks)
	coalesced := gemmTile{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, xv: 2, pad: 1, wc: 1, rs: 1}
	for _, typ := range synthTypes {
		t.Run(typ, func(t *testing.T) {
			if !inFreshProcess(t) {
				return
			}
			d := testDevice(t)
			g, ok := gemmTileFor(d)
			require.True(t, ok, "the default GEMM tiling does not fit this adapter")
			m := loadTestModel(t, "synthetic/tiny-synth-"+typ+".gguf")
			r := &resources{d: d}
			defer r.release()
			rng := rand.New(rand.NewPCG(2, uint64(len(typ))))
			l := m.Layers[0]
			gemmCase(t, r, rng, g, modeStore, 70, 100, l.Wq)
			gemmCase(t, r, rng, g, modeStore, 1, 0, m.Output)
			gemmCase(t, r, rng, g, modeAdd, 64, 100, m.Layers[1].WDown)
			gemmCase(t, r, rng, g, modeSwiGLU, 5, 0, l.WGate, l.WUp)
			gemmCase(t, r, rng, g, modeSiluMul, 9, 0, l.WGate)
			gemmCase(t, r, rng, coalesced, modeStore, 70, 100, l.Wq)
			gemmCase(t, r, rng, coalesced, modeSwiGLU, 67, 0, l.WGate, l.WUp)
			// split K: every step its own split, over chunked weights
			split := g
			split.sk = 1 << 20
			gemmCase(t, r, rng, split, modeStore, 70, 100, l.Wq)
			gemmCase(t, r, rng, split, modeAdd, 64, 100, m.Layers[1].WDown)
			// shared unit dequantization
			dq := g
			dq.dq = 1
			gemmCase(t, r, rng, dq, modeStore, 70, 100, l.Wq)
			gemmCase(t, r, rng, dq, modeSwiGLU, 67, 0, l.WGate, l.WUp)
		})
	}
}

// randomTensor quantizes a rows x cols matrix of random values to typ.
func randomTensor(t *testing.T, rng *rand.Rand, typ gguf.TensorType, rows, cols int) engine.Tensor {
	t.Helper()
	tr, err := quant.For(typ)
	require.NoError(t, err)
	require.NotNil(t, tr.Quantize)
	src := make([]float32, cols)
	rb, ok := typ.RowSize(cols)
	require.True(t, ok)
	data := make([]byte, rows*int(rb))
	for i := 0; i < rows; i++ {
		for j := range src {
			src[j] = float32(rng.NormFloat64())
		}
		tr.Quantize(data[i*int(rb):(i+1)*int(rb)], src)
	}
	return engine.Tensor{Name: fmt.Sprintf("random %s %dx%d", typ, rows, cols), Type: typ, Rows: rows, Cols: cols, Data: data}
}

// TestGemmTilings checks other tilings (register blocks, BK larger than
// the row so the last column step is partial, small tiles) on random
// matrices whose sizes are not multiples of any tile.
func TestGemmTilings(t *testing.T) {
	if !inFreshProcess(t) {
		return
	}
	d := testDevice(t)
	rng := rand.New(rand.NewPCG(3, 4))
	tiles := []gemmTile{
		{bm: 64, bn: 64, bk: 64, rb: 2, cb: 1, un: 8},
		{bm: 64, bn: 32, bk: 64, rb: 2, cb: 2},
		{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, db: 1},
		{bm: 32, bn: 32, bk: 64, rb: 2, cb: 1, un: 4, db: 1},
		{bm: 32, bn: 16, bk: 32, rb: 1, cb: 1, un: 32},
		{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, xv: 2, pad: 1},
		{bm: 64, bn: 32, bk: 64, rb: 2, cb: 1, un: 8, xv: 8, pad: 1, wc: 1},
		{bm: 128, bn: 64, bk: 32, rb: 2, cb: 1, xv: 2, pad: 1, wc: 1},
		{bm: 64, bn: 32, bk: 32, rb: 1, cb: 1, db: 1, xv: 4, pad: 1},
		{bm: 32, bn: 16, bk: 32, rb: 1, cb: 1, un: 32, xv: 4, wc: 1},
		{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, xv: 2, pad: 1, rs: 1},
		{bm: 32, bn: 32, bk: 64, rb: 2, cb: 1, wc: 1, rs: 1},
		{bm: 128, bn: 64, bk: 32, rb: 2, cb: 2},
		{bm: 128, bn: 64, bk: 32, rb: 2, cb: 2, xv: 2, pad: 1, wc: 1},
		// split K (splits of 256 columns)
		{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, sk: 48},
		{bm: 64, bn: 32, bk: 32, rb: 1, cb: 1, db: 1, sk: 1 << 20},
		{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, xv: 2, pad: 1, wc: 1, rs: 1, sk: 1 << 20},
		{bm: 128, bn: 64, bk: 32, rb: 2, cb: 1, xv: 2, pad: 1, wc: 1, sk: 1 << 20},
		// prefetch (with staged raw blocks), and with split K
		{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, rs: 1, pf: 1},
		{bm: 64, bn: 32, bk: 32, rb: 1, cb: 1, xv: 2, pad: 1, wc: 1, rs: 1, pf: 1, sk: 1 << 20},
		// shared unit dequantization (4 threads a unit; 2 with 128 rows)
		{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, dq: 1},
		{bm: 64, bn: 128, bk: 32, rb: 1, cb: 2, dq: 1, sk: 1 << 20},
		{bm: 128, bn: 128, bk: 32, rb: 2, cb: 2, xv: 2, pad: 1, wc: 1, dq: 1},
	}
	for _, g := range tiles {
		require.True(t, g.valid())
		if g.sharedBytes() > int(d.limits.MaxComputeWorkgroupStorageSize) {
			t.Logf("tiling %+v exceeds this adapter's workgroup memory; skipped", g)
			continue
		}
		t.Run(g.String(), func(t *testing.T) {
			r := &resources{d: d}
			defer r.release()
			q := randomTensor(t, rng, gguf.TypeQ4_0, 70, 96)
			gemmCase(t, r, rng, g, modeStore, 37, 0, q)
			f := randomTensor(t, rng, gguf.TypeF32, 70, 100)
			gemmCase(t, r, rng, g, modeAdd, 19, 0, f)
			gate := randomTensor(t, rng, gguf.TypeQ8_0, 42, 96)
			up := randomTensor(t, rng, gguf.TypeQ8_0, 42, 96)
			gemmCase(t, r, rng, g, modeSwiGLU, 33, 0, gate, up)
			if g.sk > 0 {
				k := randomTensor(t, rng, gguf.TypeQ4_K, 40, 768)
				gemmCase(t, r, rng, g, modeStore, 37, 0, k)
				gemmCase(t, r, rng, g, modeAdd, 37, 0, k)
			}
		})
	}
}

// TestUnitStoreDerived checks that every weight type gets a unit_store.
func TestUnitStoreDerived(t *testing.T) {
	for typ, file := range typeKernel {
		src, err := kernelFile(file)
		require.NoError(t, err)
		for _, shared := range []bool{false, true} {
			s := unitStore(src, shared)
			require.Containsf(t, s, "fn unit_store(", "%s", typ)
			require.NotContainsf(t, s, "v[", "%s: unit_store still indexes the value array", typ)
			require.Equalf(t, shared, strings.Contains(s, "dq_take("), "%s: shared %v", typ, shared)
		}
	}
}

// refAttention is causal attention in float64: token t (at position
// pos+t) of head h attends to cache positions 0..pos+t of KV head
// h/(nHead/nHeadKV).
func refAttention(q, kc, vc []float32, nHead, nHeadKV, hd, qkvStride, pos, nTok int) []float64 {
	out := make([]float64, nTok*nHead*hd)
	kvDim := nHeadKV * hd
	scale := 1 / math.Sqrt(float64(hd))
	for t := 0; t < nTok; t++ {
		for h := 0; h < nHead; h++ {
			kvh := h / (nHead / nHeadKV)
			n := pos + t + 1
			s := make([]float64, n)
			mx := math.Inf(-1)
			for p := 0; p < n; p++ {
				var d float64
				for e := 0; e < hd; e++ {
					d += float64(q[t*qkvStride+h*hd+e]) * float64(kc[p*kvDim+kvh*hd+e])
				}
				s[p] = d * scale
				mx = max(mx, s[p])
			}
			var sum float64
			for p := range s {
				s[p] = math.Exp(s[p] - mx)
				sum += s[p]
			}
			for e := 0; e < hd; e++ {
				var o float64
				for p := range s {
					o += s[p] * float64(vc[p*kvDim+kvh*hd+e])
				}
				out[t*nHead*hd+h*hd+e] = o / sum
			}
		}
	}
	return out
}

// TestAttentionPrefill checks the tiled causal attention against the
// float64 reference for several head sizes (one to several query blocks
// and K/V tiles, grouped-query heads, a batch after earlier positions).
func TestAttentionPrefill(t *testing.T) {
	if !inFreshProcess(t) {
		return
	}
	d := testDevice(t)
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []struct{ nHead, nHeadKV, hd, pos, nTok int }{
		{8, 4, 64, 0, 70},
		{8, 2, 64, 45, 33},
		{4, 4, 8, 3, 150},
		{4, 2, 128, 10, 21},
		{2, 1, 16, 0, 1},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			r := &resources{d: d}
			defer r.release()
			qDim, kvDim := tc.nHead*tc.hd, tc.nHeadKV*tc.hd
			qkvStride := qDim + 2*kvDim
			nPos := tc.pos + tc.nTok
			rnd := func(n int) []float32 {
				v := make([]float32, n)
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
				return v
			}
			q, kc, vc := rnd(tc.nTok*qkvStride), rnd(nPos*kvDim), rnd(nPos*kvDim)
			qb, err := r.upload("qkv", f32Bytes(q))
			require.NoError(t, err)
			kb, err := r.upload("k", f32Bytes(kc))
			require.NoError(t, err)
			vb, err := r.upload("v", f32Bytes(vc))
			require.NoError(t, err)
			ob, err := r.buffer("out", 4*tc.nTok*qDim, 0)
			require.NoError(t, err)
			u, err := r.uniform("attention params", uint32(tc.nHead), uint32(tc.nHeadKV), uint32(tc.hd), uint32(qkvStride),
				f32w(float32(1/math.Sqrt(float64(tc.hd)))), 0, 0, 0)
			require.NoError(t, err)
			step, err := r.buffer("step", 64, 0)
			require.NoError(t, err)
			ds, err := r.attentionBatch(tc.nHead, tc.hd, qb, kb, vb, ob, u, step, dispatch{label: "fallback"})
			require.NoError(t, err)
			require.NotEqual(t, "fallback", ds.label, "the prefill attention declined this shape")
			run(t, d, step, []dispatch{ds}, tc.nTok, tc.pos, nil)
			got := readF32(t, d, ob, tc.nTok*qDim)
			want := refAttention(q, kc, vc, tc.nHead, tc.nHeadKV, tc.hd, qkvStride, tc.pos, tc.nTok)
			for tk := 0; tk < tc.nTok; tk++ {
				rel := relErr(got[tk*qDim:(tk+1)*qDim], want[tk*qDim:(tk+1)*qDim])
				require.Lessf(t, rel, 1e-5, "token %d: relative error %g", tk, rel)
			}
		})
	}
}

// TestPrefillBench measures 512-token prefill on the models listed in
// HEARTH_GPU_PREFILL_BENCH (comma-separated GGUF paths) under each
// configuration of HEARTH_GPU_PREFILL_CONFIGS ("name:VAR=v VAR=v;name2:...",
// settings separated by spaces since HEARTH_GPU_GEMM's value holds commas,
// with environment settings such as HEARTH_GPU_GEMM and
// HEARTH_GPU_PREFILL_ATTN; "base" should switch both off). Each row gives
// the median of 3 timed prefills after a warm-up, and the largest
// last-token logit difference from the first configuration's. It is run
// on the device machine (docs/benchmarks-gpu.md).
func TestPrefillBench(t *testing.T) {
	list := os.Getenv("HEARTH_GPU_PREFILL_BENCH")
	if list == "" {
		t.Skip("benchmark: set HEARTH_GPU_PREFILL_BENCH=model.gguf[,more.gguf]")
	}
	cfgs := os.Getenv("HEARTH_GPU_PREFILL_CONFIGS")
	if cfgs == "" {
		cfgs = "base:HEARTH_GPU_GEMM=0 HEARTH_GPU_PREFILL_ATTN=0;new:"
	}
	nPrompt := 512
	if v, err := strconv.Atoi(os.Getenv("HEARTH_GPU_PREFILL_N")); err == nil && v > 0 && v <= maxBatch {
		nPrompt = v // lavapipe gives up on 512-token submissions
	}
	ctx := context.Background()
	var rows []string
	for _, path := range strings.Split(list, ",") {
		f, err := gguf.Open(path)
		require.NoError(t, err)
		m, err := engine.LoadModel(f)
		require.NoError(t, err)
		prompt := tokenPath(nPrompt, m.NVocab)
		var ref []float32
		for _, cfg := range strings.Split(cfgs, ";") {
			name, sets, _ := strings.Cut(cfg, ":")
			for _, k := range []string{gemmEnv, gemmSplitEnv, gemmBigEnv, gemmDiagEnv, gemmKTEnv, attnEnv, "HEARTH_GPU_TT", "HEARTH_GPU_TPR"} {
				t.Setenv(k, "")
			}
			for _, kv := range strings.Fields(sets) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					t.Setenv(k, v)
				}
			}
			bst := time.Now()
			gb, err := newBackend(m, engine.Options{ContextSize: 1024, KVType: engine.KVF32}, Options{AllowSoftware: os.Getenv(AllowSoftwareEnv) == "1"})
			buildTime := time.Since(bst)
			require.NoError(t, err)
			lg := make([]float32, m.NVocab)
			require.NoError(t, gb.Eval(ctx, prompt, 0, lg))
			diff := 0.0
			if ref == nil {
				ref = lg
			} else {
				diff, _ = maxAbsDiff(lg, ref)
			}
			var ts []time.Duration
			for rep := 0; rep < 3; rep++ {
				st := time.Now()
				_, err := gb.EvalArgmax(ctx, prompt, 0)
				require.NoError(t, err)
				ts = append(ts, time.Since(st))
			}
			tps := float64(nPrompt) / median(ts).Seconds()
			// where the time goes: the batch program restricted to one
			// class of dispatch (plus the final argmax that syncs)
			full := gb.batch
			classes := map[string][]dispatch{}
			var products []string
			for _, d := range full[:len(full)-1] {
				c := "other"
				for _, k := range []string{"gemm", "attention", "actq", "rope", "rmsnorm"} {
					if strings.Contains(d.label, k) {
						c = k
						break
					}
				}
				classes[c] = append(classes[c], d)
				if c == "gemm" {
					// and by product: the weight's name without its layer
					f := strings.Fields(d.label)
					pc := "gemm:" + strings.TrimSuffix(blkPrefix.ReplaceAllString(f[len(f)-1], ""), ".weight")
					if _, ok := classes[pc]; !ok {
						products = append(products, pc)
					}
					classes[pc] = append(classes[pc], d)
				}
			}
			var prof []string
			for _, c := range append([]string{"gemm", "other", "attention", "actq", "rope", "rmsnorm"}, products...) {
				ds, ok := classes[c]
				if !ok {
					continue
				}
				gb.batch = append(append([]dispatch(nil), ds...), full[len(full)-1])
				st := time.Now()
				for i := 0; i < 2; i++ {
					_, err = gb.EvalArgmax(ctx, prompt, 0)
					require.NoError(t, err)
				}
				prof = append(prof, fmt.Sprintf("%s %d: %.3g ms", c, len(ds), time.Since(st).Seconds()*1e3/2))
			}
			gb.batch = full
			if g, ok := gemmTileFor(gb.d); ok {
				name += fmt.Sprintf(" (gemm %s)", g)
			}
			// which GEMM kernel ran: gemm_kt dispatches are labelled /kt
			// with their tiling
			nkt, ng, kts := 0, 0, map[string]bool{}
			for _, d := range full {
				if strings.HasPrefix(d.label, "gemm ") && !strings.HasPrefix(d.label, "gemm combine") {
					ng++
					if strings.Contains(d.label, "/kt") {
						nkt++
						for _, f := range strings.Fields(d.label) {
							if strings.Contains(f, "/kt") {
								kts[f] = true
							}
						}
					}
				}
			}
			if nkt > 0 {
				name += fmt.Sprintf(" (kt %s: %d of %d gemm dispatches)", strings.Join(slices.Sorted(maps.Keys(kts)), " "), nkt, ng)
			}
			prof = append(prof, fmt.Sprintf("build %.1f s", buildTime.Seconds()))
			row := fmt.Sprintf("| %s | %s | %s | %.0f | %.3g | %s |", gb.d.info.Name, filepath.Base(path), name, tps, diff, strings.Join(prof, ", "))
			t.Log(row)
			rows = append(rows, row)
			gb.Close()
		}
		f.Close()
	}
	fmt.Printf("| card | model | config | prefill t/s (%d) | max |dlogit| vs first config | batch time by class |\n", nPrompt)
	for _, r := range rows {
		fmt.Println(r)
	}
}

// TestGemmSplitK checks the split-K plan: whole BK steps (whole blocks
// with staged raw blocks) that cover the columns, no split where the grid
// is already large or the product fuses two rows (SwiGLU), and the
// environment's override.
func TestGemmSplitK(t *testing.T) {
	// the rules, on 64x64 tiles of 4x4 a thread (256 threads)
	t64 := gemmTile{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, sk: 256}
	g := t64
	g.sk = 1024
	for _, c := range []struct {
		mode        string
		tiles, cols int
		rs          int
		want        int
	}{
		{modeAdd, 32, 5632, 0, 4},    // ffn_down: 256 workgroups
		{modeStore, 40, 2048, 0, 3},  // fused QKV: 320 workgroups
		{modeStore, 4, 2048, 0, 8},   // V alone: 32 workgroups, 256 columns a split
		{modeStore, 4, 2048, 1, 8},   // the same staged: whole 256-column blocks
		{modeSwiGLU, 88, 2048, 0, 1}, // SwiGLU: never
		{modeStore, 200, 2048, 0, 1}, // enough workgroups
	} {
		gg := g
		gg.rs = c.rs
		splits, ks := gg.splitK(c.mode, c.tiles, c.cols)
		require.Equalf(t, c.want, splits, "%+v", c)
		gran := 32
		if c.rs == 1 {
			gran = 256
		}
		require.Zerof(t, ks%gran, "%+v: %d columns per split", c, ks)
		require.Truef(t, ks*(splits-1) < c.cols && ks*splits >= c.cols, "%+v: %d x %d columns", c, splits, ks)
	}
	// threads a unit (32-element units; F16's 4-element units never share)
	q4k, err := kernelFile(typeKernel[gguf.TypeQ4_K])
	require.NoError(t, err)
	f16, err := kernelFile(typeKernel[gguf.TypeF16])
	require.NoError(t, err)
	g.dq = 1
	require.Equal(t, 4, g.dqFor(q4k))
	require.Equal(t, 1, g.dqFor(f16))
	require.Equal(t, 2, gemmTile{bm: 128, bn: 128, bk: 32, rb: 2, cb: 2, dq: 1}.dqFor(q4k))
	require.Equal(t, 1, t64.dqFor(q4k))
	// 64x64 tiles split only grids of under 256 workgroups: TinyLlama's V
	// alone (256 rows), not Q/O/down (2048 rows) or Q+K (2304)
	for _, c := range []struct{ tiles, cols, want int }{{4, 2048, 8}, {32, 2048, 1}, {32, 5632, 1}, {40, 2048, 1}, {36, 2048, 1}} {
		splits, _ := t64.splitK(modeStore, c.tiles, c.cols)
		require.Equalf(t, c.want, splits, "%+v", c)
	}
	// the default's 128-row tiles halve the grids: TinyLlama's V alone in
	// 8 splits, Q/O/down (128 workgroups) in 2, Q+K (2304 rows: 144) and
	// 4096-row products whole
	for _, c := range []struct{ tiles, cols, want int }{{2, 2048, 8}, {16, 2048, 2}, {16, 5632, 2}, {18, 2048, 1}, {32, 2048, 1}} {
		splits, _ := defaultGemmTile.splitK(modeStore, c.tiles, c.cols)
		require.Equalf(t, c.want, splits, "%+v", c)
	}
	d := &device{limits: wgpu.Limits{MaxComputeWorkgroupStorageSize: 49152, MaxComputeInvocationsPerWorkgroup: 1024}}
	t.Setenv(gemmEnv, "128,64,32,2,1")
	t.Setenv(gemmSplitEnv, "777")
	got, ok := gemmTileFor(d)
	require.True(t, ok)
	require.Equal(t, gemmTile{bm: 128, bn: 64, bk: 32, rb: 2, cb: 1, un: 1, sk: 777}, got)
}

// TestGemmTileEnv checks how HEARTH_GPU_GEMM strings select tilings (the
// device sweep depends on it): fields left out are defaults, invalid
// strings keep the default tiling, BK shrinks to fit the workgroup memory.
func TestGemmTileEnv(t *testing.T) {
	d := &device{limits: wgpu.Limits{MaxComputeWorkgroupStorageSize: 49152, MaxComputeInvocationsPerWorkgroup: 1024}}
	sk := defaultGemmTile.sk // a tiling string keeps the default split target
	for _, c := range []struct {
		env  string
		want gemmTile
		ok   bool
	}{
		{"", defaultGemmTile, true},
		{"0", defaultGemmTile, false},
		{"128,64,32,2,2", gemmTile{bm: 128, bn: 64, bk: 32, rb: 2, cb: 2, un: 1, sk: sk}, true},
		{"64,64,32,1,1,1,1", gemmTile{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, un: 1, db: 1, sk: sk}, true},
		{"64,64,32,1,1,1,0,2,1,1,1", gemmTile{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, un: 1, xv: 2, pad: 1, wc: 1, rs: 1, sk: sk}, true},
		{"128,64,32,2,1,4,0,8,1,1", gemmTile{bm: 128, bn: 64, bk: 32, rb: 2, cb: 1, un: 4, xv: 8, pad: 1, wc: 1, sk: sk}, true},
		{"64,64,32,1,1,1,1,0,0,0,1", defaultGemmTile, true}, // RS with DB: invalid
		{"64,64,32,1,1,1,0,3", defaultGemmTile, true},       // XV must divide BK/4
		{"64,64,256,1,1", gemmTile{bm: 64, bn: 64, bk: 64, rb: 1, cb: 1, un: 1, sk: sk}, true},
		{"64,64,32,1,1,1,0,0,0,0,0,5", defaultGemmTile, true}, // PF 5: invalid
		{"64,64,32,1,1,1,0,0,0,0,0,1", defaultGemmTile, true}, // PF without RS: invalid
		{"64,64,32,1,1,1,0,2,1,1,1,1", gemmTile{bm: 64, bn: 64, bk: 32, rb: 1, cb: 1, un: 1, xv: 2, pad: 1, wc: 1, rs: 1, pf: 1, sk: sk}, true},
		{"64,64,32,1,1,1,0,0,0,0,0,0,7", defaultGemmTile, true}, // 13 fields
		{"128,128,32,2,2,1,0,2,1,1,1", gemmTile{bm: 128, bn: 128, bk: 32, rb: 2, cb: 2, un: 1, xv: 2, pad: 1, wc: 1, rs: 1, sk: sk}, false},
	} {
		t.Setenv(gemmEnv, c.env)
		g, ok := gemmTileFor(d)
		require.Equalf(t, c.ok, ok, "%q", c.env)
		if ok {
			require.Equalf(t, c.want, g, "%q", c.env)
		}
	}
}

// ktTestTypes are the weight types gemm_kt.wgsl dequantizes (ktTypes), in
// a fixed order.
var ktTestTypes = []gguf.TensorType{gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K, gguf.TypeF16}

// TestGemmKT checks gemm_kt.wgsl (HEARTH_GPU_GEMM_KT) against the float64
// reference for each of its weight types: every output mode, split K
// (PART + gemm_combine), token counts below, at and above one token tile,
// row counts that are not a multiple of the row tile, weights split into
// chunks, 256/768/2048/5632 columns, and other tilings (larger and
// smaller tiles, BK 64, thread counts that do not divide a tile's loads,
// the dot() form, DB) spread over the types.
func TestGemmKT(t *testing.T) {
	require.Len(t, ktTestTypes, len(ktTypes))
	for _, typ := range ktTestTypes {
		require.True(t, ktTypes[typ], "%s", typ)
		t.Run(typ.String(), func(t *testing.T) {
			if !inFreshProcess(t) {
				return
			}
			d := testDevice(t)
			t.Setenv(gemmKTEnv, "1")
			t.Setenv(gemmSplitEnv, "")
			g, ok := ktTileFor(d, typ)
			require.True(t, ok, "the default KT tiling does not fit this adapter")
			require.Equal(t, defaultKTTile, g)
			split := g
			split.sk = 1 << 20 // every product of STORE/ADD split (256 columns a split)
			r := &resources{d: d}
			defer r.release()
			rng := rand.New(rand.NewPCG(7, uint64(typ)))
			tensor := func(rows, cols int) engine.Tensor { return randomTensor(t, rng, typ, rows, cols) }
			type ktCase struct {
				g                gemmTile
				mode             string
				nTok, rows, cols int
				chunk            int
				swiglu           bool
			}
			cases := []ktCase{
				{g, modeStore, 1, 200, 256, 0, false},
				{g, modeStore, 17, 300, 2048, 100, false},
				{g, modeStore, 64, 128, 256, 0, false},
				{g, modeAdd, 100, 72, 5632, 0, false},
				{g, modeSwiGLU, 100, 70, 256, 0, true},
				{g, modeSwiGLU, 17, 130, 2048, 0, true},
				{g, modeSiluMul, 17, 50, 256, 0, false},
				{split, modeStore, 100, 130, 2048, 100, false},
				{split, modeAdd, 17, 40, 768, 0, false},
			}
			// other tilings, each on one of the types (round robin; the
			// type-specific code is the same w_raw/w_dec in every tiling);
			// SWIGLU (slow to build on lavapipe) where the tile is not
			// 128 rows, whose gate/up interleave the default checks
			others := []string{"64,64,32,1,1", "128,128,32,2,2", "64,32,64,2,1", "64,12,32,1,1", "56,64,32,1,1",
				"128,64,32,2,1,1", "128,64,32,2,1,0,1", "64,12,32,1,1,0,1", "128,128,32,2,2,0,1", "64,32,64,2,1,1,1"}
			ti := slices.Index(ktTestTypes, typ)
			for i, s := range others {
				if i%len(ktTestTypes) != ti {
					continue
				}
				o, ok := parseKTTile(s)
				require.True(t, ok, s)
				o.sk = split.sk
				cases = append(cases, ktCase{o, modeStore, 70, 100, 768, 0, false})
				if o.bm != 128 {
					cases = append(cases, ktCase{o, modeSwiGLU, 33, 42, 256, 0, true})
				}
			}
			// the type's default tiling (ktDefaults: too large for
			// lavapipe, so checked on hardware adapters), unsplit and split,
			// SWIGLU too
			if def, ok := ktDefaults[typ]; ok {
				ds := def
				ds.sk = split.sk
				cases = append(cases, ktCase{def, modeStore, 100, 300, 2048, 0, false},
					ktCase{ds, modeAdd, 70, 130, 768, 0, false},
					ktCase{def, modeSwiGLU, 33, 42, 256, 0, true})
			}
			for _, c := range cases {
				if c.g.sharedBytes() > int(d.limits.MaxComputeWorkgroupStorageSize) {
					t.Logf("tiling %s exceeds this adapter's workgroup memory; skipped", c.g)
					continue
				}
				if c.swiglu {
					gemmCase(t, r, rng, c.g, c.mode, c.nTok, c.chunk, tensor(c.rows, c.cols), tensor(c.rows, c.cols))
				} else {
					gemmCase(t, r, rng, c.g, c.mode, c.nTok, c.chunk, tensor(c.rows, c.cols))
				}
			}
		})
	}
}

// gemmRun runs one STORE GEMM of tiling g over the nTok activation rows x
// and returns Y (nTok rows of w.Rows).
func gemmRun(t *testing.T, r *resources, g gemmTile, w engine.Tensor, x []float32, nTok int) []float32 {
	t.Helper()
	gw, err := r.uploadWeight(w.Name, 0, w)
	require.NoError(t, err)
	xb, err := r.upload("x", f32Bytes(x))
	require.NoError(t, err)
	yb, err := r.buffer("y", 4*nTok*w.Rows, 0)
	require.NoError(t, err)
	step, err := r.buffer("step", 64, 0)
	require.NoError(t, err)
	ds, err := r.gemm(step, mv{w: gw, x: xb, y: yb, yStride: w.Rows, mode: modeStore, tt: 8}, g)
	require.NoError(t, err)
	run(t, r.d, step, ds, nTok, 0, nil)
	return readF32(t, r.d, yb, nTok*w.Rows)
}

// TestGemmKTDequant checks that gemm_kt.wgsl's w4 dequantizers give the
// values of the type's unit_vals exactly: a GEMM over identity activation
// rows (token k is the unit vector e_k, so every sum holds one product
// w*1 and exact zeros) returns the dequantized weights themselves, which
// must equal gemm.wgsl's (unit_vals through unit_store) bit for bit, and
// quant's CPU dequantizer's (llama.cpp's values) up to the rounding of the
// scale products on the GPU (Q4_K: d*sc*q - dmin*m), counted and bounded
// (exact on lavapipe). On lavapipe the sums over random activations are
// gemm.wgsl's bit for bit too (both fma in k order).
func TestGemmKTDequant(t *testing.T) {
	if !inFreshProcess(t) {
		return
	}
	d := testDevice(t)
	rng := rand.New(rand.NewPCG(8, 9))
	old := defaultGemmTile
	old.sk = 0
	kt := defaultKTTile
	kt.sk = 0
	const rows, cols = 130, 512
	x := make([]float32, cols*cols)
	for k := 0; k < cols; k++ {
		x[k*cols+k] = 1
	}
	for _, typ := range ktTestTypes {
		t.Run(typ.String(), func(t *testing.T) {
			r := &resources{d: d}
			defer r.release()
			w := randomTensor(t, rng, typ, rows, cols)
			got := gemmRun(t, r, kt, w, x, cols)
			want := gemmRun(t, r, old, w, x, cols)
			tr, err := quant.For(typ)
			require.NoError(t, err)
			row := make([]float32, cols)
			diffs := 0
			for o := 0; o < rows; o++ {
				tr.Dequantize(row, w.Data[o*w.RowBytes():(o+1)*w.RowBytes()])
				for k := 0; k < cols; k++ {
					g := got[k*rows+o]
					require.Equalf(t, math.Float32bits(want[k*rows+o]), math.Float32bits(g),
						"row %d column %d: gemm_kt %g, gemm %g", o, k, g, want[k*rows+o])
					if g != row[k] {
						diffs++
						require.InDeltaf(t, row[k], g, 1e-6*math.Abs(float64(row[k]))+1e-7,
							"row %d column %d: gemm_kt %g, CPU %g", o, k, g, row[k])
					}
				}
			}
			t.Logf("%s: %d of %d values equal gemm.wgsl's bit for bit; %d differ from the CPU's in the last bits", typ, rows*cols, rows*cols, diffs)
			if !isSoftware(d.info) {
				return
			}
			// lavapipe: the CPU's values exactly, and on random activations
			// gemm.wgsl's sums bit for bit (both fma in k order)
			require.Zero(t, diffs, "dequantized values differ from the CPU's on lavapipe")
			const nTok = 70
			xr := make([]float32, nTok*cols)
			for i := range xr {
				xr[i] = float32(rng.NormFloat64())
			}
			got = gemmRun(t, r, kt, w, xr, nTok)
			want = gemmRun(t, r, old, w, xr, nTok)
			for i := range want {
				require.Equalf(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "random activations: output %d: gemm_kt %g, gemm %g", i, got[i], want[i])
			}
		})
	}
}

// TestKTTileEnv checks how HEARTH_GPU_GEMM_KT strings select gemm_kt
// tilings (the device sweep depends on it): ktDefaults unless set, "0"
// off, "1" for defaultKTTile, "BM,BN,BK,RB,CB[,DOT[,DB]]", invalid strings
// give defaultKTTile, the split override applies, tilings beyond the
// adapter turn it off, types without a dequantizer never get it.
func TestKTTileEnv(t *testing.T) {
	d := &device{limits: wgpu.Limits{MaxComputeWorkgroupStorageSize: 49152, MaxComputeInvocationsPerWorkgroup: 1024}}
	sk := defaultKTTile.sk
	for _, c := range []struct {
		env, split string
		want       gemmTile
		ok         bool
	}{
		{"0", "", gemmTile{}, false},
		{"1", "", defaultKTTile, true},
		{"128,128,32,2,2", "", gemmTile{bm: 128, bn: 128, bk: 32, rb: 2, cb: 2, un: 1, sk: sk, kt: 1}, true},
		{"128,64,32,2,1,1", "", gemmTile{bm: 128, bn: 64, bk: 32, rb: 2, cb: 1, un: 1, sk: sk, kt: 1, dot: 1}, true},
		{"64,64,64,1,1", "0", gemmTile{bm: 64, bn: 64, bk: 64, rb: 1, cb: 1, un: 1, kt: 1}, true},
		{"1", "1024", gemmTile{bm: 128, bn: 64, bk: 32, rb: 2, cb: 1, un: 1, sk: 1024, kt: 1}, true},
		{"64,64,48,1,1", "", defaultKTTile, true},    // BK not a multiple of 32
		{"60,64,32,1,1", "", defaultKTTile, true},    // BM not whole 8-row pairs of groups
		{"128,64,32,2,1,2", "", defaultKTTile, true}, // DOT 2
		{"128,64,32,2,1,0,1", "", gemmTile{bm: 128, bn: 64, bk: 32, rb: 2, cb: 1, un: 1, sk: sk, kt: 1, db: 1}, true},
		{"128,64,32,2,1,0,2", "", defaultKTTile, true},   // DB 2
		{"128,64,32,2,1,0,1,1", "", defaultKTTile, true}, // 8 fields
		{"yes", "", defaultKTTile, true},
		{"256,128,32,1,1", "", defaultKTTile, true}, // 2048 threads: invalid
		{"256,256,64,2,2", "", gemmTile{}, false},   // 147 KiB of workgroup memory
	} {
		t.Setenv(gemmKTEnv, c.env)
		t.Setenv(gemmSplitEnv, c.split)
		for typ := range typeKernel {
			g, ok := ktTileFor(d, typ)
			if !ktTypes[typ] {
				require.Falsef(t, ok, "%q: %s has no gemm_kt dequantizer", c.env, typ)
				continue
			}
			require.Equalf(t, c.ok, ok, "%q %s", c.env, typ)
			if ok {
				require.Equalf(t, c.want, g, "%q %s", c.env, typ)
				require.LessOrEqual(t, g.sharedBytes(), 49152)
			}
		}
	}
	// unset: the measured defaults, each a valid tiling that fits 48 KiB,
	// gemm.wgsl for the other types; none of them fits lavapipe's 32 KiB
	t.Setenv(gemmKTEnv, "")
	t.Setenv(gemmSplitEnv, "")
	small := &device{limits: wgpu.Limits{MaxComputeWorkgroupStorageSize: 32768, MaxComputeInvocationsPerWorkgroup: 256}}
	for typ := range typeKernel {
		g, ok := ktTileFor(d, typ)
		want, def := ktDefaults[typ]
		require.Equalf(t, def, ok, "%s", typ)
		if def {
			require.Truef(t, ktTypes[typ], "%s has a default but no dequantizer", typ)
			require.Truef(t, want.ktValid(), "%s: default %s", typ, want)
			require.Equalf(t, want, g, "%s", typ)
			_, ok = ktTileFor(small, typ)
			require.Falsef(t, ok, "%s: default %s fits 32 KiB: update this test and the CI coverage note", typ, want)
		}
	}
	require.Contains(t, ktDefaults, gguf.TypeQ4_K)
	// gemm_kt is chosen for its five types only, gemm.wgsl for the others
	require.Len(t, ktTypes, 5)
	for typ := range typeKernel {
		src, err := ktShader(typeKernel[typ], defaultKTTile, modeStore)
		if ktTypes[typ] {
			require.NoErrorf(t, err, "%s", typ)
			require.Containsf(t, src, "fn w_dec(", "%s", typ)
		} else {
			require.Errorf(t, err, "%s has no w4 but ktShader accepted it", typ)
		}
	}
}
