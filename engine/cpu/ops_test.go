package cpu

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestVExpf checks the AVX2 exponential against float64 exp: ggml states a
// maximum error of 1.45358 + 0.5 ulp, flushing to 0 below -103.97 and to
// +Inf above 88.38.
func TestVExpf(t *testing.T) {
	for x := float32(-103); x < 88; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(vExpf(x))
		ulp := float64(math.Nextafter32(float32(want), float32(math.Inf(1)))) - float64(float32(want))
		if math.Abs(got-want) > 2*ulp {
			t.Fatalf("vExpf(%g) = %g, exp = %g (%.2f ulp)", x, got, want, math.Abs(got-want)/ulp)
		}
	}
	assert.Equal(t, float32(1), vExpf(0))
	assert.Equal(t, float32(0), vExpf(float32(math.Inf(-1))))
	assert.Equal(t, float32(0), vExpf(-200))
	assert.True(t, math.IsInf(float64(vExpf(100)), 1))
}

// TestSoftmaxSwiGLU checks the ggml-style softmax and SwiGLU against
// float64 formulas.
func TestSoftmaxSwiGLU(t *testing.T) {
	x := make([]float32, 21)
	g := make([]float32, 21)
	u := make([]float32, 21)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*1.7)) * 5
		g[i] = float32(math.Cos(float64(i)*0.9)) * 4
		u[i] = float32(i%5) - 2
	}
	x[20] = float32(math.Inf(-1)) // a masked entry
	want := make([]float64, len(x))
	mx, sum := math.Inf(-1), 0.0
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	for i, v := range x {
		want[i] = math.Exp(float64(v) - mx)
		sum += want[i]
	}
	softmax(x)
	for i := range x {
		assert.InDelta(t, want[i]/sum, float64(x[i]), 1e-6, "softmax[%d]", i)
	}
	wantG := make([]float64, len(g))
	for i, v := range g {
		wantG[i] = float64(v) / (1 + math.Exp(-float64(v))) * float64(u[i])
	}
	swiGLU(g, u)
	for i := range g {
		assert.InDelta(t, wantG[i], float64(g[i]), 1e-5, "swiglu[%d]", i)
	}
}
