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

// f16Families are the half-precision inputs of the F16 kernel tests:
// typical magnitudes, every finite half (subnormals, signed zeros,
// ±65504), and values that cancel exactly. No NaN or infinity: the
// kernels' bits are only promised equal on finite sums.
var f16Families = []string{"typical", "extremes", "cancelling"}

// randF16Bits returns a finite half of family f.
func randF16Bits(rng *rand.Rand, f string) uint16 {
	sign := uint16(rng.IntN(2)) << 15
	switch f {
	case "extremes":
		return sign | uint16(rng.IntN(31))<<10 | uint16(rng.IntN(1024))
	case "cancelling":
		return [...]uint16{0x3c00, 0xbc00, 0x0000, 0x8000, 0x0001, 0x8001, 0x7bff, 0xfbff, 0x3c01}[rng.IntN(9)]
	}
	return sign | uint16(10+rng.IntN(11))<<10 | uint16(rng.IntN(1024))
}

// f16Matrix returns rows rows of n halves of family f, rowBytes apart
// (2n plus a few junk bytes).
func f16Matrix(rng *rand.Rand, f string, rows, n int) ([]byte, int) {
	rowBytes := 2*n + 2*rng.IntN(5)
	b := make([]byte, rows*rowBytes)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for r := 0; r < rows; r++ {
		h := asU16(b[r*rowBytes : r*rowBytes+2*n])
		for i := range h {
			h[i] = randF16Bits(rng, f)
		}
	}
	return b, rowBytes
}

// randAcc returns k random float32 accumulators (some signed zeros).
func randAcc(rng *rand.Rand, k int) []float32 {
	acc := make([]float32, k)
	for i := range acc {
		acc[i] = float32(rng.NormFloat64()) * float32(math.Ldexp(1, rng.IntN(20)-10))
		if rng.IntN(7) == 0 {
			acc[i] = float32(math.Copysign(0, rng.NormFloat64()))
		}
	}
	return acc
}

// f16AccOrder carries one pair's 32 accumulators (dotF16x3AVX2's acc j
// lane l at index 8j+l) over x·y in ggml's AVX2 order: index l of step i
// gets fma(x[32i+l], y[32i+l], acc[l]).
func f16AccOrder(acc []float32, x, y []uint16) {
	for i := 0; i+32 <= len(x); i += 32 {
		for l := 0; l < 32; l++ {
			acc[l] = fmaF32(FP16ToFP32(x[i+l]), FP16ToFP32(y[i+l]), acc[l])
		}
	}
}

// f16ReduceOrder is GGML_F32x8_REDUCE of 32 accumulators as dotF16AVX2
// does it: (acc0+acc2)+(acc1+acc3) per lane, lo+hi, two horizontal adds.
func f16ReduceOrder(acc []float32) float32 {
	var s [8]float32
	for l := range s {
		s[l] = (acc[l] + acc[16+l]) + (acc[8+l] + acc[24+l])
	}
	var t [4]float32
	for l := range t {
		t[l] = s[l] + s[4+l]
	}
	return (t[0] + t[1]) + (t[2] + t[3])
}

