package quant

import "github.com/hearthllm/hearth/gguf"

var q3_KTraits = Traits{
	Type:               gguf.TypeQ3_K,
	BlockSize:          qkK,
	TypeSize:           q3KBytes,
	Dequantize:         dequantizeQ3K,
	Quantize:           quantizeQ3K,
	VecDotType:         gguf.TypeQ8_K,
	VecDot:             pickVecDot(vecDotQ3KQ8KAVX2, vecDotQ3KQ8K),
	QuantizeActivation: quantizeQ8K,
}

// Q3_K (block_q3_K): 256 values in 16 sub-blocks of 16, 110 bytes:
//
//	hmask   [32]byte  high bits: bit b of byte m is value 32b+m's
//	qs      [64]byte  low 2 bits, laid out as in Q2_K
//	scales  [12]byte  16 6-bit scales biased by 32 (see q3KScale)
//	d       fp16      scale of the scales
//
// Value = d*(sc-32)*(q - 4), q = low | high<<2 in [0, 7].
const (
	q3KBytes     = 110
	q3KOffQS     = 32
	q3KOffScales = 96
	q3KOffD      = 108
)

// q3KScale unpacks sub-block j's 6-bit scale (still biased by 32): the low
// nibbles of bytes 0..7 hold scales 0..7, their high nibbles 8..15, and
// bits 2(j/4)..2(j/4)+1 of byte 8+j%4 hold the top two bits.
func q3KScale(sc []byte, j int) int {
	var lo uint8
	if j < 8 {
		lo = sc[j] & 0xf
	} else {
		lo = sc[j-8] >> 4
	}
	hi := (sc[8+j%4] >> (2 * uint(j/4))) & 3
	return int(lo | hi<<4)
}

// q3KScales unpacks all 16 scales of a Q3_K block, unbiased (sc - 32).
func q3KScales(dst *[16]int32, sc *[12]byte) {
	for j := 0; j < 8; j++ {
		dst[j] = int32(sc[j]&0xf|((sc[8+j%4]>>(2*uint(j/4)))&3)<<4) - 32
		dst[j+8] = int32(sc[j]>>4|((sc[8+j%4]>>(2*uint(j/4+2)))&3)<<4) - 32
	}
}

// quantizeQ3K is quantize_row_q3_K_ref: make_q3_quants (iterative, weights
// x^2) per sub-block of 16, 6-bit scales relative to the scale of largest
// magnitude, then a final rounding to [-4, 3] with the stored scales.
func quantizeQ3K(dst []byte, src []float32) {
	var (
		L      [qkK]int8
		scales [qkK / 16]float32
	)
	nb := len(src) / qkK
	for i := 0; i < nb; i++ {
		x := src[i*qkK : (i+1)*qkK]
		y := dst[i*q3KBytes : (i+1)*q3KBytes]
		var maxScale, amax float32
		for j := 0; j < qkK/16; j++ {
			scales[j] = makeQ3Quants(16, 4, x[16*j:16*j+16], L[16*j:16*j+16])
			if s := abs32(scales[j]); s > amax {
				amax = s
				maxScale = scales[j]
			}
		}
		sc := y[q3KOffScales : q3KOffScales+12]
		for k := range sc {
			sc[k] = 0
		}
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < qkK/16; j++ {
				// int8_t l = nearest_int(...): the C code truncates to 8 bits first.
				l := int(int8(nearestInt(iscale * scales[j])))
				l = clampInt(l, -32, 31) + 32
				if j < 8 {
					sc[j] = uint8(l & 0xf)
				} else {
					sc[j-8] |= uint8(l&0xf) << 4
				}
				l >>= 4
				sc[j%4+8] |= uint8(l << (2 * uint(j/4)))
			}
			putF16(y[q3KOffD:], 1/iscale)
		} else {
			putF16(y[q3KOffD:], 0)
		}
		dAll := f16At(y[q3KOffD:])
		for j := 0; j < qkK/16; j++ {
			d := dAll * float32(int8(q3KScale(sc, j)-32))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := nearestInt(x[16*j+ii] / d)
				L[16*j+ii] = int8(clampInt(l, -4, 3) + 4)
			}
		}
		hmask := y[:32]
		for k := range hmask {
			hmask[k] = 0
		}
		m, hm := 0, uint8(1)
		for j := 0; j < qkK; j++ {
			if L[j] > 3 {
				hmask[m] |= hm
				L[j] -= 4
			}
			m++
			if m == qkK/8 {
				m = 0
				hm <<= 1
			}
		}
		qs := y[q3KOffQS : q3KOffQS+64]
		for h := 0; h < 2; h++ {
			j := 128 * h
			for l := 0; l < 32; l++ {
				qs[32*h+l] = uint8(L[j+l]) | uint8(L[j+l+32])<<2 | uint8(L[j+l+64])<<4 | uint8(L[j+l+96])<<6
			}
		}
	}
}

