package engine

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/engine/sample"
)

// scriptBackend is a fake Backend whose "model" predicts a fixed script: the
// logits after position p put all mass on script[p+1-promptLen]. It checks
// that positions arrive in order and records the batches it saw.
type scriptBackend struct {
	t         *testing.T
	nVocab    int
	promptLen int
	script    []int32
	cache     []int32 // tokens evaluated so far, by position
	batches   [][2]int
	withLogit []bool
	nCtx      int
}

func (b *scriptBackend) Name() string { return "script" }
func (b *scriptBackend) Close() error { return nil }

func (b *scriptBackend) Eval(ctx context.Context, tokens []int32, pos int, logits []float32) error {
	if pos != len(b.cache) {
		b.t.Errorf("eval at position %d, cache holds %d", pos, len(b.cache))
	}
	if pos+len(tokens) > b.nCtx {
		return ErrContextFull
	}
	b.cache = append(b.cache, tokens...)
	b.batches = append(b.batches, [2]int{pos, len(tokens)})
	b.withLogit = append(b.withLogit, logits != nil)
	if logits != nil {
		for i := range logits {
			logits[i] = 0
		}
		k := len(b.cache) - b.promptLen
		if k < len(b.script) {
			logits[b.script[k]] = 10
		}
	}
	return nil
}

// argmaxBackend adds EvalArgmax to scriptBackend.
type argmaxBackend struct{ scriptBackend }

func (b *argmaxBackend) EvalArgmax(ctx context.Context, tokens []int32, pos int) (int32, error) {
	logits := make([]float32, b.nVocab)
	if err := b.Eval(ctx, tokens, pos, logits); err != nil {
		return 0, err
	}
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	return int32(best), nil
}

// mapVocab is a fake Vocab: token i has piece pieces[i]; token 0 is EOG.
type mapVocab [][]byte

func (v mapVocab) Piece(id int32) []byte { return v[id] }
func (v mapVocab) IsEOG(id int32) bool   { return id == 0 }

func vocabOf(pieces ...string) mapVocab {
	v := mapVocab{[]byte("</s>")}
	for _, p := range pieces {
		v = append(v, []byte(p))
	}
	return v
}

type genCase struct {
	vocab  mapVocab
	prompt []int32
	script []int32
	nCtx   int
	o      GenerateOptions
}

func (c genCase) run(t *testing.T, onToken func(id int32, piece []byte) bool) (Result, []string, *scriptBackend, error) {
	t.Helper()
	b := &scriptBackend{t: t, nVocab: len(c.vocab), promptLen: len(c.prompt), script: c.script, nCtx: c.nCtx}
	c.o.NVocab = len(c.vocab)
	c.o.ContextSize = c.nCtx
	var deltas []string
	res, err := Generate(context.Background(), b, c.vocab, c.prompt, c.o, func(id int32, piece []byte) bool {
		deltas = append(deltas, string(piece))
		if onToken != nil {
			return onToken(id, piece)
		}
		return true
	})
	return res, deltas, b, err
}

