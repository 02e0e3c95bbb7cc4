package quant

import (
	"encoding/binary"

	"github.com/hearthllm/hearth/gguf"
)

// Q5_0 block (block_q5_0): d (fp16), qh (32 bits, little endian: bit j is
// bit 4 of element j), then 16 bytes of low nibbles laid out as in Q4_0;
// x = (q-16)*d.
const (
	qk5_0        = 32
	blockQ5_0Len = 2 + 4 + qk5_0/2
)

var q5_0Traits = Traits{
	Type:               gguf.TypeQ5_0,
	BlockSize:          qk5_0,
	TypeSize:           blockQ5_0Len,
	Dequantize:         dequantizeQ5_0,
	Quantize:           quantizeQ5_0,
	VecDotType:         gguf.TypeQ8_0,
	VecDot:             vecDotQ5_0Q8_0,
	QuantizeActivation: quantizeActQ8_0,
}

func dequantizeQ5_0(dst []float32, src []byte) {
	nb := len(dst) / qk5_0
	for i := 0; i < nb; i++ {
		b := src[i*blockQ5_0Len : (i+1)*blockQ5_0Len : (i+1)*blockQ5_0Len]
		d := f16At(b)
		qh := binary.LittleEndian.Uint32(b[2:6])
		y := dst[i*qk5_0 : (i+1)*qk5_0 : (i+1)*qk5_0]
		qs := b[6:blockQ5_0Len]
		for j, v := range qs {
			h0 := int32(qh>>j&1) << 4
			h1 := int32(qh>>(j+16)&1) << 4
			y[j] = float32(int32(v&0x0f)|h0-16) * d
			y[j+qk5_0/2] = float32(int32(v>>4)|h1-16) * d
		}
	}
}

// quantizeQ5_0 is quantize_row_q5_0_ref: d = max/-16 where max is the
// element of largest magnitude, q = min(31, trunc(x/d + 16.5)).
func quantizeQ5_0(dst []byte, src []float32) {
	nb := len(src) / qk5_0
	for i := 0; i < nb; i++ {
		x := src[i*qk5_0 : (i+1)*qk5_0 : (i+1)*qk5_0]
		y := dst[i*blockQ5_0Len : (i+1)*blockQ5_0Len : (i+1)*blockQ5_0Len]
		var amax, vmax float32
		for _, v := range x {
			if a := abs32(v); amax < a {
				amax, vmax = a, v
			}
		}
		d := vmax / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(y, d)
		qs := y[6:blockQ5_0Len]
		var qh uint32
		for j := range qs {
			x0 := float32(x[j] * id)
			x1 := float32(x[j+qk5_0/2] * id)
			q0 := uint32(min(31, int32(float32(x0+16.5))))
			q1 := uint32(min(31, int32(float32(x1+16.5))))
			qs[j] = byte(q0&0x0f) | byte(q1&0x0f)<<4
			qh |= (q0 >> 4) << j
			qh |= (q1 >> 4) << (j + qk5_0/2)
		}
		binary.LittleEndian.PutUint32(y[2:6], qh)
	}
}

// vecDotQ5_0Q8_0 is ggml_vec_dot_q5_0_q8_0: per block the exact integer sum
// of (q_w-16)*q_a, scaled by d_w*d_a and accumulated in float32.
func vecDotQ5_0Q8_0(n int, w []byte, a []byte) float32 {
	return vecDotQ5_0Q8_0At(useAVX2, n, w, a)
}

// vecDotQ5_0Q8_0At is vecDotQ5_0Q8_0 with the AVX2 kernel when avx2 is set
// (the CPU must have it) and the portable code otherwise.
func vecDotQ5_0Q8_0At(avx2 bool, n int, w []byte, a []byte) float32 {
	nb := n / 32
	if avx2 && nb > 0 {
		w, a = w[:nb*blockQ5_0Len], a[:nb*blockQ8_0Len]
		return q5_0Q8_0DotAVX2(&w[0], &a[0], nb)
	}
	var sums [dotChunk]int32
	var sum float32
	for b0 := 0; b0 < nb; b0 += dotChunk {
		m := min(dotChunk, nb-b0)
		bw := w[b0*blockQ5_0Len:]
		ba := a[b0*blockQ8_0Len:]
		q5_0Q8_0Sums(sums[:m], bw, ba)
		for i, s := range sums[:m] {
			xw, xa := bw[i*blockQ5_0Len:], ba[i*blockQ8_0Len:]
			sum += float32(s) * float32(f16At(xw)*f16At(xa))
		}
	}
	return sum
}

// q5_0Q8_0Sums stores in out[i] the exact integer dot product of the quants of
// weight block i and activation block i (len(out) blocks), with AVX2 where
// the CPU has it.
func q5_0Q8_0Sums(out []int32, w, a []byte) {
	nb := len(out)
	w = w[:nb*blockQ5_0Len]
	a = a[:nb*blockQ8_0Len]
	if useAVX2 && nb > 0 {
		q5_0Q8_0SumsAVX2(&w[0], &a[0], nb, &out[0])
		return
	}
	q5_0Q8_0SumsGo(out, w, a)
}

// q5_0Q8_0SumsGo is the portable q5_0Q8_0Sums.
func q5_0Q8_0SumsGo(out []int32, w, a []byte) {
	for i := range out {
		bw := (*[blockQ5_0Len]byte)(w[i*blockQ5_0Len:])
		ba := (*[blockQ8_0Len]byte)(a[i*blockQ8_0Len:])
		qh := binary.LittleEndian.Uint32(bw[2:6])
		lo, hi := qh, qh>>16 // bit 0: bit 4 of the next low / high element
		var s0, s1 int32
		for j := 0; j < 16; j++ {
			v := bw[6+j]
			q0 := int32(v&0x0f|byte(lo&1)<<4) - 16
			q1 := int32(v>>4|byte(hi&1)<<4) - 16
			lo >>= 1
			hi >>= 1
			s0 += q0 * int32(int8(ba[2+j]))
			s1 += q1 * int32(int8(ba[18+j]))
		}
		out[i] = s0 + s1
	}
}
