package quant

import (
	"math"

	"github.com/hearthllm/hearth/gguf"
)

var f16Traits = Traits{
	Type:               gguf.TypeF16,
	BlockSize:          1,
	TypeSize:           2,
	Dequantize:         dequantizeF16,
	Quantize:           quantizeF16,
	VecDotType:         gguf.TypeF16,
	VecDot:             vecDotF16,
	QuantizeActivation: quantizeF16,
}

// FP16ToFP32 converts IEEE 754 binary16 bits to float32 (exact).
func FP16ToFP32(h uint16) float32 { return fp16Table[h] }

// fp16Table holds every half's float32 value, like ggml's
// ggml_table_f32_f16: a load is several times faster in the dot-product loops
// than the bit arithmetic. It is built once at package initialization and
// never written again.
var fp16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = fp16ToFP32Bits(uint16(h))
	}
	return &t
}()

// fp16ToFP32Bits converts binary16 to float32 with integer arithmetic.
func fp16ToFP32Bits(h uint16) float32 {
	x := uint32(h)
	sign := x & 0x8000 << 16
	e, m := x>>10&0x1f, x&0x3ff
	switch {
	case e == 0x1f: // inf, nan: keep the payload
		return math.Float32frombits(sign | 0x7f800000 | m<<13)
	case e != 0: // normal: rebias the exponent by 127-15
		return math.Float32frombits(sign | (e+112)<<23 | m<<13)
	}
	// zero or subnormal: m * 2^-24, exact in float32
	return math.Float32frombits(sign | math.Float32bits(float32(m)*0x1p-24))
}

// FP32ToFP16 converts f to IEEE 754 binary16 bits, rounding to nearest even
// like x86 F16C (vcvtps2ph with imm 0) and ggml_compute_fp32_to_fp16:
// overflow gives infinity, NaNs stay NaN (quieted, top payload bits kept).
func FP32ToFP16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b & 0x7fffffff
	switch {
	case abs > 0x7f800000: // NaN
		return sign | 0x7e00 | uint16(abs>>13)&0x3ff
	case abs >= 0x477ff000: // >= 65520 rounds to infinity
		return sign | 0x7c00
	case abs >= 0x38800000: // normal in half: >= 2^-14
		r := abs - 112<<23
		r += 0xfff + (r>>13)&1
		return sign | uint16(r>>13)
	}
	// subnormal in half: multiples of 2^-24, scaling by 2^24 is exact
	m := math.RoundToEven(float64(math.Float32frombits(abs)) * (1 << 24))
	return sign | uint16(m)
}

func dequantizeF16(dst []float32, src []byte) {
	h := asU16(src[:2*len(dst)])
	for i := range dst {
		dst[i] = FP16ToFP32(h[i])
	}
}

// quantizeF16 converts src to halves in dst, the bulk with
// quantizeF16AVX2 at LevelAVX2 (the same bits).
func quantizeF16(dst []byte, src []float32) {
	quantizeF16At(useAVX2, dst, src)
}

// quantizeF16At is quantizeF16 with the AVX2 kernel when avx2 is set (the
// CPU must have it) and FP32ToFP16 otherwise.
func quantizeF16At(avx2 bool, dst []byte, src []float32) {
	h := asU16(dst[:2*len(src)])
	i := 0
	if n := len(src) &^ 7; avx2 && n > 0 {
		quantizeF16AVX2(&h[0], &src[0], n)
		i = n
	}
	for ; i < len(src); i++ {
		h[i] = FP32ToFP16(src[i])
	}
}

// vecDotF16 is ggml_vec_dot_f16: both rows are widened to float32 and the
// products summed in float32 lanes. With AVX2 it reproduces ggml's AVX2
// code (FMA into 4x8 lanes, ggml's reduction, leftovers added in float64).
func vecDotF16(n int, w []byte, a []byte) float32 {
	return vecDotF16At(useAVX2, n, w, a)
}

// vecDotF16At is vecDotF16 with the AVX2 kernel when avx2 is set
// (the CPU must have it) and the portable code otherwise.
func vecDotF16At(avx2 bool, n int, w []byte, a []byte) float32 {
	x := asU16(w[:2*n])
	y := asU16(a[:2*n])
	if avx2 {
		np := n &^ 31
		var sum float32
		if np > 0 {
			sum = dotF16AVX2(&x[0], &y[0], np)
		}
		return f16TailAVX2(sum, x, y, np)
	}
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		xs := x[i : i+4 : i+4]
		ys := y[i : i+4 : i+4]
		s0 += FP16ToFP32(xs[0]) * FP16ToFP32(ys[0])
		s1 += FP16ToFP32(xs[1]) * FP16ToFP32(ys[1])
		s2 += FP16ToFP32(xs[2]) * FP16ToFP32(ys[2])
		s3 += FP16ToFP32(xs[3]) * FP16ToFP32(ys[3])
	}
	sum := (s0 + s2) + (s1 + s3)
	for ; i < n; i++ {
		sum += FP16ToFP32(x[i]) * FP16ToFP32(y[i])
	}
	return sum
}

// f16At reads the little-endian half at b[0:2] as float32.
func f16At(b []byte) float32 {
	_ = b[1]
	return FP16ToFP32(uint16(b[0]) | uint16(b[1])<<8)
}

// putF16 stores f as a little-endian half (round to nearest even) at b[0:2].
func putF16(b []byte, f float32) {
	h := FP32ToFP16(f)
	_ = b[1]
	b[0] = byte(h)
	b[1] = byte(h >> 8)
}

// abs32 returns |f|.
func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// f16TailAVX2 adds to sum, the AVX2 kernel's result for the first np
// elements, the products of the rest of x and y (len(x) elements) the way
// ggml's haswell build does (in double precision).
func f16TailAVX2(sum float32, x, y []uint16, np int) float32 {
	n := len(x)
	y = y[:n]
	s := float64(sum)
	for i := np; i < n; i++ {
		s += float64(FP16ToFP32(x[i]) * FP16ToFP32(y[i]))
	}
	return float32(s)
}
