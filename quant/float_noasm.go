//go:build !amd64 || purego

package quant

// Stubs: hardwareLevel is LevelGeneric here, so they are never called.

func dotF32AVX2(x, y *float32, n int) float32 { panic("quant: no AVX2 kernels") }
func dotF16AVX2(x, y *uint16, n int) float32  { panic("quant: no AVX2 kernels") }
func dotBF16AVX2(x, y *uint16, n int) float32 { panic("quant: no AVX2 kernels") }

func fmaF32AVX2(x, y, z float32) float32 { panic("quant: no AVX2 kernels") }
