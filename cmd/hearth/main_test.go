package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/internal/llamacpp"
	"github.com/hearthllm/hearth/internal/testmodels"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// hearthBin builds the hearth binary once per test run.
func hearthBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hearth-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hearth")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type cmdResult struct {
	stdout, stderr string
	code           int
}

// runHearth runs the binary with args (and stdin) and returns its output.
func runHearth(t *testing.T, stdin string, args ...string) cmdResult {
	t.Helper()
	cmd := exec.Command(hearthBin(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	// Mesa's Vulkan window-system code prints "XDG_RUNTIME_DIR is invalid"
	// when a process has no login session (CI); a user's shell has one.
	// Give the child one so stderr holds only what hearth itself says.
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+xdgRuntimeDir(t))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return cmdResult{out.String(), errb.String(), code}
}

// xdgRuntimeDir is a private runtime folder for child processes.
func xdgRuntimeDir(t *testing.T) string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return d
	}
	d := t.TempDir()
	require.NoError(t, os.Chmod(d, 0o700))
	return d
}

// mustHearth runs the binary and requires success.
func mustHearth(t *testing.T, args ...string) string {
	t.Helper()
	r := runHearth(t, "", args...)
	require.Zero(t, r.code, "hearth %v: %s", args, r.stderr)
	return r.stdout
}

