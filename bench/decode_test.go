package bench

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/engine/cpu"
	"github.com/hearthllm/hearth/gguf"
)

// benchModelPath returns $HEARTH_BENCH_MODEL, by default the Q4_K_M file
// that scripts/bench-cpu.mjs caches.
func benchModelPath() string {
	if path := os.Getenv("HEARTH_BENCH_MODEL"); path != "" {
		return path
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "build", "bench-cpu", "models", "tinyllama-1.1b-Q4_K_M.gguf")
}

// benchBackend opens the model named by the environment on the CPU backend
// (context 512, F16 KV cache), or skips loudly.
func benchBackend(b *testing.B) (engine.Backend, *engine.Model, int) {
	b.Helper()
	path := benchModelPath()
	if _, err := os.Stat(path); err != nil {
		b.Skipf("SKIPPING: benchmark model %s is missing (run node scripts/bench-cpu.mjs once, or set HEARTH_BENCH_MODEL)", path)
	}
	threads := 2
	if s := os.Getenv("HEARTH_BENCH_THREADS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err, "HEARTH_BENCH_THREADS")
		threads = n
	}
	f, err := gguf.Open(path)
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, f.Close()) })
	m, err := engine.LoadModel(f)
	require.NoError(b, err)
	be, err := cpu.New(m, engine.Options{Threads: threads, ContextSize: 512, KVType: engine.KVF16})
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, be.Close()) })
	return be, m, threads
}

// cpuSeconds returns the user+system CPU time of this process so far. CPU
// time per token is a load-robust proxy for speed on a shared machine (as
// long as no thread spin-waits).
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// schedSeconds returns the time the threads of this process have spent on
// a CPU and waiting for one in the run queue (ready, but another process or
// thread held the core), summed over the threads, from Linux's
// /proc/self/task/*/schedstat; ok is false where that is not available.
// Wall time minus both is what the threads spent asleep (a parked worker).
func schedSeconds() (run, wait float64, ok bool) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, 0, false
	}
	for _, t := range tasks {
		buf, err := os.ReadFile(filepath.Join("/proc/self/task", t.Name(), "schedstat"))
		if err != nil {
			continue // the thread has exited
		}
		f := strings.Fields(string(buf))
		if len(f) < 2 {
			return 0, 0, false
		}
		r, err1 := strconv.ParseInt(f[0], 10, 64)
		w, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		run += float64(r) / 1e9
		wait += float64(w) / 1e9
	}
	return run, wait, true
}

// reportBusy reports, per token, the run-queue wait (time the threads were
// ready but had no core: load from other processes) and busy%, the share of
// threads x wall time that the threads spent running or ready to run: 100%
// means no worker ever slept; what is missing is time a thread waited
// parked (pool hand-offs, serial steps, imbalance).
func reportBusy(b *testing.B, threads, tokens int, run0, wait0 float64, ok0 bool) {
	run1, wait1, ok1 := schedSeconds()
	if !ok0 || !ok1 || tokens == 0 {
		return
	}
	wall := b.Elapsed().Seconds()
	b.ReportMetric(1e3*(wait1-wait0)/float64(tokens), "runq-ms/tok")
	b.ReportMetric(100*((run1-run0)+(wait1-wait0))/(float64(threads)*wall), "busy%")
}

// greedy returns the index of the largest logit.
func greedy(logits []float32) int32 {
	best := 0
	for j, l := range logits {
		if l > logits[best] {
			best = j
		}
	}
	return int32(best)
}

// BenchmarkDecode times single-token evaluation (tg) with logits and a greedy
// pick, as `hearth bench` does; one op is one token. Positions run 0..63 and
// wrap, like repeated tg64 runs.
func BenchmarkDecode(b *testing.B) {
	be, m, threads := benchBackend(b)
	ctx := context.Background()
	logits := make([]float32, m.NVocab)
	one := []int32{1}
	for i := 0; i < 4; i++ { // warm up: page in the weights, size the buffers
		require.NoError(b, be.Eval(ctx, one, i, logits))
	}
	b.ResetTimer()
	cpu0 := cpuSeconds(b)
	run0, wait0, ok0 := schedSeconds()
	for i := 0; i < b.N; i++ {
		require.NoError(b, be.Eval(ctx, one, i%64, logits))
		one[0] = greedy(logits)
	}
	b.StopTimer()
	reportBusy(b, threads, b.N, run0, wait0, ok0)
	b.ReportMetric(1e3*(cpuSeconds(b)-cpu0)/float64(b.N), "cpu-ms/tok")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkPrefill times one batch of $HEARTH_BENCH_PROMPT (default 128)
// tokens at position 0 (pp128); one op is one batch.
func BenchmarkPrefill(b *testing.B) {
	be, m, threads := benchBackend(b)
	ctx := context.Background()
	logits := make([]float32, m.NVocab)
	np := 128
	if s := os.Getenv("HEARTH_BENCH_PROMPT"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err, "HEARTH_BENCH_PROMPT")
		np = n
	}
	toks := make([]int32, np)
	for i := range toks {
		toks[i] = int32((i*7919 + 1) % m.NVocab)
	}
	require.NoError(b, be.Eval(ctx, toks[:8], 0, logits)) // warm up
	b.ResetTimer()
	cpu0 := cpuSeconds(b)
	run0, wait0, ok0 := schedSeconds()
	for i := 0; i < b.N; i++ {
		require.NoError(b, be.Eval(ctx, toks, 0, logits))
	}
	b.StopTimer()
	reportBusy(b, threads, np*b.N, run0, wait0, ok0)
	b.ReportMetric(1e3*(cpuSeconds(b)-cpu0)/float64(np*b.N), "cpu-ms/tok")
	b.ReportMetric(float64(np*b.N)/b.Elapsed().Seconds(), "tok/s")
}
