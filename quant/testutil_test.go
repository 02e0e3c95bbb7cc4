package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// modelsDir returns the shared test model folder (HEARTH_TEST_MODELS, else
// ../shared/models next to the repository root) or skips the test loudly.
func modelsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HEARTH_TEST_MODELS")
	if dir == "" {
		root, err := filepath.Abs("..")
		require.NoError(t, err)
		dir = filepath.Join(root, "..", "shared", "models")
	}
	if _, err := os.Stat(filepath.Join(dir, "synthetic", "tiny-synth-f32.gguf")); err != nil {
		t.Skipf("!!! SKIPPED: test models not found in %s (set HEARTH_TEST_MODELS): %v", dir, err)
	}
	return dir
}

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

// readGGUFTensors is a minimal GGUF v2/v3 reader for tests: it skips the
// metadata (except general.alignment) and returns every tensor in file
// order with its data.
func readGGUFTensors(t testing.TB, path string) []testTensor {
	t.Helper()
	buf, err := os.ReadFile(path)
	require.NoError(t, err)
	r := &ggufTestReader{b: buf}
	require.Equal(t, "GGUF", string(r.bytes(4)), "%s: magic", path)
	version := r.u32()
	require.Contains(t, []uint32{2, 3}, version, "%s: version", path)
	nTensors := r.u64()
	nKV := r.u64()
	alignment := uint64(32)
	for i := uint64(0); i < nKV; i++ {
		key := r.str()
		vt := r.u32()
		if key == "general.alignment" && vt == 4 {
			alignment = uint64(r.u32())
			continue
		}
		r.skipValue(vt)
	}
	tensors := make([]testTensor, nTensors)
	offsets := make([]uint64, nTensors)
	for i := range tensors {
		tt := &tensors[i]
		tt.name = r.str()
		nd := r.u32()
		tt.dims = make([]uint64, nd)
		for j := range tt.dims {
			tt.dims[j] = r.u64()
		}
		tt.typ = gguf.TensorType(r.u32())
		offsets[i] = r.u64()
	}
	require.NoError(t, r.err, path)
	base := (uint64(r.off) + alignment - 1) / alignment * alignment
	for i := range tensors {
		tt := &tensors[i]
		n := int(tt.dims[0]) * tt.rows()
		size, ok := tt.typ.RowSize(n)
		require.True(t, ok, "%s: tensor %s: bad size", path, tt.name)
		start := base + offsets[i]
		require.LessOrEqual(t, start+uint64(size), uint64(len(buf)), "%s: tensor %s out of file", path, tt.name)
		tt.data = buf[start : start+uint64(size)]
	}
	return tensors
}

type ggufTestReader struct {
	b   []byte
	off int
	err error
}

func (r *ggufTestReader) bytes(n int) []byte {
	if r.err != nil || n < 0 || r.off+n > len(r.b) {
		if r.err == nil {
			r.err = fmt.Errorf("offset %d: read of %d bytes past end", r.off, n)
		}
		return make([]byte, max(n, 0))
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *ggufTestReader) u32() uint32 { return binary.LittleEndian.Uint32(r.bytes(4)) }
func (r *ggufTestReader) u64() uint64 { return binary.LittleEndian.Uint64(r.bytes(8)) }
func (r *ggufTestReader) str() string { return string(r.bytes(int(r.u64()))) }

// skipValue skips a metadata value of GGUF value type vt.
func (r *ggufTestReader) skipValue(vt uint32) {
	sizes := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	switch vt {
	case 8:
		r.str()
	case 9:
		et := r.u32()
		n := r.u64()
		if sz, ok := sizes[et]; ok {
			r.bytes(int(n) * sz)
			return
		}
		for i := uint64(0); i < n && r.err == nil; i++ {
			r.skipValue(et)
		}
	default:
		sz, ok := sizes[vt]
		if !ok {
			r.err = fmt.Errorf("offset %d: unknown value type %d", r.off, vt)
			return
		}
		r.bytes(sz)
	}
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