func TestRunGreedyJSONMatchesLlamaCpp(t *testing.T) {
	stories := testmodels.Path(t, "stories260K.gguf")
	// Flags after the positional prompt, too.
	out := mustHearth(t, "run", "-m", stories, "--temp", "0", "Once upon a time", "-n", "48", "--json", "--threads", "2")
	var got struct {
		PromptTokens []int32 `json:"prompt_tokens"`
		Tokens       []int32 `json:"tokens"`
		Text         string  `json:"text"`
		PromptTokS   float64 `json:"prompt_tok_s"`
		GenTokS      float64 `json:"gen_tok_s"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Greater(t, got.PromptTokS, 0.0)
	assert.Greater(t, got.GenTokS, 0.0)

	var ref struct {
		Results []struct {
			Tokens [][]int32 `json:"tokens"`
			Texts  []string  `json:"texts"`
		}
	}
	var greedy struct{ Tokens []int32 }
	llamacpp.Run(t, map[string]any{"op": "batch", "requests": []any{
		map[string]any{"op": "tokenize", "model": stories, "texts": []string{"Once upon a time"}, "addSpecial": true},
		map[string]any{"op": "detokenize", "model": stories, "tokens": [][]int32{got.PromptTokens, append(append([]int32{}, got.PromptTokens...), got.Tokens...)}},
	}}, &ref)
	require.Len(t, ref.Results, 2)
	assert.Equal(t, ref.Results[0].Tokens[0], got.PromptTokens, "prompt tokens")
	// llama.cpp's text of prompt+generated minus its text of the prompt is
	// the generated pieces concatenated.
	texts := ref.Results[1].Texts
	require.True(t, strings.HasPrefix(texts[1], texts[0]))
	assert.Equal(t, texts[1][len(texts[0]):], got.Text)

	llamacpp.Run(t, map[string]any{"op": "greedy", "model": stories, "tokens": got.PromptTokens, "n": 48}, &greedy)
	require.LessOrEqual(t, len(got.Tokens), len(greedy.Tokens))
	assert.Equal(t, greedy.Tokens[:len(got.Tokens)], got.Tokens)
	if len(got.Tokens) < 48 {
		assert.Equal(t, int32(2), got.Tokens[len(got.Tokens)-1], "a short generation ends with EOS")
	}

	// Streaming mode prints the same text and a newline.
	assert.Equal(t, got.Text+"\n", mustHearth(t, "run", "--temp", "0", "-n", "48", "-m", stories, "Once upon a time"))
}

func TestTokenizeMatchesLlamaCpp(t *testing.T) {
	vocab := testmodels.Path(t, "vocab/ggml-vocab-llama-spm.gguf")
	texts := []string{"Hello world", " leading space", "Ünïcödé 你好 🦙", "line one\nline two\t tab", "<s> special?"}
	var ref struct {
		Results []struct{ Tokens [][]int32 }
	}
	llamacpp.Run(t, map[string]any{"op": "batch", "requests": []any{
		map[string]any{"op": "tokenize", "model": vocab, "texts": texts, "addSpecial": true},
		map[string]any{"op": "tokenize", "model": vocab, "texts": texts, "addSpecial": false},
		map[string]any{"op": "tokenize", "model": vocab, "texts": texts, "addSpecial": true, "special": true},
	}}, &ref)
	for i, text := range texts {
		var ids []int32
		require.NoError(t, json.Unmarshal([]byte(mustHearth(t, "tokenize", "-m", vocab, "--json", text)), &ids))
		assert.Equal(t, ref.Results[0].Tokens[i], ids, "%q", text)
		require.NoError(t, json.Unmarshal([]byte(mustHearth(t, "tokenize", text, "--no-bos", "-m", vocab, "--json")), &ids))
		assert.Equal(t, ref.Results[1].Tokens[i], ids, "%q --no-bos", text)
		require.NoError(t, json.Unmarshal([]byte(mustHearth(t, "tokenize", "--special", "-m", vocab, "--json", "--", text)), &ids))
		assert.Equal(t, ref.Results[2].Tokens[i], ids, "%q --special", text)
	}
	// TEXT "-" reads stdin; plain output is space-separated ids.
	r := runHearth(t, "Hello world", "tokenize", "-m", vocab, "-")
	require.Zero(t, r.code, r.stderr)
	var want []string
	for _, id := range ref.Results[0].Tokens[0] {
		want = append(want, fmt.Sprint(id))
	}
	assert.Equal(t, strings.Join(want, " ")+"\n", r.stdout)
}

func TestUserErrorsPrintOneLine(t *testing.T) {
	stories := testmodels.Path(t, "stories260K.gguf")
	tests := []struct {
		name    string
		args    []string
		code    int
		mention string
	}{
		{"no command", nil, 2, "usage"},
		{"unknown command", []string{"fly"}, 2, "unknown command"},
		{"run without model", []string{"run", "hi"}, 2, "missing -m"},
		{"run without prompt", []string{"run", "-m", stories}, 2, "missing PROMPT"},
		{"unknown flag", []string{"run", "-m", stories, "--bogus", "hi"}, 2, "bogus"},
		{"bad number", []string{"run", "-m", stories, "-n", "many", "hi"}, 2, "-n"},
		{"bad top-p", []string{"run", "-m", stories, "--top-p", "-1", "hi"}, 2, "topP"},
		{"missing model file", []string{"run", "-m", "/nonexistent/model.gguf", "hi"}, 1, "not found"},
		{"not a gguf", []string{"inspect", "/etc/hostname"}, 1, "hostname"},
		{"bad backend", []string{"eval", "-m", stories, "--backend", "tpu", "hi"}, 1, "backend"},
		{"gpu backend", []string{"eval", "-m", stories, "--backend", "gpu", "hi"}, 1, "GPU"},
		{"prompt over the context", []string{"run", "-m", stories, "--ctx", "3", "Once upon a time"}, 1, "context"},
		{"quantize arity", []string{"quantize", "a.gguf", "b.gguf"}, 2, "IN OUT TYPE"},
		{"quantize type", []string{"quantize", stories, filepath.Join(t.TempDir(), "x.gguf"), "Q9_Z"}, 2, "Q9_Z"},
		{"synth preset", []string{"synth", "--preset", "huge", "--vocab", stories, "-o", "x"}, 2, "preset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runHearth(t, "", tc.args...)
			if tc.name == "gpu backend" && r.code == 0 {
				t.Skip("the GPU backend works here")
			}
			assert.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)
			if tc.name != "no command" {
				assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line on stderr: %q", r.stderr)
				assert.True(t, strings.HasPrefix(r.stderr, "hearth: "), "%q", r.stderr)
			}
			assert.Contains(t, r.stderr, tc.mention)
			assert.NotContains(t, r.stderr, "goroutine")
			assert.Empty(t, r.stdout)
		})
	}
}

func TestHelp(t *testing.T) {
	r := runHearth(t, "", "--help")
	assert.Zero(t, r.code)
	for _, c := range commands() {
		assert.Contains(t, r.stdout, c.name)
		h := runHearth(t, "", c.name, "--help")
		assert.Zero(t, h.code, c.name)
		assert.Contains(t, h.stdout, "usage: hearth "+c.name)
	}
	h := runHearth(t, "", "run", "--help")
	for _, f := range []string{"--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--seed", "--threads", "--backend", "--ctx", "--json", "-n", "-m"} {
		assert.Contains(t, h.stdout, f+" ")
	}
}

func TestInspect(t *testing.T) {
	stories := testmodels.Path(t, "stories260K.gguf")
	text := mustHearth(t, "inspect", stories)
	assert.Contains(t, text, "(512 items)")
	assert.Contains(t, text, "blk.4.ffn_down.weight")
	var got struct {
		Version  uint32
		Metadata []struct {
			Key   string
			Value json.RawMessage
		}
		Tensors []struct {
			Name         string
			Type         string
			Dims         []uint64
			Offset, Size uint64
		}
	}
	require.NoError(t, json.Unmarshal([]byte(mustHearth(t, "inspect", "--json", stories)), &got))
	// The README: GGUF v3, 19 KV pairs, 48 tensors, all F32.
	assert.Equal(t, uint32(3), got.Version)
	assert.Len(t, got.Metadata, 19)
	require.Len(t, got.Tensors, 48)
	var params uint64
	for _, tn := range got.Tensors {
		assert.Equal(t, "F32", tn.Type)
		n := uint64(1)
		for _, d := range tn.Dims {
			n *= d
		}
		params += n
		assert.Equal(t, 4*n, tn.Size)
	}
	assert.Equal(t, uint64(292800), params)
}

// finiteProbs checks that a llama.cpp next-token distribution is usable.
func finiteProbs(t *testing.T, p []float64) {
	t.Helper()
	require.NotEmpty(t, p)
	sum := 0.0
	for _, x := range p {
		require.False(t, math.IsNaN(x) || math.IsInf(x, 0))
		sum += x
	}
	assert.InDelta(t, 1, sum, 1e-3)
}

func TestQuantizeOutputLoadsInLlamaCpp(t *testing.T) {
	src := testmodels.Path(t, "synthetic/tiny-synth-f32.gguf")
	dir := t.TempDir()
	types := []struct{ name, pure string }{{"Q4_K_M", "synthetic/tiny-synth-q4_k.gguf"}, {"Q8_0", "synthetic/tiny-synth-q8_0.gguf"}}
	var reqs []any
	for _, ty := range types {
		out := filepath.Join(dir, ty.name+".gguf")
		mustHearth(t, "quantize", src, out, ty.name)
		// Tensors we gave the same type as llama-quantize --pure must hold
		// exactly llama-quantize's bytes.
		ours, err := gguf.Open(out)
		require.NoError(t, err)
		pure, err := gguf.Open(testmodels.Path(t, ty.pure))
		require.NoError(t, err)
		same := 0
		for _, tn := range ours.Tensors() {
			pt, ok := pure.Tensor(tn.Name)
			require.True(t, ok, tn.Name)
			if pt.Type == tn.Type {
				same++
				assert.True(t, bytes.Equal(pure.TensorData(pt), ours.TensorData(tn)), "%s %s differs from llama-quantize", ty.name, tn.Name)
			}
		}
		assert.Greater(t, same, len(ours.Tensors())/2, ty.name)
		ft, err := ours.Uint32("general.file_type")
		require.NoError(t, err)
		want, _ := parseFtype(ty.name)
		assert.Equal(t, uint32(want), ft)
		ours.Close()
		pure.Close()
		reqs = append(reqs, map[string]any{"op": "probs", "model": out, "tokens": []int32{1, 300, 301, 302}})
	}
	var ref struct {
		Results []struct{ Probs [][]float64 }
	}
	llamacpp.Run(t, map[string]any{"op": "batch", "requests": reqs}, &ref)
	require.Len(t, ref.Results, len(types))
	for i := range types {
		require.Len(t, ref.Results[i].Probs, 4, types[i].name)
		for _, p := range ref.Results[i].Probs {
			finiteProbs(t, p)
		}
	}
}

func TestSynthTinyAgreesWithLlamaCpp(t *testing.T) {
	vocab := testmodels.Path(t, "stories260K.gguf")
	dir := t.TempDir()
	tokens := []int32{1, 403, 407, 261, 378}
	ids := "1,403,407,261,378"
	var reqs []any
	var ours [][]float64
	for _, ty := range []string{"Q8_0", "Q4_K_M", "F16"} {
		out := filepath.Join(dir, ty+".gguf")
		mustHearth(t, "synth", "--preset", "tiny", "--type", ty, "--vocab", vocab, "--seed", "7", "-o", out)
		// Same seed, same bytes.
		again := filepath.Join(dir, ty+"-again.gguf")
		mustHearth(t, "synth", "-o", again, "--vocab", vocab, "--type", ty, "--preset", "tiny", "--seed", "7")
		a, err := os.ReadFile(out)
		require.NoError(t, err)
		b, err := os.ReadFile(again)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "synth is deterministic")

		var ev struct {
			Tokens []int32
			Logits []float64
		}
		require.NoError(t, json.Unmarshal([]byte(mustHearth(t, "eval", "-m", out, "--kv-type", "f32", "--json", "--tokens", ids)), &ev))
		assert.Equal(t, tokens, ev.Tokens)
		require.Len(t, ev.Logits, 512)
		ours = append(ours, softmax(ev.Logits))
		reqs = append(reqs, map[string]any{"op": "probs", "model": out, "tokens": tokens})
	}
	var ref struct {
		Results []struct{ Probs [][]float64 }
	}
	llamacpp.Run(t, map[string]any{"op": "batch", "requests": reqs}, &ref)
	for i, r := range ref.Results {
		require.Len(t, r.Probs, len(tokens))
		last := r.Probs[len(tokens)-1]
		finiteProbs(t, last)
		maxDiff := 0.0
		for j, p := range ours[i] {
			q := 0.0
			if j < len(last) {
				q = last[j]
			}
			maxDiff = math.Max(maxDiff, math.Abs(p-q))
		}
		assert.Less(t, maxDiff, 1e-3, "model %d: max |p_hearth - p_llama.cpp|", i)
	}
}

func softmax(l []float64) []float64 {
	m := math.Inf(-1)
	for _, x := range l {
		m = math.Max(m, x)
	}
	out := make([]float64, len(l))
	sum := 0.0
	for i, x := range l {
		out[i] = math.Exp(x - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func TestBenchJSON(t *testing.T) {
	stories := testmodels.Path(t, "stories260K.gguf")
	var got map[string]float64
	require.NoError(t, json.Unmarshal([]byte(mustHearth(t, "bench", "-m", stories, "-p", "32", "-n", "8", "--json")), &got))
	assert.Greater(t, got["pp_tok_s"], 0.0)
	assert.Greater(t, got["tg_tok_s"], 0.0)
}

func TestQuantizePureMatchesLlamaQuantize(t *testing.T) {
	src := testmodels.Path(t, "synthetic/tiny-synth-f32.gguf")
	dir := t.TempDir()
	// The shared tiny-synth files were written by llama-quantize --pure.
	for _, ty := range []struct{ name, file string }{
		{"F16", "f16"}, {"BF16", "bf16"}, {"Q4_0", "q4_0"}, {"Q4_1", "q4_1"}, {"Q5_0", "q5_0"}, {"Q5_1", "q5_1"},
		{"Q8_0", "q8_0"}, {"Q2_K", "q2_k"}, {"Q3_K_M", "q3_k"}, {"Q4_K_M", "q4_k"}, {"Q5_K_M", "q5_k"}, {"Q6_K", "q6_k"},
	} {
		t.Run(ty.name, func(t *testing.T) {
			out := filepath.Join(dir, ty.file+".gguf")
			mustHearth(t, "quantize", "--pure", src, out, ty.name)
			ours, err := gguf.Open(out)
			require.NoError(t, err)
			defer ours.Close()
			ref, err := gguf.Open(testmodels.Path(t, "synthetic/tiny-synth-"+ty.file+".gguf"))
			require.NoError(t, err)
			defer ref.Close()
			require.Len(t, ours.Tensors(), len(ref.Tensors()))
			for _, rt := range ref.Tensors() {
				ot, ok := ours.Tensor(rt.Name)
				require.True(t, ok, rt.Name)
				assert.Equal(t, rt.Type, ot.Type, rt.Name)
				assert.True(t, bytes.Equal(ref.TensorData(rt), ours.TensorData(ot)), "%s differs from llama-quantize", rt.Name)
			}
			ft, err := ref.Uint32("general.file_type")
			require.NoError(t, err)
			oft, err := ours.Uint32("general.file_type")
			require.NoError(t, err)
			assert.Equal(t, ft, oft)
		})
	}
}

func TestRunSeedIsDeterministic(t *testing.T) {
	stories := testmodels.Path(t, "stories260K.gguf")
	gen := func(seed string) string {
		return mustHearth(t, "run", "-m", stories, "-n", "40", "--seed", seed, "--temp", "1.0", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--json", "Once upon a time")
	}
	var a, b struct{ Tokens []int32 }
	require.NoError(t, json.Unmarshal([]byte(gen("11")), &a))
	require.NoError(t, json.Unmarshal([]byte(gen("11")), &b))
	assert.Equal(t, a.Tokens, b.Tokens, "same seed, same tokens")
	differ := false
	for _, s := range []string{"12", "13", "14"} {
		var c struct{ Tokens []int32 }
		require.NoError(t, json.Unmarshal([]byte(gen(s)), &c))
		differ = differ || fmt.Sprint(c.Tokens) != fmt.Sprint(a.Tokens)
	}
	assert.True(t, differ, "other seeds give other continuations")
}
