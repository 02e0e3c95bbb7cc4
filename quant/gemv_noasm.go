//go:build !amd64 || purego

package quant

// The gemv AVX2 kernels exist only on amd64 without purego; useAVX2 is
// false here, so these are never called.

func prefetchRange(p *byte, n int) {}

// hasPrefetch says whether prefetchRange does anything.
const hasPrefetch = false

func gemvF32AVX2(dst *float32, w *byte, rowBytes int, x *byte, n, rows int) {
	panic("quant: no AVX2 kernels")
}

func q6KGemvAVX2(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int) {
	panic("quant: no AVX2 kernels")
}

func gemvF32x8AVX2(dst *float32, w *byte, rowBytes int, x *byte, n, rows int) {
	panic("quant: no AVX2 kernels")
}

func q2KGemvAVX2(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int) {
	panic("quant: no AVX2 kernels")
}

func q3KGemvAVX2(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int) {
	panic("quant: no AVX2 kernels")
}