// TestF16AVX2OrderModel checks the Go model of the AVX2 F16 kernels'
// arithmetic (the reference of the emulated AVX-512 kernels in
// quant/_avo) against dotF16AVX2, dotF16x3AVX2 and reduceF32x3AVX2
// themselves, bit for bit.
func TestF16AVX2OrderModel(t *testing.T) {
	skipWithoutAVX2(t)
	rng := rand.New(rand.NewPCG(101, 102))
	for _, f := range f16Families {
		for _, n := range []int{32, 64, 512, 4096} {
			t.Run(fmt.Sprintf("%s/n%d", f, n), func(t *testing.T) {
				w, _ := f16Matrix(rng, f, 1, n)
				a, aRowBytes := f16Matrix(rng, f, 3, n)
				x := asU16(w[:2*n])
				// dotF16AVX2: from zero accumulators.
				acc := make([]float32, 32)
				f16AccOrder(acc, x, asU16(a[:2*n]))
				require.Equal(t, math.Float32bits(f16ReduceOrder(acc)), math.Float32bits(dotF16AVX2(&x[0], &asU16(a)[0], n)))
				// dotF16x3AVX2 from random accumulators, then reduceF32x3AVX2.
				acc = randAcc(rng, 96)
				got := append([]float32(nil), acc...)
				dotF16x3AVX2(&x[0], &asU16(a)[0], aRowBytes, n, &got[0])
				var out [3]float32
				reduceF32x3AVX2(&got[0], &out[0])
				for c := 0; c < 3; c++ {
					want := acc[32*c : 32*c+32]
					f16AccOrder(want, x, asU16(a[c*aRowBytes:c*aRowBytes+2*n]))
					for l := range want {
						require.Equal(t, math.Float32bits(want[l]), math.Float32bits(got[32*c+l]), "row %d accumulator %d", c, l)
					}
					require.Equal(t, math.Float32bits(f16ReduceOrder(want)), math.Float32bits(out[c]), "row %d sum", c)
				}
			})
		}
	}
}

// TestDotF16x4x3AVX512 checks the AVX-512 batched F16 kernels
// (dotF16x4x3AVX512, and dotF16x4x3WAVX512 on widenF16AVX512's output)
// against dotF16x3AVX2 run on each of their four weight rows, bit for bit,
// from random accumulators.
func TestDotF16x4x3AVX512(t *testing.T) {
	skipWithoutAVX512(t)
	rng := rand.New(rand.NewPCG(103, 104))
	for _, f := range f16Families {
		for _, n := range []int{32, 64, 96, 480, 512, 4096} {
			t.Run(fmt.Sprintf("%s/n%d", f, n), func(t *testing.T) {
				w, rowBytes := f16Matrix(rng, f, 4, n)
				a, aRowBytes := f16Matrix(rng, f, 3, n)
				got := randAcc(rng, 4*96)
				want := append([]float32(nil), got...)
				gotW := append([]float32(nil), got...)
				dotF16x4x3AVX512(&asU16(w)[0], rowBytes, &asU16(a)[0], aRowBytes, n, &got[0])
				for k := 0; k < 4; k++ {
					dotF16x3AVX2(&asU16(w[k*rowBytes:])[0], &asU16(a)[0], aRowBytes, n, &want[96*k])
				}
				// The wide variant: the activations widened by widenF16AVX512
				// (checked against FP16ToFP32) into rows n+16 floats apart.
				wide := make([]float32, 3*(n+16))
				for c := 0; c < 3; c++ {
					widenF16AVX512(&wide[c*(n+16)], &asU16(a[c*aRowBytes:])[0], n)
					for i, h := range asU16(a[c*aRowBytes : c*aRowBytes+2*n]) {
						require.Equal(t, math.Float32bits(FP16ToFP32(h)), math.Float32bits(wide[c*(n+16)+i]), "widened row %d element %d", c, i)
					}
				}
				dotF16x4x3WAVX512(&asU16(w)[0], rowBytes, &wide[0], 4*(n+16), n, &gotW[0])
				for i := range got {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "weight row %d, activation row %d, accumulator %d: AVX-512 %g, AVX2 %g", i/96, i%96/32, i%32, got[i], want[i])
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(gotW[i]), "wide: weight row %d, activation row %d, accumulator %d: AVX-512 %g, AVX2 %g", i/96, i%96/32, i%32, gotW[i], want[i])
				}
			})
		}
	}
}

