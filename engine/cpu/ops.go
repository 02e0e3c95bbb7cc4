package cpu

import (
	"math"

	"github.com/hearthllm/hearth/quant"
)

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
// frequency factor ff[i] (when ff is not nil) and scaled by freqScale. The
// sine and cosine are glibc's sincosf (see sincosf), which llama.cpp calls.
func ropeCache(cs []float32, p, nRot int, base, freqScale float32, ff []float32) {
	thetaScale := float32(math.Pow(float64(base), float64(float32(-2)/float32(nRot))))
	theta := float32(p)
	for i := 0; i < nRot/2; i++ {
		t := theta
		if ff != nil {
			t = theta / ff[i]
		}
		t = freqScale * t
		cs[2*i+1], cs[2*i] = sincosf(t)
		theta *= thetaScale
	}
}

// ropeNorm rotates adjacent pairs (2i, 2i+1) of the first len(cs) elements
// of each head of x (nHead heads of headDim elements), ggml's NORM mode,
// with the fused multiply-adds GCC makes of ggml's rotate_pairs in the
// x86 builds: x0*c - x1*s as fma(x0, c, -(x1*s)) and x0*s + x1*c as
// fma(x0, s, x1*c).
func ropeNorm(x []float32, nHead, headDim int, cs []float32) {
	for h := 0; h < nHead; h++ {
		v := x[h*headDim : h*headDim+len(cs)]
		for i := 0; i+1 < len(cs); i += 2 {
			c, s := cs[i], cs[i+1]
			x0, x1 := v[i], v[i+1]
			v[i] = fma32(x0, c, -(x1 * s))
			v[i+1] = fma32(x0, s, x1*c)
		}
	}
}

