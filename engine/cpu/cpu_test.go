package cpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/internal/llamacpp"
	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/hearthllm/hearth/quant"
)

// testModels are the models compared with llama.cpp: a real trained model
// and the same random model in every weight type.
var testModels = []string{
	"stories260K.gguf",
	"synthetic/tiny-synth-f32.gguf",
	"synthetic/tiny-synth-f16.gguf",
	"synthetic/tiny-synth-bf16.gguf",
	"synthetic/tiny-synth-q4_0.gguf",
	"synthetic/tiny-synth-q4_1.gguf",
	"synthetic/tiny-synth-q5_0.gguf",
	"synthetic/tiny-synth-q5_1.gguf",
	"synthetic/tiny-synth-q8_0.gguf",
	"synthetic/tiny-synth-q2_k.gguf",
	"synthetic/tiny-synth-q3_k.gguf",
	"synthetic/tiny-synth-q4_k.gguf",
	"synthetic/tiny-synth-q5_k.gguf",
	"synthetic/tiny-synth-q6_k.gguf",
}

// Tolerances. Every model must match llama.cpp's probabilities within
// strictTol (they do to ~1e-7). The random-weight synthetic models with
// quantized weights are chaotic: a one-ulp difference in an activation can
// flip the rounding of one element when it is converted to Q8_0/Q8_1/Q8_K,
// and the change grows through the layers and stays in the KV cache. So the
// backend follows the arithmetic of llama.cpp's x86 AVX2 CPU kernels (the
// haswell build node-llama-cpp loads there) bit for bit: ggml_v_expf
// softmax/SwiGLU blocks, glibc's sincosf and GCC's fused multiply-adds in
// RoPE, ggml_vec_dot_f32/f16 attention products when decoding one token
// (tinyBLAS for batches), and the repacked q4_0_8x8/q4_K_8x8 kernels for
// Q4_0/Q4_K weights (TestOpsMatchLlamaCppExactly checks each step against
// llama.cpp's own tensors). Where the two run different kernels (llama.cpp's
// AVX-512 builds, non-x86, or HEARTH_CPU=generic here) the random-weight
// models only get quantTol, with a loud log.
// knownDivergent lists model/KV pairs that still flip on AVX2; they get
// quantTol too, and the test says so.
const (
	strictTol = 1e-3
	quantTol  = 2e-2
)

// knownDivergent maps "model/kv" to why it is not held to strictTol yet.
// Empty: every pair matches.
var knownDivergent = map[string]string{}

// chaotic reports whether a test model is one of the random-weight
// synthetic models, whose outputs amplify one-ulp differences.
func chaotic(name string) bool {
	return strings.HasPrefix(name, "synthetic/")
}

// sameKernels reports whether the backend and llama.cpp run the same
// arithmetic here: llama.cpp's AVX2 (haswell) build on an x86 CPU without
// AVX-512, and quant's AVX2 kernels (not HEARTH_CPU=generic). Otherwise the
// chaotic models are only held to quantTol, and the test says so loudly.
func sameKernels(t *testing.T) bool {
	lvl, err := quant.KernelLevel()
	ok := runtime.GOARCH == "amd64" && cpu.X86.HasAVX2 && !cpu.X86.HasAVX512F && err == nil && lvl == quant.LevelAVX2
	if !ok {
		t.Logf("WARNING: llama.cpp's AVX2 kernels and quant's AVX2 kernels are not both in use here (AVX-512, "+
			"not x86, or quant kernel level %v): random-weight models are only checked within %g, not %g", lvl, quantTol, strictTol)
	}
	return ok
}

// tokenPath is a fixed token sequence (BOS first) along which next-token
// distributions are compared.
var tokenPath = []int32{1, 403, 407, 261, 378, 432, 383, 291, 376, 400, 428, 286, 296,
	418, 329, 429, 412, 425, 372, 274, 287, 269, 317, 263, 377}

