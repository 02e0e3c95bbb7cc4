package cpu

// Exports for another backend that must compute exactly as this one does
// (the GPU backend's RoPE table, and its tests of the exact helpers).

// RopeCache fills cs (nRot float32s) with the cos/sin pairs (cs[2i],
// cs[2i+1]) of position p exactly as this backend's RoPE computes them
// (glibc's sincosf bit for bit, not the correctly rounded values), so that
// another backend that must rotate identically (the GPU's RoPE table) can
// use the same table. freqScale is 1/rope scale; ff the optional
// per-dimension frequency factors.
func RopeCache(cs []float32, p, nRot int, base, freqScale float32, ff []float32) {
	ropeCache(cs, p, nRot, base, freqScale, ff)
}

// VExpf is one lane of ggml_v_expf as this backend's softmax and SwiGLU
// compute it (the AVX2 kernels give the same bits).
func VExpf(x float32) float32 { return vExpf(x) }
