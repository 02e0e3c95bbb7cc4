package quant

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// exactFMA32 is x*y+z computed exactly with math/big and rounded once to
// float32 (nearest even): the independent truth for fused multiply-adds.
func exactFMA32(x, y, z float32) float32 {
	bx := new(big.Float).SetPrec(200).SetFloat64(float64(x))
	by := new(big.Float).SetPrec(200).SetFloat64(float64(y))
	bz := new(big.Float).SetPrec(200).SetFloat64(float64(z))
	r := new(big.Float).SetPrec(200).Mul(bx, by)
	r.Add(r, bz)
	f, _ := r.Float32()
	return f
}

func TestFMAF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	// (1+2^-23)(1-2^-23)2^-24 = 2^-24 - 2^-70: added to z = 1+2^-23 the
	// float64 sum rounds onto the float32 midpoint 1+2^-23+2^-24, whose
	// nearest-even rounding (up) is wrong; the exact result rounds down.
	cases := [][3]float32{
		{1 + 0x1p-23, (1 - 0x1p-23) * 0x1p-24, 1 + 0x1p-23},
		{-(1 + 0x1p-23), (1 - 0x1p-23) * 0x1p-24, -(1 + 0x1p-23)},
		{1 + 0x1p-23, (1 - 0x1p-23) * 0x1p-24, 1},
		{3, 5, -15},
	}
	for range 200000 {
		x := float32(rng.NormFloat64())
		y := float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(40)-20))
		z := float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(40)-20))
		cases = append(cases, [3]float32{x, y, z})
	}
	for _, c := range cases {
		want := exactFMA32(c[0], c[1], c[2])
		require.Equal(t, math.Float32bits(want), math.Float32bits(fmaF32(c[0], c[1], c[2])), "fma(%g, %g, %g)", c[0], c[1], c[2])
		if useAVX2 {
			require.Equal(t, math.Float32bits(want), math.Float32bits(fmaF32AVX2(c[0], c[1], c[2])), "hardware fma(%g, %g, %g)", c[0], c[1], c[2])
		}
	}
}

// gemvQ4_0Ref is ggml_gemv_q4_0_8x8_q8_0's arithmetic for one row written
// from the block layouts alone: exact integer block sums, d_w*d_a in
// float32, exactly rounded fused multiply-add.
func gemvQ4_0Ref(w, a []byte, nb int) float32 {
	var acc float32
	for b := 0; b < nb; b++ {
		bw, ba := w[b*18:(b+1)*18], a[b*34:(b+1)*34]
		var s int32
		for j := 0; j < 16; j++ {
			s += (int32(bw[2+j]&15) - 8) * int32(int8(ba[2+j]))
			s += (int32(bw[2+j]>>4) - 8) * int32(int8(ba[18+j]))
		}
		dw := FP16ToFP32(uint16(bw[0]) | uint16(bw[1])<<8)
		da := FP16ToFP32(uint16(ba[0]) | uint16(ba[1])<<8)
		acc = exactFMA32(float32(s), dw*da, acc)
	}
	return acc
}

func TestGemvQ4_0(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	tr := mustFor(t, gguf.TypeQ4_0)
	for _, n := range []int{32, 64, 256, 2048, 5632} {
		const rows = 19
		w, a, rowBytes, _ := testMatrix(t, tr, rng, rows, n, 1)
		want := make([]float32, rows)
		for r := range want {
			want[r] = gemvQ4_0Ref(w[r*rowBytes:(r+1)*rowBytes], a, n/32)
		}
		levels := []bool{false}
		if useAVX2 {
			levels = append(levels, true)
		}
		for _, avx2 := range levels {
			for _, rg := range [][2]int{{0, rows}, {3, 11}, {18, 19}, {7, 7}} {
				dst := make([]float32, rows)
				for i := range dst {
					dst[i] = float32(math.NaN())
				}
				gemvQ4_0At(avx2, dst, w, rowBytes, n, a, rg[0], rg[1])
				for r := range dst {
					if r >= rg[0] && r < rg[1] {
						require.Equal(t, math.Float32bits(want[r]), math.Float32bits(dst[r]), "n=%d avx2=%v row %d", n, avx2, r)
					} else {
						require.True(t, math.IsNaN(float64(dst[r])), "n=%d avx2=%v row %d written outside [%d,%d)", n, avx2, r, rg[0], rg[1])
					}
				}
			}
		}
	}
	w, a, rowBytes, _ := testMatrix(t, tr, rng, 8, 2048, 1)
	dst := make([]float32, 8)
	allocs := testing.AllocsPerRun(10, func() { GemvQ4_0(dst, w, rowBytes, 2048, a, 0, 8) })
	require.Zero(t, allocs)
}

