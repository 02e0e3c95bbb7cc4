package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// rowDotAt returns weight type t's row dot product at the given level:
// the portable code (avx2 false) or the AVX2 kernel. K-quant types without
// a batched kernel have one VecDot (their own dispatch) for both.
func rowDotAt(t testing.TB, typ gguf.TensorType, avx2 bool) func(n int, w, a []byte) float32 {
	t.Helper()
	at := map[gguf.TensorType]func(bool, int, []byte, []byte) float32{
		gguf.TypeF32:  vecDotF32At,
		gguf.TypeF16:  vecDotF16At,
		gguf.TypeBF16: vecDotBF16At,
		gguf.TypeQ4_0: vecDotQ4_0Q8_0At,
		gguf.TypeQ4_1: vecDotQ4_1Q8_1At,
		gguf.TypeQ5_0: vecDotQ5_0Q8_0At,
		gguf.TypeQ5_1: vecDotQ5_1Q8_1At,
		gguf.TypeQ8_0: vecDotQ8_0Q8_0At,
	}[typ]
	if kat := map[gguf.TensorType][2]func(int, []byte, []byte) float32{
		gguf.TypeQ2_K: {vecDotQ2KQ8K, vecDotQ2KQ8KAVX2},
		gguf.TypeQ3_K: {vecDotQ3KQ8K, vecDotQ3KQ8KAVX2},
		gguf.TypeQ4_K: {vecDotQ4KQ8K, vecDotQ4KQ8KAVX2},
		gguf.TypeQ5_K: {vecDotQ5KQ8K, vecDotQ5KQ8KAVX2},
		gguf.TypeQ6_K: {vecDotQ6KQ8K, vecDotQ6KQ8KAVX2},
	}[typ]; kat[0] != nil {
		if avx2 {
			return kat[1]
		}
		return kat[0]
	}
	if at == nil {
		return mustFor(t, typ).VecDot
	}
	return func(n int, w, a []byte) float32 { return at(avx2, n, w, a) }
}

// testLevels are the levels this machine can run, generic always.
func testLevels(t testing.TB) []bool {
	if hardwareLevel() >= LevelAVX2 {
		return []bool{false, true}
	}
	t.Log("!!! this CPU or build has no AVX2/FMA/F16C: only the generic kernels are tested")
	return []bool{false}
}

var matMulWeightTypes = []gguf.TensorType{
	gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16,
	gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0,
	gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K,
}

// scrambleQuants overwrites every byte of the blocks in b (each blockLen
// long) with random bytes, except the halves at the given offsets, which get
// random finite scales: arbitrary quants (int8 -128 included) with sane d.
func scrambleQuants(rng *rand.Rand, b []byte, blockLen int, halves ...int) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for off := 0; off+blockLen <= len(b); off += blockLen {
		for _, h := range halves {
			putF16(b[off+h:], float32(rng.NormFloat64()*0.01))
		}
	}
}

// TestMatMulEqualsRowDots checks, at each level, that MatMul's results are
// bit for bit the row dot products of every (weight row, activation row)
// pair, for batch sizes around the kernels' groups of four, row ranges,
// strided output and rows too long for the batched kernels.
func TestMatMulEqualsRowDots(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	type shape struct{ rows, n, m, r0, r1 int }
	shapes := []shape{
		{37, 256, 1, 0, 37}, {37, 256, 4, 0, 37}, {37, 256, 5, 3, 17},
		{37, 256, 8, 36, 37}, {37, 256, 13, 16, 33}, {37, 256, 20, 0, 37}, {37, 256, 12, 2, 30}, {9, 32, 7, 0, 9},
		{6, 512 * 32, 4, 1, 5}, {5, 513 * 32, 5, 0, 5}, // longest batched row, then too long
		{7, 2048, 17, 0, 7},                                                             // several blocks, groups of eight and four
		{11, 100, 7, 0, 11}, {5, 31, 4, 0, 5}, {5, 4096, 3, 0, 5}, {40, 1000, 6, 1, 39}, // float tails, no full vector, several chunks
	}
	for _, typ := range matMulWeightTypes {
		tr := mustFor(t, typ)
		for _, sh := range shapes {
			if sh.n%tr.BlockSize != 0 {
				continue
			}
			w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, sh.rows, sh.n, sh.m)
			for _, scrambled := range []bool{false, true} {
				if scrambled {
					if !scrambleLegacy(rng, typ, w, a) {
						continue
					}
				}
				for _, avx2 := range testLevels(t) {
					name := fmt.Sprintf("%s/%dx%d/m%d/%d-%d/avx2=%v/scrambled=%v", typ, sh.rows, sh.n, sh.m, sh.r0, sh.r1, avx2, scrambled)
					t.Run(name, func(t *testing.T) {
						dot := rowDotAt(t, typ, avx2)
						ld := sh.rows + 3
						dst := make([]float32, sh.m*ld)
						nan := float32(math.NaN())
						for i := range dst {
							dst[i] = nan
						}
						matMulAt(avx2, dot, tr, dst, ld, w, rowBytes, sh.n, a, aRowBytes, sh.m, sh.r0, sh.r1)
						for i := 0; i < sh.m; i++ {
							for r := 0; r < ld; r++ {
								got := dst[i*ld+r]
								if r < sh.r0 || r >= sh.r1 {
									require.True(t, math.IsNaN(float64(got)), "act %d row %d outside the range was written", i, r)
									continue
								}
								want := dot(sh.n, w[r*rowBytes:(r+1)*rowBytes], a[i*aRowBytes:(i+1)*aRowBytes])
								require.Equal(t, math.Float32bits(want), math.Float32bits(got), "act %d row %d: want %g got %g", i, r, want, got)
							}
						}
					})
				}
			}
		}
	}
}

