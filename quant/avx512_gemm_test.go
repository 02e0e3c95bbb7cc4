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
// random accumulators, on q4_0x8PackAVX2 and q8_0GemmTabAVX2's real output.
func TestQ4_0GemmR4x16AVX512(t *testing.T) {
	skipWithoutAVX512(t)
	rng := rand.New(rand.NewPCG(97, 98))
	for _, c := range avx512Cases {
		for _, nb := range []int{1, 2, 7, 32} {
			t.Run(fmt.Sprintf("%s/nb%d", c.name, nb), func(t *testing.T) {
				w, _, rowBytes := avx512Input(rng, c, blockQ4_0Len, 16, nb, 3)
				a, _, aRowBytes := avx512Input(rng, c, blockQ8_0Len, 4, nb, 0)
				wx := make([]byte, Q4_0x8Size(16, nb*qk4_0))
				RepackQ4_0x8(wx, w, rowBytes, 16, nb*qk4_0)
				pack := make([]byte, 2*nb*q40rPackLen)
				q4_0x8PackAVX2(&wx[0], nb, &pack[0])
				q4_0x8PackAVX2(&wx[nb*q40x8BlockLen], nb, &pack[nb*q40rPackLen])
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

// TestQ4KGemmR4x16AVX512 checks the AVX-512 Q4_K packed kernel against the
// AVX2 one run on each half of its sixteen rows and each pair of its four
// activation rows, bit for bit, from random accumulators, on
// q4KPack8AVX2/q4KPack8ScalesAVX2's real output of q4KInput's families
// (extreme quants, scales and mins, zero and cancelling scales), and the
// Go model q4KGemmR4x16Go against both.
func TestQ4KGemmR4x16AVX512(t *testing.T) {
	skipWithoutAVX512(t)
	rng := rand.New(rand.NewPCG(99, 100))
	for _, c := range avx512Cases {
		for _, nb := range []int{1, 2, 3, 4, 9} {
			t.Run(fmt.Sprintf("%s/nb%d", c.name, nb), func(t *testing.T) {
				w, _, rowBytes := q4KInput(rng, c, 16, nb, 3)
				aStride := nb*q8KBytes + 5
				a := make([]byte, 4*aStride)
				for i := 0; i < 4; i++ {
					_, ai, _ := q4KInput(rng, c, 0, nb, 0)
					copy(a[i*aStride:], ai)
				}
				pack := make([]byte, 2*nb*q4krLen)
				for h := 0; h < 2; h++ {
					q4KPack8AVX2(&w[8*h*rowBytes], rowBytes, nb, &pack[h*nb*q4krLen])
					q4KPack8ScalesAVX2(&w[8*h*rowBytes], rowBytes, nb, &pack[h*nb*q4krLen])
				}
				got := make([]float32, 4*32+8)
				for i := range got {
					got[i] = float32(rng.NormFloat64())
				}
				want := append([]float32(nil), got...)
				model := append([]float32(nil), got...)
				q4KGemmR4x16AVX512(&pack[0], nb*q4krLen, &a[0], aStride, nb, &got[0])
				q4KGemmR4x16Go(&pack[0], nb*q4krLen, &a[0], aStride, nb, &model[0])
				// The AVX2 kernel's accumulators of a row pair: acc and
				// accMin of eight rows for activation row 0, then row 1.
				for p := 0; p < 2; p++ {
					for h := 0; h < 2; h++ {
						var two [32]float32
						for k := 0; k < 2; k++ {
							copy(two[16*k:16*k+8], want[32*(2*p+k)+8*h:])
							copy(two[16*k+8:16*k+16], want[32*(2*p+k)+16+8*h:])
						}
						q4KGemmR2AVX2(&pack[h*nb*q4krLen], &a[2*p*aStride], aStride, nb, &two[0])
						for k := 0; k < 2; k++ {
							copy(want[32*(2*p+k)+8*h:], two[16*k:16*k+8])
							copy(want[32*(2*p+k)+16+8*h:], two[16*k+8:16*k+16])
						}
					}
				}
				for k := range got {
					require.Equal(t, math.Float32bits(want[k]), math.Float32bits(got[k]), "accumulator %d (activation row %d, weight row %d): AVX-512 %g, AVX2 %g", k, k/32, k%16, got[k], want[k])
					require.Equal(t, math.Float32bits(want[k]), math.Float32bits(model[k]), "accumulator %d: Go model %g, AVX2 %g", k, model[k], want[k])
				}
			})
		}
	}
}

// TestGemmQ4KPacked16 checks gemmQ4KPacked's sixteen-row path (the
// packing into two runs, the pointers and strides handed to the kernel,
// the accumulator layout, the eight-row step after the last sixteen, two
// activation panels) with the Go model of the AVX-512 kernel (q4KGemmR4x16Go) in its place,
// against the AVX2-only path, bit for bit; so it runs on AVX2 CPUs too
// (TestGemmQ4K and TestGemmDispatch cover the real kernel on AVX-512).
func TestGemmQ4KPacked16(t *testing.T) {
	skipWithoutAVX2(t)
	rng := rand.New(rand.NewPCG(101, 102))
	tr := mustFor(t, gguf.TypeQ4_K)
	for _, c := range []struct{ rows, n, m int }{{16, 256, 4}, {40, 1280, 12}, {35, 2304, 132}, {64, 512, 8}} {
		w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, c.rows, c.n, c.m)
		for _, rg := range [][2]int{{0, c.rows / 8 * 8}, {c.rows - c.rows/8*8, c.rows}, {0, 8}} {
			ld := c.rows + 2
			got := make([]float32, c.m*ld)
			want := make([]float32, c.m*ld)
			gemmQ4KPacked(q4K16Go, got, ld, w, rowBytes, c.n/qkK, a, aRowBytes, c.m, rg[0], rg[1])
			gemmQ4KPacked(q4K16None, want, ld, w, rowBytes, c.n/qkK, a, aRowBytes, c.m, rg[0], rg[1])
			for i := range got {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%v rows %v: activation row %d, weight row %d", c, rg, i/ld, i%ld)
			}
		}
	}
}

// TestGemmDispatch checks that GemmQ8_0, GemmQ4_0x8 and GemmQ4K run the
// AVX-512 packed kernels at LevelAVX512 (HEARTH_CPU=avx512 or auto on an AVX-512
// VNNI CPU) and give the AVX2 level's bits whichever kernels serve the rows
// (Q4_0: its whole groups of eight rows).
func TestGemmDispatch(t *testing.T) {
	skipWithoutAVX2(t)
	if kernel.level < LevelAVX2 {
		t.Skipf("SKIP LOUDLY: kernel level %s (HEARTH_CPU): the public products run the generic code here, which this AVX2/AVX-512 dispatch check does not cover", kernel.level)
	}
	if !useAVX512 {
		t.Logf("!!! kernel level %s: the AVX-512 GEMM kernels are not in the dispatch here, this checks the AVX2 path only", kernel.level)
	}
	rng := rand.New(rand.NewPCG(93, 94))
	// Q8_0: tiles of 45 rows (odd), two packed groups and three leftover
	// activation rows. Q4_0: sixteen-row steps, an eight-row one and
	// leftover activation rows (Q4_K alike, with leftover weight rows too
	// and four activation rows a pass).
	const rows, n, m = 77, 4096, 19
	for _, typ := range []gguf.TensorType{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K} {
		tr := mustFor(t, typ)
		w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, rows, n, m)
		packed := make([]byte, Q8_0x8Size(n, m))
		PackQ8_0x8(packed, a, aRowBytes, n, 0, m/8)
		var wx []byte
		if typ == gguf.TypeQ4_0 {
			wx = make([]byte, Q4_0x8Size(rows/8*8, n))
			RepackQ4_0x8(wx, w, rowBytes, rows/8*8, n)
		}
		for _, rg := range [][2]int{{0, rows}, {1, rows}, {3, 50}, {10, 11}} {
			got := make([]float32, m*rows)
			want := make([]float32, m*rows)
			switch typ {
			case gguf.TypeQ8_0:
				GemmQ8_0(got, rows, w, rowBytes, n, a, aRowBytes, m, packed, rg[0], rg[1])
				gemmQ8_0At(LevelAVX2, want, rows, w, rowBytes, n, a, aRowBytes, m, packed, rg[0], rg[1])
			case gguf.TypeQ4_0: // the whole groups of eight inside rg
				if r0, r1 := (rg[0]+7)/8*8, rg[1]/8*8; r0 < r1 {
					GemmQ4_0x8(got, rows, wx, n, a, aRowBytes, m, r0, r1)
					gemmQ4_0x8At(LevelAVX2, want, rows, wx, n, a, aRowBytes, m, r0, r1)
				}
			default:
				GemmQ4K(got, rows, w, rowBytes, n, a, aRowBytes, m, rg[0], rg[1])
				gemmQ4KAt(LevelAVX2, want, rows, w, rowBytes, n, a, aRowBytes, m, rg[0], rg[1])
			}
			for i := range got {
				require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s rows %v: activation row %d, weight row %d", typ, rg, i/rows, i%rows)
			}
		}
	}
}

// BenchmarkGemmLevels times GemmQ8_0's packed path, GemmQ4_0x8 and GemmQ4K at
// LevelAVX2 and LevelAVX512 on TinyLlama's shapes (2048x2048 attention,
// 5632x2048 FFN up/gate; weight rows x elements) against 128 activation
// rows, on one thread and on GOMAXPROCS goroutines that split the weight
// rows (as engine/cpu does). GMAC/s is multiply-adds per wall second.
func BenchmarkGemmLevels(b *testing.B) {
	const m = 128
	for _, typ := range []gguf.TensorType{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K} {
		tr := mustFor(b, typ)
		for _, sh := range [][2]int{{2048, 2048}, {5632, 2048}} {
			rows, n := sh[0], sh[1]
			w, a, rowBytes, aRowBytes := testMatrix(b, tr, rand.New(rand.NewPCG(95, uint64(rows))), rows, n, m)
			packed := make([]byte, Q8_0x8Size(n, m))
			PackQ8_0x8(packed, a, aRowBytes, n, 0, m/8)
			var wx []byte
			if typ == gguf.TypeQ4_0 {
				wx = make([]byte, Q4_0x8Size(rows, n))
				RepackQ4_0x8(wx, w, rowBytes, rows, n)
			}
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
									switch typ {
									case gguf.TypeQ8_0:
										gemmQ8_0At(lv, dst, rows, w, rowBytes, n, a, aRowBytes, m, packed, r0, r1)
									case gguf.TypeQ4_0:
										gemmQ4_0x8At(lv, dst, rows, wx, n, a, aRowBytes, m, r0, r1)
									default:
										gemmQ4KAt(lv, dst, rows, w, rowBytes, n, a, aRowBytes, m, r0, r1)
									}
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
