package quant

import (
	"unsafe"

	"github.com/hearthllm/hearth/gguf"
)

var f32Traits = Traits{
	Type:               gguf.TypeF32,
	BlockSize:          1,
	TypeSize:           4,
	Dequantize:         dequantizeF32,
	Quantize:           quantizeF32,
	VecDotType:         gguf.TypeF32,
	VecDot:             vecDotF32,
	QuantizeActivation: quantizeF32,
}

// asF32 views b (little-endian float32s, as GGUF stores them) as []float32.
// It reads len(b)/4 elements.
func asF32(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// asU16 views b (little-endian uint16s) as []uint16.
func asU16(b []byte) []uint16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
}

func dequantizeF32(dst []float32, src []byte) {
	copy(dst, asF32(src[:4*len(dst)]))
}

func quantizeF32(dst []byte, src []float32) {
	copy(asF32(dst[:4*len(src)]), src)
}

// vecDotF32 is ggml_vec_dot_f32. With AVX2 it reproduces ggml's AVX2 code:
// FMA into 4x8 float32 lanes, ggml's reduction, leftovers added in
// float32. Elsewhere it sums in eight float32 lanes.
func vecDotF32(n int, w []byte, a []byte) float32 {
	return vecDotF32At(useAVX2, n, w, a)
}

// vecDotF32At is vecDotF32 with the AVX2 kernel when avx2 is set
// (the CPU must have it) and the portable code otherwise.
func vecDotF32At(avx2 bool, n int, w []byte, a []byte) float32 {
	x := asF32(w[:4*n])
	y := asF32(a[:4*n])
	if avx2 {
		np := n &^ 31
		var sum float32
		if np > 0 {
			sum = dotF32AVX2(&x[0], &y[0], np)
		}
		return f32TailAVX2(sum, x, y, np)
	}
	return dotF32(x, y)
}

// f32TailAVX2 adds to sum, the AVX2 kernel's result for the first np
// elements, the products of the rest of x and y (len(x) elements) the way
// ggml's haswell build does.
func f32TailAVX2(sum float32, x, y []float32, np int) float32 {
	n := len(x)
	y = y[:n]
	// ggml's leftover loop, as GCC compiled it for the haswell
	// backend: products of groups of 8, then of a group of 4, are
	// rounded and added in order; the last 0..3 are fused multiply-adds.
	i := np
	for end := np + (n-np)&^7; i < end; i++ {
		sum += float32(x[i] * y[i])
	}
	if i+4 <= n {
		for end := i + 4; i < end; i++ {
			sum += float32(x[i] * y[i])
		}
	}
	for ; i < n; i++ {
		sum = fmaF32AVX2(x[i], y[i], sum)
	}
	return sum
}

// dotF32 sums x[i]*y[i] in eight float32 accumulators. len(y) >= len(x).
func dotF32(x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		xs := x[i : i+8 : i+8]
		ys := y[i : i+8 : i+8]
		s0 += xs[0] * ys[0]
		s1 += xs[1] * ys[1]
		s2 += xs[2] * ys[2]
		s3 += xs[3] * ys[3]
		s4 += xs[4] * ys[4]
		s5 += xs[5] * ys[5]
		s6 += xs[6] * ys[6]
		s7 += xs[7] * ys[7]
	}
	sum := ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
	for ; i < n; i++ {
		sum += x[i] * y[i]
	}
	return sum
}
