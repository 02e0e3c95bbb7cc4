package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// testMatrix quantizes a random rows x n matrix and m activation rows.
func testMatrix(t testing.TB, tr *Traits, rng *rand.Rand, rows, n, m int) (w, a []byte, rowBytes, aRowBytes int) {
	t.Helper()
	at := mustFor(t, tr.VecDotType)
	rowBytes, aRowBytes = tr.RowSize(n), at.RowSize(n)
	w = make([]byte, rows*rowBytes)
	tr.Quantize(w, randRow(rng, rows*n, 0.1))
	a = make([]byte, m*aRowBytes)
	for i := 0; i < m; i++ {
		tr.QuantizeActivation(a[i*aRowBytes:(i+1)*aRowBytes], randRow(rng, n, 1))
	}
	return w, a, rowBytes, aRowBytes
}

func TestMatVecMatMulRowRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const rows, n, m, ld = 37, 256, 3, 41
	nan := float32(math.NaN())
	for _, lt := range legacyTypes {
		if !lt.weights {
			continue
		}
		tr := mustFor(t, lt.typ)
		w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, rows, n, m)
		want := make([][]float32, m)
		for i := range want {
			want[i] = make([]float32, rows)
			for r := range want[i] {
				want[i][r] = tr.VecDot(n, w[r*rowBytes:(r+1)*rowBytes], a[i*aRowBytes:(i+1)*aRowBytes])
			}
		}
		for _, rg := range [][2]int{{0, rows}, {3, 17}, {36, 37}, {5, 5}, {0, 16}, {16, 33}} {
			t.Run(fmt.Sprintf("%s/%d-%d", lt.typ, rg[0], rg[1]), func(t *testing.T) {
				dst := make([]float32, rows)
				for i := range dst {
					dst[i] = nan
				}
				MatVec(tr, dst, w, rowBytes, n, a[aRowBytes:2*aRowBytes], rg[0], rg[1])
				for r := range dst {
					if r >= rg[0] && r < rg[1] {
						require.Equal(t, math.Float32bits(want[1][r]), math.Float32bits(dst[r]), "row %d", r)
					} else {
						require.True(t, math.IsNaN(float64(dst[r])), "row %d outside the range was written", r)
					}
				}
				out := make([]float32, (m-1)*ld+rows)
				for i := range out {
					out[i] = nan
				}
				MatMul(tr, out, ld, w, rowBytes, n, a, aRowBytes, m, rg[0], rg[1])
				for i := 0; i < m; i++ {
					for r := 0; r < rows; r++ {
						v := out[i*ld+r]
						if r >= rg[0] && r < rg[1] {
							require.Equal(t, math.Float32bits(want[i][r]), math.Float32bits(v), "act %d row %d", i, r)
						} else {
							require.True(t, math.IsNaN(float64(v)), "act %d row %d outside the range was written", i, r)
						}
					}
				}
			})
		}
	}
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const rows, n, m = 16, 512, 4
	for _, lt := range legacyTypes {
		if !lt.weights {
			continue
		}
		tr := mustFor(t, lt.typ)
		w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, rows, n, m)
		x := randRow(rng, n, 1)
		dst := make([]float32, m*rows)
		allocs := testing.AllocsPerRun(20, func() {
			tr.QuantizeActivation(a[:aRowBytes], x)
			MatVec(tr, dst, w, rowBytes, n, a[:aRowBytes], 0, rows)
			MatMul(tr, dst, rows, w, rowBytes, n, a, aRowBytes, m, 0, rows)
		})
		require.Zero(t, allocs, "%s", lt.typ)
	}
}

// BenchmarkMatVec multiplies a 2048x2048 weight matrix by one activation
// row; MB/s is weight bytes read per second.
func BenchmarkMatVec(b *testing.B) {
	const rows, n = 2048, 2048
	for _, typ := range []gguf.TensorType{gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0} {
		b.Run(typ.String(), func(b *testing.B) {
			tr := mustFor(b, typ)
			w, a, rowBytes, _ := testMatrix(b, tr, rand.New(rand.NewPCG(11, 12)), rows, n, 1)
			dst := make([]float32, rows)
			b.SetBytes(int64(len(w)))
			b.ResetTimer()
			for b.Loop() {
				MatVec(tr, dst, w, rowBytes, n, a, 0, rows)
			}
		})
	}
}

// BenchmarkMatMul is the prefill form: 2048x2048 weights times 16
// activation rows; MB/s counts the weight bytes once per call.
func BenchmarkMatMul(b *testing.B) {
	const rows, n, m = 2048, 2048, 16
	for _, typ := range []gguf.TensorType{gguf.TypeF16, gguf.TypeQ4_0, gguf.TypeQ8_0} {
		b.Run(typ.String(), func(b *testing.B) {
			tr := mustFor(b, typ)
			w, a, rowBytes, aRowBytes := testMatrix(b, tr, rand.New(rand.NewPCG(13, 14)), rows, n, m)
			dst := make([]float32, m*rows)
			b.SetBytes(int64(len(w)))
			b.ResetTimer()
			for b.Loop() {
				MatMul(tr, dst, rows, w, rowBytes, n, a, aRowBytes, m, 0, rows)
			}
		})
	}
}