// greedyPrompts are llama.cpp's tokenizations (op "tokenize", addSpecial)
// of "Once upon a time", "The little dog was sad because" and "Tom and Lily
// went to the park. They saw" with the stories260K vocabulary.
var greedyPrompts = [][]int32{
	{1, 403, 407, 261, 378},
	{1, 291, 376, 400, 428, 286, 296, 418, 329, 429, 412, 425, 372},
	{1, 274, 287, 269, 317, 263, 377, 267, 265, 282, 295, 433, 426, 342, 394},
}

const greedyN = 64

type refRequest struct {
	Op     string  `json:"op"`
	Model  string  `json:"model"`
	Tokens []int32 `json:"tokens"`
	KVF32  *bool   `json:"kvF32,omitempty"`
	OneBy  bool    `json:"oneByOne,omitempty"`
	N      int     `json:"n,omitempty"`
}

type refAnswer struct {
	Probs  [][]float64 `json:"probs"`
	Tokens []int32     `json:"tokens"`
}

// TestMatchesLlamaCpp compares next-token probabilities along tokenPath for
// every test model and both KV cache types, and greedy continuations of
// stories260K, with llama.cpp. All questions go to llama.cpp in one batch.
func TestMatchesLlamaCpp(t *testing.T) {
	paths := make([]string, len(testModels))
	for i, name := range testModels {
		paths[i] = testmodels.Path(t, name)
	}
	// Variants of stories260K exercising metadata paths: RoPE base and
	// linear scaling (current and older key), and tied output embeddings.
	dir := t.TempDir()
	variants := []string{
		writeVariant(t, paths[0], dir, "rope-linear.gguf", map[string]gguf.Value{
			"llama.rope.freq_base":      gguf.Float32Value(20000),
			"llama.rope.scaling.type":   gguf.StringValue("linear"),
			"llama.rope.scaling.factor": gguf.Float32Value(2),
		}, ""),
		writeVariant(t, paths[0], dir, "rope-scale-linear.gguf", map[string]gguf.Value{
			"llama.rope.scale_linear": gguf.Float32Value(4),
		}, ""),
		writeVariant(t, paths[0], dir, "tied.gguf", nil, "output.weight"),
	}
	var reqs []refRequest
	for _, p := range paths {
		for _, f32 := range []bool{true, false} {
			reqs = append(reqs, refRequest{Op: "probs", Model: p, Tokens: tokenPath, KVF32: &f32, OneBy: true})
		}
	}
	for _, prompt := range greedyPrompts {
		reqs = append(reqs, refRequest{Op: "greedy", Model: paths[0], Tokens: prompt, N: greedyN})
	}
	f32 := true
	for _, p := range variants {
		reqs = append(reqs, refRequest{Op: "probs", Model: p, Tokens: tokenPath, KVF32: &f32, OneBy: true})
	}
	var ans struct{ Results []refAnswer }
	llamacpp.Run(t, map[string]any{"op": "batch", "requests": reqs}, &ans)
	require.Len(t, ans.Results, len(reqs))

	// The backend follows llama.cpp's AVX2 kernels; where either side runs
	// others the random-weight models get the loose bound only.
	avx2 := sameKernels(t)
	for i, name := range testModels {
		for j, kv := range []engine.KVType{engine.KVF32, engine.KVF16} {
			want := ans.Results[2*i+j].Probs
			t.Run(fmt.Sprintf("probs/%s/%s", name, kv), func(t *testing.T) {
				m, _ := loadModel(t, name)
				b := newTestBackend(t, m, engine.Options{Threads: 2, ContextSize: 64, KVType: kv})
				require.Len(t, want, len(tokenPath))
				logits := make([]float32, m.NVocab)
				worst := 0.0
				var errs []string
				for pos, tok := range tokenPath {
					require.NoError(t, b.Eval(context.Background(), []int32{tok}, pos, logits))
					got := softmax64(logits)
					require.Len(t, want[pos], m.NVocab)
					w := 0.0
					for k := range got {
						w = max(w, math.Abs(got[k]-want[pos][k]))
					}
					worst = max(worst, w)
					errs = append(errs, fmt.Sprintf("%.0e", w))
				}
				t.Logf("per position: %v", errs)
				tol := strictTol
				why, known := knownDivergent[name+"/"+kv.String()]
				switch {
				case chaotic(name) && !avx2:
					tol = quantTol
				case known:
					tol = quantTol
					t.Logf("KNOWN DIVERGENCE, checked within %g only: %s", quantTol, why)
					if worst <= strictTol {
						t.Logf("now within %g: remove it from knownDivergent", strictTol)
					}
				}
				if worst > tol {
					t.Errorf("max |p - p_llama.cpp| = %.3g > %g", worst, tol)
				}
				t.Logf("max |p - p_llama.cpp| = %.3g", worst)
			})
		}
	}

	for i, prompt := range greedyPrompts {
		want := ans.Results[2*len(testModels)+i].Tokens
		t.Run(fmt.Sprintf("greedy/%d", i), func(t *testing.T) {
			m, _ := loadModel(t, testModels[0])
			b := newTestBackend(t, m, engine.Options{Threads: 1, ContextSize: 256})
			require.Len(t, want, greedyN)
			got := greedy(t, b, prompt, greedyN)
			assert.Equal(t, want, got)
		})
	}

	for i, p := range variants {
		want := ans.Results[2*len(testModels)+len(greedyPrompts)+i].Probs
		t.Run("variant/"+filepath.Base(p), func(t *testing.T) {
			if i < 2 { // the RoPE variants must change llama.cpp's answer, or they test nothing
				base := ans.Results[0].Probs
				diff := 0.0
				for pos := range base {
					for k := range base[pos] {
						diff = max(diff, math.Abs(base[pos][k]-want[pos][k]))
					}
				}
				require.Greater(t, diff, 1e-2, "llama.cpp ignored the variant's RoPE keys")
			}
			f, err := gguf.Open(p)
			require.NoError(t, err)
			defer f.Close()
			m, err := engine.LoadModel(f)
			require.NoError(t, err)
			b := newTestBackend(t, m, engine.Options{Threads: 1, ContextSize: 64, KVType: engine.KVF32})
			logits := make([]float32, m.NVocab)
			for pos, tok := range tokenPath {
				require.NoError(t, b.Eval(context.Background(), []int32{tok}, pos, logits))
				got := softmax64(logits)
				for k := range got {
					require.InDelta(t, want[pos][k], got[k], 1e-4, "position %d token %d", pos, k)
				}
			}
		})
	}
}

