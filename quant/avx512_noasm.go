//go:build !amd64 || purego

package quant

// Stubs: hardwareLevel is LevelGeneric here, so they are never called.

func q8_0Q8_0Gemv8AVX512(dst *float32, w *byte, rowBytes int, a *byte, nb int) {
	panic("quant: no AVX-512 kernels")
}

func q6KQ8KGemv8AVX512(dst *float32, w *byte, rowBytes int, a *byte, nb int) {
	panic("quant: no AVX-512 kernels")
}

func q8_0GemmX8AVX512(w *byte, rowBytes, rows int, ap *byte, nb int, dst *float32, ldDst int) {
	panic("quant: no AVX-512 kernels")
}

func q4_0GemmR4x16AVX512(pack *byte, packB int, a *byte, aStride int, tab *byte, tabStride, nb int, dst *float32, ldDst int) {
	panic("quant: no AVX-512 kernels")
}

func q4KGemmR4x16AVX512(pack *byte, packB int, a *byte, aStride int, nb int, acc *float32) {
	panic("quant: no AVX-512 kernels")
}

func dotF16x4x3AVX512(x *uint16, xStride int, y *uint16, yStride, n int, acc *float32) {
	panic("quant: no AVX-512 kernels")
}

func gemvF16x8AVX512(dst *float32, w *byte, rowBytes int, a *byte, nb int) {
	panic("quant: no AVX-512 kernels")
}

func dotF16x4x3WAVX512(x *uint16, xStride int, y *float32, yStride, n int, acc *float32) {
	panic("quant: no AVX-512 kernels")
}

func widenF16AVX512(dst *float32, src *uint16, n int) {
	panic("quant: no AVX-512 kernels")
}

func gemvF16x8PAVX512(dst *float32, w *byte, rowBytes int, a *byte, nb int) {
	panic("quant: no AVX-512 kernels")
}
