package quant

import (
	"encoding/binary"
	"math"
	"os"
	"testing"

	"github.com/hearthllm/hearth/gguf"
)

// testGGUFTensor is one tensor read by readTestGGUF.
type testGGUFTensor struct {
	name string
	dims []uint64
	typ  uint32
	data []byte
}

// readTestGGUF opens path with gguf.Open and returns its tensors in file
// order with their data copied out; it skips loudly when the file is missing.
func readTestGGUF(t testing.TB, path string) []testGGUFTensor {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("!!! SKIPPING: cannot read test model %s: %v", path, err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	var out []testGGUFTensor
	for _, ti := range f.Tensors() {
		out = append(out, testGGUFTensor{
			name: ti.Name,
			dims: append([]uint64(nil), ti.Dims...),
			typ:  uint32(ti.Type),
			data: append([]byte(nil), f.TensorData(ti)...),
		})
	}
	return out
}

// f32Data views F32 tensor bytes as float32 values (copied).
func f32Data(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