func greedy(t *testing.T, b *Backend, prompt []int32, n int) []int32 {
	ctx := context.Background()
	tok, err := b.EvalArgmax(ctx, prompt, 0)
	require.NoError(t, err)
	out := []int32{tok}
	for len(out) < n {
		tok, err = b.EvalArgmax(ctx, []int32{tok}, len(prompt)+len(out)-1)
		require.NoError(t, err)
		out = append(out, tok)
	}
	return out
}

// softmax64 is a float64 softmax, independent of the backend's.
func softmax64(x []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	p := make([]float64, len(x))
	sum := 0.0
	for i, v := range x {
		p[i] = math.Exp(float64(v) - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// TestPrefillSplitsAgree checks that a prompt evaluated in batches of
// several tokens gives the same logits however it is split (including
// splits past maxBatch), and, for the trained float model, close to those
// of evaluating it one token at a time. Batches and single tokens are not
// bit-identical: like llama.cpp, attention uses tinyBLAS's summation order
// for batches and ggml_vec_dot's for one token, and random-weight quantized
// models amplify that difference.
func TestPrefillSplitsAgree(t *testing.T) {
	for _, name := range []string{"stories260K.gguf", "synthetic/tiny-synth-q8_0.gguf", "synthetic/tiny-synth-f16.gguf"} {
		for _, kv := range []engine.KVType{engine.KVF16, engine.KVF32} {
			t.Run(name+"/"+kv.String(), func(t *testing.T) {
				m, _ := loadModel(t, name)
				ctx := context.Background()
				n := maxBatch + 13
				prompt := make([]int32, n)
				for i := range prompt {
					prompt[i] = int32((i*37 + 5) % m.NVocab)
				}
				eval := func(splits ...int) []float32 {
					b := newTestBackend(t, m, engine.Options{Threads: 2, ContextSize: 128, KVType: kv})
					logits := make([]float32, m.NVocab)
					start := 0
					for _, end := range append(splits, n) {
						require.NoError(t, b.Eval(ctx, prompt[start:end], start, logits))
						start = end
					}
					return logits
				}
				want := eval()
				assert.Equal(t, want, eval(7), "split at 7 (then 64 + 6)")
				assert.Equal(t, want, eval(5, 40), "split at 5 and 40")
				if name != "stories260K.gguf" {
					return
				}
				seq := make([]int, n-1)
				for i := range seq {
					seq[i] = i + 1
				}
				got := eval(seq...)
				for i := range want {
					require.InDelta(t, want[i], got[i], 1e-2*math.Max(1, math.Abs(float64(want[i]))), "logit %d", i)
				}
			})
		}
	}
}

// TestEvalAllocatesNothing checks that decoding one token allocates nothing,
// on one thread and with the worker pool.
func TestEvalAllocatesNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		threads int
	}{{"stories260K.gguf", 1}, {"synthetic/tiny-synth-q8_0.gguf", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := loadModel(t, tc.name)
			b := newTestBackend(t, m, engine.Options{Threads: tc.threads, ContextSize: 64})
			ctx := context.Background()
			logits := make([]float32, m.NVocab)
			require.NoError(t, b.Eval(ctx, []int32{1, 2, 3, 4, 5}, 0, logits))
			allocs := testing.AllocsPerRun(20, func() {
				if err := b.Eval(ctx, []int32{7}, 5, logits); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs)
			allocs = testing.AllocsPerRun(20, func() {
				if _, err := b.EvalArgmax(ctx, []int32{7}, 5); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs)
		})
	}
}

func TestEvalErrors(t *testing.T) {
	m, _ := loadModel(t, "stories260K.gguf")
	b := newTestBackend(t, m, engine.Options{Threads: 1, ContextSize: 16})
	ctx := context.Background()
	logits := make([]float32, m.NVocab)

	err := b.Eval(ctx, make([]int32, 10), 7, logits)
	require.ErrorIs(t, err, engine.ErrContextFull)
	assert.Contains(t, err.Error(), "context size 16")
	require.NoError(t, b.Eval(ctx, make([]int32, 10), 6, logits))

	assert.ErrorContains(t, b.Eval(ctx, nil, 0, logits), "no tokens")
	assert.ErrorContains(t, b.Eval(ctx, []int32{1}, -1, logits), "negative position")
	assert.ErrorContains(t, b.Eval(ctx, []int32{int32(m.NVocab)}, 0, logits), "out of range")
	assert.ErrorContains(t, b.Eval(ctx, []int32{1}, 0, logits[:5]), "logits has length 5")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, b.Eval(canceled, []int32{1}, 0, logits), context.Canceled)

	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	assert.Error(t, b.Eval(ctx, []int32{1}, 0, logits))
}

// TestCloseStopsWorkers checks that Close ends every worker goroutine.
func TestCloseStopsWorkers(t *testing.T) {
	m, _ := loadModel(t, "stories260K.gguf")
	before := runtime.NumGoroutine()
	b, err := New(m, engine.Options{Threads: 4, ContextSize: 32})
	require.NoError(t, err)
	assert.Equal(t, "cpu", b.Name())
	// Goroutines of earlier tests may still be exiting, so compare with the
	// count right after New as well as with the one before it.
	started := runtime.NumGoroutine()
	require.NoError(t, b.Close())
	deadline := time.Now().Add(2 * time.Second)
	for (runtime.NumGoroutine() > before || runtime.NumGoroutine() > started-3) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before)
	assert.LessOrEqual(t, runtime.NumGoroutine(), started-3, "three workers stopped")
}

