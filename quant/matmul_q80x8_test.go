package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// vecDotQ8_0AVX2Ref is ggml_vec_dot_q8_0_q8_0's AVX2 arithmetic written from
// the block layouts alone: per block, eight exact int32 lane sums of four
// consecutive products, d = fp32(d_w)*fp32(d_a) in float32, one exactly
// rounded fused multiply-add per lane, then hsum_float_8 ((l0+l4)+(l2+l6))
// + ((l1+l5)+(l3+l7)).
func vecDotQ8_0AVX2Ref(w, a []byte, nb int) float32 {
	var acc [8]float32
	for b := 0; b < nb; b++ {
		bw, ba := w[b*34:(b+1)*34], a[b*34:(b+1)*34]
		d := FP16ToFP32(uint16(bw[0])|uint16(bw[1])<<8) * FP16ToFP32(uint16(ba[0])|uint16(ba[1])<<8)
		for k := range acc {
			var s int32
			for j := 4 * k; j < 4*k+4; j++ {
				s += int32(int8(bw[2+j])) * int32(int8(ba[2+j]))
			}
			acc[k] = exactFMA32(d, float32(s), acc[k])
		}
	}
	h := [4]float32{acc[0] + acc[4], acc[1] + acc[5], acc[2] + acc[6], acc[3] + acc[7]}
	return (h[0] + h[2]) + (h[1] + h[3])
}

// TestGemmQ8_0 checks GemmQ8_0 for every pair, bit for bit: at LevelAVX2
// against vecDotQ8_0AVX2Ref (and MatVec, which llama.cpp's tests hold to
// ggml), at LevelGeneric against the portable vec_dot, over shapes that
// exercise long rows, several tiles, leftover activation rows, extreme quants (-128, ±127) and
// row ranges; and that it writes nothing outside its rows and allocates
// nothing.
func TestGemmQ8_0(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	tr := mustFor(t, gguf.TypeQ8_0)
	// the levels up to the process's (HEARTH_CPU): leftover rows take the
	// process's row products
	levels := []Level{LevelGeneric}
	for _, lv := range []Level{LevelAVX2, LevelAVX512} {
		if kernel.level >= lv {
			levels = append(levels, lv)
		}
	}
	if hardwareLevel() < LevelAVX512 {
		t.Logf("!!! this CPU lacks AVX-512 VNNI: GemmQ8_0's AVX-512 kernel is NOT tested here")
	}
	cases := []struct {
		n, m, rows int
		extreme    bool
	}{
		{32, 8, 3, false},
		{64, 9, 19, false},
		{2048, 16, 24, false},
		{2080, 8, 5, false},
		{5632, 13, 40, false},
		{1024, 24, 300, false}, // several tiles
		{4096, 8, 9, true},
		{96, 7, 4, false}, // too few activation rows for the packed kernel
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n%d_m%d_rows%d_extreme%v", c.n, c.m, c.rows, c.extreme), func(t *testing.T) {
			w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, c.rows, c.n, c.m)
			if c.extreme {
				// Weights may hold -128; activations, as quantize_row_q8_0
				// writes them, do not (ggml's sign trick needs |a| <= 127).
				for bi, buf := range [][]byte{w, a} {
					for b := 0; b < len(buf)/blockQ8_0Len; b++ {
						q := buf[b*blockQ8_0Len+2 : (b+1)*blockQ8_0Len]
						v := []byte{0x80, 0x81, 127}[bi+rng.IntN(3-bi)] // -128 (weights), -127, 127
						for j := range q {
							q[j] = v
							if rng.IntN(8) == 0 {
								q[j] = byte(-127 + rng.IntN(255))
							}
						}
					}
				}
			}
			packed := make([]byte, Q8_0x8Size(c.n, c.m))
			PackQ8_0x8(packed, a, aRowBytes, c.n, 0, c.m/8)
			ld := c.rows + 3
			for _, lv := range levels {
				avx2 := lv >= LevelAVX2
				want := make([]float32, c.m*c.rows)
				for i := 0; i < c.m; i++ {
					for r := 0; r < c.rows; r++ {
						wr, ar := w[r*rowBytes:(r+1)*rowBytes], a[i*aRowBytes:(i+1)*aRowBytes]
						if avx2 {
							want[i*c.rows+r] = vecDotQ8_0AVX2Ref(wr, ar, c.n/32)
							require.Equal(t, math.Float32bits(want[i*c.rows+r]), math.Float32bits(vecDotQ8_0Q8_0At(true, c.n, wr, ar)), "reference vs q8_0Q8_0DotAVX2")
						} else {
							want[i*c.rows+r] = vecDotQ8_0Q8_0At(false, c.n, wr, ar)
						}
					}
				}
				for _, rg := range [][2]int{{0, c.rows}, {1, c.rows}, {0, 1}, {c.rows - 1, c.rows}, {2, 2}, {min(3, c.rows), c.rows}} {
					dst := nanFloats(c.m * ld)
					gemmQ8_0At(lv, dst, ld, w, rowBytes, c.n, a, aRowBytes, c.m, packed, rg[0], rg[1])
					requireGemmRows(t, lv, dst, want, c.m, c.rows, ld, rg)
				}
			}
		})
	}
	w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, 64, 5632, 16)
	packed := make([]byte, Q8_0x8Size(5632, 16))
	dst := make([]float32, 16*64)
	allocs := testing.AllocsPerRun(5, func() {
		PackQ8_0x8(packed, a, aRowBytes, 5632, 0, 2)
		GemmQ8_0(dst, 64, w, rowBytes, 5632, a, aRowBytes, 16, packed, 0, 64)
	})
	require.Zero(t, allocs)
}

