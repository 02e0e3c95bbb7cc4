//go:build !amd64 || purego

package quant

// hardwareLevel is LevelGeneric where no assembly kernels are built.
func hardwareLevel() Level { return LevelGeneric }
