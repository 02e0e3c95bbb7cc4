//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// hardwareLevel returns the best kernel level the CPU can run.
func hardwareLevel() Level {
	x := cpu.X86
	if !(x.HasAVX2 && x.HasFMA && x.HasF16C) {
		return LevelGeneric
	}
	if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL {
		return LevelAVX512
	}
	return LevelAVX2
}