// TestGemvQ4_0Extremes requires the AVX2 Q4_0 kernel to give the
// reference bits where its int16 words are largest: every nibble 15 (or 0)
// against activations all -128 or all 127 (and mixed), over 1 and 64
// blocks, for 8 and 16 rows (the eight-row kernel) and 11 (its tail).
func TestGemvQ4_0Extremes(t *testing.T) {
	if !useAVX2 {
		t.Skip("!!! SKIPPING: no AVX2 on this CPU or build; the Q4_0 gemv kernel's extremes are not tested")
	}
	for _, nb := range []int{1, 64} {
		for _, wb := range []byte{0xff, 0x00, 0x0f, 0xf0} {
			for _, qa := range []int{-128, 127, 0x7f80} {
				for _, rows := range []int{8, 11, 16} {
					w := make([]byte, rows*nb*18)
					for i := 0; i < rows*nb; i++ {
						blk := w[i*18 : (i+1)*18]
						putF16(blk, float32(1+i%3)*0.25)
						for j := 2; j < 18; j++ {
							blk[j] = wb
						}
					}
					a := make([]byte, nb*34)
					for b := 0; b < nb; b++ {
						putF16(a[b*34:], 0.5)
						for j := 0; j < 32; j++ {
							v := qa
							if qa == 0x7f80 { // alternate -128 and 127
								v = -128 + 255*(j%2)
							}
							a[b*34+2+j] = byte(int8(v))
						}
					}
					dst := make([]float32, rows)
					gemvQ4_0At(true, dst, w, nb*18, nb*32, a, 0, rows)
					for r := range dst {
						want := gemvQ4_0Ref(w[r*nb*18:(r+1)*nb*18], a, nb)
						require.Equal(t, math.Float32bits(want), math.Float32bits(dst[r]), "nb=%d w=%#x qa=%d rows=%d row %d: want %v got %v", nb, wb, qa, rows, r, want, dst[r])
					}
				}
			}
		}
	}
}

// BenchmarkGemvQ4_0 compares GemvQ4_0 (repacked-kernel order) with MatVec
// (vec_dot order) on a 2048x2048 Q4_0 matrix; MB/s is weight bytes a second.
func BenchmarkGemvQ4_0(b *testing.B) {
	const rows, n = 2048, 2048
	tr := mustFor(b, gguf.TypeQ4_0)
	w, a, rowBytes, _ := testMatrix(b, tr, rand.New(rand.NewPCG(25, 26)), rows, n, 1)
	dst := make([]float32, rows)
	b.Run("gemv", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		for b.Loop() {
			GemvQ4_0(dst, w, rowBytes, n, a, 0, rows)
		}
	})
	b.Run("matvec", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		for b.Loop() {
			MatVec(tr, dst, w, rowBytes, n, a, 0, rows)
		}
	})
}

// BenchmarkGemvQ4_0Kernel times GemvQ4_0's AVX2 path on a matrix that
// stays in L2 (256x2048, 288 KiB) and one far bigger than the caches
// (65536x2048, 72 MiB), on one goroutine or two (halves, in calls of piece
// rows; decode's guided scheduling hands out pieces of 16 rows and up).
// MB/s is weight bytes a second.
func BenchmarkGemvQ4_0Kernel(b *testing.B) {
	if !useAVX2 {
		b.Skip("no AVX2")
	}
	tr := mustFor(b, gguf.TypeQ4_0)
	for _, c := range []struct{ rows, threads, piece int }{{256, 1, 256}, {65536, 1, 65536}, {65536, 2, 16}, {65536, 2, 65536}} {
		const n = 2048
		w, a, rowBytes, _ := testMatrix(b, tr, rand.New(rand.NewPCG(53, 54)), c.rows, n, 1)
		dst := make([]float32, c.rows)
		b.Run(fmt.Sprintf("%dx%d/%dthreads/piece%d", c.rows, n, c.threads, c.piece), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				splitRows(c.rows, c.threads, c.piece, func(r0, r1 int) { gemvQ4_0At(true, dst, w, rowBytes, n, a, r0, r1) })
			}
		})
	}
}
