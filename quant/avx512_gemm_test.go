package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// TestQ8_0GemmX8AVX512 checks the AVX-512 packed Q8_0 kernel against the
// AVX2 packed kernel and the Go model of its order, bit for bit, for every
// pair, on quants that include -128 in weights and activations alike (where
// ggml's sign trick wraps), and that it writes only its rows.
func TestQ8_0GemmX8AVX512(t *testing.T) {
	skipWithoutAVX512(t)
	rng := rand.New(rand.NewPCG(91, 92))
	for _, c := range avx512Cases {
		for _, nb := range avx512BlockCounts {
			for _, shape := range []struct{ rows, ld, pad int }{{2, 2, 0}, {8, 11, 3}, {30, 33, 7}} {
				t.Run(fmt.Sprintf("%s/nb%d/rows%d", c.name, nb, shape.rows), func(t *testing.T) {
					w, _, rowBytes := avx512Input(rng, c, blockQ8_0Len, shape.rows, nb, shape.pad)
					a, _, aRowBytes := avx512Input(rng, c, blockQ8_0Len, 8, nb, 0)
					ap := make([]byte, Q8_0x8Size(nb*qk8_0, 8))
					PackQ8_0x8(ap, a, aRowBytes, nb*qk8_0, 0, 1)
					nan := math.Float32frombits(0x7fc0dead)
					got := make([]float32, 8*shape.ld)
					want := make([]float32, 8*shape.ld)
					for i := range got {
						got[i], want[i] = nan, nan
					}
					q8_0GemmX8AVX512(&w[0], rowBytes, shape.rows, &ap[0], nb, &got[0], shape.ld)
					q8_0GemmX8AVX2(&w[0], rowBytes, shape.rows, &ap[0], nb, &want[0], shape.ld)
					for j := 0; j < 8; j++ {
						for r := 0; r < shape.ld; r++ {
							i := j*shape.ld + r
							if r < shape.rows {
								model := q8_0DotAVX2Order(w[r*rowBytes:], a[j*aRowBytes:], nb)
								require.Equal(t, math.Float32bits(model), math.Float32bits(want[i]), "activation row %d, weight row %d: AVX2 %g, model %g", j, r, want[i], model)
							}
							require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "activation row %d, weight row %d: AVX-512 %g, AVX2 %g", j, r, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// TestQ4_0GemmR4x16AVX512 checks the AVX-512 Q4_0 packed kernel against
// the AVX2 one run on each half of its sixteen rows, bit for bit, from
// random accumulators, on q4_0Pack8AVX2 and q8_0GemmTabAVX2's real output.
func TestQ4_0GemmR4x16AVX512(t *testing.T) {
	skipWithoutAVX512(t)
	rng := rand.New(rand.NewPCG(97, 98))
	for _, c := range avx512Cases {
		for _, nb := range []int{1, 2, 7, 32} {
			t.Run(fmt.Sprintf("%s/nb%d", c.name, nb), func(t *testing.T) {
				w, _, rowBytes := avx512Input(rng, c, blockQ4_0Len, 16, nb, 3)
				a, _, aRowBytes := avx512Input(rng, c, blockQ8_0Len, 4, nb, 0)
				pack := make([]byte, 2*nb*q40rPackLen)
				q4_0Pack8AVX2(&w[0], rowBytes, nb, &pack[0])
				q4_0Pack8AVX2(&w[8*rowBytes], rowBytes, nb, &pack[nb*q40rPackLen])
				tab := make([]byte, 4*nb*8)
				q8_0GemmTabAVX2(&a[0], aRowBytes, 4, nb, &tab[0])
				const ld = 19
				got := make([]float32, 4*ld)
				for i := range got {
					got[i] = float32(rng.NormFloat64())
				}
				want := append([]float32(nil), got...)
				q4_0GemmR4x16AVX512(&pack[0], nb*q40rPackLen, &a[0], aRowBytes, &tab[0], nb*8, nb, &got[0], ld)
				q4_0GemmR4AVX2(&pack[0], &a[0], aRowBytes, &tab[0], nb*8, nb, &want[0], ld)
				q4_0GemmR4AVX2(&pack[nb*q40rPackLen], &a[0], aRowBytes, &tab[0], nb*8, nb, &want[8], ld)
				for i := range got {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "activation row %d, weight row %d: AVX-512 %g, AVX2 %g", i/ld, i%ld, got[i], want[i])
				}
			})
		}
	}
}

// TestGemmDispatch checks that GemmQ8_0 and GemmQ4_0 run the AVX-512
// packed kernels at LevelAVX512 (HEARTH_CPU=avx512 or auto on an AVX-512
// VNNI CPU) and give the AVX2 level's bits whichever kernels serve the rows.
func TestGemmDispatch(t *testing.T) {
	skipWithoutAVX2(t)
	if !useAVX512 {
		t.Logf("!!! kernel level %s: the AVX-512 GEMM kernels are not in the dispatch here, this checks the AVX2 path only", kernel.level)
	}
	rng := rand.New(rand.NewPCG(93, 94))
	// Q8_0: tiles of 45 rows (odd), two packed groups and three leftover
	// activation rows. Q4_0: sixteen-row steps, an eight-row one and
	// leftover rows.
	const rows, n, m = 77, 4096, 19
	for _, typ := range []gguf.TensorType{gguf.TypeQ8_0, gguf.TypeQ4_0} {
		tr := mustFor(t, typ)
		w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, rows, n, m)
		packed := make([]byte, Q8_0x8Size(n, m))
		PackQ8_0x8(packed, a, aRowBytes, n, 0, m/8)
		for _, rg := range [][2]int{{0, rows}, {1, rows}, {3, 50}, {10, 11}} {
			got := make([]float32, m*rows)
			want := make([]float32, m*rows)
			if typ == gguf.TypeQ8_0 {
				GemmQ8_0(got, rows, w, rowBytes, n, a, aRowBytes, m, packed, rg[0], rg[1])
				gemmQ8_0At(LevelAVX2, want, rows, w, rowBytes, n, a, aRowBytes, m, packed, rg[0], rg[1])
			} else {
				GemmQ4_0(got, rows, w, rowBytes, n, a, aRowBytes, m, rg[0], rg[1])
				gemmQ4_0At(LevelAVX2, want, rows, w, rowBytes, n, a, aRowBytes, m, rg[0], rg[1])
			}
			for i := range got {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s rows %v: activation row %d, weight row %d", typ, rg, i/rows, i%rows)
			}
		}
	}
}

// BenchmarkGemmLevels times GemmQ8_0's packed path and GemmQ4_0 at
// LevelAVX2 and LevelAVX512 on TinyLlama's shapes (2048x2048 attention,
// 5632x2048 FFN up/gate; weight rows x elements) against 128 activation
// rows, on one thread and on GOMAXPROCS goroutines that split the weight
// rows (as engine/cpu does). GMAC/s is multiply-adds per wall second.
func BenchmarkGemmLevels(b *testing.B) {
	const m = 128
	for _, typ := range []gguf.TensorType{gguf.TypeQ8_0, gguf.TypeQ4_0} {
		tr := mustFor(b, typ)
		for _, sh := range [][2]int{{2048, 2048}, {5632, 2048}} {
			rows, n := sh[0], sh[1]
			w, a, rowBytes, aRowBytes := testMatrix(b, tr, rand.New(rand.NewPCG(95, uint64(rows))), rows, n, m)
			packed := make([]byte, Q8_0x8Size(n, m))
			PackQ8_0x8(packed, a, aRowBytes, n, 0, m/8)
			dst := make([]float32, m*rows)
			for _, lv := range []Level{LevelAVX2, LevelAVX512} {
				for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
					b.Run(fmt.Sprintf("%s/%dx%d/%s/threads%d", typ, rows, n, lv, threads), func(b *testing.B) {
						if hardwareLevel() < lv {
							b.Skipf("!!! SKIPPING: this CPU lacks %s", lv)
						}
						chunk := (rows/threads + 15) &^ 15
						var wg sync.WaitGroup
						for b.Loop() {
							for r0 := 0; r0 < rows; r0 += chunk {
								wg.Add(1)
								go func(r0, r1 int) {
									defer wg.Done()
									if typ == gguf.TypeQ8_0 {
										gemmQ8_0At(lv, dst, rows, w, rowBytes, n, a, aRowBytes, m, packed, r0, r1)
										return
									}
									gemmQ4_0At(lv, dst, rows, w, rowBytes, n, a, aRowBytes, m, r0, r1)
								}(r0, min(r0+chunk, rows))
							}
							wg.Wait()
						}
						b.ReportMetric(float64(m*rows*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
					})
				}
			}
		}
	}
}
