package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/engine/cpu"
	"github.com/hearthllm/hearth/engine/tokenizer"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/internal/llamacpp"
	"github.com/hearthllm/hearth/internal/testmodels"
)

type stories struct {
	tok *tokenizer.Tokenizer
	m   *engine.Model
	b   engine.Backend
}

func loadStories(t *testing.T, nCtx int) *stories {
	t.Helper()
	path := testmodels.Path(t, "stories260K.gguf")
	f, err := gguf.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	tok, err := tokenizer.FromGGUF(f)
	require.NoError(t, err)
	m, err := engine.LoadModel(f)
	require.NoError(t, err)
	b, err := cpu.New(m, engine.Options{Threads: 2, ContextSize: nCtx})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return &stories{tok, m, b}
}

func TestGenerateGreedyMatchesLlamaCpp(t *testing.T) {
	s := loadStories(t, 256)
	path := testmodels.Path(t, "stories260K.gguf")
	prompts := []string{"Once upon a time", "Lily and Tom went to the park. They", "One day, a little bird"}
	var toks struct{ Tokens [][]int32 }
	llamacpp.Run(t, map[string]any{"op": "tokenize", "model": path, "texts": prompts, "addSpecial": true}, &toks)
	require.Len(t, toks.Tokens, len(prompts))
	reqs := make([]any, len(prompts))
	for i, p := range toks.Tokens {
		reqs[i] = map[string]any{"op": "greedy", "model": path, "tokens": p, "n": 64}
	}
	var ref struct {
		Results []struct{ Tokens []int32 }
	}
	llamacpp.Run(t, map[string]any{"op": "batch", "requests": reqs}, &ref)
	for i, prompt := range toks.Tokens {
		t.Run(prompts[i], func(t *testing.T) {
			assert.Equal(t, prompt, s.tok.Encode(prompts[i], true, false), "tokenizer")
			var streamed []byte
			res, err := engine.Generate(context.Background(), s.b, s.tok, prompt,
				engine.GenerateOptions{MaxTokens: 64, NVocab: s.m.NVocab, ContextSize: 256, BatchSize: 3},
				func(id int32, piece []byte) bool { streamed = append(streamed, piece...); return true })
			require.NoError(t, err)
			want := ref.Results[i].Tokens
			if res.StopReason == engine.StopEOS {
				require.LessOrEqual(t, len(res.Tokens), len(want))
				want = want[:len(res.Tokens)]
			} else {
				assert.Equal(t, engine.StopMaxTokens, res.StopReason)
			}
			assert.Equal(t, want, res.Tokens)
			assert.Equal(t, s.tok.Decode(res.Tokens), res.Text)
			assert.Equal(t, res.Text, string(streamed))
		})
	}
}

func TestGenerateStoriesStopsAndOverflow(t *testing.T) {
	s := loadStories(t, 32)
	prompt := s.tok.Encode("Once upon a time", true, false)
	o := engine.GenerateOptions{NVocab: s.m.NVocab, ContextSize: 32}

	// The greedy text continues ", there was a little girl named Lily."
	o.Stop = []string{"little girl"}
	res, err := engine.Generate(context.Background(), s.b, s.tok, prompt, o, nil)
	require.NoError(t, err)
	assert.Equal(t, engine.StopString, res.StopReason)
	assert.Equal(t, ", there was a ", res.Text)
	o.Stop = nil

	o.MaxTokens = 5
	res, err = engine.Generate(context.Background(), s.b, s.tok, prompt, o, nil)
	require.NoError(t, err)
	assert.Equal(t, engine.StopMaxTokens, res.StopReason)
	assert.Len(t, res.Tokens, 5)
	o.MaxTokens = 0

	n := 0
	res, err = engine.Generate(context.Background(), s.b, s.tok, prompt, o, func(int32, []byte) bool { n++; return n < 4 })
	require.NoError(t, err)
	assert.Equal(t, engine.StopAbort, res.StopReason)
	assert.Len(t, res.Tokens, 4)

	// The context holds 32 positions: prompt plus generated tokens fill it.
	res, err = engine.Generate(context.Background(), s.b, s.tok, prompt, o, nil)
	require.NoError(t, err)
	if res.StopReason != engine.StopEOS {
		assert.Equal(t, engine.StopContextFull, res.StopReason)
		assert.Len(t, res.Tokens, 32-len(prompt))
	}

	long := make([]int32, 33)
	for i := range long {
		long[i] = 1
	}
	_, err = engine.Generate(context.Background(), s.b, s.tok, long, o, nil)
	require.ErrorIs(t, err, engine.ErrPromptTooLong)
}
