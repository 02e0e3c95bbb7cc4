package quant

import (
	"math"

	"github.com/hearthllm/hearth/gguf"
)

// Q8_0 block (block_q8_0): d (fp16) then 32 int8 quants; x = q*d.
const (
	qk8_0        = 32
	blockQ8_0Len = 2 + qk8_0
)

var q8_0Traits = Traits{
	Type:               gguf.TypeQ8_0,
	BlockSize:          qk8_0,
	TypeSize:           blockQ8_0Len,
	Dequantize:         dequantizeQ8_0,
	Quantize:           quantizeQ8_0,
	VecDotType:         gguf.TypeQ8_0,
	VecDot:             vecDotQ8_0Q8_0,
	QuantizeActivation: quantizeActQ8_0,
}

func dequantizeQ8_0(dst []float32, src []byte) {
	nb := len(dst) / qk8_0
	for i := 0; i < nb; i++ {
		b := src[i*blockQ8_0Len : (i+1)*blockQ8_0Len : (i+1)*blockQ8_0Len]
		d := f16At(b)
		y := dst[i*qk8_0 : (i+1)*qk8_0 : (i+1)*qk8_0]
		q := b[2:blockQ8_0Len]
		for j := range y {
			y[j] = float32(int8(q[j])) * d
		}
	}
}

// quantizeQ8_0 is quantize_row_q8_0_ref: d = amax/127, q = roundf(x*(1/d))
// (halves away from zero).
func quantizeQ8_0(dst []byte, src []float32) {
	nb := len(src) / qk8_0
	for i := 0; i < nb; i++ {
		x := src[i*qk8_0 : (i+1)*qk8_0 : (i+1)*qk8_0]
		y := dst[i*blockQ8_0Len : (i+1)*blockQ8_0Len : (i+1)*blockQ8_0Len]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(y, d)
		q := y[2:blockQ8_0Len]
		for j, v := range x {
			q[j] = byte(int8(math.Round(float64(float32(v * id)))))
		}
	}
}

// roundActInt8 rounds v half to even and saturates to int8, like AVX2's
// _mm256_round_ps(_MM_ROUND_NEAREST) + cvtps_epi32 + packs (NaN gives -128).
func roundActInt8(v float32) int8 {
	if !(v > -128.5 && v < 127.5) {
		if v > 0 {
			return 127
		}
		return -128
	}
	// Adding 1.5*2^23 leaves the integer part in the low mantissa bits,
	// rounded half to even by the float32 addition itself.
	return int8(float32(v+12582912) - 12582912)
}

// quantizeActQ8_0 is ggml-cpu's AVX2 quantize_row_q8_0, used for activations:
// d = amax/127 stored as fp16, q = round_half_even(x * (127/amax)).
func quantizeActQ8_0(dst []byte, src []float32) {
	quantizeActQ8_0At(useAVX2, dst, src)
}

// quantizeActQ8_0At is quantizeActQ8_0 with the AVX2 kernel when avx2 is
// set (the CPU must have it) and the portable code otherwise (the same
// bits for finite input).
func quantizeActQ8_0At(avx2 bool, dst []byte, src []float32) {
	nb := len(src) / qk8_0
	if avx2 && nb > 0 {
		_ = dst[nb*blockQ8_0Len-1]
		quantizeActQ8_0AVX2(&dst[0], &src[0], nb)
		return
	}
	for i := 0; i < nb; i++ {
		x := src[i*qk8_0 : (i+1)*qk8_0 : (i+1)*qk8_0]
		y := dst[i*blockQ8_0Len : (i+1)*blockQ8_0Len : (i+1)*blockQ8_0Len]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		putF16(y, amax/127)
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		q := y[2:blockQ8_0Len]
		for j, v := range x {
			q[j] = byte(roundActInt8(float32(v * id)))
		}
	}
}

// vecDotQ8_0Q8_0 is ggml_vec_dot_q8_0_q8_0: per block the exact integer sum
// of q_w*q_a, scaled by d_w*d_a and accumulated in float32.
func vecDotQ8_0Q8_0(n int, w []byte, a []byte) float32 {
	return vecDotQ8_0Q8_0At(useAVX2, n, w, a)
}

// vecDotQ8_0Q8_0At is vecDotQ8_0Q8_0 with the AVX2 kernel when avx2 is set
// (the CPU must have it) and the portable code otherwise.
func vecDotQ8_0Q8_0At(avx2 bool, n int, w []byte, a []byte) float32 {
	nb := n / 32
	if avx2 && nb > 0 {
		w, a = w[:nb*blockQ8_0Len], a[:nb*blockQ8_0Len]
		return q8_0Q8_0DotAVX2(&w[0], &a[0], nb)
	}
	var sums [dotChunk]int32
	var sum float32
	for b0 := 0; b0 < nb; b0 += dotChunk {
		m := min(dotChunk, nb-b0)
		bw := w[b0*blockQ8_0Len:]
		ba := a[b0*blockQ8_0Len:]
		q8_0Q8_0Sums(sums[:m], bw, ba)
		for i, s := range sums[:m] {
			xw, xa := bw[i*blockQ8_0Len:], ba[i*blockQ8_0Len:]
			sum += float32(s) * float32(f16At(xw)*f16At(xa))
		}
	}
	return sum
}

// q8_0Q8_0Sums stores in out[i] the exact integer dot product of the quants of
// weight block i and activation block i (len(out) blocks), with AVX2 where
// the CPU has it.
func q8_0Q8_0Sums(out []int32, w, a []byte) {
	nb := len(out)
	w = w[:nb*blockQ8_0Len]
	a = a[:nb*blockQ8_0Len]
	if useAVX2 && nb > 0 {
		q8_0Q8_0SumsAVX2(&w[0], &a[0], nb, &out[0])
		return
	}
	q8_0Q8_0SumsGo(out, w, a)
}

// q8_0Q8_0SumsGo is the portable q8_0Q8_0Sums.
func q8_0Q8_0SumsGo(out []int32, w, a []byte) {
	for i := range out {
		bw := (*[blockQ8_0Len]byte)(w[i*blockQ8_0Len:])
		ba := (*[blockQ8_0Len]byte)(a[i*blockQ8_0Len:])
		var s0, s1 int32
		for j := 2; j < blockQ8_0Len; j += 4 {
			s0 += int32(int8(bw[j]))*int32(int8(ba[j])) + int32(int8(bw[j+1]))*int32(int8(ba[j+1]))
			s1 += int32(int8(bw[j+2]))*int32(int8(ba[j+2])) + int32(int8(bw[j+3]))*int32(int8(ba[j+3]))
		}
		out[i] = s0 + s1
	}
}
