//go:build !amd64 || purego

package cpu

// Stubs: quant.KernelLevel is LevelGeneric in these builds, so the
// attention code never calls them.

func tinyDotRowsF16AVX2(x *uint16, stride, rows int, y *float32, n int, scale float32, out *float32) {
	panic("cpu: no AVX2 kernels")
}

func ggmlDotRowsF16AVX2(x *uint16, stride, rows int, y *float32, n int, out *float32) {
	panic("cpu: no AVX2 kernels")
}

func roundF16AVX2(dst, src *float32, n int) { panic("cpu: no AVX2 kernels") }

func ggmlDotRowsF16ShortAVX2(x *uint16, stride, rows int, y *float32, n int, out *float32) {
	panic("cpu: no AVX2 kernels")
}

func ggmlDotRowsF16x8AVX2(x *uint16, stride, rows int, y *float32, n int, out *float32) {
	panic("cpu: no AVX2 kernels")
}