// scrambleLegacy fills the weights and activations of a legacy block type
// (or a K-quant with a batched kernel) with arbitrary quants, scales and
// group sums and finite float scales; false for other types.
func scrambleLegacy(rng *rand.Rand, typ gguf.TensorType, w, a []byte) bool {
	switch typ {
	case gguf.TypeQ4_0:
		scrambleQuants(rng, w, blockQ4_0Len, 0)
	case gguf.TypeQ5_0:
		scrambleQuants(rng, w, blockQ5_0Len, 0)
	case gguf.TypeQ8_0:
		scrambleQuants(rng, w, blockQ8_0Len, 0)
	case gguf.TypeQ4_1:
		scrambleQuants(rng, w, blockQ4_1Len, 0, 2)
	case gguf.TypeQ5_1:
		scrambleQuants(rng, w, blockQ5_1Len, 0, 2)
	case gguf.TypeQ4_K:
		scrambleQuants(rng, w, q4KBytes, 0, 2)
		scrambleQ8K(rng, a)
		return true
	case gguf.TypeQ6_K:
		scrambleQuants(rng, w, q6KBytes, q6KOffD)
		scrambleQ8K(rng, a)
		return true
	case gguf.TypeQ2_K:
		scrambleQuants(rng, w, q2KBytes, q2KOffD, q2KOffDmin)
		scrambleQ8K(rng, a)
		return true
	case gguf.TypeQ3_K:
		scrambleQuants(rng, w, q3KBytes, q3KOffD)
		scrambleQ8K(rng, a)
		return true
	case gguf.TypeQ5_K:
		scrambleQuants(rng, w, q5KBytes, 0, 2)
		scrambleQ8K(rng, a)
		return true
	default:
		return false
	}
	if typ == gguf.TypeQ4_1 || typ == gguf.TypeQ5_1 {
		scrambleQuants(rng, a, blockQ8_1Len, 0, 2)
	} else {
		scrambleQuants(rng, a, blockQ8_0Len, 0)
	}
	return true
}

// TestMatMulMatchesMatVec checks the exported seams against each other at
// the level this process runs: MatMul's row i is MatVec on activation row i.
func TestMatMulMatchesMatVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	const rows, n, m = 21, 512, 9
	for _, typ := range matMulWeightTypes {
		t.Run(typ.String(), func(t *testing.T) {
			tr := mustFor(t, typ)
			w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, rows, n, m)
			got := make([]float32, m*rows)
			MatMul(tr, got, rows, w, rowBytes, n, a, aRowBytes, m, 0, rows)
			want := make([]float32, rows)
			for i := 0; i < m; i++ {
				MatVec(tr, want, w, rowBytes, n, a[i*aRowBytes:(i+1)*aRowBytes], 0, rows)
				for r := range want {
					require.Equal(t, math.Float32bits(want[r]), math.Float32bits(got[i*rows+r]), "act %d row %d", i, r)
				}
			}
		})
	}
}

// scrambleQ8K fills Q8_K activation blocks with arbitrary quants and group
// sums and a random finite fp32 scale.
func scrambleQ8K(rng *rand.Rand, a []byte) {
	for i := range a {
		a[i] = byte(rng.Uint32())
	}
	for off := 0; off+q8KBytes <= len(a); off += q8KBytes {
		binary.LittleEndian.PutUint32(a[off:], math.Float32bits(float32(rng.NormFloat64()*0.01)))
	}
}
