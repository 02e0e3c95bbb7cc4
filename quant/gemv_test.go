package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// gemvQ4KRef is ggml_gemv_q4_K_8x8_q8_K's arithmetic for one row, written
// element by element from the block layouts (Q4_K: d, dmin, 12 bytes of
// 6-bit scales and mins, 128 bytes of nibbles; Q8_K: float32 d, 256 int8,
// 16 int16 bsums): exact integer sums, d·d_a and dmin·d_a in float32, and
// fused multiply-adds rounded once (math/big).
func gemvQ4KRef(w, a []byte, nb int) float32 {
	var acc, accMin float32
	for b := 0; b < nb; b++ {
		bw, ba := w[b*144:(b+1)*144], a[b*292:(b+1)*292]
		var isum, imin int64
		for i := 0; i < 256; i++ {
			j := i / 32 // sub-block
			var sc, m int64
			if j < 4 {
				sc, m = int64(bw[4+j]&63), int64(bw[8+j]&63)
			} else {
				sc = int64(bw[8+j]&15) | int64(bw[j]>>6)<<4
				m = int64(bw[8+j]>>4) | int64(bw[4+j]>>6)<<4
			}
			q := int64(bw[16+(j/2)*32+i%32])
			if j%2 == 1 {
				q >>= 4
			}
			q &= 15
			isum += sc * q * int64(int8(ba[4+i]))
			if i%16 == 0 {
				imin += m * int64(int16(binary.LittleEndian.Uint16(ba[4+256+2*(i/16):])))
			}
		}
		da := math.Float32frombits(binary.LittleEndian.Uint32(ba))
		acc = exactFMA32(float32(isum), f16At(bw)*da, acc)
		accMin = exactFMA32(float32(imin), f16At(bw[2:])*da, accMin)
	}
	return acc - accMin
}

// randQ4KMatrix returns rows x n random Q4_K blocks: random nibbles and
// scale bytes, and d, dmin random halves in [2^-14, 2^-2).
func randQ4KMatrix(rng *rand.Rand, rows, n int) []byte {
	w := make([]byte, rows*n/256*144)
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	for b := 0; b < len(w); b += 144 {
		putF16(w[b:], float32(math.Ldexp(1+rng.Float64(), -2-rng.IntN(13))))
		putF16(w[b+2:], float32(math.Ldexp(1+rng.Float64(), -2-rng.IntN(13))))
	}
	return w
}

// randQ8KRow returns n raw random Q8_K activations: int8 values including
// -128 (every 7th), a random d and consistent bsums.
func randQ8KRow(rng *rand.Rand, n int) []byte {
	a := make([]byte, n/256*292)
	for b := 0; b < len(a); b += 292 {
		binary.LittleEndian.PutUint32(a[b:], math.Float32bits(float32(math.Ldexp(1+rng.Float64(), -rng.IntN(10)))))
		for i := 0; i < 256; i++ {
			v := int8(rng.Uint32())
			if rng.IntN(7) == 0 {
				v = -128
			}
			a[b+4+i] = byte(v)
		}
		for k := 0; k < 16; k++ {
			var s int16
			for i := 0; i < 16; i++ {
				s += int16(int8(a[b+4+16*k+i]))
			}
			binary.LittleEndian.PutUint16(a[b+4+256+2*k:], uint16(s))
		}
	}
	return a
}

// TestGemvQ4K requires GemvQ4K, the reference of GemvQ4Kx8, to give
// gemvQ4KRef's bits on quantized and raw random matrices, for row ranges
// inside the matrix, writing nothing outside its rows and allocating
// nothing.
func TestGemvQ4K(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	tr := mustFor(t, gguf.TypeQ4_K)
	const rows = 37
	for _, n := range []int{256, 512, 2048, 5632} {
		for _, src := range []string{"quantized", "raw"} {
			var w, a []byte
			rowBytes := tr.RowSize(n)
			if src == "quantized" {
				w, a, _, _ = testMatrix(t, tr, rng, rows, n, 1)
			} else {
				w, a = randQ4KMatrix(rng, rows, n), randQ8KRow(rng, n)
			}
			want := make([]float32, rows)
			for r := range want {
				want[r] = gemvQ4KRef(w[r*rowBytes:(r+1)*rowBytes], a, n/256)
			}
			for _, rg := range [][2]int{{0, rows}, {3, 11}, {5, 29}, {8, 16}, {36, 37}, {7, 7}} {
				dst := nanFloats(rows)
				GemvQ4K(dst, w, rowBytes, n, a, rg[0], rg[1])
				for r := range dst {
					if r >= rg[0] && r < rg[1] {
						require.Equal(t, math.Float32bits(want[r]), math.Float32bits(dst[r]), "n=%d %s row %d: got %g want %g", n, src, r, dst[r], want[r])
					} else {
						require.True(t, math.IsNaN(float64(dst[r])), "n=%d row %d written outside [%d,%d)", n, r, rg[0], rg[1])
					}
				}
			}
		}
	}
	w, a, rowBytes, _ := testMatrix(t, tr, rng, 8, 2048, 1)
	dst := make([]float32, 8)
	allocs := testing.AllocsPerRun(10, func() { GemvQ4K(dst, w, rowBytes, 2048, a, 0, 8) })
	require.Zero(t, allocs)
}

