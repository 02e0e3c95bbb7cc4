package gpu

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/engine/cpu"
	"github.com/hearthllm/hearth/engine/sample"
	"github.com/hearthllm/hearth/gguf"
	"github.com/stretchr/testify/require"
)

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// TestGPUBench measures prefill and decode speed on the models listed in
// HEARTH_GPU_BENCH (comma-separated GGUF paths), checks them against the
// CPU backend first, and prints one table row per model. It is the
// measurement scripts/gpu-bench.sh runs on the device machine.
func TestGPUBench(t *testing.T) {
	list := os.Getenv("HEARTH_GPU_BENCH")
	if list == "" {
		t.Skip("benchmark: set HEARTH_GPU_BENCH=model.gguf[,more.gguf]")
	}
	ctx := context.Background()
	var rows []string
	for _, path := range strings.Split(list, ",") {
		f, err := gguf.Open(path)
		require.NoError(t, err)
		m, err := engine.LoadModel(f)
		require.NoError(t, err)
		o := engine.Options{ContextSize: 1024, KVType: engine.KVF32, Threads: runtime.NumCPU()}
		start := time.Now()
		gb, err := newBackend(m, o, Options{AllowSoftware: os.Getenv(AllowSoftwareEnv) == "1"})
		require.NoError(t, err)
		load := time.Since(start)
		cb, err := cpu.New(m, o)
		require.NoError(t, err)

		// correctness: decode steps and a batched prefill against the CPU
		path16 := tokenPath(16, m.NVocab)
		lg := make([]float32, m.NVocab)
		lc := make([]float32, m.NVocab)
		worst := 0.0
		for i := 0; i < 4; i++ {
			require.NoError(t, gb.Eval(ctx, path16[i:i+1], i, lg))
			require.NoError(t, cb.Eval(ctx, path16[i:i+1], i, lc))
			d, _ := maxAbsDiff(lg, lc)
			worst = max(worst, d)
		}
		require.NoError(t, gb.Eval(ctx, path16, 0, lg))
		require.NoError(t, cb.Eval(ctx, path16, 0, lc))
		dPre, _ := maxAbsDiff(lg, lc)

		// HEARTH_GPU_BENCH_QUICK=1 skips the CPU decode timing and the
		// batch profile and prefills twice (device time is scarce)
		quick := os.Getenv("HEARTH_GPU_BENCH_QUICK") == "1"
		// CPU decode speed, after one untimed token (its first touch of the
		// mapped weights would otherwise count)
		cpuTok := 16
		if quick {
			cpuTok = 4
		}
		tok, err := cb.(engine.ArgmaxBackend).EvalArgmax(ctx, []int32{1}, 16)
		require.NoError(t, err)
		st := time.Now()
		for i := 0; i < cpuTok; i++ {
			tok, err = cb.(engine.ArgmaxBackend).EvalArgmax(ctx, []int32{tok}, 17+i)
			require.NoError(t, err)
		}
		cpuTPS := float64(cpuTok) / time.Since(st).Seconds()
		cb.Close()

		// prefill 512, after prefilling for half a second: an idle H100
		// sits at 345 MHz, and a first model's prefill measured right
		// after the CPU timing came out at half speed (5,809 and 6,183
		// t/s against 10,500-11,400)
		prompt := tokenPath(512, m.NVocab)
		for st := time.Now(); time.Since(st) < 500*time.Millisecond; {
			_, err := gb.EvalArgmax(ctx, prompt, 0)
			require.NoError(t, err)
		}
		var pre []time.Duration
		reps := 5
		if quick {
			reps = 2
		}
		for rep := 0; rep < reps; rep++ {
			st := time.Now()
			_, err := gb.EvalArgmax(ctx, prompt, 0)
			require.NoError(t, err)
			pre = append(pre, time.Since(st))
		}
		preTPS := 512 / median(pre).Seconds()

		// decode 128 after the prompt
		var dec []time.Duration
		var encode time.Duration
		for rep := 0; rep < 3; rep++ {
			tok := int32(1)
			st := time.Now()
			for i := 0; i < 128; i++ {
				tok, err = gb.EvalArgmax(ctx, []int32{tok}, 512+i)
				require.NoError(t, err)
			}
			dec = append(dec, time.Since(st))
			encode = gb.encodeTime
		}
		decTPS := 128 / median(dec).Seconds()
		nDisp := gb.Dispatches
		// decode 128 from an empty context, as llama-bench's tg128 (the
		// issue's llama.cpp figures) and the CPU timing above run
		var tg []time.Duration
		for rep := 0; rep < 3; rep++ {
			tok := int32(1)
			st := time.Now()
			for i := 0; i < 128; i++ {
				tok, err = gb.EvalArgmax(ctx, []int32{tok}, i)
				require.NoError(t, err)
			}
			tg = append(tg, time.Since(st))
		}
		tgTPS := 128 / median(tg).Seconds()
		// sampled decode (llama.cpp's default sampling: top-k 40, top-p,
		// min-p, temperature) from an empty context: the top-k pick on the
		// GPU (EvalTopK, 64 candidates back) against every logit read back
		// and sampled on the host (Eval + Sample)
		sampled := func(topk bool) float64 {
			smp, err := sample.New(sample.DefaultOptions(), m.NVocab)
			require.NoError(t, err)
			ids, vals := make([]int32, smp.TopKOnly()), make([]float32, smp.TopKOnly())
			logits := make([]float32, m.NVocab)
			var ts []time.Duration
			for rep := 0; rep < 3; rep++ {
				tok := int32(1)
				st := time.Now()
				for i := 0; i < 128; i++ {
					if topk {
						require.NoError(t, gb.EvalTopK(ctx, []int32{tok}, i, ids, vals))
						tok = smp.SampleTopK(ids, vals)
						continue
					}
					require.NoError(t, gb.Eval(ctx, []int32{tok}, i, logits))
					tok = smp.Sample(logits, nil)
				}
				ts = append(ts, time.Since(st))
			}
			return 128 / median(ts).Seconds()
		}
		topkTPS, fullTPS := sampled(true), sampled(false)

		// where decode time goes: the decode program restricted to one
		// class of dispatch (plus the final argmax that syncs)
		full := gb.decode
		classes := map[string][]dispatch{}
		for _, d := range full[:len(full)-1] {
			c := "matvec"
			for _, k := range []string{"actq", "rope", "attention", "get_rows", "rmsnorm"} {
				if strings.Contains(d.label, k) {
					c = k
				}
			}
			classes[c] = append(classes[c], d)
		}
		for c, ds := range classes {
			gb.decode = append(append([]dispatch(nil), ds...), full[len(full)-1])
			st := time.Now()
			for i := 0; i < 64; i++ {
				_, err = gb.EvalArgmax(ctx, []int32{1}, 512+i)
				require.NoError(t, err)
			}
			t.Logf("profile %s: %d dispatches, %.1f µs/token", c, len(ds), time.Since(st).Seconds()*1e6/64)
		}
		gb.decode = []dispatch{full[len(full)-1]}
		st = time.Now()
		for i := 0; i < 64; i++ {
			_, err = gb.EvalArgmax(ctx, []int32{1}, 512+i)
			require.NoError(t, err)
		}
		t.Logf("profile argmax+sync only: %.1f µs/token", time.Since(st).Seconds()*1e6/64)
		gb.decode = full
		// the same for the batched program (64-token batches)
		fullB := gb.batch
		classesB := map[string][]dispatch{}
		for _, d := range fullB[:len(fullB)-1] {
			c := "matvec"
			for _, k := range []string{"actq", "rope", "attention", "get_rows", "rmsnorm"} {
				if strings.Contains(d.label, k) {
					c = k
				}
			}
			classesB[c] = append(classesB[c], d)
		}
		if quick {
			classesB = nil
		}
		for c, ds := range classesB {
			gb.batch = append(append([]dispatch(nil), ds...), fullB[len(fullB)-1])
			st := time.Now()
			for i := 0; i < 4; i++ {
				_, err = gb.EvalArgmax(ctx, prompt[:64], 0)
				require.NoError(t, err)
			}
			t.Logf("profile batch64 %s: %d dispatches, %.1f µs/token", c, len(ds), time.Since(st).Seconds()*1e6/256)
		}
		gb.batch = fullB
		row := fmt.Sprintf("| %s | %s | %.0f | %.1f | %.1f | %.1f / %.1f | %.1f | %d | %.1f | %.3g / %.3g | %.1fs | %.2f |",
			gb.d.info.Name, path, preTPS, tgTPS, decTPS, topkTPS, fullTPS, cpuTPS, nDisp, tgTPS/cpuTPS, worst, dPre, load.Seconds(),
			encode.Seconds()*1e6)
		t.Log(row)
		rows = append(rows, row)
		gb.Close()
		f.Close()
	}
	fmt.Println("| card | model | prefill t/s (512) | decode t/s (tg128: positions 0-127) | decode t/s (positions 512-639) | sampled decode t/s (tg128, default sampling): top-k on the GPU / all logits read back | CPU decode t/s (positions 17-32) | dispatches/token | GPU/CPU (tg128) | max|dlogit| decode / prefill | load | encode µs/token |")
	for _, r := range rows {
		fmt.Println(r)
	}
}

