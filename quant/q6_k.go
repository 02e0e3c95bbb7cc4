package quant

import "github.com/hearthllm/hearth/gguf"

var q6_KTraits = Traits{
	Type:               gguf.TypeQ6_K,
	BlockSize:          qkK,
	TypeSize:           q6KBytes,
	Dequantize:         dequantizeQ6K,
	Quantize:           quantizeQ6K,
	VecDotType:         gguf.TypeQ8_K,
	VecDot:             pickVecDot(vecDotQ6KQ8KAVX2, vecDotQ6KQ8K),
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
		x := (*[q6KBytes]byte)(w[i*q6KBytes:])
		y := (*[q8KBytes]byte)(a[i*q8KBytes:])
		var isum int32
		for h := 0; h < 2; h++ {
			ql := (*[64]byte)(x[64*h:])
			qh := (*[32]byte)(x[q6KOffQH+32*h:])
			sc := (*[8]byte)(x[q6KOffScales+8*h:])
			a8 := (*[128]byte)(y[q8KOffQS+128*h:])
			for half := 0; half < 2; half++ {
				var p0, p1, p2, p3 int32
				for l := 16 * half; l < 16*half+16; l++ {
					hb := int32(qh[l])
					lo, hi := int32(ql[l]), int32(ql[l+32])
					p0 += (lo&0xf | (hb&3)<<4) * int32(int8(a8[l]))
					p1 += (hi&0xf | (hb&0xc)<<2) * int32(int8(a8[l+32]))
					p2 += (lo>>4 | (hb & 0x30)) * int32(int8(a8[l+64]))
					p3 += (hi>>4 | (hb&0xc0)>>2) * int32(int8(a8[l+96]))
				}
				g := 8*h + half
				isum += int32(int8(sc[half]))*(p0-32*q8KBsum(y[:], g)) +
					int32(int8(sc[2+half]))*(p1-32*q8KBsum(y[:], g+2)) +
					int32(int8(sc[4+half]))*(p2-32*q8KBsum(y[:], g+4)) +
					int32(int8(sc[6+half]))*(p3-32*q8KBsum(y[:], g+6))
			}
		}
		d := f16At(x[q6KOffD:]) * q8KScale(y[:])
		sum += d * float32(isum)
	}
	return sum
}

// vecDotQ6KQ8KAVX2 is ggml's AVX2 Q6_K dot product (q6KDotAVX2): its result
// equals llama.cpp's haswell build bit for bit and differs from
// vecDotQ6KQ8K only in float rounding order.
func vecDotQ6KQ8KAVX2(n int, w []byte, a []byte) float32 {
	nb := n / qkK
	if nb == 0 {
		return 0
	}
	_ = w[nb*q6KBytes-1]
	_ = a[nb*q8KBytes-1]
	return q6KDotAVX2(&w[0], &a[0], nb)
}
