package quant

import (
	"math"

	"github.com/hearthllm/hearth/gguf"
)

// Q8_1 block (block_q8_1): d (fp16), s = d*sum(q) (fp16), 32 int8 quants.
// It is the activation type for Q4_1 and Q5_1 weights; llama.cpp has no
// Q8_1 weights, so VecDot is nil.
const (
	qk8_1        = 32
	blockQ8_1Len = 4 + qk8_1
)

var q8_1Traits = Traits{
	Type:               gguf.TypeQ8_1,
	BlockSize:          qk8_1,
	TypeSize:           blockQ8_1Len,
	Dequantize:         dequantizeQ8_1,
	Quantize:           quantizeQ8_1,
	VecDotType:         gguf.TypeQ8_1,
	QuantizeActivation: quantizeActQ8_1,
}

func dequantizeQ8_1(dst []float32, src []byte) {
	nb := len(dst) / qk8_1
	for i := 0; i < nb; i++ {
		b := src[i*blockQ8_1Len : (i+1)*blockQ8_1Len : (i+1)*blockQ8_1Len]
		d := f16At(b)
		y := dst[i*qk8_1 : (i+1)*qk8_1 : (i+1)*qk8_1]
		q := b[4:blockQ8_1Len]
		for j := range y {
			y[j] = float32(int8(q[j])) * d
		}
	}
}

// quantizeQ8_1 is quantize_row_q8_1_ref: as Q8_0's reference plus
// s = fp16(sum(q)*d).
func quantizeQ8_1(dst []byte, src []float32) {
	nb := len(src) / qk8_1
	for i := 0; i < nb; i++ {
		x := src[i*qk8_1 : (i+1)*qk8_1 : (i+1)*qk8_1]
		y := dst[i*blockQ8_1Len : (i+1)*blockQ8_1Len : (i+1)*blockQ8_1Len]
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
		q := y[4:blockQ8_1Len]
		var sum int32
		for j, v := range x {
			qi := int8(math.Round(float64(float32(v * id))))
			q[j] = byte(qi)
			sum += int32(qi)
		}
		putF16(y[2:], float32(sum)*d)
	}
}

// quantizeActQ8_1 is ggml-cpu's AVX2 quantize_row_q8_1, used for activations:
// like quantizeActQ8_0, plus s = fp16(d*sum(q)).
func quantizeActQ8_1(dst []byte, src []float32) {
	nb := len(src) / qk8_1
	for i := 0; i < nb; i++ {
		x := src[i*qk8_1 : (i+1)*qk8_1 : (i+1)*qk8_1]
		y := dst[i*blockQ8_1Len : (i+1)*blockQ8_1Len : (i+1)*blockQ8_1Len]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		putF16(y, d)
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		q := y[4:blockQ8_1Len]
		var sum int32
		for j, v := range x {
			qi := roundActInt8(float32(v * id))
			q[j] = byte(qi)
			sum += int32(qi)
		}
		putF16(y[2:], d*float32(sum))
	}
}