// TestGemvF16x8AVX512 checks the AVX-512 one-token F16 kernels (with and
// without prefetch) against dotF16AVX2 on each of their eight rows, bit
// for bit.
func TestGemvF16x8AVX512(t *testing.T) {
	skipWithoutAVX512(t)
	rng := rand.New(rand.NewPCG(105, 106))
	for _, f := range f16Families {
		for _, nb := range []int{1, 2, 3, 16, 64, 176} {
			t.Run(fmt.Sprintf("%s/nb%d", f, nb), func(t *testing.T) {
				n := 32 * nb
				w, rowBytes := f16Matrix(rng, f, 8, n)
				a, _ := f16Matrix(rng, f, 1, n)
				var got, gotP [8]float32
				gemvF16x8AVX512(&got[0], &w[0], rowBytes, &a[0], nb)
				gemvF16x8PAVX512(&gotP[0], &w[0], rowBytes, &a[0], nb)
				for r := 0; r < 8; r++ {
					want := dotF16AVX2(&asU16(w[r*rowBytes:])[0], &asU16(a)[0], n)
					require.Equal(t, math.Float32bits(want), math.Float32bits(got[r]), "row %d: AVX-512 %g, AVX2 %g", r, got[r], want)
					require.Equal(t, math.Float32bits(want), math.Float32bits(gotP[r]), "row %d: AVX-512 with prefetch %g, AVX2 %g", r, gotP[r], want)
				}
			})
		}
	}
}

// f16Shapes are MatMul/Gemv shapes around the F16 kernels' edges: weight
// rows not a multiple of four or eight, more than one tile of them, activation rows not a multiple of
// three (leftovers, which go through the one-token kernel at
// LevelAVX512) or fewer than three, row lengths below 32, with tails,
// within one chunk (floatChunk) and over several.
var f16Shapes = []struct{ rows, n, m int }{
	{1, 64, 4}, {7, 16, 3}, {9, 40, 5}, {19, 96, 2}, {16, 40, 1}, {37, 512, 7}, {33, 520, 3}, {64, 1000, 9}, {20, 2048, 6}, {13, 520, 14}, {70, 96, 8},
}

// TestMatMulF16Levels checks MatMul's F16 four-row paths against
// vecDotF16's AVX2 bits on every pair, over several row ranges and shapes:
// matMulLevel at LevelAVX2, matMulFloatAVX2 with the Go models of the four-row kernels (any AVX2
// CPU), matMulF16AVX2 with each of its kernels (whose last group of
// activation rows is padded) and, on AVX-512 hardware, with dotF16x4x3AVX512 and
// dotF16x4x3WAVX512 and the whole of matMulLevel at LevelAVX512.
func TestMatMulF16Levels(t *testing.T) {
	skipWithoutAVX2(t)
	x512 := hardwareLevel() >= LevelAVX512
	if !x512 {
		t.Logf("!!! this CPU lacks AVX-512: only the four-row path's Go model (dotF16x4x3Go) is checked here, NOT dotF16x4x3AVX512")
	}
	rng := rand.New(rand.NewPCG(107, 108))
	tr := mustFor(t, gguf.TypeF16)
	dot := func(n int, w, a []byte) float32 { return vecDotF16At(true, n, w, a) }
	for _, f := range f16Families {
		for _, sh := range f16Shapes {
			w, rowBytes := f16Matrix(rng, f, sh.rows, sh.n)
			a, aRowBytes := f16Matrix(rng, f, sh.m, sh.n)
			for _, rg := range [][2]int{{0, sh.rows}, {1, sh.rows}, {sh.rows / 2, sh.rows}} {
				t.Run(fmt.Sprintf("%s/%dx%d/m%d/%d-%d", f, sh.rows, sh.n, sh.m, rg[0], rg[1]), func(t *testing.T) {
					ld := sh.rows + 1
					nan := math.Float32frombits(0x7fc0dead)
					fill := func() []float32 {
						d := make([]float32, sh.m*ld)
						for i := range d {
							d[i] = nan
						}
						return d
					}
					// The reference: vecDotF16's AVX2 bits for every pair in the
					// range (matMulLevel at LevelAVX2 runs dotF16x4x3WAVX2 now).
					want := fill()
					for i := 0; i < sh.m; i++ {
						for r := rg[0]; r < rg[1]; r++ {
							want[i*ld+r] = dot(sh.n, w[r*rowBytes:(r+1)*rowBytes], a[i*aRowBytes:(i+1)*aRowBytes])
						}
					}
					check := func(name string, got []float32, rows int) {
						for i := 0; i < rows*ld; i++ {
							require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s: activation row %d, weight row %d", name, i/ld, i%ld)
						}
					}
					got := fill()
					matMulLevel(LevelAVX2, dot, tr, got, ld, w, rowBytes, sh.n, a, aRowBytes, sh.m, rg[0], rg[1])
					check("matMulLevel(LevelAVX2)", got, sh.m)
					for _, k := range []f16GemmKernel{f16GemmGo, f16GemmAVX2} {
						got := fill()
						done := matMulF16AVX2(k, got, ld, w, rowBytes, sh.n, a, aRowBytes, sh.m, rg[0], rg[1])
						wantDone := sh.m // the last rows padded into a group
						if sh.m < floatBatchRows || sh.n < 32 {
							wantDone = 0
						}
						require.Equal(t, wantDone, done)
						check(fmt.Sprintf("matMulF16AVX2 kernel %d", k), got, done)
					}
					kernels := []f16x4Kernel{f16x4Go, f16x4WideGo}
					if x512 {
						kernels = append(kernels, f16x4AVX512, f16x4WideAVX512)
						got := fill()
						matMulLevel(LevelAVX512, dot, tr, got, ld, w, rowBytes, sh.n, a, aRowBytes, sh.m, rg[0], rg[1])
						check("matMulLevel(LevelAVX512)", got, sh.m)
					}
					for _, k := range kernels {
						got := fill()
						done := matMulFloatAVX2(gguf.TypeF16, k, got, ld, w, rowBytes, sh.n, a, aRowBytes, sh.m, rg[0], rg[1])
						require.Equal(t, sh.m/floatBatchRows*floatBatchRows*min(1, sh.n/32), done)
						check(fmt.Sprintf("kernel %d", k), got, done)
					}
				})
			}
		}
	}
}