// TestPackQ8_0x8 checks the packed layout against the rows it came from.
func TestPackQ8_0x8(t *testing.T) {
	rng := rand.New(rand.NewPCG(83, 84))
	tr := mustFor(t, gguf.TypeQ8_0)
	const n, m = 96, 17
	_, a, _, aRowBytes := testMatrix(t, tr, rng, 1, n, m)
	packed := make([]byte, Q8_0x8Size(n, m))
	require.Len(t, packed, 2*3*Q8_0x8BlockLen)
	PackQ8_0x8(packed, a, aRowBytes, n, 0, 2)
	for g := 0; g < 2; g++ {
		for b := 0; b < 3; b++ {
			blk := packed[(g*3+b)*Q8_0x8BlockLen:]
			for j := 0; j < 8; j++ {
				src := a[(8*g+j)*aRowBytes+b*blockQ8_0Len:]
				d := math.Float32frombits(uint32(blk[4*j]) | uint32(blk[4*j+1])<<8 | uint32(blk[4*j+2])<<16 | uint32(blk[4*j+3])<<24)
				require.Equal(t, FP16ToFP32(uint16(src[0])|uint16(src[1])<<8), d, "group %d block %d row %d scale", g, b, j)
				require.Equal(t, src[2:blockQ8_0Len], blk[32+32*j:64+32*j], "group %d block %d row %d quants", g, b, j)
			}
		}
	}
}

// TestQuantizeActQ8_0Levels checks the AVX2 activation quantizer against
// the portable one (TestActivationQuantizationMatchesGGML holds them to
// ggml's) on rows of ties, zeros, tiny and huge values.
func TestQuantizeActQ8_0Levels(t *testing.T) {
	if !useAVX2 {
		t.Skip("SKIPPING: no AVX2 kernels here")
	}
	rng := rand.New(rand.NewPCG(85, 86))
	for _, n := range []int{32, 96, 2048} {
		for k, x := range activationRows(rng, n) {
			want := make([]byte, n/32*blockQ8_0Len)
			got := make([]byte, len(want))
			quantizeActQ8_0At(false, want, x)
			quantizeActQ8_0At(true, got, x)
			require.Equal(t, want, got, "n=%d row %d", n, k)
		}
	}
}

// TestQuantizeQ8KLevels checks the AVX2 Q8_K quantizer against the portable
// one (which TestActivationQuantizationMatchesGGML holds to ggml's) on rows
// of ties, zeros, tiny and huge values, a zero block between others, and
// blocks whose largest magnitude occurs with both signs.
func TestQuantizeQ8KLevels(t *testing.T) {
	if !useAVX2 {
		t.Skip("SKIPPING: no AVX2 kernels here")
	}
	rng := rand.New(rand.NewPCG(87, 88))
	for _, n := range []int{256, 768, 2048} {
		rows := activationRows(rng, n)
		zb := randRow(rng, n, 1)
		z := min(256, n-256) // the second block (the only one at 256)
		clear(zb[z : z+256])
		signs := randRow(rng, n, 1)
		for b := 0; b < n/256; b++ {
			signs[256*b+3+b] = -9
			signs[256*b+200-b] = 9
		}
		rows = append(rows, zb, signs)
		for k, x := range rows {
			want := make([]byte, n/256*q8KBytes)
			got := make([]byte, len(want))
			quantizeQ8KAt(false, want, x)
			quantizeQ8KAt(true, got, x)
			require.Equal(t, want, got, "n=%d row %d", n, k)
		}
	}
}
