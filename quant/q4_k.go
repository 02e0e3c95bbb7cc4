package quant

import "github.com/hearthllm/hearth/gguf"

var q4_KTraits = Traits{
	Type:               gguf.TypeQ4_K,
	BlockSize:          qkK,
	TypeSize:           q4KBytes,
	Dequantize:         dequantizeQ4K,
	Quantize:           quantizeQ4K,
	VecDotType:         gguf.TypeQ8_K,
	VecDot:             pickVecDot(vecDotQ4KQ8KAVX2, vecDotQ4KQ8K),
	QuantizeActivation: quantizeQ8K,
}

// Q4_K (block_q4_K): 256 values in 8 sub-blocks of 32, 144 bytes:
//
//	d       fp16       super-block scale of the sub-block scales
//	dmin    fp16       super-block scale of the sub-block mins
//	scales  [12]byte   8 6-bit scales and 8 6-bit mins (see scaleMinK4)
//	qs      [128]byte  4-bit quants; byte l of 32-byte chunk c holds value
//	                   64c+l in its low nibble and 64c+32+l in its high one
//
// Value = d*sc[j]*q - dmin*m[j] for sub-block j.
const (
	q4KBytes     = 144
	q4KOffScales = 4
	q4KOffQS     = 16
)

// quantizeQ4K is quantize_row_q4_K_ref: per sub-block make_qkx2_quants with
// weights av_x + |x| (av_x the RMS of the sub-block), then 6-bit scales and
// mins relative to their maxima, then a final rounding of every value with
// the stored (fp16-rounded) scales.
func quantizeQ4K(dst []byte, src []float32) {
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
		y := dst[i*q4KBytes : (i+1)*q4KBytes]
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
			scales[j] = makeQKX2Quants(32, 15, xs, weights[:], L[32*j:32*j+32], laux[:], &mins[j], -1, 0.1, 20, false)
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		packKScales(y[q4KOffScales:q4KOffScales+12], scales[:], mins[:], maxScale, maxMin)
		putF16(y[0:], maxScale/63)
		putF16(y[2:], maxMin/63)
		requantizeK(x, L[:], y[0:], y[q4KOffScales:q4KOffScales+12], 15)

		qs := y[q4KOffQS : q4KOffQS+128]
		for c := 0; c < 4; c++ {
			for l := 0; l < 32; l++ {
				qs[32*c+l] = L[64*c+l] | L[64*c+l+32]<<4
			}
		}
	}
}

// packKScales quantizes the 8 sub-block scales and mins of a Q4_K/Q5_K block
// to 6 bits relative to maxScale/63 and maxMin/63 and packs them into the
// 12-byte field q (the shared middle part of quantize_row_q{4,5}_K_ref).
func packKScales(q []byte, scales, mins []float32, maxScale, maxMin float32) {
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	for k := range q[:12] {
		q[k] = 0
	}
	for j := 0; j < qkK/32; j++ {
		// The C code stores nearest_int into a uint8_t before MIN(63, .).
		ls := uint8(nearestInt(invScale * scales[j]))
		lm := uint8(nearestInt(invMin * mins[j]))
		ls = min(63, ls)
		lm = min(63, lm)
		packScaleMinK4(j, q, ls, lm)
	}
}

// requantizeK recomputes the levels of a Q4_K/Q5_K block (x, 256 values) from
// the stored fp16 d/dmin (at dm[0:4]) and 6-bit scales: l = nearest_int((x +
// dmin*m)/(d*sc)) clamped to [0, nmax]. Sub-blocks whose d*sc is zero keep
// the levels the search left in L.
func requantizeK(x []float32, L []uint8, dm, scales []byte, nmax int) {
	d0 := f16At(dm[0:])
	dmin0 := f16At(dm[2:])
	for j := 0; j < qkK/32; j++ {
		sc, m := scaleMinK4(j, scales)
		d := d0 * float32(sc)
		if d == 0 {
			continue
		}
		dmv := float32(dmin0 * float32(m))
		for ii := 0; ii < 32; ii++ {
			l := nearestInt((x[32*j+ii] + dmv) / d)
			L[32*j+ii] = uint8(clampInt(l, 0, nmax))
		}
	}
}

