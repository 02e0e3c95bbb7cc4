package gpu

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDecodeAllocs checks issue 4's "no allocation per token": a greedy
// decode step (EvalArgmax of one token, through the pre-recorded command
// buffer) allocates nothing on the Go heap, and a step with logits neither.
func TestDecodeAllocs(t *testing.T) {
	m := loadTestModel(t, "stories260K.gguf")
	g, _ := newTestBackends(t, m, 128)
	ctx := context.Background()
	tok, err := g.EvalArgmax(ctx, []int32{1, 403, 407}, 0)
	require.NoError(t, err)
	pos := 3
	in := []int32{tok}
	step := func() {
		id, err := g.EvalArgmax(ctx, in, pos)
		require.NoError(t, err)
		in[0] = id
		pos++
	}
	step()
	require.Zero(t, testing.AllocsPerRun(20, step), "allocations per greedy decode step")
	logits := make([]float32, m.NVocab)
	require.Zero(t, testing.AllocsPerRun(10, func() {
		require.NoError(t, g.Eval(ctx, in, pos, logits))
		pos++
	}), "allocations per decode step with logits")
	ids, vals := make([]int32, 40), make([]float32, 40)
	require.Zero(t, testing.AllocsPerRun(10, func() {
		require.NoError(t, g.EvalTopK(ctx, in, pos, ids, vals))
		pos++
	}), "allocations per top-k decode step")
}
