//go:build !purego

package quant

import (
	"bufio"
	"os"
	"strings"

	"golang.org/x/sys/cpu"
)

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

// halfWidthAVX512 reports whether the CPU runs 512-bit vector instructions
// as two 256-bit halves: AMD's family 19h (Zen 4; its Zen 3 parts have no
// AVX-512). It reads the first processor's vendor and family from
// /proc/cpuinfo; anywhere that cannot be read it answers false.
func halfWidthAVX512() bool {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	var vendor, family string
	sc := bufio.NewScanner(f)
	for sc.Scan() && (vendor == "" || family == "") {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "vendor_id":
			vendor = strings.TrimSpace(v)
		case "cpu family":
			family = strings.TrimSpace(v)
		}
	}
	return vendor == "AuthenticAMD" && family == "25"
}