func TestGenerateStopConditions(t *testing.T) {
	v := vocabOf("Hel", "lo", " wor", "ld", "!", "\xe2\x82", "\xac", "o")
	// ids:       1      2     3      4     5     6          7       8
	tests := []struct {
		name   string
		c      genCase
		reason string
		tokens []int32
		text   string
		deltas []string
	}{
		{"max tokens", genCase{v, []int32{1}, []int32{2, 3, 4, 5, 5, 5}, 64, GenerateOptions{MaxTokens: 3}},
			StopMaxTokens, []int32{2, 3, 4}, "lo world", []string{"lo", " wor", "ld"}},
		{"eos", genCase{v, []int32{1}, []int32{2, 5, 0, 3}, 64, GenerateOptions{}},
			StopEOS, []int32{2, 5, 0}, "lo!", []string{"lo", "!", ""}},
		{"context full", genCase{v, []int32{1, 1}, []int32{2, 3, 4, 5, 5, 5}, 5, GenerateOptions{}},
			StopContextFull, []int32{2, 3, 4}, "lo world", []string{"lo", " wor", "ld"}},
		{"prompt fills the context", genCase{v, []int32{1, 1}, []int32{2}, 2, GenerateOptions{}},
			StopContextFull, []int32{}, "", nil},
		{"stop string across tokens", genCase{v, []int32{5}, []int32{1, 2, 3, 4, 5}, 64, GenerateOptions{Stop: []string{"o wo"}}},
			StopString, []int32{1, 2, 3}, "Hell", []string{"Hel", "l", ""}},
		{"stop string inside one token", genCase{v, []int32{5}, []int32{1, 2, 3, 4, 5}, 64, GenerateOptions{Stop: []string{"ll", "zz"}}},
			StopString, []int32{1, 2}, "He", []string{"He", ""}},
		{"earliest of several stops", genCase{v, []int32{5}, []int32{1, 2, 3, 4, 5}, 64, GenerateOptions{Stop: []string{"world", "lo w"}}},
			StopString, []int32{1, 2, 3}, "Hel", []string{"He", "l", ""}},
		{"held prefix released", genCase{v, []int32{5}, []int32{8, 5, 3, 5}, 64, GenerateOptions{MaxTokens: 4, Stop: []string{"o!x"}}},
			StopMaxTokens, []int32{8, 5, 3, 5}, "o! wor!", []string{"", "", "o! wor", "!"}},
		{"utf-8 split across tokens", genCase{v, []int32{5}, []int32{6, 7, 5}, 64, GenerateOptions{MaxTokens: 3}},
			StopMaxTokens, []int32{6, 7, 5}, "€!", []string{"", "€", "!"}},
		{"incomplete utf-8 flushed at the end", genCase{v, []int32{5}, []int32{5, 6}, 64, GenerateOptions{MaxTokens: 2}},
			StopMaxTokens, []int32{5, 6}, "!\xe2\x82", []string{"!", "\xe2\x82"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, deltas, _, err := tc.c.run(t, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.reason, res.StopReason)
			assert.Equal(t, tc.tokens, append([]int32{}, res.Tokens...))
			assert.Equal(t, tc.text, res.Text)
			assert.Equal(t, tc.deltas, deltas)
			assert.Equal(t, res.Text, strings.Join(deltas, ""))
			assert.Equal(t, tc.c.prompt, res.PromptTokens)
		})
	}
}

func TestGenerateCallbackStops(t *testing.T) {
	v := vocabOf("a", "b", "c")
	c := genCase{v, []int32{1}, []int32{1, 2, 3, 1, 2, 3}, 64, GenerateOptions{}}
	calls := 0
	res, _, b, err := c.run(t, func(int32, []byte) bool { calls++; return calls < 3 })
	require.NoError(t, err)
	assert.Equal(t, StopAbort, res.StopReason)
	assert.Equal(t, []int32{1, 2, 3}, res.Tokens)
	assert.Equal(t, "abc", res.Text)
	// The prompt and the first two generated tokens were evaluated, not the third.
	assert.Equal(t, []int32{1, 1, 2}, b.cache)
}

func TestGenerateContextCancel(t *testing.T) {
	v := vocabOf("a", "b", "c")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := &scriptBackend{t: t, nVocab: len(v), promptLen: 1, script: []int32{1, 2, 3, 1, 2, 3}, nCtx: 64}
	n := 0
	res, err := Generate(ctx, b, v, []int32{1}, GenerateOptions{NVocab: len(v), ContextSize: 64}, func(int32, []byte) bool {
		n++
		if n == 2 {
			cancel()
		}
		return true
	})
	require.NoError(t, err)
	assert.Equal(t, StopAbort, res.StopReason)
	assert.Equal(t, []int32{1, 2}, res.Tokens)

	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	b = &scriptBackend{t: t, nVocab: len(v), promptLen: 1, script: []int32{1}, nCtx: 64}
	res, err = Generate(cancelled, b, v, []int32{1}, GenerateOptions{NVocab: len(v), ContextSize: 64}, nil)
	require.NoError(t, err)
	assert.Equal(t, StopAbort, res.StopReason)
	assert.Empty(t, res.Tokens)
	assert.Empty(t, b.cache)
}

