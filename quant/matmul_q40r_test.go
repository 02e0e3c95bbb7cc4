package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// extremeQ4_0Q8_0 returns rows Q4_0 rows and m Q8_0 rows of n elements whose
// quants sit at the ends of their ranges (nibbles 0 or 15, activations
// ±127 and -128), the sums that come closest to int16 overflow in the
// kernels, with random fp16 scales.
func extremeQ4_0Q8_0(rng *rand.Rand, rows, n, m int) (w, a []byte) {
	nb := n / 32
	w = make([]byte, rows*nb*blockQ4_0Len)
	a = make([]byte, m*nb*blockQ8_0Len)
	scale := func(b []byte) {
		h := FP32ToFP16(float32(rng.NormFloat64() * 0.01))
		b[0], b[1] = byte(h), byte(h>>8)
	}
	for b := 0; b < rows*nb; b++ {
		blk := w[b*blockQ4_0Len : (b+1)*blockQ4_0Len]
		scale(blk)
		for j := 2; j < len(blk); j++ {
			blk[j] = []byte{0x00, 0xff, 0x0f, 0xf0}[rng.IntN(4)]
		}
	}
	for b := 0; b < m*nb; b++ {
		blk := a[b*blockQ8_0Len : (b+1)*blockQ8_0Len]
		scale(blk)
		sign := []byte{127, 0x81, 0x80}[rng.IntN(3)] // 127, -127, -128
		for j := 2; j < len(blk); j++ {
			blk[j] = sign
			if rng.IntN(8) == 0 {
				blk[j] = byte(rng.IntN(256))
			}
		}
	}
	return w, a
}

// TestGemmQ4_0 checks GemmQ4_0 on both kernel levels against
// gemvQ4_0Ref (ggml_gemv/gemm_q4_0_8x8_q8_0's arithmetic written from the
// block layouts with exactly rounded fused multiply-adds) for every pair,
// bit for bit, over shapes that exercise the packed runs (row lengths
// past q40rPackBlocks blocks), activation panels (m past q40rPanelRows),
// leftover weight and activation rows, and row ranges; and that it writes
// nothing outside its rows.
func TestGemmQ4_0(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	tr := mustFor(t, gguf.TypeQ4_0)
	levels := []Level{LevelGeneric}
	for _, lv := range []Level{LevelAVX2, LevelAVX512} {
		if hardwareLevel() >= lv {
			levels = append(levels, lv)
		}
	}
	if hardwareLevel() < LevelAVX512 {
		t.Logf("!!! this CPU lacks AVX-512 VNNI: GemmQ4_0's AVX-512 kernel is NOT tested here")
	}
	cases := []struct {
		n, m, rows int
		extreme    bool
	}{
		{32, 4, 8, false},
		{64, 5, 19, false},
		{1056, 7, 24, false}, // 33 blocks: two packed runs
		{2048, 8, 16, false},
		{256, 133, 17, false}, // two panels, leftover activation and weight rows
		{5632, 4, 8, false},
		{1024, 9, 16, true},
		{64, 3, 16, false},    // too few activation rows for the packed kernel
		{1056, 12, 40, false}, // sixteen-row steps and an eight-row one (AVX-512)
		{512, 8, 35, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n%d_m%d_rows%d_extreme%v", c.n, c.m, c.rows, c.extreme), func(t *testing.T) {
			var w, a []byte
			var rowBytes, aRowBytes int
			if c.extreme {
				w, a = extremeQ4_0Q8_0(rng, c.rows, c.n, c.m)
				rowBytes, aRowBytes = c.n/32*blockQ4_0Len, c.n/32*blockQ8_0Len
			} else {
				w, a, rowBytes, aRowBytes = testMatrix(t, tr, rng, c.rows, c.n, c.m)
			}
			want := make([]float32, c.m*c.rows)
			for i := 0; i < c.m; i++ {
				for r := 0; r < c.rows; r++ {
					want[i*c.rows+r] = gemvQ4_0Ref(w[r*rowBytes:(r+1)*rowBytes], a[i*aRowBytes:(i+1)*aRowBytes], c.n/32)
				}
			}
			ld := c.rows + 3
			for _, lv := range levels {
				for _, rg := range [][2]int{{0, c.rows}, {3, c.rows}, {0, 8}, {c.rows - 1, c.rows}, {2, 2}} {
					dst := make([]float32, c.m*ld)
					for i := range dst {
						dst[i] = float32(math.NaN())
					}
					gemmQ4_0At(lv, dst, ld, w, rowBytes, c.n, a, aRowBytes, c.m, rg[0], rg[1])
					for i := 0; i < c.m; i++ {
						for r := 0; r < ld; r++ {
							got := dst[i*ld+r]
							if r >= rg[0] && r < rg[1] {
								require.Equal(t, math.Float32bits(want[i*c.rows+r]), math.Float32bits(got),
									"%s rows [%d,%d): activation row %d, weight row %d: %g, want %g", lv, rg[0], rg[1], i, r, got, want[i*c.rows+r])
							} else {
								require.True(t, math.IsNaN(float64(got)), "%s rows [%d,%d): wrote activation row %d, weight row %d", lv, rg[0], rg[1], i, r)
							}
						}
					}
				}
			}
		})
	}
	w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, 64, 2048, 8)
	dst := make([]float32, 8*64)
	allocs := testing.AllocsPerRun(5, func() { GemmQ4_0(dst, 64, w, rowBytes, 2048, a, aRowBytes, 8, 0, 64) })
	require.Zero(t, allocs)
}
