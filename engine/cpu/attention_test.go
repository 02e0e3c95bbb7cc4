package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/quant"
)

// attnAVX2 skips the test unless this process runs the AVX2 kernels.
func attnAVX2(t *testing.T) {
	t.Helper()
	if lvl, _ := quant.KernelLevel(); lvl < quant.LevelAVX2 {
		t.Skipf("SKIPPING: kernel level %s, the AVX2 attention kernels are not in use", lvl)
	}
}

// randF16 returns n random half-precision values of magnitude up to about
// 2^(e-1), with some exact zeros and negative zeros.
func randF16(r *rand.Rand, n int, e float64) []uint16 {
	x := make([]uint16, n)
	for i := range x {
		switch r.IntN(40) {
		case 0:
			x[i] = 0
		case 1:
			x[i] = 0x8000
		default:
			v := (r.Float64()*2 - 1) * math.Exp2(e*r.Float64())
			x[i] = quant.FP32ToFP16(float32(v))
		}
	}
	return x
}

// randRoundedF32 returns n random float32 values already rounded to half
// precision, as the attention code feeds the products (queries, weights).
func randRoundedF32(r *rand.Rand, n int, e float64) []float32 {
	y := make([]float32, n)
	for i, h := range randF16(r, n, e) {
		y[i] = quant.FP16ToFP32(h)
	}
	return y
}

// requireSameBits fails unless got and want agree bit for bit.
func requireSameBits(t *testing.T, want, got []float32, msg string, args ...any) {
	t.Helper()
	require.Equal(t, len(want), len(got))
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			t.Fatalf("%s: element %d: got %g (%#x), want %g (%#x)", fmt.Sprintf(msg, args...),
				i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// TestAttentionKernelsMatchGo checks the AVX2 attention dot products
// against their Go twins, bit for bit, on random data: every row count
// around the 8-row groups, lengths around the 8- and 32-element blocks,
// and strides wider than the rows, with infinities and NaNs in the gaps
// between rows and past the end, which the kernels must not let in. The
// Go twins are checked against a float64 reference so that the comparison
// is not of two wrong codes.
func TestAttentionKernelsMatchGo(t *testing.T) {
	attnAVX2(t)
	r := rand.New(rand.NewPCG(5, 7))
	for _, n := range []int{1, 3, 7, 8, 9, 16, 24, 31, 32, 33, 40, 63, 64, 65, 96, 127, 128, 200, 256, 511} {
		for _, rows := range []int{1, 3, 7, 8, 9, 15, 16, 17, 64} {
			stride := n + r.IntN(3)*8
			x := randF16(r, (rows-1)*stride+n+8, 4)
			for i := range x {
				if i%stride >= n || i >= (rows-1)*stride+n {
					x[i] = []uint16{0x7c00, 0xfc00, 0x7e00}[i%3] // +Inf, -Inf, NaN
				}
			}
			yb := randRoundedF32(r, n+8, 3)
			for i := n; i < len(yb); i++ {
				yb[i] = float32(math.NaN())
			}
			y := yb[:n]
			scale := float32(0.125)
			want, got := make([]float32, rows), make([]float32, rows)
			tinyDotRowsF16(false, x, stride, y, scale, want)
			tinyDotRowsF16AVX2(&x[0], stride, rows, &y[0], n, scale, &got[0])
			requireSameBits(t, want, got, "tiny n=%d rows=%d", n, rows)
			checkNear(t, x, stride, y, float64(scale), want)

			want, got = make([]float32, rows), make([]float32, rows)
			ggmlDotRowsF16(false, x, stride, y, want)
			ggmlDotRowsF16(true, x, stride, y, got)
			requireSameBits(t, want, got, "ggml n=%d rows=%d", n, rows)
			checkNear(t, x, stride, y, 1, want)
		}
	}
}

// checkNear compares dot products with a float64 reference: the float32
// sums of n exact products stay within n ulps of the sum of magnitudes.
func checkNear(t *testing.T, x []uint16, stride int, y []float32, scale float64, got []float32) {
	t.Helper()
	for row, g := range got {
		var sum, mag float64
		for i, v := range y {
			p := float64(quant.FP16ToFP32(x[row*stride+i])) * float64(v)
			sum += p
			mag += math.Abs(p)
		}
		tol := float64(len(y)+2) * mag * scale * 0x1p-23
		require.InDelta(t, sum*scale, float64(g), tol, "row %d of %d-element dots", row, len(y))
	}
}

// TestRoundF16sMatchesGo checks the AVX2 half-precision rounding against
// roundF16 on random values, halfway cases, overflow, subnormals,
// infinities and signed zeros.
func TestRoundF16sMatchesGo(t *testing.T) {
	attnAVX2(t)
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]float32, 1000)
	for i := range src {
		src[i] = float32((r.Float64()*2 - 1) * math.Exp2(40*r.Float64()-25))
	}
	specials := []float32{0, float32(math.Copysign(0, -1)), 65504, 65519, 65520, 1e6, -1e6,
		float32(math.Inf(1)), float32(math.Inf(-1)), 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-30, 1 + 0x1p-11, 1 + 0x3p-11}
	copy(src, specials)
	for _, n := range []int{1, 7, 8, 9, 16, 100, 1000} {
		want, got := make([]float32, n), make([]float32, n)
		for i := range want {
			want[i] = roundF16(src[i])
		}
		roundF16s(true, got, src[:n])
		requireSameBits(t, want, got, "n=%d", n)
	}
	// In place, as the attention code does not, but may.
	in := append([]float32(nil), src[:64]...)
	roundF16s(true, in, in)
	for i, v := range in {
		require.Equal(t, math.Float32bits(roundF16(src[i])), math.Float32bits(v), "in place, element %d", i)
	}
}