func TestGeneratePromptBatchesAndOverflow(t *testing.T) {
	v := vocabOf("a", "b")
	prompt := []int32{1, 2, 1, 2, 1, 2, 1, 2, 1, 2}
	c := genCase{v, prompt, []int32{1, 2}, 64, GenerateOptions{MaxTokens: 2, BatchSize: 4}}
	res, _, b, err := c.run(t, nil)
	require.NoError(t, err)
	assert.Equal(t, [][2]int{{0, 4}, {4, 4}, {8, 2}, {10, 1}}, b.batches)
	assert.Equal(t, []bool{false, false, true, true}, b.withLogit)
	assert.Equal(t, []int32{1, 2}, res.Tokens)

	c = genCase{v, prompt, []int32{1}, 9, GenerateOptions{}}
	_, _, b, err = c.run(t, nil)
	require.ErrorIs(t, err, ErrPromptTooLong)
	assert.Empty(t, b.batches, "no work before the overflow error")

	_, err = Generate(context.Background(), b, v, prompt, GenerateOptions{NVocab: len(v), ContextSize: 64, Stop: []string{""}}, nil)
	assert.Error(t, err, "empty stop string")
	_, err = Generate(context.Background(), b, v, prompt, GenerateOptions{ContextSize: 64}, nil)
	assert.Error(t, err, "missing NVocab")
	_, err = Generate(context.Background(), b, v, []int32{7}, GenerateOptions{NVocab: len(v), ContextSize: 64}, nil)
	assert.Error(t, err, "out-of-range prompt token")
	_, err = Generate(context.Background(), b, v, nil, GenerateOptions{NVocab: len(v), ContextSize: 64}, nil)
	assert.Error(t, err, "empty prompt")
}

func TestGenerateUsesArgmaxBackend(t *testing.T) {
	v := vocabOf("a", "b", "c")
	b := &argmaxBackend{scriptBackend{t: t, nVocab: len(v), promptLen: 2, script: []int32{3, 2, 1, 0}, nCtx: 64}}
	res, err := Generate(context.Background(), b, v, []int32{1, 2}, GenerateOptions{NVocab: len(v), ContextSize: 64}, nil)
	require.NoError(t, err)
	assert.Equal(t, StopEOS, res.StopReason)
	assert.Equal(t, []int32{3, 2, 1, 0}, res.Tokens)
	assert.Equal(t, "cba", res.Text)
}

func TestGenerateEvalErrorIsReturned(t *testing.T) {
	v := vocabOf("a")
	b := &scriptBackend{t: t, nVocab: len(v), promptLen: 1, script: []int32{1, 1, 1}, nCtx: 2}
	// ContextSize claims more room than the backend has: its error surfaces.
	_, err := Generate(context.Background(), b, v, []int32{1}, GenerateOptions{NVocab: len(v), ContextSize: 10}, nil)
	require.ErrorIs(t, err, ErrContextFull)
	assert.False(t, errors.Is(err, ErrPromptTooLong))
}

func TestGenerateTokenLoopDoesNotAllocate(t *testing.T) {
	v := vocabOf("ab", "c", "de")
	script := make([]int32, 5000)
	for i := range script {
		script[i] = int32(1 + i%3)
	}
	allocs := func(n int) float64 {
		b := &scriptBackend{t: t, nVocab: len(v), promptLen: 1, script: script, nCtx: 8192,
			cache: make([]int32, 0, 8192), batches: make([][2]int, 0, 8192), withLogit: make([]bool, 0, 8192)}
		return testing.AllocsPerRun(1, func() {
			b.cache, b.batches, b.withLogit = b.cache[:0], b.batches[:0], b.withLogit[:0]
			res, err := Generate(context.Background(), b, v, []int32{1}, GenerateOptions{NVocab: len(v), ContextSize: 8192, MaxTokens: n, Stop: []string{"zz"}}, func(int32, []byte) bool { return true })
			if err != nil || len(res.Tokens) != n {
				t.Fatalf("generate: %v, %d tokens", err, len(res.Tokens))
			}
		})
	}
	small, large := allocs(10), allocs(4000)
	assert.LessOrEqual(t, large-small, 2.0, "allocations grew with the token count: %v for 10 tokens, %v for 4000", small, large)
}

