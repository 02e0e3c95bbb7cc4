package gpu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/stretchr/testify/require"
)

// newProfiledBackend builds a GPU backend with timestamp queries; it skips
// loudly without an adapter or without timestamp support.
func newProfiledBackend(t *testing.T, m *engine.Model, nCtx int) *Backend {
	t.Helper()
	t.Setenv(AllowSoftwareEnv, "1")
	g, err := newBackend(m, engine.Options{ContextSize: nCtx, KVType: engine.KVF32}, Options{Profile: true})
	if errors.Is(err, ErrNoAdapter) {
		t.Skipf("SKIP LOUDLY: no WebGPU adapter: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	if !g.d.timestamps {
		t.Skipf("SKIP LOUDLY: adapter %s offers no timestamp queries", g.Adapter())
	}
	return g
}

// TestProfile checks that a profiled step is a real Eval (the next step's
// logits equal those of a plain run) and that it times every dispatch.
func TestProfile(t *testing.T) {
	m := loadTestModel(t, "stories260K.gguf")
	ctx := context.Background()
	path := tokenPath(8, m.NVocab)
	g := newProfiledBackend(t, m, 64)
	ref, _ := newTestBackends(t, m, 64)

	lg := make([]float32, m.NVocab)
	lr := make([]float32, m.NVocab)
	// prompt as a batch (profiled on g), then two decode steps (the first profiled)
	start := time.Now()
	pb, err := g.Profile(path[:5], 0)
	require.NoError(t, err)
	wall := time.Since(start)
	require.Len(t, pb, len(g.batch))
	require.NoError(t, ref.Eval(ctx, path[:5], 0, nil))
	pd, err := g.Profile(path[5:6], 5)
	require.NoError(t, err)
	require.NoError(t, ref.Eval(ctx, path[5:6], 5, nil))
	require.Len(t, pd, len(g.decode))
	require.NoError(t, g.Eval(ctx, path[6:7], 6, lg))
	require.NoError(t, ref.Eval(ctx, path[6:7], 6, lr))
	require.Equal(t, lr, lg, "the step after profiled ones must see the same KV cache")

	var sum time.Duration
	for i, k := range pd {
		require.Equal(t, g.decode[i].label, k.Label)
		sum += k.GPU
	}
	require.Positive(t, sum, "no dispatch took any time")
	var sumB time.Duration
	for _, k := range pb {
		sumB += k.GPU
	}
	require.Positive(t, sumB)
	require.Less(t, sumB, wall+time.Second, "the batch's kernels took longer than the whole call (timestamp units?)")
	cls := ByClass(pd)
	n := 0
	for _, c := range cls {
		n += c.Count
	}
	require.Equal(t, len(pd), n)
	for i := 1; i < len(cls); i++ {
		require.GreaterOrEqual(t, cls[i-1].GPU, cls[i].GPU)
	}
	t.Logf("decode step on %s: %v of GPU time in %d dispatches", g.Adapter(), sum, len(pd))
}

func TestLabelClass(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"blk.3.attn_qkv mvd ROPE", "attn_qkv mvd ROPE"},
		{"gemm Q4_K SWIGLU 64x64x32/1x1/u1 blk.19.ffn_gate_up", "gemm Q4_K SWIGLU 64x64x32/1x1/u1 ffn_gate_up"},
		{"blk.12.attention split", "attention split"},
		{"output mvd STORE", "output mvd STORE"},
		{"blk.x.odd", "blk.x.odd"},
		{"blk.7", "blk.7"},
	} {
		require.Equal(t, tc.want, labelClass(tc.in), tc.in)
	}
}

// TestGPUProfile prints where the GPU's time goes for TinyLlama-shaped
// models: a 512-token prefill and decode steps after it, per dispatch class.
// HEARTH_GPU_PROFILE_BENCH=a.gguf[,b.gguf]; HEARTH_GPU_PROFILE_N sets the
// prompt length (default 512).
func TestGPUProfile(t *testing.T) {
	list := os.Getenv("HEARTH_GPU_PROFILE_BENCH")
	if list == "" {
		t.Skip("benchmark: set HEARTH_GPU_PROFILE_BENCH=model.gguf[,more.gguf]")
	}
	nPrompt := 512
	if v, err := strconv.Atoi(os.Getenv("HEARTH_GPU_PROFILE_N")); err == nil && v > 1 && v <= maxBatch {
		nPrompt = v
	}
	ctx := context.Background()
	for _, path := range strings.Split(list, ",") {
		f, err := gguf.Open(path)
		require.NoError(t, err)
		m, err := engine.LoadModel(f)
		require.NoError(t, err)
		g := newProfiledBackend(t, m, 1024)
		prompt := tokenPath(nPrompt, m.NVocab)
		require.NoError(t, g.Eval(ctx, prompt, 0, nil)) // warm-up
		var pre []KernelTime
		for r := 0; r < 3; r++ { // keep the fastest of 3
			p, err := g.Profile(prompt, 0)
			require.NoError(t, err)
			if pre == nil || total(p) < total(pre) {
				pre = p
			}
		}
		var dec []KernelTime
		for r := 0; r < 8; r++ {
			p, err := g.Profile(prompt[r:r+1], nPrompt+r)
			require.NoError(t, err)
			if dec == nil || total(p) < total(dec) {
				dec = p
			}
		}
		name := path[strings.LastIndexByte(path, '/')+1:]
		t.Logf("%s on %s\n%s\n%s", name, g.Adapter(),
			classTable(fmt.Sprintf("prefill of %d tokens", nPrompt), pre),
			classTable(fmt.Sprintf("decode at position %d..%d (fastest of 8)", nPrompt, nPrompt+7), dec))
		g.Close()
		f.Close()
	}
}

func total(ts []KernelTime) time.Duration {
	var s time.Duration
	for _, k := range ts {
		s += k.GPU
	}
	return s
}

// classTable formats ByClass(ts) with each class's share and the slowest
// single dispatch.
func classTable(title string, ts []KernelTime) string {
	var b strings.Builder
	tot := total(ts)
	fmt.Fprintf(&b, "%s: %d dispatches, GPU %.1f µs\n", title, len(ts), us(tot))
	fmt.Fprintf(&b, "| class | dispatches | µs total | µs each | share |\n| --- | --- | --- | --- | --- |\n")
	for _, c := range ByClass(ts) {
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.2f | %.1f%% |\n", c.Class, c.Count, us(c.GPU), us(c.GPU)/float64(c.Count), 100*float64(c.GPU)/float64(max(tot, 1)))
	}
	s := append([]KernelTime(nil), ts...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].GPU > s[j].GPU })
	fmt.Fprintf(&b, "slowest:")
	for _, k := range s[:min(5, len(s))] {
		fmt.Fprintf(&b, " %s %.1f µs;", k.Label, us(k.GPU))
	}
	return b.String()
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }
