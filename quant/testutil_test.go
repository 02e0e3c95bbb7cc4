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
