//go:build !amd64 || purego

package quant

// haveAVX2 is false where the assembly kernels are not built.
const haveAVX2 = false

func q4KDotAVX2(x, y *byte, nb int) float32 { panic("quant: no AVX2 kernels") }

func q6KDotAVX2(x, y *byte, nb int) float32 { panic("quant: no AVX2 kernels") }

func q5KDotAVX2(x, y *byte, nb int) float32 { panic("quant: no AVX2 kernels") }

func q2KDotAVX2(x, y *byte, nb int) float32 { panic("quant: no AVX2 kernels") }

func q3KDotAVX2(x, y *byte, nb int) float32 { panic("quant: no AVX2 kernels") }
