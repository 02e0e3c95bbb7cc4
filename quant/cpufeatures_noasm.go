//go:build !amd64 || purego

package quant

// hardwareLevel is LevelGeneric where no assembly kernels are built.
func hardwareLevel() Level { return LevelGeneric }

// halfWidthAVX512 is false where no assembly kernels are built.
func halfWidthAVX512() bool { return false }
