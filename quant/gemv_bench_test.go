package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/hearthllm/hearth/gguf"
)

// BenchmarkGemvF32 times GemvF32 on stories260K's shapes (rows x cols),
// where per-row overhead dominates; cpu-us/op is CPU time.
func BenchmarkGemvF32(b *testing.B) {
	tr := mustFor(b, gguf.TypeF32)
	for _, sh := range [][2]int{{64, 64}, {172, 64}, {64, 172}, {512, 64}} {
		rows, n := sh[0], sh[1]
		w, a, rowBytes, _ := testMatrix(b, tr, rand.New(rand.NewPCG(37, 38)), rows, n, 1)
		dst := make([]float32, rows)
		b.Run(fmt.Sprintf("%dx%d", rows, n), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			c0 := processCPUSeconds()
			for b.Loop() {
				GemvF32(dst, w, rowBytes, n, a, 0, rows)
			}
			b.ReportMetric(1e6*(processCPUSeconds()-c0)/float64(b.N), "cpu-us/op")
		})
	}
}

// BenchmarkGemvQ6K times the Q6_K one-token matvec on TinyLlama-sized
// matrices (rows x cols) and on one small enough to stay in L2; MB/s is
// weight bytes a second, cpu-us/op CPU time.
func BenchmarkGemvQ6K(b *testing.B) {
	tr := mustFor(b, gguf.TypeQ6_K)
	for _, sh := range [][2]int{{256, 2048}, {2048, 5632}, {32000, 2048}} {
		rows, n := sh[0], sh[1]
		w, a, rowBytes, _ := testMatrix(b, tr, rand.New(rand.NewPCG(39, 40)), rows, n, 1)
		dst := make([]float32, rows)
		for _, k := range []struct {
			name string
			f    func()
		}{
			{"gemv", func() { Gemv(tr, dst, w, rowBytes, n, a, 0, rows) }},
			{"matvec", func() { MatVec(tr, dst, w, rowBytes, n, a, 0, rows) }},
		} {
			b.Run(fmt.Sprintf("%dx%d/%s", rows, n, k.name), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				c0 := processCPUSeconds()
				for b.Loop() {
					k.f()
				}
				b.ReportMetric(1e6*(processCPUSeconds()-c0)/float64(b.N), "cpu-us/op")
			})
		}
	}
}

// BenchmarkGemvQ6KDRAM times the AVX2 Q6_K one-token kernel (gemvQ6K) on
// random Q6_K matrices (32768x2048, 52.5 MiB, and 12288x5632, 54 MiB) larger
// than the caches, on one thread and split in halves on two goroutines; MB/s
// is weight bytes a second. Compare kernels out of DRAM, not in cache: a
// change that speeds up the in-cache BenchmarkGemvQ6K may not move these.
func BenchmarkGemvQ6KDRAM(b *testing.B) {
	if !useAVX2 {
		b.Skip("no AVX2")
	}
	for _, sh := range [][2]int{{32768, 2048}, {12288, 5632}} {
		rows, n := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(45, 46))
		w, a := randQ6KMatrix(rng, rows, n), randQ8KRow(rng, n)
		rowBytes := n / qkK * q6KBytes
		dst := make([]float32, rows)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%d/%dthreads", rows, n, threads), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					splitRows(rows, threads, rows, func(r0, r1 int) {
						gemvQ6K(dst, w, rowBytes, n, a, r0, r1, gemvQ6KPrefetch)
					})
				}
			})
		}
	}
}

// randQ6KMatrix returns rows x n raw random Q6_K weights (every quant and
// scale byte random) with d a random power-of-two-scaled value.
func randQ6KMatrix(rng *rand.Rand, rows, n int) []byte {
	w := make([]byte, rows*n/qkK*q6KBytes)
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	for o := 0; o < len(w); o += q6KBytes {
		putF16(w[o+q6KOffD:], float32(math.Ldexp(1+rng.Float64(), -8-rng.IntN(6))))
	}
	return w
}

// splitRows runs gemv over rows [0, rows) split in threads contiguous
// parts on as many goroutines (one thread: on the caller's), each part in
// calls of at most piece rows (decode's scheduling hands out pieces), and
// waits for them.
func splitRows(rows, threads, piece int, gemv func(r0, r1 int)) {
	if threads == 1 {
		for r := 0; r < rows; r += piece {
			gemv(r, min(r+piece, rows))
		}
		return
	}
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		wg.Go(func() {
			lo, hi := t*rows/threads, (t+1)*rows/threads
			for r := lo; r < hi; r += piece {
				gemv(r, min(r+piece, hi))
			}
		})
	}
	wg.Wait()
}
