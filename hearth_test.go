package hearth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/engine/sample"
	"github.com/hearthllm/hearth/internal/testmodels"
)

func TestLoadErrorCodes(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.gguf")
	require.NoError(t, os.WriteFile(garbage, []byte("this is not a gguf file at all"), 0o644))
	stories := testmodels.Path(t, "stories260K.gguf")
	tests := []struct {
		name, path string
		o          Options
		code       string
		mention    string
	}{
		{"missing file", filepath.Join(dir, "nope.gguf"), Options{}, CodeNotFound, "nope.gguf"},
		{"not a gguf", garbage, Options{}, CodeBadModel, "garbage.gguf"},
		{"a directory", dir, Options{}, CodeBadModel, ""},
		{"vocab-only file", testmodels.Path(t, "vocab/ggml-vocab-llama-spm.gguf"), Options{}, CodeBadModel, ""},
		{"bad backend", stories, Options{Backend: "tpu"}, CodeInvalidOption, "backend"},
		{"negative threads", stories, Options{Threads: -1}, CodeInvalidOption, "threads"},
		{"negative context", stories, Options{ContextSize: -5}, CodeInvalidOption, "contextSize"},
		{"bad kv type", stories, Options{KVType: "q8"}, CodeInvalidOption, "kvType"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.path, tc.o)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.Equal(t, tc.code, CodeOf(err), "%v", err)
			assert.Contains(t, err.Error(), tc.mention)
		})
	}
	_, err := LoadVocab(filepath.Join(dir, "nope.gguf"))
	assert.Equal(t, CodeNotFound, CodeOf(err))
	assert.Equal(t, "", CodeOf(nil))
	assert.Equal(t, CodeInternal, CodeOf(os.ErrClosed))
}

func loadStories(t *testing.T, o Options) *Model {
	t.Helper()
	m, err := Load(testmodels.Path(t, "stories260K.gguf"), o)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

func TestInfoMatchesTheFile(t *testing.T) {
	m := loadStories(t, Options{Threads: 1})
	in := m.Info()
	// Numbers from the model's README (llama.cpp's own report of the file).
	assert.Equal(t, "llama", in.Arch)
	assert.Equal(t, "cpu", in.Backend)
	assert.Equal(t, 512, in.NVocab)
	assert.Equal(t, 5, in.NLayer)
	assert.Equal(t, 64, in.NEmbd)
	assert.Equal(t, 8, in.NHead)
	assert.Equal(t, 4, in.NHeadKV)
	assert.Equal(t, 172, in.NFF)
	assert.Equal(t, 2048, in.NCtxTrain)
	assert.Equal(t, 2048, in.ContextSize)
	assert.Equal(t, int64(292800), in.NParams)
	assert.Equal(t, int64(1185376), in.FileSize)
	assert.Equal(t, int32(1), in.BOS)
	assert.Equal(t, int32(2), in.EOS)
	assert.True(t, in.AddBOS)
	assert.Equal(t, "F32 (guessed)", in.FileType)

	q := loadStoriesPath(t, "synthetic/tiny-synth-q4_k.gguf")
	assert.Equal(t, "Q4_K_M", q.Info().FileType, "general.file_type 15")
}

func loadStoriesPath(t *testing.T, rel string) *Model {
	t.Helper()
	m, err := Load(testmodels.Path(t, rel), Options{Threads: 1, ContextSize: 64})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

func TestGenerateOptionErrors(t *testing.T) {
	m := loadStories(t, Options{ContextSize: 16})
	prompt, err := m.Tokenize("Once upon a time", true, false)
	require.NoError(t, err)
	long := make([]int32, 17)
	for i := range long {
		long[i] = 1
	}
	tests := []struct {
		name    string
		prompt  []int32
		o       GenerateOptions
		code    string
		mention string
	}{
		{"prompt too long", long, GenerateOptions{}, CodeContextOverflow, "16"},
		{"negative top-p", prompt, GenerateOptions{Sampling: sample.Options{Temperature: 1, TopP: -0.5}}, CodeInvalidOption, "topP"},
		{"negative top-k", prompt, GenerateOptions{Sampling: sample.Options{TopK: -1}}, CodeInvalidOption, "topK"},
		{"negative max tokens", prompt, GenerateOptions{MaxTokens: -1}, CodeInvalidOption, "maxTokens"},
		{"empty stop string", prompt, GenerateOptions{Stop: []string{"x", ""}}, CodeInvalidOption, "stop"},
		{"token outside the vocabulary", []int32{1, 600}, GenerateOptions{}, CodeInvalidOption, "600"},
		{"empty prompt", nil, GenerateOptions{}, CodeInvalidOption, "prompt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Generate(context.Background(), tc.prompt, tc.o, nil)
			require.Error(t, err)
			assert.Equal(t, tc.code, CodeOf(err), "%v", err)
			assert.Contains(t, err.Error(), tc.mention)
		})
	}
	_, err = m.Logits(context.Background(), long)
	assert.Equal(t, CodeContextOverflow, CodeOf(err))
}

func TestGenerateAndDetokenize(t *testing.T) {
	m := loadStories(t, Options{Threads: 2, ContextSize: 128})
	prompt, err := m.Tokenize("Once upon a time", true, false)
	require.NoError(t, err)
	var streamed []byte
	res, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxTokens: 20}, func(id int32, piece []byte) bool {
		streamed = append(streamed, piece...)
		return true
	})
	require.NoError(t, err)
	assert.Equal(t, "maxTokens", res.StopReason)
	// The README's greedy continuation (from llama.cpp).
	assert.Len(t, res.Tokens, 20)
	assert.True(t, strings.HasPrefix(", there was a little girl named Lily. She loved to play outside in the park.", res.Text), "%q", res.Text)
	assert.Greater(t, len(res.Text), 40)
	assert.Equal(t, res.Text, string(streamed))
	text, err := m.Detokenize(res.Tokens)
	require.NoError(t, err)
	assert.Equal(t, res.Text, text)
	assert.Equal(t, prompt, res.PromptTokens)

	// Logits at the last prompt position pick the first generated token.
	logits, err := m.Logits(context.Background(), prompt)
	require.NoError(t, err)
	require.Len(t, logits, 512)
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	assert.Equal(t, res.Tokens[0], int32(best))

	piece, err := m.TokenPiece(res.Tokens[0])
	require.NoError(t, err)
	assert.Equal(t, ",", string(piece))
	_, err = m.TokenPiece(9999)
	assert.Equal(t, CodeInvalidOption, CodeOf(err))
}

