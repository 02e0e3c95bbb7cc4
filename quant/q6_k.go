package quant

import "github.com/hearthllm/hearth/gguf"

var q6_KTraits = Traits{
	Type:               gguf.TypeQ6_K,
	BlockSize:          qkK,
	TypeSize:           q6KBytes,
	Dequantize:         dequantizeQ6K,
	Quantize:           quantizeQ6K,
	VecDotType:         gguf.TypeQ8_K,
	VecDot:             vecDotQ6KQ8K,
	QuantizeActivation: quantizeQ8K,
}

// Q6_K (block_q6_K): 256 values in 16 sub-blocks of 16, 210 bytes:
//
//	ql      [128]byte  low 4 bits: in half h (values 128h..128h+127), byte
//	                   64h+l holds value 128h+l (low nibble) and 128h+64+l
//	                   (high), byte 64h+32+l holds 128h+32+l and 128h+96+l
//	qh      [64]byte   high 2 bits: byte 32h+l holds, at bits 2k..2k+1,
//	                   value 128h+32k+l's
//	scales  [16]int8   per sub-block scale
//	d       fp16       scale of the scales
//
// Value = d*sc*(q - 32), q in [0, 63].
const (
	q6KBytes     = 210
	q6KOffQH     = 128
	q6KOffScales = 192
	q6KOffD      = 208
)

// quantizeQ6K is quantize_row_q6_K_ref: make_qx_quants (weights x^2) per
// sub-block of 16, 8-bit scales relative to the scale of largest magnitude,
// then a final rounding to [-32, 31] with the stored scales.
func quantizeQ6K(dst []byte, src []float32) {
	var (
		L      [qkK]int8
		scales [qkK / 16]float32
	)
	nb := len(src) / qkK
	for i := 0; i < nb; i++ {
		x := src[i*qkK : (i+1)*qkK]
		y := dst[i*q6KBytes : (i+1)*q6KBytes]
		var maxScale, maxAbsScale float32
		for ib := 0; ib < qkK/16; ib++ {
			scale := makeQXQuants(16, 32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = scale
			if a := abs32(scale); a > maxAbsScale {
				maxAbsScale = a
				maxScale = scale
			}
		}
		if maxAbsScale < groupMaxEps {
			for k := range y {
				y[k] = 0
			}
			continue
		}
		iscale := -128 / maxScale
		putF16(y[q6KOffD:], 1/iscale)
		sc := y[q6KOffScales : q6KOffScales+16]
		for ib := range sc {
			sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		dAll := f16At(y[q6KOffD:])
		for j := 0; j < qkK/16; j++ {
			d := dAll * float32(int8(sc[j]))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := nearestInt(x[16*j+ii] / d)
				L[16*j+ii] = int8(clampInt(l, -32, 31) + 32)
			}
		}
		ql := y[:128]
		qh := y[q6KOffQH : q6KOffQH+64]
		for h := 0; h < 2; h++ {
			j := 128 * h
			for l := 0; l < 32; l++ {
				q1 := uint8(L[j+l]) & 0xf
				q2 := uint8(L[j+l+32]) & 0xf
				q3 := uint8(L[j+l+64]) & 0xf
				q4 := uint8(L[j+l+96]) & 0xf
				ql[64*h+l] = q1 | q3<<4
				ql[64*h+l+32] = q2 | q4<<4
				qh[32*h+l] = uint8(L[j+l])>>4 | (uint8(L[j+l+32])>>4)<<2 |
					(uint8(L[j+l+64])>>4)<<4 | (uint8(L[j+l+96])>>4)<<6
			}
		}
	}
}

// dequantizeQ6K is dequantize_row_q6_K: y = d*sc*(q-32), evaluated as
// (d*sc)*q like the C expression.
func dequantizeQ6K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	for i := 0; i < nb; i++ {
		b := src[i*q6KBytes : (i+1)*q6KBytes]
		y := dst[i*qkK : (i+1)*qkK]
		d := f16At(b[q6KOffD:])
		for h := 0; h < 2; h++ {
			ql := b[64*h : 64*h+64]
			qh := b[q6KOffQH+32*h : q6KOffQH+32*h+32]
			sc := b[q6KOffScales+8*h : q6KOffScales+8*h+8]
			yy := y[128*h : 128*h+128]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int(ql[l]&0xf|((qh[l]>>0)&3)<<4) - 32
				q2 := int(ql[l+32]&0xf|((qh[l]>>2)&3)<<4) - 32
				q3 := int(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
				q4 := int(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
				yy[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				yy[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				yy[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				yy[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
		}
	}
}

// vecDotQ6KQ8K is ggml_vec_dot_q6_K_q8_K: per sub-block the exact integer sum
// of q*a minus 32 times the Q8_K group sum (as the AVX2 kernel does), weighted
// by the signed scales; each block adds d_a*d_w*isum.
func vecDotQ6KQ8K(n int, w []byte, a []byte) float32 {
	nb := n / qkK
	var sum float32
	for i := 0; i < nb; i++ {
		x := w[i*q6KBytes : (i+1)*q6KBytes]
		y := a[i*q8KBytes : (i+1)*q8KBytes]
		q8 := y[q8KOffQS : q8KOffQS+qkK]
		var isum int32
		for h := 0; h < 2; h++ {
			ql := x[64*h : 64*h+64]
			qh := x[q6KOffQH+32*h : q6KOffQH+32*h+32]
			sc := x[q6KOffScales+8*h : q6KOffScales+8*h+8]
			a8 := q8[128*h : 128*h+128]
			// p[k][half]: sums for the sub-block of values 128h+32k+16*half+l.
			var p [4][2]int32
			for half := 0; half < 2; half++ {
				for l := 16 * half; l < 16*half+16; l++ {
					hb := qh[l]
					p[0][half] += int32(ql[l]&0xf|(hb&3)<<4) * int32(int8(a8[l]))
					p[1][half] += int32(ql[l+32]&0xf|((hb>>2)&3)<<4) * int32(int8(a8[l+32]))
					p[2][half] += int32(ql[l]>>4|((hb>>4)&3)<<4) * int32(int8(a8[l+64]))
					p[3][half] += int32(ql[l+32]>>4|((hb>>6)&3)<<4) * int32(int8(a8[l+96]))
				}
			}
			for k := 0; k < 4; k++ {
				for half := 0; half < 2; half++ {
					g := 8*h + 2*k + half
					isum += int32(int8(sc[2*k+half])) * (p[k][half] - 32*q8KBsum(y, g))
				}
			}
		}
		d := f16At(x[q6KOffD:]) * q8KScale(y)
		sum += d * float32(isum)
	}
	return sum
}
