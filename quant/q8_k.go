package quant

import (
	"encoding/binary"
	"math"

	"github.com/hearthllm/hearth/gguf"
)

// q8_KTraits describes Q8_K. ggml has no Q8_K x Q8_K dot product, so VecDot is
// nil: Q8_K only ever appears as the activation side of the K-quants.
var q8_KTraits = Traits{
	Type:               gguf.TypeQ8_K,
	BlockSize:          qkK,
	TypeSize:           q8KBytes,
	Dequantize:         dequantizeQ8K,
	Quantize:           quantizeQ8K,
	VecDotType:         gguf.TypeQ8_K,
	QuantizeActivation: quantizeQ8K,
}

// Q8_K: the activation format of every K-quant dot product (block_q8_K).
// A block of 256 values is 292 bytes:
//
//	d      float32 (little-endian)  scale
//	qs     [256]int8                 quants, x ≈ d*q
//	bsums  [16]int16 (little-endian) sums of qs in groups of 16
const (
	q8KBytes     = 4 + qkK + 2*qkK/16
	q8KOffQS     = 4
	q8KOffBsums  = 4 + qkK
	q8KBlockSize = qkK
)

// quantizeQ8K quantizes src (len a multiple of 256) into Q8_K blocks in dst.
// ggml-cpu's quantize_row_q8_K is quantize_row_q8_K_ref on x86 (and
// everywhere but wasm), so this follows the reference: iscale = -127/max
// where max is the signed value of largest magnitude, q = min(127,
// nearest_int(iscale*x)), d = 1/iscale.
func quantizeQ8K(dst []byte, src []float32) {
	quantizeQ8KAt(useAVX2, dst, src)
}

// quantizeQ8KAt is quantizeQ8K with the AVX2 kernel when avx2 is set (the
// CPU must have it) and the portable code otherwise (the same bits for
// finite input).
func quantizeQ8KAt(avx2 bool, dst []byte, src []float32) {
	nb := len(src) / qkK
	if avx2 && nb > 0 {
		_ = dst[nb*q8KBytes-1]
		quantizeQ8KAVX2(&dst[0], &src[0], nb)
		return
	}
	for i := 0; i < nb; i++ {
		x := src[i*qkK : (i+1)*qkK]
		y := dst[i*q8KBytes : (i+1)*q8KBytes]
		var max, amax float32
		for _, v := range x {
			if ax := abs32(v); ax > amax {
				amax = ax
				max = v
			}
		}
		if amax == 0 {
			// The reference leaves bsums untouched here; zero them so the
			// block is well defined (they are all 0 for zero quants anyway).
			for k := range y {
				y[k] = 0
			}
			continue
		}
		iscale := -127 / max
		qs := y[q8KOffQS : q8KOffQS+qkK]
		for j, v := range x {
			q := nearestInt(iscale * v)
			if q > 127 {
				q = 127
			}
			qs[j] = byte(int8(q))
		}
		for j := 0; j < qkK/16; j++ {
			sum := 0
			for _, q := range qs[16*j : 16*j+16] {
				sum += int(int8(q))
			}
			binary.LittleEndian.PutUint16(y[q8KOffBsums+2*j:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(y[0:], math.Float32bits(1/iscale))
	}
}

// dequantizeQ8K expands Q8_K blocks: y = d*q.
func dequantizeQ8K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	for i := 0; i < nb; i++ {
		b := src[i*q8KBytes : (i+1)*q8KBytes]
		d := math.Float32frombits(binary.LittleEndian.Uint32(b))
		y := dst[i*qkK : (i+1)*qkK]
		for j, q := range b[q8KOffQS : q8KOffQS+qkK] {
			y[j] = d * float32(int8(q))
		}
	}
}

// q8KScale reads the float32 scale of a Q8_K block.
func q8KScale(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// q8KBsum reads the j-th group sum of a Q8_K block.
func q8KBsum(b []byte, j int) int32 {
	return int32(int16(binary.LittleEndian.Uint16(b[q8KOffBsums+2*j:])))
}