// dequantizeQ4K is dequantize_row_q4_K.
func dequantizeQ4K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	for i := 0; i < nb; i++ {
		b := src[i*q4KBytes : (i+1)*q4KBytes]
		y := dst[i*qkK : (i+1)*qkK]
		d := f16At(b[0:])
		dmin := f16At(b[2:])
		sc := b[q4KOffScales : q4KOffScales+12]
		qs := b[q4KOffQS : q4KOffQS+128]
		for c := 0; c < 4; c++ {
			s1, m1 := scaleMinK4(2*c, sc)
			s2, m2 := scaleMinK4(2*c+1, sc)
			d1, mm1 := d*float32(s1), dmin*float32(m1)
			d2, mm2 := d*float32(s2), dmin*float32(m2)
			q := qs[32*c : 32*c+32]
			y1 := y[64*c : 64*c+32]
			y2 := y[64*c+32 : 64*c+64]
			for l := 0; l < 32; l++ {
				y1[l] = float32(d1*float32(q[l]&0xf)) - mm1
				y2[l] = float32(d2*float32(q[l]>>4)) - mm2
			}
		}
	}
}

// vecDotQ4KQ8K is ggml_vec_dot_q4_K_q8_K: per block the products of quants
// are summed exactly in integers per sub-block and weighted by the 6-bit
// scales; the mins use the Q8_K group sums. Each block contributes
// d_a*d_w*sumi - d_a*dmin_w*summ in float32.
func vecDotQ4KQ8K(n int, w []byte, a []byte) float32 {
	nb := n / qkK
	var sum, sumM float32
	for i := 0; i < nb; i++ {
		x := (*[q4KBytes]byte)(w[i*q4KBytes:])
		y := (*[q8KBytes]byte)(a[i*q8KBytes:])
		dy := q8KScale(y[:])
		d := dy * f16At(x[0:])
		dmin := dy * f16At(x[2:])
		sc := x[q4KOffScales : q4KOffScales+12]
		var sumi, summ int32
		for c := 0; c < 4; c++ {
			s1, m1 := scaleMinK4(2*c, sc)
			s2, m2 := scaleMinK4(2*c+1, sc)
			summ += int32(m1)*(q8KBsum(y[:], 4*c)+q8KBsum(y[:], 4*c+1)) +
				int32(m2)*(q8KBsum(y[:], 4*c+2)+q8KBsum(y[:], 4*c+3))
			q := (*[32]byte)(x[q4KOffQS+32*c:])
			a1 := (*[32]byte)(y[q8KOffQS+64*c:])
			a2 := (*[32]byte)(y[q8KOffQS+64*c+32:])
			var p1, p2 int32
			for l := 0; l < 32; l += 4 {
				q0, q1, q2, q3 := int32(q[l]), int32(q[l+1]), int32(q[l+2]), int32(q[l+3])
				p1 += (q0&0xf)*int32(int8(a1[l])) + (q1&0xf)*int32(int8(a1[l+1])) +
					(q2&0xf)*int32(int8(a1[l+2])) + (q3&0xf)*int32(int8(a1[l+3]))
				p2 += (q0>>4)*int32(int8(a2[l])) + (q1>>4)*int32(int8(a2[l+1])) +
					(q2>>4)*int32(int8(a2[l+2])) + (q3>>4)*int32(int8(a2[l+3]))
			}
			sumi += int32(s1)*p1 + int32(s2)*p2
		}
		sum += d * float32(sumi)
		sumM -= dmin * float32(summ)
	}
	return sum + sumM
}

// vecDotQ4KQ8KAVX2 is ggml's AVX2 Q4_K dot product (q4KDotAVX2): its result
// equals llama.cpp's haswell build bit for bit and differs from
// vecDotQ4KQ8K only in float rounding order.
func vecDotQ4KQ8KAVX2(n int, w []byte, a []byte) float32 {
	nb := n / qkK
	if nb == 0 {
		return 0
	}
	_ = w[nb*q4KBytes-1]
	_ = a[nb*q8KBytes-1]
	return q4KDotAVX2(&w[0], &a[0], nb)
}
