package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// vexpInputs returns n float32s spread over the ranges softmax and SwiGLU
// see: dense around 0, the whole range where exp is finite and non-zero,
// the slow-path edges (|n| near 126 and 192) and infinities, shuffled into
// blocks.
func vexpInputs(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(10) {
		case 0:
			x[i] = float32(rng.Float64()*240 - 120) // both slow-path sides
		case 1:
			x[i] = float32(math.Inf(-1))
		case 2:
			x[i] = float32(rng.Float64()*4 - 89) // n near -126..-128
		default:
			x[i] = float32(rng.NormFloat64() * 8)
		}
	}
	return x
}

// TestExpSumBlocksAVX2 checks the AVX2 softmax block loop against the Go
// one (vExpf, which TestVExpf compares with exp) bit for bit, blocks that
// need the slow path included, and the float64 sum exactly.
func TestExpSumBlocksAVX2(t *testing.T) {
	if !haveAVX2 {
		t.Skip("SKIPPING: no AVX2 kernels on this machine/build")
	}
	rng := rand.New(rand.NewPCG(51, 52))
	for round := 0; round < 2000; round++ {
		n := rng.IntN(300)
		x := vexpInputs(rng, n)
		if round%2 == 0 { // mostly fast blocks, like real attention scores
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 6)
			}
		}
		mx := float32(math.Inf(-1))
		for _, v := range x {
			mx = max(mx, v)
		}
		if n == 0 || math.IsInf(float64(mx), -1) {
			mx = 0
		}
		a, b := append([]float32(nil), x...), append([]float32(nil), x...)
		sa, na := expSumBlocks(true, a, mx)
		sb, nb := expSumBlocks(false, b, mx)
		require.Equal(t, nb, na)
		require.Equal(t, math.Float64bits(sb), math.Float64bits(sa), "round %d sum", round)
		for i := range a {
			require.Equal(t, math.Float32bits(b[i]), math.Float32bits(a[i]), "round %d x[%d] = %g", round, i, x[i])
		}
	}
}

// TestSwiGLUBlocksAVX2 checks the AVX2 SwiGLU block loop against the Go one
// bit for bit over a wide spread of inputs, slow-path blocks included.
func TestSwiGLUBlocksAVX2(t *testing.T) {
	if !haveAVX2 {
		t.Skip("SKIPPING: no AVX2 kernels on this machine/build")
	}
	rng := rand.New(rand.NewPCG(53, 54))
	for round := 0; round < 2000; round++ {
		n := rng.IntN(300)
		g := vexpInputs(rng, n)
		for i := range g { // 0-g must reach both slow-path sides and stay finite mostly
			if math.IsInf(float64(g[i]), 0) && rng.IntN(2) == 0 {
				g[i] = -g[i]
			}
		}
		u := make([]float32, n)
		for i := range u {
			u[i] = float32(rng.NormFloat64())
		}
		a, b := append([]float32(nil), g...), append([]float32(nil), g...)
		require.Equal(t, swiGLUBlocks(false, b, u), swiGLUBlocks(true, a, u))
		for i := range a {
			require.Equal(t, math.Float32bits(b[i]), math.Float32bits(a[i]), "round %d gate[%d] = %g", round, i, g[i])
		}
	}
}

// TestVExpfAVX2Dense runs ggml_v_expf's AVX2 lanes and the Go vExpf (whose
// fused multiply-adds are emulated in float64) over every 331st float32
// in the range where the fast path applies, bit for bit.
func TestVExpfAVX2Dense(t *testing.T) {
	if !haveAVX2 {
		t.Skip("SKIPPING: no AVX2 kernels on this machine/build")
	}
	lo, hi := math.Float32bits(-87.3), math.Float32bits(87.3)
	x := make([]float32, 0, 1<<16)
	check := func() {
		n8 := len(x) &^ 7
		a := append([]float32(nil), x[:n8]...)
		var sum float64
		done := expSumBlocksAVX2(&a[0], n8, 0, &sum)
		require.Equal(t, n8, done)
		for i, v := range x[:n8] {
			if math.Float32bits(vExpf(v)) != math.Float32bits(a[i]) {
				require.Equal(t, math.Float32bits(vExpf(v)), math.Float32bits(a[i]), "vExpf(%g)", v)
			}
		}
		x = x[:0]
	}
	// negative values: bits from 0x80000000 up to lo; positive: 0 up to hi
	for b := uint32(0x80000000); b <= lo; b += 331 {
		if x = append(x, math.Float32frombits(b)); len(x) == cap(x) {
			check()
		}
	}
	for b := uint32(0); b <= hi; b += 331 {
		if x = append(x, math.Float32frombits(b)); len(x) == cap(x) {
			check()
		}
	}
	for len(x)%8 != 0 {
		x = append(x, 0)
	}
	if len(x) > 0 {
		check()
	}
}