func TestConcurrentGenerationsAreSerialized(t *testing.T) {
	m := loadStories(t, Options{Threads: 1, ContextSize: 64})
	prompt, err := m.Tokenize("Once upon a time", true, false)
	require.NoError(t, err)
	var wg sync.WaitGroup
	results := make([]Result, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = m.Generate(context.Background(), prompt, GenerateOptions{MaxTokens: 12}, nil)
		}(i)
	}
	wg.Wait()
	for i := range results {
		require.NoError(t, errs[i])
		assert.Equal(t, results[0].Tokens, results[i].Tokens, "generation %d", i)
	}
}

func TestCloseCancelsARunningGeneration(t *testing.T) {
	m, err := Load(testmodels.Path(t, "stories260K.gguf"), Options{Threads: 1, ContextSize: 512})
	require.NoError(t, err)
	prompt, err := m.Tokenize("Once upon a time", true, false)
	require.NoError(t, err)
	started := make(chan struct{})
	done := make(chan Result)
	go func() {
		var once sync.Once
		res, err := m.Generate(context.Background(), prompt, GenerateOptions{Sampling: sample.Options{Temperature: 1, Seed: 3}},
			func(int32, []byte) bool {
				once.Do(func() { close(started) })
				time.Sleep(time.Millisecond)
				return true
			})
		assert.NoError(t, err)
		done <- res
	}()
	<-started
	require.NoError(t, m.Close())
	// Close waited for the run, or (called while onToken ran) returned at
	// once and the run stops as soon as onToken returns.
	select {
	case res := <-done:
		assert.Contains(t, []string{"abort", "eos"}, res.StopReason)
	case <-time.After(10 * time.Second):
		t.Fatal("the generation did not stop after Close")
	}
	_, err = m.Generate(context.Background(), prompt, GenerateOptions{}, nil)
	assert.Equal(t, CodeClosed, CodeOf(err))
	_, err = m.Tokenize("x", true, false)
	assert.Equal(t, CodeClosed, CodeOf(err))
	assert.NoError(t, m.Close(), "Close is idempotent")
}

func TestLoadVocab(t *testing.T) {
	m, err := LoadVocab(testmodels.Path(t, "vocab/ggml-vocab-llama-spm.gguf"))
	require.NoError(t, err)
	defer m.Close()
	ids, err := m.Tokenize("Hello world", true, false)
	require.NoError(t, err)
	// llama.cpp: BOS 1, "▁Hello" 15043, "▁world" 3186 (Llama 2 vocabulary).
	assert.Equal(t, []int32{1, 15043, 3186}, ids)
	assert.Equal(t, 32000, m.Info().NVocab)
	_, err = m.Generate(context.Background(), ids, GenerateOptions{}, nil)
	assert.Equal(t, CodeInvalidOption, CodeOf(err))
}

func TestCloseFromInsideTheCallback(t *testing.T) {
	m, err := Load(testmodels.Path(t, "stories260K.gguf"), Options{Threads: 1, ContextSize: 256})
	require.NoError(t, err)
	prompt, err := m.Tokenize("Once upon a time", true, false)
	require.NoError(t, err)
	calls := 0
	res, err := m.Generate(context.Background(), prompt, GenerateOptions{}, func(int32, []byte) bool {
		calls++
		if calls == 3 {
			assert.NoError(t, m.Close())
		}
		return true
	})
	require.NoError(t, err)
	assert.Equal(t, "abort", res.StopReason)
	assert.Len(t, res.Tokens, 3, "no token after Close")
	_, err = m.Tokenize("x", true, false)
	assert.Equal(t, CodeClosed, CodeOf(err))
}
