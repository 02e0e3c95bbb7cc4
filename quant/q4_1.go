package quant

import "github.com/hearthllm/hearth/gguf"

// Q4_1 block (block_q4_1): d (fp16), m (fp16), then 16 bytes of nibbles laid
// out as in Q4_0; x = q*d + m.
const (
	qk4_1        = 32
	blockQ4_1Len = 4 + qk4_1/2
)

var q4_1Traits = Traits{
	Type:               gguf.TypeQ4_1,
	BlockSize:          qk4_1,
	TypeSize:           blockQ4_1Len,
	Dequantize:         dequantizeQ4_1,
	Quantize:           quantizeQ4_1,
	VecDotType:         gguf.TypeQ8_1,
	VecDot:             vecDotQ4_1Q8_1,
	QuantizeActivation: quantizeActQ8_1,
}

func dequantizeQ4_1(dst []float32, src []byte) {
	nb := len(dst) / qk4_1
	for i := 0; i < nb; i++ {
		b := src[i*blockQ4_1Len : (i+1)*blockQ4_1Len : (i+1)*blockQ4_1Len]
		d := f16At(b)
		m := f16At(b[2:])
		y := dst[i*qk4_1 : (i+1)*qk4_1 : (i+1)*qk4_1]
		qs := b[4:blockQ4_1Len]
		for j, v := range qs {
			y[j] = float32(float32(v&0x0f)*d) + m
			y[j+qk4_1/2] = float32(float32(v>>4)*d) + m
		}
	}
}

// quantizeQ4_1 is quantize_row_q4_1_ref: d = (max-min)/15, m = min,
// q = min(15, trunc((x-min)/d + 0.5)).
func quantizeQ4_1(dst []byte, src []float32) {
	nb := len(src) / qk4_1
	for i := 0; i < nb; i++ {
		x := src[i*qk4_1 : (i+1)*qk4_1 : (i+1)*qk4_1]
		y := dst[i*blockQ4_1Len : (i+1)*blockQ4_1Len : (i+1)*blockQ4_1Len]
		vmin, vmax := minMax(x)
		d := (vmax - vmin) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(y, d)
		putF16(y[2:], vmin)
		qs := y[4:blockQ4_1Len]
		for j := range qs {
			x0 := float32((x[j] - vmin) * id)
			x1 := float32((x[j+qk4_1/2] - vmin) * id)
			q0 := min(15, int32(float32(x0+0.5)))
			q1 := min(15, int32(float32(x1+0.5)))
			qs[j] = byte(q0) | byte(q1)<<4
		}
	}
}

// minMax returns the smallest and largest element of x, starting from
// +-FLT_MAX like ggml.
func minMax(x []float32) (lo, hi float32) {
	lo, hi = maxFloat32, -maxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

const maxFloat32 = 0x1p127 * (1 + (1 - 0x1p-23))

// vecDotQ4_1Q8_1 is ggml_vec_dot_q4_1_q8_1: per block the integer sum of
// q_w*q_a scaled by d_w*d_a, accumulated in float32, plus the sum of m_w*s_a
// accumulated separately and added at the end.
func vecDotQ4_1Q8_1(n int, w []byte, a []byte) float32 {
	return vecDotQ4_1Q8_1At(useAVX2, n, w, a)
}

// vecDotQ4_1Q8_1At is vecDotQ4_1Q8_1 with the AVX2 kernel when avx2 is set
// (the CPU must have it) and the portable code otherwise.
func vecDotQ4_1Q8_1At(avx2 bool, n int, w []byte, a []byte) float32 {
	nb := n / 32
	if avx2 && nb > 0 {
		w, a = w[:nb*blockQ4_1Len], a[:nb*blockQ8_1Len]
		return q4_1Q8_1DotAVX2(&w[0], &a[0], nb)
	}
	var sums [dotChunk]int32
	var sum, summs float32
	for b0 := 0; b0 < nb; b0 += dotChunk {
		m := min(dotChunk, nb-b0)
		bw := w[b0*blockQ4_1Len:]
		ba := a[b0*blockQ8_1Len:]
		q4_1Q8_1Sums(sums[:m], bw, ba)
		for i, s := range sums[:m] {
			xw, xa := bw[i*blockQ4_1Len:], ba[i*blockQ8_1Len:]
			summs += float32(f16At(xw[2:]) * f16At(xa[2:]))
			sum += float32(s) * float32(f16At(xw)*f16At(xa))
		}
	}
	return sum + summs
}

// q4_1Q8_1Sums stores in out[i] the exact integer dot product of the quants of
// weight block i and activation block i (len(out) blocks), with AVX2 where
// the CPU has it.
func q4_1Q8_1Sums(out []int32, w, a []byte) {
	nb := len(out)
	w = w[:nb*blockQ4_1Len]
	a = a[:nb*blockQ8_1Len]
	if useAVX2 && nb > 0 {
		q4_1Q8_1SumsAVX2(&w[0], &a[0], nb, &out[0])
		return
	}
	q4_1Q8_1SumsGo(out, w, a)
}

// q4_1Q8_1SumsGo is the portable q4_1Q8_1Sums.
func q4_1Q8_1SumsGo(out []int32, w, a []byte) {
	for i := range out {
		bw := (*[blockQ4_1Len]byte)(w[i*blockQ4_1Len:])
		ba := (*[blockQ8_1Len]byte)(a[i*blockQ8_1Len:])
		var s0, s1 int32
		for j := 0; j < 16; j += 2 {
			v0, v1 := bw[4+j], bw[5+j]
			s0 += int32(v0&0x0f)*int32(int8(ba[4+j])) + int32(v1&0x0f)*int32(int8(ba[5+j]))
			s1 += int32(v0>>4)*int32(int8(ba[20+j])) + int32(v1>>4)*int32(int8(ba[21+j]))
		}
		out[i] = s0 + s1
	}
}
