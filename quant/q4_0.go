package quant

import (
	"math"

	"github.com/hearthllm/hearth/gguf"
)

// Q4_0 block (block_q4_0): d (fp16), then 16 bytes; byte j holds element j
// in its low nibble and element j+16 in its high nibble; x = (q-8)*d.
const (
	qk4_0        = 32
	blockQ4_0Len = 2 + qk4_0/2
)

var q4_0Traits = Traits{
	Type:               gguf.TypeQ4_0,
	BlockSize:          qk4_0,
	TypeSize:           blockQ4_0Len,
	Dequantize:         dequantizeQ4_0,
	Quantize:           quantizeQ4_0,
	VecDotType:         gguf.TypeQ8_0,
	VecDot:             vecDotQ4_0Q8_0,
	QuantizeActivation: quantizeActQ8_0,
}

func dequantizeQ4_0(dst []float32, src []byte) {
	nb := len(dst) / qk4_0
	for i := 0; i < nb; i++ {
		b := src[i*blockQ4_0Len : (i+1)*blockQ4_0Len : (i+1)*blockQ4_0Len]
		d := f16At(b)
		y := dst[i*qk4_0 : (i+1)*qk4_0 : (i+1)*qk4_0]
		qs := b[2:blockQ4_0Len]
		for j, v := range qs {
			y[j] = float32(int32(v&0x0f)-8) * d
			y[j+qk4_0/2] = float32(int32(v>>4)-8) * d
		}
	}
}

// quantizeQ4_0 is quantize_row_q4_0_ref: d = max/-8 where max is the
// element of largest magnitude (first one on ties), q = min(15,
// trunc(x/d + 8.5)).
func quantizeQ4_0(dst []byte, src []float32) {
	nb := len(src) / qk4_0
	for i := 0; i < nb; i++ {
		x := src[i*qk4_0 : (i+1)*qk4_0 : (i+1)*qk4_0]
		y := dst[i*blockQ4_0Len : (i+1)*blockQ4_0Len : (i+1)*blockQ4_0Len]
		var amax, vmax float32
		for _, v := range x {
			if a := abs32(v); amax < a {
				amax, vmax = a, v
			}
		}
		d := vmax / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(y, d)
		qs := y[2:blockQ4_0Len]
		for j := range qs {
			x0 := float32(x[j] * id)
			x1 := float32(x[j+qk4_0/2] * id)
			q0 := min(15, int32(float32(x0+8.5)))
			q1 := min(15, int32(float32(x1+8.5)))
			qs[j] = byte(q0) | byte(q1)<<4
		}
	}
}

// vecDotQ4_0Q8_0 is ggml_vec_dot_q4_0_q8_0: per block the exact integer sum
// of (q_w-8)*q_a, scaled by d_w*d_a and accumulated in float32.
func vecDotQ4_0Q8_0(n int, w []byte, a []byte) float32 {
	return vecDotQ4_0Q8_0At(useAVX2, n, w, a)
}

// vecDotQ4_0Q8_0At is vecDotQ4_0Q8_0 with the AVX2 kernel when avx2 is set
// (the CPU must have it) and the portable code otherwise.
func vecDotQ4_0Q8_0At(avx2 bool, n int, w []byte, a []byte) float32 {
	nb := n / 32
	if avx2 && nb > 0 {
		w, a = w[:nb*blockQ4_0Len], a[:nb*blockQ8_0Len]
		return q4_0Q8_0DotAVX2(&w[0], &a[0], nb)
	}
	var sums [dotChunk]int32
	var sum float32
	for b0 := 0; b0 < nb; b0 += dotChunk {
		m := min(dotChunk, nb-b0)
		bw := w[b0*blockQ4_0Len:]
		ba := a[b0*blockQ8_0Len:]
		q4_0Q8_0Sums(sums[:m], bw, ba)
		for i, s := range sums[:m] {
			xw, xa := bw[i*blockQ4_0Len:], ba[i*blockQ8_0Len:]
			sum += float32(s) * float32(f16At(xw)*f16At(xa))
		}
	}
	return sum
}

// q4_0Q8_0Sums stores in out[i] the exact integer dot product of the quants of
// weight block i and activation block i (len(out) blocks), with AVX2 where
// the CPU has it.
func q4_0Q8_0Sums(out []int32, w, a []byte) {
	nb := len(out)
	w = w[:nb*blockQ4_0Len]
	a = a[:nb*blockQ8_0Len]
	if useAVX2 && nb > 0 {
		q4_0Q8_0SumsAVX2(&w[0], &a[0], nb, &out[0])
		return
	}
	q4_0Q8_0SumsGo(out, w, a)
}

// q4_0Q8_0SumsGo is the portable q4_0Q8_0Sums.
func q4_0Q8_0SumsGo(out []int32, w, a []byte) {
	for i := range out {
		bw := (*[blockQ4_0Len]byte)(w[i*blockQ4_0Len:])
		ba := (*[blockQ8_0Len]byte)(a[i*blockQ8_0Len:])
		var s0, s1 int32
		for j := 0; j < 16; j += 2 {
			v0, v1 := bw[2+j], bw[3+j]
			s0 += (int32(v0&0x0f)-8)*int32(int8(ba[2+j])) + (int32(v1&0x0f)-8)*int32(int8(ba[3+j]))
			s1 += (int32(v0>>4)-8)*int32(int8(ba[18+j])) + (int32(v1>>4)-8)*int32(int8(ba[19+j]))
		}
		out[i] = s0 + s1
	}
}

// fmaF32 returns x*y+z rounded once to float32. The float64 product is
// exact and TwoSum gives the float64 sum's rounding error; a float32
// rounding tie of that sum is broken toward the error's sign, which makes
// the result the correctly rounded one (finite, non-subnormal results).
func fmaF32(x, y, z float32) float32 {
	p := float64(x) * float64(y)
	zz := float64(z)
	s := p + zz
	bb := s - p
	e := (p - (s - bb)) + (zz - bb)
	if e != 0 {
		// A float32 tie in s has exactly the bit pattern 1 followed by
		// 28 zero bits below float32's mantissa.
		if bits := math.Float64bits(s); bits&(1<<29-1) == 1<<28 {
			s = math.Nextafter(s, math.Copysign(math.Inf(1), e))
		}
	}
	return float32(s)
}
