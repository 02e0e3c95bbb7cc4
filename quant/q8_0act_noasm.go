//go:build !amd64 || purego

package quant

func quantizeActQ8_0AVX2(dst *byte, src *float32, nb int) { panic("quant: no AVX2 kernels") }
