package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// testTensor is one tensor read by readGGUFTensors.
type testTensor struct {
	name string
	typ  gguf.TensorType
	dims []uint64
	data []byte
}

// rows returns the number of rows (product of dims after the first).
func (tt testTensor) rows() int {
	r := 1
	for _, d := range tt.dims[1:] {
		r *= int(d)
	}
	return r
}

// readGGUFTensors opens a GGUF file with gguf.Open and returns every
// tensor in file order with a copy of its data.
func readGGUFTensors(t testing.TB, path string) []testTensor {
	t.Helper()
	f, err := gguf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []testTensor
	for _, ti := range f.Tensors() {
		out = append(out, testTensor{
			name: ti.Name,
			typ:  ti.Type,
			dims: append([]uint64(nil), ti.Dims...),
			data: append([]byte(nil), f.TensorData(ti)...),
		})
	}
	return out
}

// tensorF32 converts raw little-endian float32 data.
func tensorF32(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// randRow returns n values drawn from N(0, scale^2) with a few larger
// outliers, like real activations.
func randRow(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		v := rng.NormFloat64() * scale
		if rng.IntN(50) == 0 {
			v *= 8
		}
		x[i] = float32(v)
	}
	return x
}

// mustFor is For that fails the test on error.
func mustFor(t testing.TB, typ gguf.TensorType) *Traits {
	t.Helper()
	tr, err := For(typ)
	require.NoError(t, err)
	return tr
}

// requireGemmRows requires dst (m activation rows of ld entries) to hold
// want (m rows of rows entries) bit for bit in weight rows [rg[0], rg[1])
// and NaN everywhere else: a batched product wrote exactly its rows.
func requireGemmRows(t *testing.T, lv Level, dst, want []float32, m, rows, ld int, rg [2]int) {
	t.Helper()
	for i := 0; i < m; i++ {
		for r := 0; r < ld; r++ {
			got := dst[i*ld+r]
			if r >= rg[0] && r < rg[1] {
				require.Equal(t, math.Float32bits(want[i*rows+r]), math.Float32bits(got),
					"%s rows [%d,%d): activation row %d, weight row %d: %g, want %g", lv, rg[0], rg[1], i, r, got, want[i*rows+r])
			} else {
				require.True(t, math.IsNaN(float64(got)), "%s rows [%d,%d): wrote activation row %d, weight row %d", lv, rg[0], rg[1], i, r)
			}
		}
	}
}

// nanFloats returns n NaNs.
func nanFloats(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.NaN())
	}
	return x
}