// noisyBackend is a fake Backend whose logits are a hash of the position
// and the token there: coarse values with many ties, so that sampling
// takes real choices.
type noisyBackend struct {
	nVocab    int
	cache     []int32
	evals     int // Evals that asked for logits
	topkEvals int
}

func (b *noisyBackend) Name() string { return "noisy" }
func (b *noisyBackend) Close() error { return nil }

func (b *noisyBackend) Eval(ctx context.Context, tokens []int32, pos int, logits []float32) error {
	b.cache = append(b.cache[:pos], tokens...)
	if logits != nil {
		b.evals++
		h := uint64(len(b.cache))*0x9e3779b97f4a7c15 ^ uint64(b.cache[len(b.cache)-1])
		for i := range logits {
			h ^= h << 13
			h ^= h >> 7
			h ^= h << 17
			logits[i] = float32(h%16) / 4
		}
	}
	return nil
}

// topkBackend adds EvalTopK to noisyBackend, choosing the candidates by a
// full sort.
type topkBackend struct{ noisyBackend }

func (b *topkBackend) MaxTopK() int { return 64 }

func (b *topkBackend) EvalTopK(ctx context.Context, tokens []int32, pos int, ids []int32, logits []float32) error {
	all := make([]float32, b.nVocab)
	if err := b.Eval(ctx, tokens, pos, all); err != nil {
		return err
	}
	b.evals--
	b.topkEvals++
	order := make([]int32, b.nVocab)
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(i, j int) bool { return all[order[i]] > all[order[j]] })
	for i := range ids {
		ids[i], logits[i] = order[i], all[order[i]]
	}
	return nil
}

// TestGenerateUsesTopKBackend requires sampling through a TopKBackend to
// give the tokens sampling from every logit gives (same seed), asking the
// backend for candidates only, and falls back to the logits when the
// sampler's top-k is past MaxTopK or a penalty is set.
func TestGenerateUsesTopKBackend(t *testing.T) {
	pieces := make([]string, 99)
	for i := range pieces {
		pieces[i] = string(rune('a' + i%26))
	}
	v := vocabOf(pieces...)
	for _, c := range []struct {
		o       sample.Options
		useTopK bool
	}{
		{sample.DefaultOptions(), true},
		{sample.Options{Temperature: 1.2, TopK: 64, TopP: 0.9}, true},
		{sample.Options{Temperature: 1.2, TopK: 65}, false},
		{sample.Options{Temperature: 0.8, TopK: 40, RepeatPenalty: 1.3}, false},
	} {
		o := GenerateOptions{NVocab: len(v), ContextSize: 256, MaxTokens: 120, Sampling: c.o}
		o.Sampling.Seed = 5
		plain := &noisyBackend{nVocab: len(v)}
		want, err := Generate(context.Background(), plain, v, []int32{1, 2, 3}, o, nil)
		require.NoError(t, err)
		tb := &topkBackend{noisyBackend{nVocab: len(v)}}
		got, err := Generate(context.Background(), tb, v, []int32{1, 2, 3}, o, nil)
		require.NoError(t, err)
		assert.Equal(t, want.Tokens, got.Tokens, "%+v", c.o)
		assert.Greater(t, len(got.Tokens), 10, "%+v", c.o)
		if c.useTopK {
			assert.Zero(t, tb.evals, "%+v: logits asked for", c.o)
			assert.Equal(t, len(got.Tokens), tb.topkEvals, "%+v", c.o)
		} else {
			assert.Zero(t, tb.topkEvals, "%+v: top-k asked for", c.o)
		}
	}
}