// dequantizeQ3K is dequantize_row_q3_K.
func dequantizeQ3K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	for i := 0; i < nb; i++ {
		b := src[i*q3KBytes : (i+1)*q3KBytes]
		y := dst[i*qkK : (i+1)*qkK]
		dAll := f16At(b[q3KOffD:])
		sc := b[q3KOffScales : q3KOffScales+12]
		hm := b[:32]
		qs := b[q3KOffQS : q3KOffQS+64]
		for g := 0; g < 16; g++ { // sub-block g = values 16g..16g+15
			h, s, k := g/8, (g%8)/2, g%2
			dl := dAll * float32(q3KScale(sc, g)-32)
			sh := uint(2 * s)
			m := uint8(1) << uint(4*h+s)
			q := qs[32*h+16*k : 32*h+16*k+16]
			hb := hm[16*k : 16*k+16]
			yy := y[16*g : 16*g+16]
			for l := 0; l < 16; l++ {
				v := int((q[l] >> sh) & 3)
				if hb[l]&m == 0 {
					v -= 4
				}
				yy[l] = dl * float32(v)
			}
		}
	}
}

// vecDotQ3KQ8K is ggml_vec_dot_q3_K_q8_K: exact integer sums per sub-block
// weighted by the signed 6-bit scales; each block adds d_a*d_w*isum. The
// quant q - 4 is summed as q*a with 4*bsum subtracted per sub-block, which
// gives the same integers without a branch.
func vecDotQ3KQ8K(n int, w []byte, a []byte) float32 {
	nb := n / qkK
	var sum float32
	for i := 0; i < nb; i++ {
		x := (*[q3KBytes]byte)(w[i*q3KBytes:])
		y := (*[q8KBytes]byte)(a[i*q8KBytes:])
		var scl [16]int32
		q3KScales(&scl, (*[12]byte)(x[q3KOffScales:]))
		hm := (*[32]byte)(x[:32])
		var isum int32
		for h := 0; h < 2; h++ {
			q := (*[32]byte)(x[q3KOffQS+32*h:])
			for s := 0; s < 4; s++ {
				sh := uint(2 * s)
				hb := uint(4*h + s)
				a8 := (*[32]byte)(y[q8KOffQS+128*h+32*s:])
				var p0, p1 int32
				for l := 0; l < 16; l++ {
					v0 := int32((q[l]>>sh)&3) | int32((hm[l]>>hb)&1)<<2
					v1 := int32((q[l+16]>>sh)&3) | int32((hm[l+16]>>hb)&1)<<2
					p0 += int32(int8(a8[l])) * v0
					p1 += int32(int8(a8[l+16])) * v1
				}
				g := 8*h + 2*s
				p0 -= 4 * q8KBsum(y[:], g)
				p1 -= 4 * q8KBsum(y[:], g+1)
				isum += scl[g]*p0 + scl[g+1]*p1
			}
		}
		d := f16At(x[q3KOffD:]) * q8KScale(y[:])
		sum += d * float32(isum)
	}
	return sum
}

// vecDotQ3KQ8KAVX2 is ggml's AVX2 Q3_K dot product (q3KDotAVX2): its result
// equals llama.cpp's haswell build bit for bit and differs from
// vecDotQ3KQ8K only in float rounding order.
func vecDotQ3KQ8KAVX2(n int, w []byte, a []byte) float32 {
	nb := n / qkK
	if nb == 0 {
		return 0
	}
	_ = w[nb*q3KBytes-1]
	_ = a[nb*q8KBytes-1]
	return q3KDotAVX2(&w[0], &a[0], nb)
}
