package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDotF16x4x3WAVX2 checks the register-blocked AVX2 F16 kernel
// (dotF16x4x3WAVX2, on widenF16AVX2's output) against dotF16x3AVX2 run on
// each of its four weight rows, bit for bit, from random accumulators, and
// widenF16AVX2 against FP16ToFP32.
func TestDotF16x4x3WAVX2(t *testing.T) {
	skipWithoutAVX2(t)
	rng := rand.New(rand.NewPCG(121, 122))
	for _, f := range f16Families {
		for _, n := range []int{32, 64, 96, 480, 512, 4096} {
			t.Run(fmt.Sprintf("%s/n%d", f, n), func(t *testing.T) {
				w, rowBytes := f16Matrix(rng, f, 4, n)
				a, aRowBytes := f16Matrix(rng, f, 3, n)
				got := randAcc(rng, 4*96)
				want := append([]float32(nil), got...)
				for k := 0; k < 4; k++ {
					dotF16x3AVX2(&asU16(w[k*rowBytes:])[0], &asU16(a)[0], aRowBytes, n, &want[96*k])
				}
				// The activations widened into rows n+16 floats apart, with
				// guard values after each row that must stay untouched.
				stride := n + 16
				guard := float32(-7.25)
				wide := make([]float32, 3*stride)
				for i := range wide {
					wide[i] = guard
				}
				for c := 0; c < 3; c++ {
					widenF16AVX2(&wide[c*stride], &asU16(a[c*aRowBytes:])[0], n)
					for i, h := range asU16(a[c*aRowBytes : c*aRowBytes+2*n]) {
						require.Equal(t, math.Float32bits(FP16ToFP32(h)), math.Float32bits(wide[c*stride+i]), "widened row %d element %d", c, i)
					}
					for i := n; i < stride; i++ {
						require.Equal(t, guard, wide[c*stride+i], "widenF16AVX2 wrote past row %d's end (element %d)", c, i)
					}
				}
				dotF16x4x3WAVX2(&asU16(w)[0], rowBytes, &wide[0], 4*stride, n, &got[0])
				for i := range got {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "weight row %d, activation row %d, accumulator %d: 4x3 %g, dotF16x3AVX2 %g", i/96, i%96/32, i%32, got[i], want[i])
				}
			})
		}
	}
}