func TestNewErrors(t *testing.T) {
	m, _ := loadModel(t, "stories260K.gguf")
	_, err := New(m, engine.Options{KVType: engine.KVType(7)})
	assert.ErrorContains(t, err, "unknown KV type")

	b := newTestBackend(t, m, engine.Options{})
	assert.Equal(t, runtime.NumCPU(), b.Threads())
	assert.Equal(t, 2048, b.ContextSize()) // training context below the 4096 cap
	var _ engine.ArgmaxBackend = b
	var _ engine.Backend = b
	_ = errors.New
}

func benchmarkDecode(b *testing.B, name string, threads int) {
	m, _ := loadModel(b, name)
	be := newTestBackend(b, m, engine.Options{Threads: threads, ContextSize: 512})
	ctx := context.Background()
	logits := make([]float32, m.NVocab)
	pos := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if pos == 256 {
			pos = 0
		}
		if err := be.Eval(ctx, []int32{int32(i % m.NVocab)}, pos, logits); err != nil {
			b.Fatal(err)
		}
		pos++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}

func BenchmarkDecodeStories260K1T(b *testing.B) { benchmarkDecode(b, "stories260K.gguf", 1) }
func BenchmarkDecodeSynthQ4_01T(b *testing.B) {
	benchmarkDecode(b, "synthetic/tiny-synth-q4_0.gguf", 1)
}
func BenchmarkDecodeSynthF321T(b *testing.B) { benchmarkDecode(b, "synthetic/tiny-synth-f32.gguf", 1) }
func BenchmarkDecodeSynthF322T(b *testing.B) { benchmarkDecode(b, "synthetic/tiny-synth-f32.gguf", 2) }

