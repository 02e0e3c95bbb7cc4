//go:build !amd64 || purego

package quant

// The K-quant AVX2 kernels exist only on amd64 without purego; useAVX2 is
// false here, so these are never called.

func q4KDotAVX2(x, y *byte, nb int) float32 { panic("quant: no AVX2 kernels") }

func q6KDotAVX2(x, y *byte, nb int) float32 { panic("quant: no AVX2 kernels") }

func q5KDotAVX2(x, y *byte, nb int) float32 { panic("quant: no AVX2 kernels") }

func q2KDotAVX2(x, y *byte, nb int) float32 { panic("quant: no AVX2 kernels") }

func q3KDotAVX2(x, y *byte, nb int) float32 { panic("quant: no AVX2 kernels") }
