//go:build !amd64 || purego

package quant

// Stubs: hardwareLevel is LevelGeneric here, so they are never called.

func q4_0Q8_0SumsAVX2(w, a *byte, nb int, out *int32) { panic("quant: no AVX2 kernels") }
func q4_1Q8_1SumsAVX2(w, a *byte, nb int, out *int32) { panic("quant: no AVX2 kernels") }
func q5_0Q8_0SumsAVX2(w, a *byte, nb int, out *int32) { panic("quant: no AVX2 kernels") }
func q5_1Q8_1SumsAVX2(w, a *byte, nb int, out *int32) { panic("quant: no AVX2 kernels") }
func q8_0Q8_0SumsAVX2(w, a *byte, nb int, out *int32) { panic("quant: no AVX2 kernels") }

func q4_0Q8_0DotAVX2(w, a *byte, nb int) float32 { panic("quant: no AVX2 kernels") }
func q4_1Q8_1DotAVX2(w, a *byte, nb int) float32 { panic("quant: no AVX2 kernels") }
func q5_0Q8_0DotAVX2(w, a *byte, nb int) float32 { panic("quant: no AVX2 kernels") }
func q5_1Q8_1DotAVX2(w, a *byte, nb int) float32 { panic("quant: no AVX2 kernels") }
func q8_0Q8_0DotAVX2(w, a *byte, nb int) float32 { panic("quant: no AVX2 kernels") }