// knownBatchDivergent maps "model/kv" to why a batched evaluation is not
// held to strictTol yet. Empty: repacked Q4_0/Q4_K batches follow llama.cpp's
// ggml_gemm_*_8x8 arithmetic (quant.GemmQ4_0x8, quant.GemmQ4Kx8).
var knownBatchDivergent = map[string]string{}

// TestBatchMatchesLlamaCpp evaluates tokenPath as one batch (the prefill
// path: several tokens per Eval) for every test model and both KV cache
// types and compares the last token's next-token probabilities with
// llama.cpp's for the same batch (op "probs" without oneByOne: one
// llama_decode of the whole path). llama.cpp runs other kernels for batches
// than for single tokens (tinyBLAS, repacked GEMMs), so this is a separate
// check from TestMatchesLlamaCpp.
func TestBatchMatchesLlamaCpp(t *testing.T) {
	var reqs []refRequest
	for _, name := range testModels {
		p := testmodels.Path(t, name)
		for _, f32 := range []bool{true, false} {
			reqs = append(reqs, refRequest{Op: "probs", Model: p, Tokens: tokenPath, KVF32: &f32})
		}
	}
	var ans struct{ Results []refAnswer }
	llamacpp.Run(t, map[string]any{"op": "batch", "requests": reqs}, &ans)
	require.Len(t, ans.Results, len(reqs))
	avx2 := sameKernels(t)
	for i, name := range testModels {
		for j, kv := range []engine.KVType{engine.KVF32, engine.KVF16} {
			probs := ans.Results[2*i+j].Probs
			t.Run(fmt.Sprintf("%s/%s", name, kv), func(t *testing.T) {
				require.Len(t, probs, len(tokenPath))
				want := probs[len(probs)-1]
				m, _ := loadModel(t, name)
				require.Len(t, want, m.NVocab)
				b := newTestBackend(t, m, engine.Options{Threads: 2, ContextSize: 64, KVType: kv})
				logits := make([]float32, m.NVocab)
				require.NoError(t, b.Eval(context.Background(), tokenPath, 0, logits))
				worst := 0.0
				for k, p := range softmax64(logits) {
					worst = max(worst, math.Abs(p-want[k]))
				}
				tol := strictTol
				why, known := knownBatchDivergent[name+"/"+kv.String()]
				switch {
				case chaotic(name) && !avx2:
					tol = quantTol
				case known:
					tol = quantTol
					t.Logf("KNOWN DIVERGENCE, checked within %g only: %s", quantTol, why)
					if worst <= strictTol {
						t.Logf("now within %g: remove it from knownBatchDivergent", strictTol)
					}
				}
				if worst > tol {
					t.Errorf("max |p - p_llama.cpp| = %.3g > %g", worst, tol)
				}
				t.Logf("max |p - p_llama.cpp| = %.3g", worst)
			})
		}
	}
}
