//go:build !amd64 || purego

package cpu

// Stubs: quant.KernelLevel is LevelGeneric in these builds, so haveAVX2 is
// false and these are never called.

func expSumBlocksAVX2(x *float32, n8 int, mx float32, sum *float64) int {
	panic("cpu: no AVX2 kernels")
}

func swiGLUBlocksAVX2(gate, up *float32, n8 int) int { panic("cpu: no AVX2 kernels") }
