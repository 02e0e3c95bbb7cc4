package cpu

import (
	"encoding/binary"
	"math"

	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
)

// llama.cpp's CPU backend (ggml-cpu "repack" extra buffer type) stores Q4_0
// and Q4_K weights whose row count is a multiple of 8 interleaved eight rows
// at a time on x86 with AVX2 (q4_0_8x8 and q4_K_8x8), and multiplies them
// with ggml_gemv_q4_0_8x8_q8_0 / ggml_gemv_q4_K_8x8_q8_K when one token is
// evaluated. Those kernels round differently from the ordinary vec_dot
// kernels: every block's integer dot product is converted to float32 whole
// and accumulated with one fused multiply-add per block, in block order.
// The functions here compute the same arithmetic on the original row-major
// blocks (the interleaving only changes the memory layout).

// repackKind says which ggml repack kernel llama.cpp uses for a weight.
type repackKind uint8

const (
	repackNone repackKind = iota
	repackQ4_0
	repackQ4K
)

// repackFor returns the repack kernel llama.cpp picks for a weight of type
// t with rows rows (ggml_repack_get_optimal_repack_type on AVX2).
func repackFor(t gguf.TensorType, rows int) repackKind {
	if rows%8 != 0 {
		return repackNone
	}
	switch t {
	case gguf.TypeQ4_0:
		return repackQ4_0
	case gguf.TypeQ4_K:
		return repackQ4K
	}
	return repackNone
}

const (
	q4_0Bytes = 18  // fp16 d, 16 bytes of nibbles
	q8_0Bytes = 34  // fp16 d, 32 int8
	q4KBytes  = 144 // fp16 d, fp16 dmin, 12 bytes scales, 128 bytes nibbles
	q8KBytes  = 292 // float32 d, 256 int8, 16 int16 bsums
)

func f16At(b []byte) float32 { return quant.FP16ToFP32(binary.LittleEndian.Uint16(b)) }

// gemvQ4_0 sets dst[r] for rows r0..r1 of the Q4_0 matrix w (rb bytes a
// row, cols columns) times the Q8_0 activations a, like
// ggml_gemv_q4_0_8x8_q8_0 on AVX2: acc = fma(float(Σ q_w·q_a), d_w·d_a, acc)
// block after block.
func gemvQ4_0(dst []float32, w []byte, rb, cols int, a []byte, r0, r1 int) {
	nb := cols / 32
	for r := r0; r < r1; r++ {
		row := w[r*rb : r*rb+nb*q4_0Bytes]
		var acc float32
		for b := 0; b < nb; b++ {
			wb := row[b*q4_0Bytes : (b+1)*q4_0Bytes]
			ab := a[b*q8_0Bytes : (b+1)*q8_0Bytes]
			qs := ab[2:34]
			var isum int32
			for l, v := range wb[2:18] {
				isum += (int32(v&15) - 8) * int32(int8(qs[l]))
				isum += (int32(v>>4) - 8) * int32(int8(qs[l+16]))
			}
			acc = fma32(float32(isum), f16At(wb)*f16At(ab), acc)
		}
		dst[r] = acc
	}
}

// gemvQ4K is gemvQ4_0 for Q4_K weights and Q8_K activations, like
// ggml_gemv_q4_K_8x8_q8_K on AVX2: per super-block the scaled integer sums
// Σ_j sc_j·(Σ q_w·q_a) and Σ_j m_j·bsum_j are accumulated separately with
// fused multiply-adds by d·d_a and dmin·d_a, and subtracted at the end.
func gemvQ4K(dst []float32, w []byte, rb, cols int, a []byte, r0, r1 int) {
	nb := cols / 256
	for r := r0; r < r1; r++ {
		row := w[r*rb : r*rb+nb*q4KBytes]
		var acc, accMin float32
		for b := 0; b < nb; b++ {
			wb := row[b*q4KBytes : (b+1)*q4KBytes]
			ab := a[b*q8KBytes : (b+1)*q8KBytes]
			da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
			qa := ab[4 : 4+256]
			sc := wb[4:16]
			qw := wb[16:144]
			var isum, imin int32
			for j := 0; j < 8; j++ {
				s, m := scaleMin(j, sc)
				c := qw[(j/2)*32 : (j/2)*32+32]
				x := qa[j*32 : j*32+32]
				var sub int32
				for l, v := range c {
					q := int32(v & 15)
					if j%2 == 1 {
						q = int32(v >> 4)
					}
					sub += q * int32(int8(x[l]))
				}
				isum += int32(s) * sub
				bs := int32(int16(binary.LittleEndian.Uint16(ab[4+256+4*j:]))) +
					int32(int16(binary.LittleEndian.Uint16(ab[4+256+4*j+2:])))
				imin += int32(m) * bs
			}
			acc = fma32(float32(isum), f16At(wb)*da, acc)
			accMin = fma32(float32(imin), f16At(wb[2:])*da, accMin)
		}
		dst[r] = acc - accMin
	}
}

// scaleMin unpacks the j-th 6-bit scale and min of a Q4_K scales field.
func scaleMin(j int, q []byte) (s, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}
