//go:build !amd64 || purego

package quant

func quantizeQ8KAVX2(dst *byte, src *float32, nb int) { panic("quant: no AVX2 kernels") }
