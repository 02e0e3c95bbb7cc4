package cpu

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
)

// levelModels are the models TestKernelLevelsAgree decodes: the weight
// types with AVX-512 kernels (Q4_0 through GemvQ4_0x8, Q4_K through
// GemvQ4Kx8, Q8_0, Q6_K and F16 through Gemv, F16 through MatMul) and F32,
// which has none.
var levelModels = []string{
	"synthetic/tiny-synth-q4_0.gguf",
	"synthetic/tiny-synth-q8_0.gguf",
	"synthetic/tiny-synth-q4_k.gguf",
	"synthetic/tiny-synth-q6_k.gguf",
	"synthetic/tiny-synth-f16.gguf",
	"stories260K.gguf",
}

// TestKernelLevelsAgree decodes levelModels token by token (and the same
// tokens as one batch) in child processes with HEARTH_CPU=avx2 and
// HEARTH_CPU=avx512, and requires the logits to be identical bit for bit:
// quant's AVX-512 kernels keep the AVX2 (llama.cpp haswell) rounding.
func TestKernelLevelsAgree(t *testing.T) {
	if os.Getenv("HEARTH_LEVELS_CHILD") != "" {
		t.Skip("child process")
	}
	x := cpu.X86
	if !(x.HasAVX2 && x.HasFMA && x.HasF16C && x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512VNNI) {
		t.Skip("!!! SKIPPING: this CPU lacks AVX-512 with VNNI: the AVX-512 level is NOT compared with AVX2 here")
	}
	for _, name := range levelModels {
		_, _ = loadModel(t, name) // skips loudly when the models are missing
	}
	dir := t.TempDir()
	out := map[string][]byte{}
	for _, lvl := range []string{"avx2", "avx512"} {
		p := filepath.Join(dir, lvl+".bin")
		cmd := exec.Command(os.Args[0], "-test.run=^TestKernelLevelsChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "HEARTH_CPU="+lvl, "HEARTH_LEVELS_CHILD="+p)
		msg, err := cmd.CombinedOutput()
		require.NoError(t, err, "child HEARTH_CPU=%s: %s", lvl, msg)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NotEmpty(t, b)
		out[lvl] = b
	}
	a, b := out["avx2"], out["avx512"]
	require.Equal(t, len(a), len(b))
	for i := 0; i < len(a); i += 4 {
		if binary.LittleEndian.Uint32(a[i:]) != binary.LittleEndian.Uint32(b[i:]) {
			t.Fatalf("logit %d differs: avx2 %g, avx512 %g", i/4,
				math.Float32frombits(binary.LittleEndian.Uint32(a[i:])), math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
		}
	}
	t.Logf("%d logits identical at HEARTH_CPU=avx2 and avx512", len(a)/4)
}

// TestKernelLevelsChild runs only in TestKernelLevelsAgree's children: it
// checks the kernel level HEARTH_CPU asked for and writes the logits.
func TestKernelLevelsChild(t *testing.T) {
	p := os.Getenv("HEARTH_LEVELS_CHILD")
	if p == "" {
		t.Skip("runs only as TestKernelLevelsAgree's child")
	}
	lvl, err := quant.KernelLevel()
	require.NoError(t, err)
	require.Equal(t, os.Getenv("HEARTH_CPU"), lvl.String())
	var buf []byte
	for _, name := range levelModels {
		m, _ := loadModel(t, name)
		for _, threads := range []int{1, 3} {
			b := newTestBackend(t, m, engine.Options{Threads: threads, ContextSize: 64, KVType: engine.KVF32})
			logits := make([]float32, m.NVocab)
			for pos, tok := range tokenPath {
				require.NoError(t, b.Eval(context.Background(), []int32{tok}, pos, logits))
				for _, v := range logits {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				}
			}
			b2 := newTestBackend(t, m, engine.Options{Threads: threads, ContextSize: 64, KVType: engine.KVF32})
			require.NoError(t, b2.Eval(context.Background(), tokenPath, 0, logits))
			for _, v := range logits {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
		}
	}
	require.NoError(t, os.WriteFile(p, buf, 0o644))
}

// BenchmarkDecodeFile times one-token decoding of the GGUF model at
// $HEARTH_DECODE_MODEL with $HEARTH_DECODE_THREADS threads (default 1), for
// comparing kernel levels (run it once per HEARTH_CPU value).
func BenchmarkDecodeFile(b *testing.B) {
	p := os.Getenv("HEARTH_DECODE_MODEL")
	if p == "" {
		b.Skip("set HEARTH_DECODE_MODEL to a GGUF file")
	}
	threads := 1
	if s := os.Getenv("HEARTH_DECODE_THREADS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err)
		threads = n
	}
	f, err := gguf.Open(p)
	require.NoError(b, err)
	defer f.Close()
	m, err := engine.LoadModel(f)
	require.NoError(b, err)
	be := newTestBackend(b, m, engine.Options{Threads: threads, ContextSize: 512})
	lvl, _ := quant.KernelLevel()
	b.Logf("%s, %d threads, kernel level %s", filepath.Base(p), threads, lvl)
	ctx := context.Background()
	logits := make([]float32, m.NVocab)
	pos := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if pos == 64 {
			pos = 0
		}
		if err := be.Eval(ctx, []int32{int32(1 + i%100)}, pos, logits); err != nil {
			b.Fatal(err)
		}
		pos++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}
