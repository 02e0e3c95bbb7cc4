//go:build !amd64 || purego

package quant

// Stubs: hardwareLevel is LevelGeneric here, so they are never called.

func dotF16x4x3WAVX2(x *uint16, xStride int, y *float32, yStride, n int, acc *float32) {
	panic("quant: no AVX2 kernels")
}

func dotF16x4x3WRAVX2(x *uint16, xStride int, y *float32, yStride, n int, acc, out *float32) {
	panic("quant: no AVX2 kernels")
}

func dotF16x4x3WZAVX2(x *uint16, xStride int, y *float32, yStride, n int, acc *float32) {
	panic("quant: no AVX2 kernels")
}

func dotF16x4x3WZRAVX2(x *uint16, xStride int, y *float32, yStride, n int, acc, out *float32) {
	panic("quant: no AVX2 kernels")
}

func widenF16AVX2(dst *float32, src *uint16, n int) {
	panic("quant: no AVX2 kernels")
}

func quantizeF16AVX2(dst *uint16, src *float32, n int) {
	panic("quant: no AVX2 kernels")
}