// softmax replaces x by exp(x - max) / sum the way ggml_soft_max does on
// x86 with AVX2 for one row of attention scores: exponentials of blocks of
// 8 through vExpf, each block summed in float32 in the order of the AVX2
// horizontal add, the block sums accumulated in float64, then a multiply
// by the float32 reciprocal of the sum. llama.cpp's score rows are padded
// (to a multiple of 256 positions) with masked -inf entries, so the last
// partial block here also goes through vExpf, its missing lanes counting
// as exp(-inf) = 0.
func softmax(x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	sum, i := expSumBlocks(haveAVX2, x, mx) // whole blocks of 8, see vexp.go
	if i < len(x) {
		var b [8]float32
		for j := range x[i:] {
			b[j] = vExpf(x[i+j] - mx)
			x[i+j] = b[j]
		}
		sum += float64(((b[0] + b[4]) + (b[2] + b[6])) + ((b[1] + b[5]) + (b[3] + b[7])))
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// swiGLU writes silu(gate[i]) * up[i] into gate like ggml_vec_swiglu_f32
// on AVX2: silu(x) = x/(1+e^-x) with vExpf for whole blocks of 8 from the
// start of the row and expf for the rest.
func swiGLU(gate, up []float32) {
	up = up[:len(gate)]
	n8 := swiGLUBlocks(haveAVX2, gate, up) // whole blocks of 8, see vexp.go
	for i := n8; i < len(gate); i++ {
		g := gate[i]
		gate[i] = g / (1 + expf(-g)) * up[i]
	}
}

// expf is the correctly rounded float32 exponential (glibc's expf).
func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

// fma32 is a fused multiply-add in float32. The product of two float32s is
// exact in float64, so the float64 sum is a*b+c rounded once; rounding that
// to float32 differs from a single rounding only in rare double-rounding
// ties.
func fma32(a, b, c float32) float32 {
	return float32(float64(a)*float64(b) + float64(c))
}

// vExpf is one lane of ggml_v_expf for AVX2 (ARM's optimized-routines
// expf: n = round(x/ln2), a degree-5 polynomial on the remainder, with
// special handling when |n| > 126).
func vExpf(x float32) float32 {
	const r = float32(0x1.8p23)
	z := fma32(x, 0x1.715476p+0, r)
	n := z - r
	b := fma32(-n, 0x1.7f7d1cp-20, fma32(-n, 0x1.62e4p-1, x))
	e := math.Float32bits(z) << 23
	k := math.Float32frombits(e + math.Float32bits(1))
	u := b * b
	j := fma32(fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)),
		u, float32(0x1.ffffecp-1)*b)
	an := float32(math.Abs(float64(n)))
	if !(an > 126) {
		return fma32(j, k, k)
	}
	var g uint32
	if n <= 0 {
		g = 0x82000000
	}
	s1 := math.Float32frombits(g + 0x7f000000)
	if an > 192 {
		return s1 * s1
	}
	s2 := math.Float32frombits(e - g)
	return fma32(s2, j, s2) * s1
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

// tinyDotF32 is one output element of llamafile's tinyBLAS sgemm on AVX2,
// which llama.cpp uses for the attention products of a batch of several
// tokens (except KQ with the F32 cache, see attnTask.run): eight float32 lanes,
// lane i%8 accumulating x[i]*y[i] with fused multiply-adds, then the lanes
// summed as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). Elements past len(x) up
// to the next multiple of 8 count as zero, like llama.cpp's masked padding.
func tinyDotF32(x, y []float32) float32 {
	y = y[:len(x)]
	var l [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		xs, ys := x[i:i+8:i+8], y[i:i+8:i+8]
		for j := range l {
			l[j] = fma32(xs[j], ys[j], l[j])
		}
	}
	for j := 0; i < len(x); i, j = i+1, j+1 {
		l[j] = fma32(x[i], y[i], l[j])
	}
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

// tinyDotF16 is tinyDotF32 on half-precision x widened to float32; y holds
// values already rounded to half precision.
func tinyDotF16(x []uint16, y []float32) float32 {
	y = y[:len(x)]
	var l [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		xs, ys := x[i:i+8:i+8], y[i:i+8:i+8]
		for j := range l {
			l[j] = fma32(quant.FP16ToFP32(xs[j]), ys[j], l[j])
		}
	}
	for j := 0; i < len(x); i, j = i+1, j+1 {
		l[j] = fma32(quant.FP16ToFP32(x[i]), y[i], l[j])
	}
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

// roundF16 returns x rounded to half precision (nearest even), as float32.
func roundF16(x float32) float32 { return quant.FP16ToFP32(quant.FP32ToFP16(x)) }

// ggmlDotF32 is ggml_vec_dot_f32 on AVX2, which ggml uses where tinyBLAS
// declines a product: for one token (llamafile_sgemm declines n < 2), for a
// contraction length not a multiple of 8, and where the right operand needs
// no conversion but is not contiguous (batched KQ with the F32 cache): four
// accumulators of eight lanes over blocks of 32 with fused multiply-adds,
// reduced as (a0+a2)+(a1+a3), the two halves added lane by lane and summed
// with two horizontal adds into a float64, the remaining float32 products
// added to it one at a time in float64, and the total rounded to float32.
func ggmlDotF32(x, y []float32) float32 {
	y = y[:len(x)]
	var acc [4][8]float32
	np := len(x) &^ 31
	for i := 0; i < np; i += 32 {
		for j := range acc {
			for k := range acc[j] {
				acc[j][k] = fma32(x[i+8*j+k], y[i+8*j+k], acc[j][k])
			}
		}
	}
	var r [8]float32
	for k := range r {
		r[k] = (acc[0][k] + acc[2][k]) + (acc[1][k] + acc[3][k])
	}
	var t [4]float32
	for k := range t {
		t[k] = r[k] + r[k+4]
	}
	sum := float64((t[0] + t[1]) + (t[2] + t[3]))
	for i := np; i < len(x); i++ {
		sum += float64(x[i] * y[i])
	}
	return float32(sum)
}

// ggmlDotF16 is ggmlDotF32 for ggml_vec_dot_f16: half-precision x widened
// to float32; y holds values already rounded to half precision.
func ggmlDotF16(x []uint16, y []float32) float32 {
	y = y[:len(x)]
	var acc [4][8]float32
	np := len(x) &^ 31
	for i := 0; i < np; i += 32 {
		for j := range acc {
			for k := range acc[j] {
				acc[j][k] = fma32(quant.FP16ToFP32(x[i+8*j+k]), y[i+8*j+k], acc[j][k])
			}
		}
	}
	var r [8]float32
	for k := range r {
		r[k] = (acc[0][k] + acc[2][k]) + (acc[1][k] + acc[3][k])
	}
	var t [4]float32
	for k := range t {
		t[k] = r[k] + r[k+4]
	}
	sum := float64((t[0] + t[1]) + (t[2] + t[3]))
	for i := np; i < len(x); i++ {
		sum += float64(quant.FP16ToFP32(x[i]) * y[i])
	}
	return float32(sum)
}

// sincosPoly holds the polynomial coefficients of glibc's single-precision
// sine and cosine (from ARM's optimized-routines): cosine c0..c4 in x², sine
// s1..s3. The second set negates the cosine for quadrants 2 and 3.
type sincosPoly struct {
	c0, c1, c2, c3, c4, s1, s2, s3 float64
}

var sincosPolys = [2]sincosPoly{
	{1, -0x1.ffffffd0c621cp-2, 0x1.55553e1068f19p-5, -0x1.6c087e89a359dp-10, 0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
	{-1, 0x1.ffffffd0c621cp-2, -0x1.55553e1068f19p-5, 0x1.6c087e89a359dp-10, -0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
}

// sincosSigns is the sign of the sine in each quadrant.
var sincosSigns = [4]float64{1, -1, -1, 1}

// twoOverPiWords holds the fraction bits of 2/π (4/π shifted), the table of
// the large-argument reduction: word i is the 32 bits ending at byte i of
// a2f9836e 4e441529 fc2757d1 f534ddc0 db629599 3c439041 (bytes before the
// start count as zero), as in glibc's __inv_pio4.
var twoOverPiWords = [24]uint32{
	0x000000a2, 0x0000a2f9, 0x00a2f983, 0xa2f9836e, 0xf9836e4e, 0x836e4e44,
	0x6e4e4415, 0x4e441529, 0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
	0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0, 0x34ddc0db, 0xddc0db62,
	0xc0db6295, 0xdb629599, 0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
}

// sinPoly and cosPoly evaluate the polynomials in the order, and with the
// fused multiply-adds, of glibc's x86-64 FMA build of sinf/cosf/sincosf.
func sinPoly(x, x2 float64, p *sincosPoly) float64 {
	x3 := x * x2
	s1 := math.FMA(x2, p.s3, p.s2)
	x7 := x3 * x2
	return math.FMA(s1, x7, math.FMA(x3, p.s1, x))
}

func cosPoly(x2 float64, p *sincosPoly) float64 {
	x4 := x2 * x2
	c2 := math.FMA(x2, p.c4, p.c3)
	c1 := math.FMA(x2, p.c1, p.c0)
	x6 := x2 * x4
	return math.FMA(c2, x6, math.FMA(x4, p.c2, c1))
}

// sincosf returns the sine and cosine of y exactly as glibc's sincosf (and
// sinf, cosf) compute them on x86-64 with FMA, which llama.cpp's RoPE calls:
// glibc's results are not always correctly rounded, so float32(math.Sin)
// differs from them in about one case in a hundred. y must be finite.
func sincosf(y float32) (sin, cos float32) {
	x := float64(y)
	top := (math.Float32bits(y) >> 20) & 0x7ff
	switch {
	case top < 0x3f4: // |y| < π/4
		if top < 0x398 { // |y| < 2^-12
			return y, 1
		}
		x2 := x * x
		return float32(sinPoly(x, x2, &sincosPolys[0])), float32(cosPoly(x2, &sincosPolys[0]))
	case top < 0x42f: // |y| < 120: one multiply-subtract by π/2
		n := (int32(x*0x1.45f306dc9c883p+23) + 0x800000) >> 24
		r := math.FMA(-float64(n), 0x1.921fb54442d18p0, x)
		return sincosQuadrant(r, int(n), int(n))
	default: // exact reduction with 2/π to 192 bits
		xi := math.Float32bits(y)
		k := int(xi>>26) & 15
		m := ((xi & 0xffffff) | 0x800000) << ((xi >> 23) & 7)
		res0 := uint64(m * twoOverPiWords[k])
		res1 := uint64(m) * uint64(twoOverPiWords[k+4])
		res2 := uint64(m) * uint64(twoOverPiWords[k+8])
		res0 = (res2 >> 32) | (res0 << 32)
		res0 += res1
		n := (res0 + 1<<61) >> 62
		res0 -= n << 62
		r := float64(int64(res0)) * 0x1.921fb54442d18p-62
		return sincosQuadrant(r, int(n), int(n)+int(xi>>31))
	}
}

// sincosQuadrant finishes sincosf for the reduced argument r in quadrant n
// (ns: n plus the sign of the argument, for the large reduction).
func sincosQuadrant(r float64, n, ns int) (sin, cos float32) {
	p := &sincosPolys[0]
	if ns&2 != 0 {
		p = &sincosPolys[1]
	}
	r2 := r * r
	s := float32(sinPoly(r*sincosSigns[ns&3], r2, p))
	c := float32(cosPoly(r2, p))
	if n&1 != 0 {
		return c, s
	}
	return s, c
}
