//go:build !amd64 || purego

package quant

// Stubs: hardwareLevel is LevelGeneric here, so they are never called.

func q4_0Q8_0Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q5_0Q8_0Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q8_0Q8_0Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q4_1Q8_1Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q5_1Q8_1Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func dotF32x3AVX2(x, y *float32, yStride, n int, acc *float32) { panic("quant: no AVX2 kernels") }

func reduceF32x3AVX2(acc *float32, out *float32) { panic("quant: no AVX2 kernels") }

func dotF16x3AVX2(x, y *uint16, yStride, n int, acc *float32) {
	panic("quant: no AVX2 kernels")
}

func q8_0Q8_0Dot8AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q4_0Q8_0Dot8AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q5_0Q8_0Dot8AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q4KQ8KDot4AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q6KQ8KDot4AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q4KQ8KDot8AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q6KQ8KDot8AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q2KQ8KDotNAVX2(w, a *byte, aStride int, tmp *byte, nb, rows int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q3KQ8KDotNAVX2(w, a *byte, aStride int, tmp *byte, nb, rows int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q8_0PairSums8AVX2(a *byte, aStride, nb int, corr *byte) { panic("quant: no AVX2 kernels") }

func q4_0Q8_0Dot8CAVX2(w, a *byte, aStride int, tab *float32, corr *byte, nb int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func q5KQ8KDotNAVX2(w, a *byte, aStride int, tmp *byte, nb, rows int, out *float32) {
	panic("quant: no AVX2 kernels")
}

func dotF32x3FullAVX2(x, y *float32, yStride, n int, out *float32) { panic("quant: no AVX2 kernels") }

func dotF16x3FullAVX2(x, y *uint16, yStride, n int, out *float32) { panic("quant: no AVX2 kernels") }

func q8_0GemmTabAVX2(a *byte, aStride, rows, nb int, tab *byte) { panic("quant: no AVX2 kernels") }

func q4_0GemmR4AVX2(pack, a *byte, aStride int, tab *byte, tabStride, nb int, dst *float32, ldDst int) {
	panic("quant: no AVX2 kernels")
}

func q4KPack8AVX2(w *byte, rowBytes, nb int, pack *byte) { panic("quant: no AVX2 kernels") }

func q4KGemmR2AVX2(pack, a *byte, aStride, nb int, acc *float32) { panic("quant: no AVX2 kernels") }

func q4KPack8ScalesAVX2(w *byte, rowBytes, nb int, pack *byte) { panic("quant: no AVX2 kernels") }

func q8_0GemmX8AVX2(w *byte, rowBytes, rows int, ap *byte, nb int, dst *float32, ldDst int) {
	panic("quant: no AVX2 kernels")
}

func q4_0x8GemvAVX2(dst *float32, w *byte, groupBytes, ngroups int, a, tab *byte, nb int) {
	panic("quant: no AVX2 kernels")
}

func q4_0x8GemvVNNI(dst *float32, w *byte, groupBytes, ngroups int, a, tab *byte, nb int) {
	panic("quant: no AVX2 kernels")
}

func q4_0x8PackAVX2(w *byte, nb int, pack *byte) { panic("quant: no AVX2 kernels") }

func q4Kx8GemvAVX2(dst *float32, w *byte, groupBytes, ngroups int, a *byte, nb int) {
	panic("quant: no AVX2 kernels")
}

func q4Kx8GemvVNNI(dst *float32, w *byte, groupBytes, ngroups int, a *byte, nb int) {
	panic("quant: no AVX2 kernels")
}

func q4Kx8PackAVX2(w *byte, nb int, pack *byte) { panic("quant: no AVX2 kernels") }
