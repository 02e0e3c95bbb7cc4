package quant

import "github.com/hearthllm/hearth/gguf"

var q2_KTraits = Traits{
	Type:               gguf.TypeQ2_K,
	BlockSize:          qkK,
	TypeSize:           q2KBytes,
	Dequantize:         dequantizeQ2K,
	Quantize:           quantizeQ2K,
	VecDotType:         gguf.TypeQ8_K,
	VecDot:             pickVecDot(vecDotQ2KQ8KAVX2, vecDotQ2KQ8K),
	QuantizeActivation: quantizeQ8K,
}

// Q2_K (block_q2_K): 256 values in 16 sub-blocks of 16, 84 bytes:
//
//	scales  [16]byte  per sub-block: low nibble scale, high nibble min
//	qs      [64]byte  2-bit quants; byte 32h+16k+l holds, at bits 2s..2s+1,
//	                  value 128h+32s+16k+l
//	d       fp16      scale of the 4-bit scales
//	dmin    fp16      scale of the 4-bit mins
//
// Value = d*(sc&15)*q - dmin*(sc>>4), q in [0, 3].
const (
	q2KBytes    = 84
	q2KOffQS    = 16
	q2KOffD     = 80
	q2KOffDmin  = 82
	q2KQ4Scale  = 15
	q2KSubBlock = 16
)

// quantizeQ2K is quantize_row_q2_K_ref: make_qkx2_quants per sub-block of 16
// with weights |x| and mean absolute error (rmin -0.5, rdelta 0.1, 15 steps),
// 4-bit scales and mins relative to their maxima, then a final rounding with
// the stored scales.
func quantizeQ2K(dst []byte, src []float32) {
	var (
		L       [qkK]uint8
		laux    [16]uint8
		weights [16]float32
		mins    [qkK / 16]float32
		scales  [qkK / 16]float32
	)
	nb := len(src) / qkK
	for i := 0; i < nb; i++ {
		x := src[i*qkK : (i+1)*qkK]
		y := dst[i*q2KBytes : (i+1)*q2KBytes]
		var maxScale, maxMin float32
		for j := 0; j < qkK/16; j++ {
			xs := x[16*j : 16*j+16]
			for l, v := range xs {
				weights[l] = abs32(v)
			}
			scales[j] = makeQKX2Quants(16, 3, xs, weights[:], L[16*j:16*j+16], laux[:], &mins[j], -0.5, 0.1, 15, true)
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		sc := y[:16]
		if maxScale > 0 {
			iscale := q2KQ4Scale / maxScale
			for j := range sc {
				sc[j] = uint8(nearestInt(iscale * scales[j]))
			}
			putF16(y[q2KOffD:], maxScale/q2KQ4Scale)
		} else {
			for j := range sc {
				sc[j] = 0
			}
			putF16(y[q2KOffD:], 0)
		}
		if maxMin > 0 {
			iscale := q2KQ4Scale / maxMin
			for j := range sc {
				l := nearestInt(iscale * mins[j])
				sc[j] |= uint8(l << 4)
			}
			putF16(y[q2KOffDmin:], maxMin/q2KQ4Scale)
		} else {
			putF16(y[q2KOffDmin:], 0)
		}
		dAll := f16At(y[q2KOffD:])
		dminAll := f16At(y[q2KOffDmin:])
		for j := 0; j < qkK/16; j++ {
			d := dAll * float32(sc[j]&0xf)
			if d == 0 {
				continue
			}
			dm := float32(dminAll * float32(sc[j]>>4))
			for ii := 0; ii < 16; ii++ {
				l := nearestInt((x[16*j+ii] + dm) / d)
				L[16*j+ii] = uint8(clampInt(l, 0, 3))
			}
		}
		qs := y[q2KOffQS : q2KOffQS+64]
		for h := 0; h < 2; h++ {
			for l := 0; l < 32; l++ {
				j := 128 * h
				qs[32*h+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
			}
		}
	}
}

// dequantizeQ2K is dequantize_row_q2_K.
func dequantizeQ2K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	for i := 0; i < nb; i++ {
		b := src[i*q2KBytes : (i+1)*q2KBytes]
		y := dst[i*qkK : (i+1)*qkK]
		d := f16At(b[q2KOffD:])
		dmin := f16At(b[q2KOffDmin:])
		sc := b[:16]
		qs := b[q2KOffQS : q2KOffQS+64]
		for g := 0; g < 16; g++ { // sub-block g = values 16g..16g+15
			h, s, k := g/8, uint((g%8)/2)*2, g%2
			dl := d * float32(sc[g]&0xf)
			ml := dmin * float32(sc[g]>>4)
			q := qs[32*h+16*k : 32*h+16*k+16]
			yy := y[16*g : 16*g+16]
			for l := 0; l < 16; l++ {
				yy[l] = float32(dl*float32((q[l]>>s)&3)) - ml
			}
		}
	}
}

// vecDotQ2KQ8K is ggml_vec_dot_q2_K_q8_K: exact integer sums per sub-block
// weighted by the 4-bit scales; the mins use the Q8_K group sums; each block
// adds d_a*d_w*isum - d_a*dmin_w*summs in float32.
func vecDotQ2KQ8K(n int, w []byte, a []byte) float32 {
	nb := n / qkK
	var sum float32
	for i := 0; i < nb; i++ {
		x := (*[q2KBytes]byte)(w[i*q2KBytes:])
		y := (*[q8KBytes]byte)(a[i*q8KBytes:])
		sc := (*[16]byte)(x[:16])
		var summs, isum int32
		for g := 0; g < 16; g++ {
			summs += q8KBsum(y[:], g) * int32(sc[g]>>4)
		}
		for h := 0; h < 2; h++ {
			q := (*[32]byte)(x[q2KOffQS+32*h:])
			for s := 0; s < 4; s++ {
				sh := uint(2 * s)
				a8 := (*[32]byte)(y[q8KOffQS+128*h+32*s:])
				var p0, p1 int32
				for l := 0; l < 16; l += 2 {
					p0 += int32(int8(a8[l]))*int32((q[l]>>sh)&3) + int32(int8(a8[l+1]))*int32((q[l+1]>>sh)&3)
					p1 += int32(int8(a8[l+16]))*int32((q[l+16]>>sh)&3) + int32(int8(a8[l+17]))*int32((q[l+17]>>sh)&3)
				}
				g := 8*h + 2*s
				isum += int32(sc[g]&0xf)*p0 + int32(sc[g+1]&0xf)*p1
			}
		}
		dy := q8KScale(y[:])
		dall := dy * f16At(x[q2KOffD:])
		dmin := dy * f16At(x[q2KOffDmin:])
		sum += float32(dall*float32(isum)) - float32(dmin*float32(summs))
	}
	return sum
}

// vecDotQ2KQ8KAVX2 is ggml's AVX2 Q2_K dot product (q2KDotAVX2): its result
// equals llama.cpp's haswell build bit for bit and differs from
// vecDotQ2KQ8K only in float rounding order.
func vecDotQ2KQ8KAVX2(n int, w []byte, a []byte) float32 {
	nb := n / qkK
	if nb == 0 {
		return 0
	}
	_ = w[nb*q2KBytes-1]
	_ = a[nb*q8KBytes-1]
	return q2KDotAVX2(&w[0], &a[0], nb)
}
