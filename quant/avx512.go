package quant

import "github.com/hearthllm/hearth/gguf"

// The AVX-512 kernels (LevelAVX512) are generated with avo from _avo/main.go
// into avx512_amd64.s and avx512_amd64.go; regenerate them with
// `go generate ./quant` (needs the Go module proxy once for avo v0.5.0) and
// commit both. `make avx512-check` regenerates into a temporary directory
// and fails when the committed files differ.
//
//go:generate sh -c "cd _avo && go run . -out ../avx512_amd64.s -stubs ../avx512_amd64.go -pkg quant"

// hasAVX512Kernels says whether one-token products of weights of type t
// have an AVX-512 kernel: at LevelAVX512 those run it, every other type
// keeps its AVX2 kernels (which give the same bits either way). The
// dispatch in gemv.go asks it, so taking a type out here (say one whose
// AVX-512 kernel measures slower) sends it back to AVX2.
func hasAVX512Kernels(t gguf.TensorType) bool {
	switch t {
	case gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K:
		return true
	}
	return false
}

// gemvQ8_0AVX512 sets dst[r] = W[r,:]·a for the rows r in [r0, r1) that
// come in whole groups of eight from r0 with the AVX-512 kernel (bit for
// bit q8_0Q8_0DotAVX2, i.e. vecDotQ8_0Q8_0 at LevelAVX2) and returns the
// first row it left for the caller. The CPU must have LevelAVX512.
func gemvQ8_0AVX512(dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) int {
	nb := n / qk8_0
	if nb == 0 {
		return r0
	}
	a = a[:nb*blockQ8_0Len]
	for ; r0+8 <= r1; r0 += 8 {
		_ = dst[r0+7]
		_ = w[(r0+7)*rowBytes+nb*blockQ8_0Len-1]
		q8_0Q8_0Gemv8AVX512(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], nb)
	}
	return r0
}

// gemvQ4_0AVX512 is GemvQ4_0 for the rows r in [r0, r1) that come in whole
// groups of sixteen from r0, with the AVX-512 kernel (bit for bit
// q4_0Q8_0GemvAVX2 and the portable GemvQ4_0 code); it returns the first
// row it left for the caller. The CPU must have LevelAVX512.
func gemvQ4_0AVX512(dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) int {
	nb := n / qk4_0
	// The kernel gathers the scales with 32-bit offsets r·rowBytes.
	if nb == 0 || 15*rowBytes >= 1<<31 {
		return r0
	}
	a = a[:nb*blockQ8_0Len]
	for ; r0+16 <= r1; r0 += 16 {
		_ = dst[r0+15]
		_ = w[(r0+15)*rowBytes+nb*blockQ4_0Len-1]
		q4_0Q8_0Gemv16AVX512(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], nb)
	}
	return r0
}

// gemvQ4KAVX512 is GemvQ4K for the rows r in [r0, r1) that come in whole
// groups of sixteen from r0, with the AVX-512 kernel (bit for bit
// q4KGemvAVX2 and the portable GemvQ4K code); it returns the first row it
// left for the caller. The CPU must have LevelAVX512.
func gemvQ4KAVX512(dst []float32, w []byte, rowBytes, cols int, a []byte, r0, r1 int) int {
	nb := cols / qkK
	if nb == 0 || 15*rowBytes >= 1<<31 {
		return r0
	}
	a = a[:nb*q8KBytes]
	for ; r0+16 <= r1; r0 += 16 {
		_ = dst[r0+15]
		_ = w[(r0+15)*rowBytes+nb*q4KBytes-1]
		q4KQ8KGemv16AVX512(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], nb)
	}
	return r0
}

// gemvQ6KAVX512 sets dst[r] = W[r,:]·a for the Q6_K rows r in [r0, r1)
// that come in whole groups of eight from r0 with the AVX-512 kernel (bit
// for bit q6KDotAVX2, i.e. Gemv at LevelAVX2) and returns the first row it
// left for the caller. The CPU must have LevelAVX512.
func gemvQ6KAVX512(dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) int {
	nb := n / qkK
	if nb == 0 {
		return r0
	}
	a = a[:nb*q8KBytes]
	for ; r0+8 <= r1; r0 += 8 {
		_ = dst[r0+7]
		_ = w[(r0+7)*rowBytes+nb*q6KBytes-1]
		q6KQ8KGemv8AVX512(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], nb)
	}
	return r0
}