// TestF16Dispatch checks the public F16 products at the level this process
// runs (HEARTH_CPU): the AVX-512 kernels are chosen exactly at LevelAVX512,
// and Gemv and MatMul give vecDotF16's AVX2 bits for every row range,
// whichever kernels serve the rows.
func TestF16Dispatch(t *testing.T) {
	skipWithoutAVX2(t)
	if kernel.level < LevelAVX2 {
		t.Skipf("SKIP LOUDLY: kernel level %s (HEARTH_CPU): the public products run the generic code here, which this AVX2/AVX-512 dispatch check does not cover", kernel.level)
	}
	require.Equal(t, kernel.level >= LevelAVX512 && kernel.gemv512, useAVX512Gemv && hasAVX512Kernels(gguf.TypeF16), "Gemv's F16 AVX-512 switch")
	require.Equal(t, kernel.level >= LevelAVX512, batchLevel(gguf.TypeF16) == LevelAVX512, "MatMul's F16 level")
	if !useAVX512 {
		t.Logf("!!! kernel level %s: the AVX-512 F16 kernels are not in the dispatch here, this checks the AVX2 path only", kernel.level)
	}
	rng := rand.New(rand.NewPCG(109, 110))
	tr := mustFor(t, gguf.TypeF16)
	for _, sh := range f16Shapes {
		w, rowBytes := f16Matrix(rng, "typical", sh.rows, sh.n)
		a, aRowBytes := f16Matrix(rng, "typical", sh.m, sh.n)
		for _, rg := range [][2]int{{0, sh.rows}, {1, sh.rows}, {sh.rows / 2, sh.rows}} {
			t.Run(fmt.Sprintf("%dx%d/m%d/%d-%d", sh.rows, sh.n, sh.m, rg[0], rg[1]), func(t *testing.T) {
				got := make([]float32, sh.m*sh.rows)
				MatMul(tr, got, sh.rows, w, rowBytes, sh.n, a, aRowBytes, sh.m, rg[0], rg[1])
				gv := make([]float32, sh.rows)
				Gemv(tr, gv, w, rowBytes, sh.n, a, rg[0], rg[1])
				for r := rg[0]; r < rg[1]; r++ {
					for i := 0; i < sh.m; i++ {
						want := vecDotF16At(true, sh.n, w[r*rowBytes:(r+1)*rowBytes], a[i*aRowBytes:(i+1)*aRowBytes])
						require.Equal(t, math.Float32bits(want), math.Float32bits(got[i*sh.rows+r]), "MatMul activation row %d, weight row %d", i, r)
						if i == 0 {
							require.Equal(t, math.Float32bits(want), math.Float32bits(gv[r]), "Gemv row %d", r)
						}
					}
				}
			})
		}
	}
}

