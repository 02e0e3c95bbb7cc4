package gpu

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/engine/cpu"
	"github.com/stretchr/testify/require"
)

// newTestBackends builds the GPU backend (software adapters allowed) and the
// CPU backend for the same model; it skips loudly without an adapter.
func newTestBackends(t *testing.T, m *engine.Model, nCtx int) (*Backend, engine.Backend) {
	t.Helper()
	t.Setenv(AllowSoftwareEnv, "1")
	o := engine.Options{ContextSize: nCtx, KVType: engine.KVF32, Threads: 2}
	g, err := newBackend(m, o, Options{})
	if errors.Is(err, ErrNoAdapter) {
		t.Skipf("SKIP LOUDLY: no WebGPU adapter: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	c, err := cpu.New(m, o)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return g, c
}

func maxAbsDiff(a, b []float32) (float64, int) {
	worst, at := 0.0, -1
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1), i
		}
		if d > worst {
			worst, at = d, i
		}
	}
	return worst, at
}

// tokenPath is a fixed token sequence that spreads over the vocabulary.
func tokenPath(n, nVocab int) []int32 {
	out := make([]int32, n)
	out[0] = 1
	for i := 1; i < n; i++ {
		out[i] = int32((i*7919 + 13) % nVocab)
	}
	return out
}

// TestDecodeMatchesCPU runs the same token path one token at a time through
// both backends and compares every step's logits.
func TestDecodeMatchesCPU(t *testing.T) {
	models := []string{"stories260K.gguf"}
	for _, typ := range synthTypes {
		models = append(models, "synthetic/tiny-synth-"+typ+".gguf")
	}
	ctx := context.Background()
	for _, name := range models {
		t.Run(name, func(t *testing.T) {
			m := loadTestModel(t, name)
			g, c := newTestBackends(t, m, 64)
			path := tokenPath(24, m.NVocab)
			lg := make([]float32, m.NVocab)
			lc := make([]float32, m.NVocab)
			worstAll := 0.0
			for i, tok := range path {
				require.NoError(t, g.Eval(ctx, []int32{tok}, i, lg))
				require.NoError(t, c.Eval(ctx, []int32{tok}, i, lc))
				d, at := maxAbsDiff(lg, lc)
				require.LessOrEqualf(t, d, 1e-2, "step %d: max |logit diff| %g at %d (gpu %g cpu %g)", i, d, at, lg[at], lc[at])
				worstAll = max(worstAll, d)
			}
			t.Logf("%s: worst max|diff| over %d steps: %.3g; %d dispatches/token", name, len(path), worstAll, g.Dispatches)
			// a batched prefill of the same path must give the same last logits
			require.NoError(t, g.Eval(ctx, path, 0, lg))
			d, at := maxAbsDiff(lg, lc)
			require.LessOrEqualf(t, d, 1e-2, "batched prefill: max |logit diff| %g at %d", d, at)
		})
	}
}

// TestGreedyStories compares 64 greedy tokens of stories260K: GPU argmax on
// the device against CPU argmax, after a batched prompt.
func TestGreedyStories(t *testing.T) {
	m := loadTestModel(t, "stories260K.gguf")
	g, c := newTestBackends(t, m, 128)
	ctx := context.Background()
	prompt := []int32{1, 403, 407, 261, 378} // fixed ids
	run := func(b engine.Backend) []int32 {
		ab := b.(engine.ArgmaxBackend)
		tok, err := ab.EvalArgmax(ctx, prompt, 0)
		require.NoError(t, err)
		out := []int32{tok}
		for i := 0; i < 63; i++ {
			tok, err = ab.EvalArgmax(ctx, []int32{tok}, len(prompt)+i)
			require.NoError(t, err)
			out = append(out, tok)
		}
		return out
	}
	gpuToks := run(g)
	cpuToks := run(c)
	require.Equal(t, cpuToks, gpuToks)
}
