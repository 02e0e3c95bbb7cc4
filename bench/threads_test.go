package bench

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/engine/cpu"
	"github.com/hearthllm/hearth/gguf"
)

// TestThreadCountsAgree requires the logits of a TinyLlama-shaped model
// (the benchmark model) to be bit for bit the same at 1, 2 and 3 threads,
// for a prompt batch and then single-token steps: how a product's rows, a
// row's conversion or SwiGLU are split between the workers must not change
// a result. (The engine's tests compare the logits with llama.cpp on small
// models, whose products are split less.)
func TestThreadCountsAgree(t *testing.T) {
	path := benchModelPath()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("SKIPPING: model %s is missing (run node scripts/bench-cpu.mjs once, or set HEARTH_BENCH_MODEL)", path)
	}
	if testing.Short() {
		t.Skip("SKIPPING in -short: decodes a TinyLlama-sized model three times")
	}
	f, err := gguf.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, f.Close()) })
	m, err := engine.LoadModel(f)
	require.NoError(t, err)

	prompt := []int32{1, 450, 4996, 17354, 1701, 29916}
	const steps = 6
	// run returns the logits after the prompt and after each greedy step.
	run := func(threads int) [][]float32 {
		be, err := cpu.New(m, engine.Options{Threads: threads, ContextSize: 64, KVType: engine.KVF16})
		require.NoError(t, err)
		defer func() { require.NoError(t, be.Close()) }()
		ctx := context.Background()
		var out [][]float32
		logits := make([]float32, m.NVocab)
		require.NoError(t, be.Eval(ctx, prompt, 0, logits))
		out = append(out, append([]float32(nil), logits...))
		for i := 0; i < steps; i++ {
			tok := []int32{greedy(logits)}
			require.NoError(t, be.Eval(ctx, tok, len(prompt)+i, logits))
			out = append(out, append([]float32(nil), logits...))
		}
		return out
	}
	want := run(1)
	for _, threads := range []int{2, 3} {
		got := run(threads)
		for s := range want {
			for k := range want[s] {
				if math.Float32bits(got[s][k]) != math.Float32bits(want[s][k]) {
					t.Fatalf("%d threads, step %d: logit %d = %v, 1 thread %v", threads, s, k, got[s][k], want[s][k])
				}
			}
		}
	}
}