// TestDecodeSweep measures decode speed on the models listed in
// HEARTH_GPU_DECODE_BENCH (comma-separated GGUF paths) under each
// configuration of HEARTH_GPU_DECODE_CONFIGS ("name:VAR=v VAR=v;name2:...",
// settings separated by spaces since HEARTH_GPU_MVD_SMALL's value holds
// commas; the decode switches not named are unset). Each configuration
// builds its own Backend, prefills the prompt (HEARTH_GPU_DECODE_N tokens,
// default 512), then gives the median of 3 runs of 128 greedy decode
// tokens, the time of the matrix products and of attention alone (the
// decode program restricted to that class plus the syncing argmax), and the
// largest logit difference of one decode step from the first
// configuration's. It is run on the device machine (docs/benchmarks-gpu.md).
func TestDecodeSweep(t *testing.T) {
	list := os.Getenv("HEARTH_GPU_DECODE_BENCH")
	if list == "" {
		t.Skip("benchmark: set HEARTH_GPU_DECODE_BENCH=model.gguf[,more.gguf]")
	}
	cfgs := os.Getenv("HEARTH_GPU_DECODE_CONFIGS")
	if cfgs == "" {
		cfgs = "base:"
	}
	nPrompt, nDec := 512, 128
	if v, err := strconv.Atoi(os.Getenv("HEARTH_GPU_DECODE_N")); err == nil && v > 0 && v <= maxBatch {
		nPrompt, nDec = v, 16 // lavapipe: short runs
	}
	ctx := context.Background()
	var rows []string
	for _, path := range strings.Split(list, ",") {
		f, err := gguf.Open(path)
		require.NoError(t, err)
		m, err := engine.LoadModel(f)
		require.NoError(t, err)
		prompt := tokenPath(nPrompt, m.NVocab)
		var ref []float32
		// every switch any configuration sets is cleared before each
		keys := []string{mvdEnv, "HEARTH_GPU_TPR", mvdSmallEnv, mvdPKEnv, attnSplitEnv, mvdQ4KEnv, mvdPFEnv, mvdExactEnv, mvdTPCEnv, mvdSBEnv, mvdDiagEnv, mvdPrepEnv, mvdXFVEnv, aheadEnv}
		for _, cfg := range strings.Split(cfgs, ";") {
			_, sets, _ := strings.Cut(cfg, ":")
			for _, kv := range strings.Fields(sets) {
				if k, _, ok := strings.Cut(kv, "="); ok {
					keys = append(keys, k)
				}
			}
		}
		for _, cfg := range strings.Split(cfgs, ";") {
			name, sets, _ := strings.Cut(cfg, ":")
			for _, k := range keys {
				t.Setenv(k, "")
			}
			for _, kv := range strings.Fields(sets) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					t.Setenv(k, v)
				}
			}
			gb, err := newBackend(m, engine.Options{ContextSize: 1024, KVType: engine.KVF32}, Options{AllowSoftware: os.Getenv(AllowSoftwareEnv) == "1"})
			require.NoError(t, err)
			_, err = gb.EvalArgmax(ctx, prompt, 0)
			require.NoError(t, err)
			lg := make([]float32, m.NVocab)
			require.NoError(t, gb.Eval(ctx, []int32{1}, nPrompt, lg))
			diff := 0.0
			if ref == nil {
				ref = lg
			} else {
				diff, _ = maxAbsDiff(lg, ref)
			}
			var ts []time.Duration
			for rep := 0; rep < 3; rep++ {
				tok := int32(1)
				st := time.Now()
				for i := 0; i < nDec; i++ {
					tok, err = gb.EvalArgmax(ctx, []int32{tok}, nPrompt+1+i)
					require.NoError(t, err)
				}
				ts = append(ts, time.Since(st))
			}
			tps := float64(nDec) / median(ts).Seconds()
			full := gb.decode
			prof := map[string]float64{}
			for _, c := range []string{"mvd", "attention"} {
				var ds []dispatch
				for _, d := range full[:len(full)-1] {
					if strings.Contains(d.label, c) {
						ds = append(ds, d)
					}
				}
				gb.decode = append(ds, full[len(full)-1])
				st := time.Now()
				for i := 0; i < nDec/2; i++ {
					_, err = gb.EvalArgmax(ctx, []int32{1}, nPrompt+1+i)
					require.NoError(t, err)
				}
				prof[c] = time.Since(st).Seconds() * 1e6 / float64(nDec/2)
			}
			gb.decode = full
			row := fmt.Sprintf("| %s | %s | %s | %.1f | %.0f | %.0f | %.3g | %s |", gb.d.info.Name, path, name, tps,
				prof["mvd"], prof["attention"], diff, sets)
			t.Log(row)
			rows = append(rows, row)
			gb.Close()
		}
		f.Close()
	}
	fmt.Println("| card | model | config | decode t/s | products µs/token (+argmax) | attention µs/token (+argmax) | max abs logit diff vs first | settings |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		fmt.Println(r)
	}
}
