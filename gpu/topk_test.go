package gpu

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/engine/sample"
)

// TestTopKKernel runs the top-k kernel on logit vectors built to catch
// partitioning and sorting mistakes (lengths that leave pieces or the last
// workgroup partly empty, more pieces than workgroups, fewer logits than
// candidates, ties everywhere, -Inf, the largest values in one piece)
// against a full sort in the sampler's order: descending values, ties by
// ascending index, then nothing (index NONE) past the vector's end.
func TestTopKKernel(t *testing.T) {
	d := testDevice(t)
	rng := rand.New(rand.NewPCG(5, 11))
	type tc struct {
		name string
		x    []float32
	}
	var cases []tc
	for _, n := range []int{1, 40, 64, 65, 1000, 1024, 1025, 5000, 32000, 40000, 128256} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		cases = append(cases, tc{"random", x})
		x = make([]float32, n)
		for i := range x {
			x[i] = float32(rng.IntN(8)) / 2 // few distinct values: ties decided by index
			if rng.IntN(10) == 0 {
				x[i] = float32(math.Inf(-1))
			}
		}
		cases = append(cases, tc{"ties", x})
		if n > 2000 {
			x = make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for i := 1024; i < 1024+100; i++ {
				x[i] = 50 + float32(i%3) // the top hundred in one piece
			}
			cases = append(cases, tc{"onepiece", x})
		}
	}
	cases = append(cases, tc{"flat", make([]float32, 32000)})
	for _, c := range cases {
		n := len(c.x)
		order := descending(c.x)
		b := &Backend{d: d, res: resources{d: d}}
		lb, err := b.res.upload("logits", f32Bytes(c.x))
		require.NoError(t, err)
		rb, err := b.res.buffer("result", topkBytes, 0)
		require.NoError(t, err)
		b.step, err = b.res.buffer("step", 64, 0)
		require.NoError(t, err)
		kd, err := b.res.topK(lb, rb, b.step, n)
		require.NoError(t, err)
		// the logits reversed first: the workgroup count must be ready for
		// the next step, which must overwrite the first's result
		rev := make([]float32, n)
		for i, v := range c.x {
			rev[n-1-i] = v
		}
		require.NoError(t, d.queue.WriteBuffer(lb, 0, f32Bytes(rev)))
		run(t, d, b.step, []dispatch{kd}, 1, 0, nil)
		require.NoError(t, d.queue.WriteBuffer(lb, 0, f32Bytes(c.x)))
		run(t, d, b.step, []dispatch{kd}, 1, 0, nil)
		got := readF32(t, d, rb, 2*topkMax+1)
		for j := 0; j < topkMax; j++ {
			idx := math.Float32bits(got[j])
			if j >= n {
				require.Equalf(t, uint32(0xffffffff), idx, "%s n=%d: slot %d past the end", c.name, n, j)
				continue
			}
			require.Equalf(t, uint32(order[j]), idx, "%s n=%d: candidate %d", c.name, n, j)
			require.Equalf(t, math.Float32bits(c.x[order[j]]), math.Float32bits(got[topkMax+j]), "%s n=%d: value %d", c.name, n, j)
		}
		require.Equal(t, uint32(1), math.Float32bits(got[2*topkMax]), "%s n=%d: token count", c.name, n)
		b.res.release()
	}
}

