//go:build !unix

package quant

// processCPUSeconds is not measured here; the cpu-us/op metric reads 0.
func processCPUSeconds() float64 { return 0 }
