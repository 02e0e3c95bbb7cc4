//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// hardwareLevel returns the best kernel level the CPU can run.
func hardwareLevel() Level {
	x := cpu.X86
	if !(x.HasAVX2 && x.HasFMA && x.HasF16C) {
		return LevelGeneric
	}
	// The AVX-512 kernels use VPDPBUSD (AVX512_VNNI) and byte masks
	// (AVX512BW); x/sys/cpu reports AVX-512 only where the OS saves the
	// registers.
	if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512VNNI {
		return LevelAVX512
	}
	return LevelAVX2
}
