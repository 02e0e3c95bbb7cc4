package quant

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/hearthllm/hearth/gguf"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPrefill multiplies rows x n weight matrices by m = 128
// activation rows on one goroutine: as MatMul (batched kernels), as MatMul
// did before them (row dots in 16-row tiles, "rowdots"), as m MatVec
// calls and, for Q4_0 and Q4_K, as GemmQ4_0x8 (on the weights interleaved
// by RepackQ4_0x8) / GemmQ4K ("gemm"). cpu-ms/op is process CPU time per
// op (run with -cpu 1), which a loaded machine distorts less than wall time;
// GMAC/s is per CPU second.
func BenchmarkPrefill(b *testing.B) {
	const m = 128
	types := []gguf.TensorType{gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ5_0, gguf.TypeQ4_1, gguf.TypeQ5_1, gguf.TypeF16, gguf.TypeF32, gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K}
	for _, typ := range types {
		for _, sh := range [][2]int{{2048, 2048}, {5632, 2048}, {2048, 5632}} {
			rows, n := sh[0], sh[1]
			b.Run(fmt.Sprintf("%s/%dx%d", typ, rows, n), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(51, uint64(rows*n)))
				tr := mustFor(b, typ)
				at := mustFor(b, tr.VecDotType)
				rowBytes, aRowBytes := tr.RowSize(n), at.RowSize(n)
				w := make([]byte, rows*rowBytes)
				tr.Quantize(w, randRow(rng, rows*n, 0.05))
				a := make([]byte, m*aRowBytes)
				for i := 0; i < m; i++ {
					tr.QuantizeActivation(a[i*aRowBytes:(i+1)*aRowBytes], randRow(rng, n, 1))
				}
				dst := make([]float32, m*rows)
				modes := []string{"matmul", "rowdots", "matvec"}
				if typ == gguf.TypeQ4_0 || typ == gguf.TypeQ4_K || typ == gguf.TypeQ8_0 {
					modes = append(modes, "gemm")
				}
				var packed, wx []byte
				switch typ {
				case gguf.TypeQ8_0:
					packed = make([]byte, Q8_0x8Size(n, m))
					PackQ8_0x8(packed, a, aRowBytes, n, 0, m/8)
				case gguf.TypeQ4_0:
					wx = make([]byte, Q4_0x8Size(rows, n))
					RepackQ4_0x8(wx, w, rowBytes, rows, n)
				}
				for _, mode := range modes {
					b.Run(mode, func(b *testing.B) {
						c0 := cpuTime(b)
						for b.Loop() {
							switch mode {
							case "matmul":
								MatMul(tr, dst, rows, w, rowBytes, n, a, aRowBytes, m, 0, rows)
								continue
							case "gemm": // the repacked-GEMM order (GemmQ4_0x8, GemmQ4K); GemmQ8_0
								if typ == gguf.TypeQ8_0 {
									GemmQ8_0(dst, rows, w, rowBytes, n, a, aRowBytes, m, packed, 0, rows)
									continue
								}
								if typ == gguf.TypeQ4_K {
									GemmQ4K(dst, rows, w, rowBytes, n, a, aRowBytes, m, 0, rows)
									continue
								}
								GemmQ4_0x8(dst, rows, wx, n, a, aRowBytes, m, 0, rows)
								continue
							case "rowdots": // MatMul before the batched kernels
								matMulAt(false, tr.VecDot, tr, dst, rows, w, rowBytes, n, a, aRowBytes, m, 0, rows)
								continue
							}
							for i := 0; i < m; i++ {
								MatVec(tr, dst[i*rows:(i+1)*rows], w, rowBytes, n, a[i*aRowBytes:(i+1)*aRowBytes], 0, rows)
							}
						}
						cpu := cpuTime(b) - c0
						b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
						b.ReportMetric(float64(m*rows*n)*float64(b.N)/cpu.Seconds()/1e9, "GMAC/s")
					})
				}
			})
		}
	}
}
