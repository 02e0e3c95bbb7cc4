package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDotF16WAVX2 checks the register-blocked AVX2 F16 kernels
// (dotF16x4x3WAVX2 and its zero-start and reducing variants, on
// widenF16AVX2's output) against dotF16x3AVX2 run on each weight row (then
// reduceF32x3AVX2), bit for bit, from random accumulators (zero ones for
// the zero-start variants, given random ones they must ignore), and
// widenF16AVX2 against FP16ToFP32.
func TestDotF16WAVX2(t *testing.T) {
	skipWithoutAVX2(t)
	rng := rand.New(rand.NewPCG(121, 122))
	type kernel struct {
		zero   bool // from zero accumulators (whatever acc holds)
		acc    func(x *uint16, xStride int, y *float32, yStride, n int, acc *float32)
		reduce func(x *uint16, xStride int, y *float32, yStride, n int, acc, out *float32)
	}
	kernels := []kernel{
		{false, func(x *uint16, xs int, y *float32, ys, n int, acc *float32) { dotF16x4x3WAVX2(x, xs, y, ys, n, acc) },
			func(x *uint16, xs int, y *float32, ys, n int, acc, out *float32) {
				dotF16x4x3WRAVX2(x, xs, y, ys, n, acc, out)
			}},
		{true, func(x *uint16, xs int, y *float32, ys, n int, acc *float32) { dotF16x4x3WZAVX2(x, xs, y, ys, n, acc) },
			func(x *uint16, xs int, y *float32, ys, n int, acc, out *float32) {
				dotF16x4x3WZRAVX2(x, xs, y, ys, n, acc, out)
			}},
	}
	const R, C = 4, 3
	for _, kn := range kernels {
		for _, f := range f16Families {
			for _, n := range []int{32, 64, 96, 480, 512, 4096} {
				t.Run(fmt.Sprintf("zero=%v/%s/n%d", kn.zero, f, n), func(t *testing.T) {
					w, rowBytes := f16Matrix(rng, f, R, n)
					a, aRowBytes := f16Matrix(rng, f, C, n)
					start := randAcc(rng, R*C*32)
					want := append([]float32(nil), start...)
					if kn.zero {
						clear(want)
					}
					var wantSums [12]float32
					for k := 0; k < R; k++ {
						for c0 := 0; c0 < C; c0 += 3 {
							ac := want[32*(C*k+c0):]
							dotF16x3AVX2(&asU16(w[k*rowBytes:])[0], &asU16(a[c0*aRowBytes:])[0], aRowBytes, n, &ac[0])
							var out [3]float32
							reduceF32x3AVX2(&ac[0], &out[0])
							for c, v := range out {
								wantSums[R*(c0+c)+k] = v
							}
						}
					}
					// The activations widened into rows n+16 floats apart,
					// with guard values after each row that must stay
					// untouched.
					stride := n + 16
					guard := float32(-7.25)
					wide := make([]float32, C*stride)
					for i := range wide {
						wide[i] = guard
					}
					for c := 0; c < C; c++ {
						widenF16AVX2(&wide[c*stride], &asU16(a[c*aRowBytes:])[0], n)
						for i, h := range asU16(a[c*aRowBytes : c*aRowBytes+2*n]) {
							require.Equal(t, math.Float32bits(FP16ToFP32(h)), math.Float32bits(wide[c*stride+i]), "widened row %d element %d", c, i)
						}
						for i := n; i < stride; i++ {
							require.Equal(t, guard, wide[c*stride+i], "widenF16AVX2 wrote past row %d's end (element %d)", c, i)
						}
					}
					got := append([]float32(nil), start...)
					kn.acc(&asU16(w)[0], rowBytes, &wide[0], 4*stride, n, &got[0])
					for i := range got {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "weight row %d, activation row %d, accumulator %d: kernel %g, dotF16x3AVX2 %g", i/(32*C), i%(32*C)/32, i%32, got[i], want[i])
					}
					var sums [12]float32
					kn.reduce(&asU16(w)[0], rowBytes, &wide[0], 4*stride, n, &append([]float32(nil), start...)[0], &sums[0])
					for i := 0; i < R*C; i++ {
						require.Equal(t, math.Float32bits(wantSums[i]), math.Float32bits(sums[i]), "reduced: weight row %d, activation row %d: %g, want %g", i%R, i/R, sums[i], wantSums[i])
					}
					// The Go model (dotF16WGo) of the same contract.
					model := append([]float32(nil), start...)
					if kn.zero {
						clear(model)
					}
					dotF16WGo(R, C, &asU16(w)[0], rowBytes, &wide[0], 4*stride, n, &model[0])
					for i := range model {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(model[i]), "dotF16WGo: weight row %d, activation row %d, accumulator %d", i/(32*C), i%(32*C)/32, i%32)
					}
				})
			}
		}
	}
}

// TestQuantizeF16AVX2 checks quantizeF16's AVX2 path (quantizeF16AVX2,
// VCVTPS2PH) against FP32ToFP16, bit for bit: a sweep over the float32 bit
// patterns (every 4099th, so every class: NaNs with payloads, infinities,
// the overflow boundary, subnormal results, ties), every float32 in the
// ranges where halves round (around 65504..65520 and 2^-25..2^-14), and
// random lengths (tails left to the Go code).
func TestQuantizeF16AVX2(t *testing.T) {
	skipWithoutAVX2(t)
	var src []float32
	for b := uint64(0); b < 1<<32; b += 4099 {
		src = append(src, math.Float32frombits(uint32(b)))
	}
	for _, r := range [][2]float32{{65500, 65540}, {0x1p-26, 0x1p-13}} {
		for b := math.Float32bits(r[0]); b <= math.Float32bits(r[1]); b += 1 + b>>20&0xff {
			f := math.Float32frombits(b)
			src = append(src, f, -f)
		}
	}
	check := func(src []float32) {
		got := make([]byte, 2*len(src)+2)
		want := make([]byte, 2*len(src)+2)
		got[len(got)-1], want[len(want)-1] = 0x5a, 0x5a // guard past the end
		quantizeF16At(true, got[:2*len(src)], src)
		quantizeF16At(false, want[:2*len(src)], src)
		gh, wh := asU16(got[:2*len(src)]), asU16(want[:2*len(src)])
		for i, v := range src {
			if gh[i] != wh[i] { // require only on a mismatch: it is slow
				require.Equal(t, wh[i], gh[i], "element %d of %d: %g (bits %#08x): AVX2 %#04x, FP32ToFP16 %#04x", i, len(src), v, math.Float32bits(v), gh[i], wh[i])
			}
		}
		require.Equal(t, byte(0x5a), got[len(got)-1], "quantizeF16AVX2 wrote past the end")
	}
	check(src)
	rng := rand.New(rand.NewPCG(123, 124))
	for range 200 {
		n := 1 + rng.IntN(70)
		s := make([]float32, n)
		for i := range s {
			s[i] = math.Float32frombits(rng.Uint32())
		}
		check(s)
	}
}
