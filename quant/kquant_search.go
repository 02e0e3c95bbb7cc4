package quant

import (
	"math"
)

// Shared pieces of the K-quant formats (Q2_K..Q6_K, Q8_K): the super-block
// size, ggml's rounding and its scale searches (make_qx_quants,
// make_q3_quants, make_qkx2_quants in ggml-quants.c).
//
// Bit compatibility with llama.cpp needs every float32 operation to happen in
// the same order with the same rounding as the C code compiled without fused
// multiply-add (how ggml-base is built). Go may fuse x*y+z on some
// architectures unless a product is converted explicitly, so products that
// feed a sum are wrapped in float32(...) below: that conversion is a no-op on
// amd64 and forbids fusion everywhere.

// qkK is the number of elements in one K-quant super-block (QK_K).
const qkK = 256

// groupMaxEps is ggml's GROUP_MAX_EPS: groups whose largest magnitude is
// below it quantize to zero.
const groupMaxEps = 1e-15

// nearestInt rounds fval to the nearest integer, ties to even, the way ggml's
// nearest_int does it: adding 1.5*2^23 pushes the integer part into the low
// mantissa bits. Like the C code it is only meaningful for |fval| <= 4194303;
// beyond that it returns the same (meaningless but deterministic) value.
func nearestInt(fval float32) int {
	val := float32(fval) + 12582912 // the conversion keeps a caller's product from fusing into this add
	i := int32(math.Float32bits(val))
	return int((i & 0x007fffff) - 0x00400000)
}

// clampInt limits v to [lo, hi].
func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// makeQXQuants is ggml's make_qx_quants without importance weights
// (qw == NULL) for rmseType 1 (weights x^2), the only form the reference
// K-quantizers use (Q6_K). It picks a symmetric scale for the n values of x,
// writes levels in [0, 2*nmax) to L and returns the scale.
func makeQXQuants(n, nmax int, x []float32, L []int8) float32 {
	x = x[:n]
	L = L[:n]
	var max, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax = ax
			max = v
		}
	}
	if amax < groupMaxEps {
		for i := range L {
			L[i] = 0
		}
		return 0
	}
	fnmax := float32(nmax)
	iscale := -fnmax / max
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
		L[i] = int8(l + nmax)
		w := v * v
		fl := float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fnmax + float32(0.1*float32(is))) / max
		sumlx, suml2 = 0, 0
		for _, v := range x {
			l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
			w := v * v
			fl := float32(l)
			sumlx += float32(float32(w*v) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i, v := range x {
				l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
				L[i] = int8(nmax + l)
			}
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3Quants is ggml's make_q3_quants with do_rmse = true (the Q3_K
// reference quantizer): a symmetric scale for n values refined by moving one
// level at a time while the weighted (w = x^2) fit improves. Levels in
// [0, 2*nmax) go to L.
func makeQ3Quants(n, nmax int, x []float32, L []int8) float32 {
	x = x[:n]
	L = L[:n]
	var max, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax = ax
			max = v
		}
	}
	if amax < groupMaxEps {
		for i := range L {
			L[i] = 0
		}
		return 0
	}
	iscale := -float32(nmax) / max
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
		L[i] = int8(l)
		w := v * v
		fl := float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	for itry := 0; itry < 5; itry++ {
		nChanged := 0
		for i, v := range x {
			w := v * v
			li := float32(L[i])
			slx := sumlx - float32(float32(w*v)*li)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*li)*li)
				newL := clampInt(nearestInt(float32(v*sl2)/slx), -nmax, nmax-1)
				if newL != int(L[i]) {
					fl := float32(newL)
					slx += float32(float32(w*v) * fl)
					sl2 += float32(float32(w*fl) * fl)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = int8(newL)
						sumlx = slx
						suml2 = sl2
						nChanged++
					}
				}
			}
		}
		if nChanged == 0 {
			break
		}
	}
	for i := range L {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// makeQKX2Quants is ggml's make_qkx2_quants: an asymmetric fit
// x ≈ scale*L - min with L in [0, nmax], searched over nstep+1 candidate
// inverse scales (rmin + rdelta*is + nmax)/(max - min) and, for each, the
// weighted least-squares scale and min. It writes the levels to L (laux is
// scratch of the same length), returns the scale and stores the (positive)
// min in *theMin. useMAD selects absolute instead of squared error.
func makeQKX2Quants(n, nmax int, x, weights []float32, L, laux []uint8, theMin *float32,
	rmin, rdelta float32, nstep int, useMAD bool) float32 {
	x = x[:n]
	weights = weights[:n]
	L = L[:n]
	laux = laux[:n]
	min, max := x[0], x[0]
	sumW := weights[0]
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		if x[i] < min {
			min = x[i]
		}
		if x[i] > max {
			max = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if min > 0 {
		min = 0
	}
	if max == min {
		for i := range L {
			L[i] = 0
		}
		*theMin = -min
		return 0
	}
	fnmax := float32(nmax)
	iscale := fnmax / (max - min)
	scale := 1 / iscale
	var bestError float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*(v-min)), 0, nmax)
		L[i] = uint8(l)
		diff := float32(scale*float32(l)) + min - v
		if useMAD {
			diff = abs32(diff)
		} else {
			diff = diff * diff
		}
		bestError += float32(weights[i] * diff)
	}
	if nstep < 1 {
		*theMin = -min
		return scale
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + fnmax) / (max - min)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := clampInt(nearestInt(iscale*(v-min)), 0, nmax)
			laux[i] = uint8(l)
			w := weights[i]
			fl := float32(l)
			wl := float32(w * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curError float32
			for i, v := range x {
				diff := float32(thisScale*float32(laux[i])) + thisMin - v
				if useMAD {
					diff = abs32(diff)
				} else {
					diff = diff * diff
				}
				curError += float32(weights[i] * diff)
			}
			if curError < bestError {
				copy(L, laux)
				bestError = curError
				scale = thisScale
				min = thisMin
			}
		}
	}
	*theMin = -min
	return scale
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of a Q4_K/Q5_K block's
// 12-byte scales field (ggml's get_scale_min_k4).
func scaleMinK4(j int, q []byte) (d, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	d = q[j+4]&0xf | (q[j-4]>>6)<<4
	m = q[j+4]>>4 | (q[j]>>6)<<4
	return d, m
}

// packScaleMinK4 stores the 6-bit scale ls and min lm of sub-block j into the
// 12-byte scales field q, the inverse of scaleMinK4. Sub-blocks must be
// stored in order 0..7 into a field that starts zeroed.
func packScaleMinK4(j int, q []byte, ls, lm uint8) {
	if j < 4 {
		q[j] = ls
		q[j+4] = lm
		return
	}
	q[j+4] = ls&0xf | (lm&0xf)<<4
	q[j-4] |= (ls >> 4) << 6
	q[j] |= (lm >> 4) << 6
}

// sqrt32 is sqrtf: the float64 square root rounded to float32 is the
// correctly rounded float32 square root.
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// pickVecDot returns the AVX2 kernel when the package runs its AVX2 level
// (useAVX2: AVX2+FMA+F16C present, not disabled by HEARTH_CPU or purego),
// else the portable one. Traits are built once at program start.
func pickVecDot(avx2, generic func(int, []byte, []byte) float32) func(int, []byte, []byte) float32 {
	if useAVX2 {
		return avx2
	}
	return generic
}
