package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
)

// TestRepackFor checks which weights take llama.cpp's repack kernels: Q4_0
// and Q4_K with a row count that is a multiple of 8 (what llama.cpp's load
// log reports for the tiny-synth models), nothing else.
func TestRepackFor(t *testing.T) {
	assert.Equal(t, repackQ4_0, repackFor(gguf.TypeQ4_0, 512))
	assert.Equal(t, repackQ4K, repackFor(gguf.TypeQ4_K, 256))
	assert.Equal(t, repackNone, repackFor(gguf.TypeQ4_0, 12))
	assert.Equal(t, repackNone, repackFor(gguf.TypeQ4_K, 20))
	for _, typ := range []gguf.TensorType{gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ8_0, gguf.TypeQ6_K, gguf.TypeF32} {
		assert.Equal(t, repackNone, repackFor(typ, 512), "%s", typ)
	}
}

// TestGgmlDot checks ggml_vec_dot-order dot products against float64.
func TestGgmlDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 22, 31, 32, 45, 64, 100} {
		x, y := make([]float32, n), make([]float32, n)
		h := make([]uint16, n)
		want, want16, mag := 0.0, 0.0, 0.0
		for i := range x {
			x[i], y[i] = float32(rng.NormFloat64()), roundF16(float32(rng.NormFloat64()))
			h[i] = quant.FP32ToFP16(x[i])
			want += float64(x[i]) * float64(y[i])
			want16 += float64(quant.FP16ToFP32(h[i])) * float64(y[i])
			mag += math.Abs(float64(x[i]) * float64(y[i]))
		}
		assert.InDelta(t, want, float64(ggmlDotF32(x, y)), 1e-6*mag, "f32 n=%d", n)
		assert.InDelta(t, want16, float64(ggmlDotF16(h, y)), 1e-6*mag, "f16 n=%d", n)
	}
}