// BenchmarkF16Levels times the F16 products at LevelAVX2 and LevelAVX512
// on TinyLlama's shapes (weight rows x elements: 2048x2048 attention,
// 5632x2048 FFN up/gate, 2048x5632 FFN down): MatMul's batched kernels
// against 128 activation rows ("gemm": matMulFloatAVX2 with the one-row
// AVX2 kernel; matMulF16AVX2, "avx2gemm", all 128 rows, the last group
// padded; dotF16x4x3AVX512, or dotF16x4x3WAVX512 on
// widened activations, "avx512wide"; the 126 rows of whole groups) and Gemv
// ("gemv"; "avx512pf" is gemvF16x8PAVX512, which prefetches), on one
// thread and on GOMAXPROCS goroutines splitting the
// weight rows as engine/cpu does. GMAC/s is multiply-adds per wall second.
func BenchmarkF16Levels(b *testing.B) {
	const m = 128
	tr := mustFor(b, gguf.TypeF16)
	for _, sh := range [][2]int{{2048, 2048}, {5632, 2048}, {2048, 5632}} {
		rows, n := sh[0], sh[1]
		w, a, rowBytes, aRowBytes := testMatrix(b, tr, rand.New(rand.NewPCG(111, uint64(rows))), rows, n, m)
		dst := make([]float32, m*rows)
		for _, op := range []string{"gemm", "gemv"} {
			for _, kind := range []string{"avx2", "avx2gemm", "avx512", "avx512wide", "avx512pf"} {
				lv := LevelAVX512
				k4 := f16x4AVX512
				switch kind {
				case "avx2":
					lv, k4 = LevelAVX2, f16x4None
				case "avx2gemm":
					if op == "gemv" {
						continue
					}
					lv = LevelAVX2
				case "avx512wide":
					if op == "gemv" {
						continue
					}
					k4 = f16x4WideAVX512
				case "avx512pf":
					if op == "gemm" {
						continue
					}
				}
				for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
					b.Run(fmt.Sprintf("%s/%dx%d/%s/threads%d", op, rows, n, kind, threads), func(b *testing.B) {
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
									switch {
									case kind == "avx2gemm":
										matMulF16AVX2(f16GemmAVX2, dst, rows, w, rowBytes, n, a, aRowBytes, m, r0, r1)
										return
									case op == "gemm":
										matMulFloatAVX2(gguf.TypeF16, k4, dst, rows, w, rowBytes, n, a, aRowBytes, m, r0, r1)
										return
									}
									if lv == LevelAVX512 {
										r0 = gemvF16AVX512At(kind == "avx512pf", dst, w, rowBytes, n, a, r0, r1)
									}
									for r := r0; r < r1; r++ {
										dst[r] = vecDotF16At(true, n, w[r*rowBytes:(r+1)*rowBytes], a)
									}
								}(r0, min(r0+chunk, rows))
							}
							wg.Wait()
						}
						macs := float64(rows * n)
						if kind == "avx2gemm" {
							macs *= m
						} else if op == "gemm" {
							macs *= m / floatBatchRows * floatBatchRows
						}
						b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
					})
				}
			}
		}
	}
}
