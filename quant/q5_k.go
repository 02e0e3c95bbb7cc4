package quant

import "github.com/hearthllm/hearth/gguf"

var q5_KTraits = Traits{
	Type:               gguf.TypeQ5_K,
	BlockSize:          qkK,
	TypeSize:           q5KBytes,
	Dequantize:         dequantizeQ5K,
	Quantize:           quantizeQ5K,
	VecDotType:         gguf.TypeQ8_K,
	VecDot:             pickVecDot(vecDotQ5KQ8KAVX2, vecDotQ5KQ8K),
	QuantizeActivation: quantizeQ8K,
}

// Q5_K (block_q5_K): 256 values in 8 sub-blocks of 32, 176 bytes:
//
//	d       fp16       super-block scale of the sub-block scales
//	dmin    fp16       super-block scale of the sub-block mins
//	scales  [12]byte   8 6-bit scales and 8 6-bit mins (see scaleMinK4)
//	qh      [32]byte   5th bits: bit 2c of byte l is value 64c+l's,
//	                   bit 2c+1 is value 64c+32+l's
//	qs      [128]byte  low 4 bits, laid out as in Q4_K
//
// Value = d*sc[j]*q - dmin*m[j] for sub-block j, q in [0, 31].
const (
	q5KBytes     = 176
	q5KOffScales = 4
	q5KOffQH     = 16
	q5KOffQS     = 48
)

// quantizeQ5K is quantize_row_q5_K_ref: like Q4_K with 5-bit levels and the
// search parameters rmin -0.5, rdelta 0.1, 15 steps.
func quantizeQ5K(dst []byte, src []float32) {
	var (
		L       [qkK]uint8
		laux    [32]uint8
		weights [32]float32
		mins    [qkK / 32]float32
		scales  [qkK / 32]float32
	)
	nb := len(src) / qkK
	for i := 0; i < nb; i++ {
		x := src[i*qkK : (i+1)*qkK]
		y := dst[i*q5KBytes : (i+1)*q5KBytes]
		var maxScale, maxMin float32
		for j := 0; j < qkK/32; j++ {
			xs := x[32*j : 32*j+32]
			var sumX2 float32
			for _, v := range xs {
				sumX2 += float32(v * v)
			}
			avX := sqrt32(sumX2 / 32)
			for l, v := range xs {
				weights[l] = avX + abs32(v)
			}
			scales[j] = makeQKX2Quants(32, 31, xs, weights[:], L[32*j:32*j+32], laux[:], &mins[j], -0.5, 0.1, 15, false)
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		packKScales(y[q5KOffScales:q5KOffScales+12], scales[:], mins[:], maxScale, maxMin)
		putF16(y[0:], maxScale/63)
		putF16(y[2:], maxMin/63)
		requantizeK(x, L[:], y[0:], y[q5KOffScales:q5KOffScales+12], 31)

		qh := y[q5KOffQH : q5KOffQH+32]
		ql := y[q5KOffQS : q5KOffQS+128]
		for k := range qh {
			qh[k] = 0
		}
		m1, m2 := uint8(1), uint8(2)
		for c := 0; c < 4; c++ {
			for j := 0; j < 32; j++ {
				l1 := L[64*c+j]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				l2 := L[64*c+j+32]
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[32*c+j] = l1 | l2<<4
			}
			m1 <<= 2
			m2 <<= 2
		}
	}
}

// dequantizeQ5K is dequantize_row_q5_K.
func dequantizeQ5K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	for i := 0; i < nb; i++ {
		b := src[i*q5KBytes : (i+1)*q5KBytes]
		y := dst[i*qkK : (i+1)*qkK]
		d := f16At(b[0:])
		dmin := f16At(b[2:])
		sc := b[q5KOffScales : q5KOffScales+12]
		qh := b[q5KOffQH : q5KOffQH+32]
		qs := b[q5KOffQS : q5KOffQS+128]
		for c := 0; c < 4; c++ {
			s1, m1 := scaleMinK4(2*c, sc)
			s2, m2 := scaleMinK4(2*c+1, sc)
			d1, mm1 := d*float32(s1), dmin*float32(m1)
			d2, mm2 := d*float32(s2), dmin*float32(m2)
			q := qs[32*c : 32*c+32]
			y1 := y[64*c : 64*c+32]
			y2 := y[64*c+32 : 64*c+64]
			sh := uint(2 * c)
			for l := 0; l < 32; l++ {
				h := qh[l] >> sh
				y1[l] = float32(d1*float32(q[l]&0xf|(h&1)<<4)) - mm1
				y2[l] = float32(d2*float32(q[l]>>4|(h&2)<<3)) - mm2
			}
		}
	}
}

// vecDotQ5KQ8K is ggml_vec_dot_q5_K_q8_K, structured like vecDotQ4KQ8K.
func vecDotQ5KQ8K(n int, w []byte, a []byte) float32 {
	nb := n / qkK
	var sum, sumM float32
	for i := 0; i < nb; i++ {
		x := (*[q5KBytes]byte)(w[i*q5KBytes:])
		y := (*[q8KBytes]byte)(a[i*q8KBytes:])
		dy := q8KScale(y[:])
		d := dy * f16At(x[0:])
		dmin := dy * f16At(x[2:])
		sc := x[q5KOffScales : q5KOffScales+12]
		qh := (*[32]byte)(x[q5KOffQH:])
		var sumi, summ int32
		for c := 0; c < 4; c++ {
			s1, m1 := scaleMinK4(2*c, sc)
			s2, m2 := scaleMinK4(2*c+1, sc)
			summ += int32(m1)*(q8KBsum(y[:], 4*c)+q8KBsum(y[:], 4*c+1)) +
				int32(m2)*(q8KBsum(y[:], 4*c+2)+q8KBsum(y[:], 4*c+3))
			q := (*[32]byte)(x[q5KOffQS+32*c:])
			a1 := (*[32]byte)(y[q8KOffQS+64*c:])
			a2 := (*[32]byte)(y[q8KOffQS+64*c+32:])
			sh := uint(2 * c)
			var p1, p2 int32
			for l := 0; l < 32; l += 2 {
				h0, h1 := int32(qh[l]>>sh), int32(qh[l+1]>>sh)
				q0, q1 := int32(q[l]), int32(q[l+1])
				p1 += (q0&0xf|(h0&1)<<4)*int32(int8(a1[l])) + (q1&0xf|(h1&1)<<4)*int32(int8(a1[l+1]))
				p2 += (q0>>4|(h0&2)<<3)*int32(int8(a2[l])) + (q1>>4|(h1&2)<<3)*int32(int8(a2[l+1]))
			}
			sumi += int32(s1)*p1 + int32(s2)*p2
		}
		sum += d * float32(sumi)
		sumM -= dmin * float32(summ)
	}
	return sum + sumM
}

// vecDotQ5KQ8KAVX2 is ggml's AVX2 Q5_K dot product (q5KDotAVX2): its result
// equals llama.cpp's haswell build bit for bit and differs from
// vecDotQ5KQ8K only in float rounding order.
func vecDotQ5KQ8KAVX2(n int, w []byte, a []byte) float32 {
	nb := n / qkK
	if nb == 0 {
		return 0
	}
	_ = w[nb*q5KBytes-1]
	_ = a[nb*q8KBytes-1]
	return q5KDotAVX2(&w[0], &a[0], nb)
}
