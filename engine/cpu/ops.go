package cpu

import "math"

// rmsNorm writes x / sqrt(mean(x²) + eps) * w to dst, like ggml's rms_norm
// (squares summed in float64, the mean and scale in float32) followed by
// ggml_mul with the norm weight.
func rmsNorm(dst, x, w []float32, eps float32) {
	x = x[:len(dst)]
	w = w[:len(dst)]
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		dst[i] = (v * scale) * w[i]
	}
}

// ropeCache fills cs with cos/sin pairs (cs[2i], cs[2i+1]) for the nRot/2
// rotation frequencies at position p, like ggml_rope_cache_init with
// ext_factor 0 and attn_factor 1: theta starts at p and is multiplied by
// base^(-2/nRot) in float32 from one pair to the next, divided by the
// frequency factor ff[i] (when ff is not nil) and scaled by freqScale.
func ropeCache(cs []float32, p, nRot int, base, freqScale float32, ff []float32) {
	thetaScale := float32(math.Pow(float64(base), float64(float32(-2)/float32(nRot))))
	theta := float32(p)
	for i := 0; i < nRot/2; i++ {
		t := theta
		if ff != nil {
			t = theta / ff[i]
		}
		t = freqScale * t
		cs[2*i] = float32(math.Cos(float64(t)))
		cs[2*i+1] = float32(math.Sin(float64(t)))
		theta *= thetaScale
	}
}

// ropeNorm rotates adjacent pairs (2i, 2i+1) of the first len(cs) elements
// of each head of x (nHead heads of headDim elements), ggml's NORM mode.
func ropeNorm(x []float32, nHead, headDim int, cs []float32) {
	for h := 0; h < nHead; h++ {
		v := x[h*headDim : h*headDim+len(cs)]
		for i := 0; i+1 < len(cs); i += 2 {
			c, s := cs[i], cs[i+1]
			x0, x1 := v[i], v[i+1]
			v[i] = float32(x0*c) - float32(x1*s)
			v[i+1] = float32(x0*s) + float32(x1*c)
		}
	}
}

// softmax replaces x by exp(x - max) / sum, the sum taken in float64 like
// ggml_soft_max.
func softmax(x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// swiGLU writes silu(gate[i]) * up[i] into gate, with silu(x) = x/(1+e^-x)
// in float32 like ggml_silu_f32.
func swiGLU(gate, up []float32) {
	up = up[:len(gate)]
	for i, g := range gate {
		s := g / (1 + float32(math.Exp(float64(-g))))
		gate[i] = s * up[i]
	}
}

// add sets x[i] += y[i].
func add(x, y []float32) {
	y = y[:len(x)]
	for i := range x {
		x[i] += y[i]
	}
}

// argmax returns the index of the largest element, the lowest among equals.
func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
