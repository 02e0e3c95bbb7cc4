package quant

import (
	"encoding/binary"

	"github.com/hearthllm/hearth/gguf"
)

// Q5_1 block (block_q5_1): d (fp16), m (fp16), qh (32 bits as in Q5_0), then
// 16 bytes of low nibbles; x = q*d + m.
const (
	qk5_1        = 32
	blockQ5_1Len = 4 + 4 + qk5_1/2
)

var q5_1Traits = Traits{
	Type:               gguf.TypeQ5_1,
	BlockSize:          qk5_1,
	TypeSize:           blockQ5_1Len,
	Dequantize:         dequantizeQ5_1,
	Quantize:           quantizeQ5_1,
	VecDotType:         gguf.TypeQ8_1,
	VecDot:             vecDotQ5_1Q8_1,
	QuantizeActivation: quantizeActQ8_1,
}

func dequantizeQ5_1(dst []float32, src []byte) {
	nb := len(dst) / qk5_1
	for i := 0; i < nb; i++ {
		b := src[i*blockQ5_1Len : (i+1)*blockQ5_1Len : (i+1)*blockQ5_1Len]
		d := f16At(b)
		m := f16At(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:8])
		y := dst[i*qk5_1 : (i+1)*qk5_1 : (i+1)*qk5_1]
		qs := b[8:blockQ5_1Len]
		for j, v := range qs {
			h0 := uint32(qh>>j&1) << 4
			h1 := uint32(qh>>(j+16)&1) << 4
			y[j] = float32(float32(uint32(v&0x0f)|h0)*d) + m
			y[j+qk5_1/2] = float32(float32(uint32(v>>4)|h1)*d) + m
		}
	}
}

// quantizeQ5_1 is quantize_row_q5_1_ref: d = (max-min)/31, m = min,
// q = trunc((x-min)/d + 0.5) (no clamp, like ggml).
func quantizeQ5_1(dst []byte, src []float32) {
	nb := len(src) / qk5_1
	for i := 0; i < nb; i++ {
		x := src[i*qk5_1 : (i+1)*qk5_1 : (i+1)*qk5_1]
		y := dst[i*blockQ5_1Len : (i+1)*blockQ5_1Len : (i+1)*blockQ5_1Len]
		vmin, vmax := minMax(x)
		d := (vmax - vmin) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(y, d)
		putF16(y[2:], vmin)
		qs := y[8:blockQ5_1Len]
		var qh uint32
		for j := range qs {
			x0 := float32((x[j] - vmin) * id)
			x1 := float32((x[j+qk5_1/2] - vmin) * id)
			q0 := uint32(uint8(int32(float32(x0 + 0.5))))
			q1 := uint32(uint8(int32(float32(x1 + 0.5))))
			qs[j] = byte(q0&0x0f) | byte(q1&0x0f)<<4
			qh |= (q0 >> 4 & 1) << j
			qh |= (q1 >> 4 & 1) << (j + qk5_1/2)
		}
		binary.LittleEndian.PutUint32(y[4:8], qh)
	}
}

// vecDotQ5_1Q8_1 is ggml_vec_dot_q5_1_q8_1: like vecDotQ4_1Q8_1 with 5-bit
// quants.
func vecDotQ5_1Q8_1(n int, w []byte, a []byte) float32 {
	return vecDotQ5_1Q8_1At(useAVX2, n, w, a)
}

// vecDotQ5_1Q8_1At is vecDotQ5_1Q8_1 with the AVX2 kernel when avx2 is set
// (the CPU must have it) and the portable code otherwise.
func vecDotQ5_1Q8_1At(avx2 bool, n int, w []byte, a []byte) float32 {
	nb := n / 32
	if avx2 && nb > 0 {
		w, a = w[:nb*blockQ5_1Len], a[:nb*blockQ8_1Len]
		return q5_1Q8_1DotAVX2(&w[0], &a[0], nb)
	}
	var sums [dotChunk]int32
	var sum, summs float32
	for b0 := 0; b0 < nb; b0 += dotChunk {
		m := min(dotChunk, nb-b0)
		bw := w[b0*blockQ5_1Len:]
		ba := a[b0*blockQ8_1Len:]
		q5_1Q8_1Sums(sums[:m], bw, ba)
		for i, s := range sums[:m] {
			xw, xa := bw[i*blockQ5_1Len:], ba[i*blockQ8_1Len:]
			summs += float32(f16At(xw[2:]) * f16At(xa[2:]))
			sum += float32(s) * float32(f16At(xw)*f16At(xa))
		}
	}
	return sum + summs
}

// q5_1Q8_1Sums stores in out[i] the exact integer dot product of the quants of
// weight block i and activation block i (len(out) blocks), with AVX2 where
// the CPU has it.
func q5_1Q8_1Sums(out []int32, w, a []byte) {
	nb := len(out)
	w = w[:nb*blockQ5_1Len]
	a = a[:nb*blockQ8_1Len]
	if useAVX2 && nb > 0 {
		q5_1Q8_1SumsAVX2(&w[0], &a[0], nb, &out[0])
		return
	}
	q5_1Q8_1SumsGo(out, w, a)
}

// q5_1Q8_1SumsGo is the portable q5_1Q8_1Sums.
func q5_1Q8_1SumsGo(out []int32, w, a []byte) {
	for i := range out {
		bw := (*[blockQ5_1Len]byte)(w[i*blockQ5_1Len:])
		ba := (*[blockQ8_1Len]byte)(a[i*blockQ8_1Len:])
		qh := binary.LittleEndian.Uint32(bw[4:8])
		lo, hi := qh, qh>>16
		var s0, s1 int32
		for j := 0; j < 16; j++ {
			v := bw[8+j]
			q0 := int32(v&0x0f | byte(lo&1)<<4)
			q1 := int32(v>>4 | byte(hi&1)<<4)
			lo >>= 1
			hi >>= 1
			s0 += q0 * int32(int8(ba[4+j]))
			s1 += q1 * int32(int8(ba[20+j]))
		}
		out[i] = s0 + s1
	}
}