// TestEvalTopK checks the backend's top-k path on stories260K: at every
// step of a fixed token path (a prompt batch, then one token at a time)
// EvalTopK's candidates must be the largest of the logits Eval gives for
// the same step, in the sampler's order; and engine.Generate with
// llama.cpp's default sampling (which goes through EvalTopK here) must
// produce the CPU backend's tokens for the same seed.
func TestEvalTopK(t *testing.T) {
	m := loadTestModel(t, "stories260K.gguf")
	g, c := newTestBackends(t, m, 128)
	ctx := context.Background()
	prompt := []int32{1, 403, 407, 261, 378}
	logits := make([]float32, m.NVocab)
	ids, vals := make([]int32, topkMax), make([]float32, topkMax)
	for step := range 12 {
		toks, pos := prompt, 0
		if step > 0 {
			toks, pos = []int32{int32(100 + 37*step)}, len(prompt)+step-1
		}
		require.NoError(t, g.Eval(ctx, toks, pos, logits))
		require.NoError(t, g.EvalTopK(ctx, toks, pos, ids, vals))
		order := descending(logits)
		for j := range ids {
			require.Equalf(t, int32(order[j]), ids[j], "step %d candidate %d", step, j)
			require.Equalf(t, logits[order[j]], vals[j], "step %d value %d", step, j)
		}
	}
	require.Error(t, g.EvalTopK(ctx, []int32{1}, 0, ids[:3], vals[:4]))
	require.Error(t, g.EvalTopK(ctx, []int32{1}, 0, make([]int32, topkMax+1), make([]float32, topkMax+1)))

	// greedy steps (submitted ahead) and top-k steps (pre-recorded) mixed:
	// each answer must be the CPU backend's, whatever was in flight before
	tok := int32(1)
	for step := range 12 {
		pos := step
		want := make([]float32, m.NVocab)
		require.NoError(t, c.Eval(ctx, []int32{tok}, pos, want))
		if step%4 < 2 {
			got, err := g.EvalArgmax(ctx, []int32{tok}, pos)
			require.NoError(t, err)
			best := 0
			for i, v := range want {
				if v > want[best] {
					best = i
				}
			}
			require.Equalf(t, int32(best), got, "greedy step %d", step)
			tok = got
			continue
		}
		require.NoError(t, g.EvalTopK(ctx, []int32{tok}, pos, ids, vals))
		order := descending(want)
		for j := range ids {
			require.Equalf(t, int32(order[j]), ids[j], "top-k step %d candidate %d", step, j)
		}
		tok = ids[3] // not the greedy choice: an ahead step must be dropped
	}

	var vocab idVocab
	o := engine.GenerateOptions{NVocab: m.NVocab, ContextSize: 128, MaxTokens: 48, Sampling: sample.DefaultOptions()}
	o.Sampling.Seed = 42
	want, err := engine.Generate(ctx, c, vocab, prompt, o, nil)
	require.NoError(t, err)
	got, err := engine.Generate(ctx, g, vocab, prompt, o, nil)
	require.NoError(t, err)
	require.Equal(t, want.Tokens, got.Tokens)
	require.Len(t, got.Tokens, 48, "generation ended early: %v", got.StopReason)
}

// idVocab is an engine.Vocab without text: token 2 (stories260K's </s>)
// ends generation.
type idVocab struct{}

func (idVocab) Piece(int32) []byte  { return nil }
func (idVocab) IsEOG(id int32) bool { return id == 2 }

// TestPickSpeed times the top-k pick against the argmax over a vocabulary
// of HEARTH_GPU_PICK_BENCH logits (32000 by default when set to 1): each
// kernel alone, submitted and waited for 200 times. Skipped unless set.
func TestPickSpeed(t *testing.T) {
	v := os.Getenv("HEARTH_GPU_PICK_BENCH")
	if v == "" {
		t.Skip("benchmark: set HEARTH_GPU_PICK_BENCH=1 (or a vocabulary size)")
	}
	n := 32000
	if x, err := strconv.Atoi(v); err == nil && x > 1 {
		n = x
	}
	d := testDevice(t)
	rng := rand.New(rand.NewPCG(7, 13))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	b := &Backend{d: d, res: resources{d: d}}
	defer b.res.release()
	lb, err := b.res.upload("logits", f32Bytes(x))
	require.NoError(t, err)
	rb, err := b.res.buffer("result", topkBytes, 0)
	require.NoError(t, err)
	b.step, err = b.res.buffer("step", 64, 0)
	require.NoError(t, err)
	kd, err := b.res.topK(lb, rb, b.step, n)
	require.NoError(t, err)
	ad, err := b.res.argmax(lb, rb, b.step, n)
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		d    dispatch
	}{{"argmax", ad}, {"top-k", kd}, {"argmax", ad}, {"top-k", kd}} {
		run(t, d, b.step, []dispatch{c.d}, 1, 0, nil)
		st := time.Now()
		for range 200 {
			run(t, d, b.step, []dispatch{c.d}, 1, 0, nil)
		}
		t.Logf("%s over %d logits: %.1f µs a submission (kernel, launch and wait)", c.name, n, time.Since(st).Seconds()*1e6/200)
	}
}

// descending returns the indexes of x from the largest value down, equal
// values by ascending index (the sampler's order).
func descending(x []float32) []int {
	order := make([]int, len(x))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return x[order[a]] > x[order[b]] })
	return order
}
