package quant

import (
	"math"

	"github.com/hearthllm/hearth/gguf"
)

var bf16Traits = Traits{
	Type:               gguf.TypeBF16,
	BlockSize:          1,
	TypeSize:           2,
	Dequantize:         dequantizeBF16,
	Quantize:           quantizeBF16,
	VecDotType:         gguf.TypeBF16,
	VecDot:             vecDotBF16,
	QuantizeActivation: quantizeBF16,
}

// BF16ToFP32 converts bfloat16 bits to float32 (exact).
func BF16ToFP32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// FP32ToBF16 converts f to bfloat16 bits like ggml_compute_fp32_to_bf16:
// round to nearest even; a NaN keeps its top bits and is forced quiet.
// Subnormals are rounded, not flushed (current ggml).
func FP32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

func dequantizeBF16(dst []float32, src []byte) {
	h := asU16(src[:2*len(dst)])
	for i := range dst {
		dst[i] = BF16ToFP32(h[i])
	}
}

func quantizeBF16(dst []byte, src []float32) {
	h := asU16(dst[:2*len(src)])
	for i, v := range src {
		h[i] = FP32ToBF16(v)
	}
}

// vecDotBF16 is ggml_vec_dot_bf16 without AVX512-BF16: both rows widened to
// float32, products summed in float32 lanes. With AVX2 it reproduces ggml's
// AVX2 code (multiply and add into 4x8 lanes, ggml's reduction, leftovers
// added in float64).
func vecDotBF16(n int, w []byte, a []byte) float32 {
	return vecDotBF16At(useAVX2, n, w, a)
}

// vecDotBF16At is vecDotBF16 with the AVX2 kernel when avx2 is set
// (the CPU must have it) and the portable code otherwise.
func vecDotBF16At(avx2 bool, n int, w []byte, a []byte) float32 {
	x := asU16(w[:2*n])
	y := asU16(a[:2*n])
	if avx2 {
		np := n &^ 31
		var sum float64
		if np > 0 {
			sum = float64(dotBF16AVX2(&x[0], &y[0], np))
		}
		for i := np; i < n; i++ {
			sum += float64(BF16ToFP32(x[i]) * BF16ToFP32(y[i]))
		}
		return float32(sum)
	}
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		xs := x[i : i+4 : i+4]
		ys := y[i : i+4 : i+4]
		s0 += BF16ToFP32(xs[0]) * BF16ToFP32(ys[0])
		s1 += BF16ToFP32(xs[1]) * BF16ToFP32(ys[1])
		s2 += BF16ToFP32(xs[2]) * BF16ToFP32(ys[2])
		s3 += BF16ToFP32(xs[3]) * BF16ToFP32(ys[3])
	}
	sum := (s0 + s2) + (s1 + s3)
	for ; i < n; i++ {
		sum += BF16ToFP32(x[i]) * BF16ToFP32(y[i])
	}
	return sum
}
