package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/hearthllm/hearth/gguf"
)

// BenchmarkKQuantVecDot multiplies a 2048x2048 weight matrix by one Q8_K
// activation row with VecDot, row by row on one goroutine. The MB/s column
// is weight bytes streamed per second.
func BenchmarkKQuantVecDot(b *testing.B) {
	const n = 2048
	r := rand.New(rand.NewPCG(9, 10))
	x := randVec(r, n*n, 0.05)
	act := randVec(r, n, 1)
	for _, typ := range []gguf.TensorType{gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		tr, err := For(typ)
		if err != nil {
			b.Fatal(err)
		}
		rowBytes := tr.RowSize(n)
		w := make([]byte, n*rowBytes)
		tr.Quantize(w, x)
		a := make([]byte, n/qkK*q8KBytes)
		tr.QuantizeActivation(a, act)
		dst := make([]float32, n)
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				for row := 0; row < n; row++ {
					dst[row] = tr.VecDot(n, w[row*rowBytes:(row+1)*rowBytes], a)
				}
			}
		})
	}
}

// BenchmarkKQuantQuantize measures the reference quantizers on 64K values.
func BenchmarkKQuantQuantize(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	x := randVec(r, 1<<16, 0.05)
	for _, typ := range []gguf.TensorType{gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeQ8_K} {
		tr, err := For(typ)
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]byte, tr.RowSize(len(x)))
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				tr.Quantize(dst, x)
			}
		})
	}
}