// TestGemvQ4KFloat64 checks GemvQ4K against the float64 product of the
// dequantized weights (quant's Dequantize) and activations (d·q): the two
// differ only by float32 roundings.
func TestGemvQ4KFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	tr := mustFor(t, gguf.TypeQ4_K)
	const rows, n = 16, 2048
	w, a, rowBytes, _ := testMatrix(t, tr, rng, rows, n, 1)
	dst := make([]float32, rows)
	GemvQ4K(dst, w, rowBytes, n, a, 0, rows)
	deq := make([]float32, n)
	for r := 0; r < rows; r++ {
		tr.Dequantize(deq, w[r*rowBytes:(r+1)*rowBytes])
		var sum, mag float64
		for i, v := range deq {
			ba := a[(i/256)*292:]
			x := float64(math.Float32frombits(binary.LittleEndian.Uint32(ba))) * float64(int8(ba[4+i%256]))
			sum += float64(v) * x
			mag += math.Abs(float64(v) * x)
		}
		require.InDelta(t, sum, float64(dst[r]), 1e-5*mag+1e-6, "row %d", r)
	}
}

// TestGemv checks that Gemv (with its prefetching) gives exactly the bits of
// the type's VecDot, which the ggml tests compare with llama.cpp, for every
// row of a range and writes nothing outside it, without allocating.
func TestGemv(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const rows, n = 21, 512
	nan := float32(math.NaN())
	for _, typ := range []gguf.TensorType{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ4_0, gguf.TypeQ8_0,
		gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		tr := mustFor(t, typ)
		w, a, rowBytes, _ := testMatrix(t, tr, rng, rows, n, 1)
		for _, rg := range [][2]int{{0, rows}, {3, 17}, {20, 21}, {5, 5}} {
			dst := make([]float32, rows)
			for i := range dst {
				dst[i] = nan
			}
			Gemv(tr, dst, w, rowBytes, n, a, rg[0], rg[1])
			for r := range dst {
				if r >= rg[0] && r < rg[1] {
					want := tr.VecDot(n, w[r*rowBytes:(r+1)*rowBytes], a)
					require.Equal(t, math.Float32bits(want), math.Float32bits(dst[r]), "%s row %d", typ, r)
				} else {
					require.True(t, math.IsNaN(float64(dst[r])), "%s row %d outside [%d,%d) was written", typ, r, rg[0], rg[1])
				}
			}
		}
		dst := make([]float32, rows)
		allocs := testing.AllocsPerRun(10, func() { Gemv(tr, dst, w, rowBytes, n, a, 0, rows) })
		require.Zero(t, allocs, "%s", typ)
	}
}

// TestGemvF32 checks GemvF32 against the F32 VecDot at the same kernel
// level (the AVX2 one is compared with llama.cpp by the ggml tests) bit for
// bit, for row lengths that exercise every tail of ggml_vec_dot_f32
// (multiples of 32, groups of 8 and 4, the last 1..3 fused).
func TestGemvF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	tr := mustFor(t, gguf.TypeF32)
	nan := float32(math.NaN())
	const rows = 27
	for _, n := range []int{1, 3, 4, 7, 8, 12, 31, 32, 33, 45, 63, 64, 172, 288} {
		w, a, rowBytes, _ := testMatrix(t, tr, rng, rows, n, 1)
		levels := []bool{false}
		if useAVX2 {
			levels = append(levels, true)
		}
		for _, avx2 := range levels {
			for _, rg := range [][2]int{{0, rows}, {2, 9}, {10, 11}, {4, 4}, {3, 20}, {1, 25}} {
				dst := make([]float32, rows)
				for i := range dst {
					dst[i] = nan
				}
				gemvF32At(avx2, dst, w, rowBytes, n, a, rg[0], rg[1])
				if avx2 && rg[1]-rg[0] >= 8 {
					// The eight-row kernel is used only for n%32 == 0; check it
					// on every length.
					r8 := (rg[1] - rg[0]) &^ 7
					gemvF32x8AVX2(&dst[rg[0]], &w[rg[0]*rowBytes], rowBytes, &a[0], n, r8)
				}
				for r := range dst {
					if r >= rg[0] && r < rg[1] {
						want := vecDotF32At(avx2, n, w[r*rowBytes:(r+1)*rowBytes], a)
						require.Equal(t, math.Float32bits(want), math.Float32bits(dst[r]), "n=%d avx2=%v row %d", n, avx2, r)
					} else {
						require.True(t, math.IsNaN(float64(dst[r])), "n=%d avx2=%v row %d outside [%d,%d) was written", n, avx2, r, rg[0], rg[1])
					}
				}
			}
		}
	}
	w, a, rowBytes, _ := testMatrix(t, tr, rng, 8, 64, 1)
	dst := make([]float32, 8)
	require.Zero(t, testing.AllocsPerRun(10, func() { GemvF32(dst, w, rowBytes, 64, a, 0, 8) }))
}
