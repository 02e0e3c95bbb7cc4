//go:build !purego

package bench

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// wideReaders are the assembly probes this CPU can run: 128 bytes a step
// with AVX2, 256 with AVX-512F. A tail shorter than a step is summed in Go.
func wideReaders() []reader {
	var rs []reader
	wide := func(name string, words int, kern func(p *byte, n int) uint64) reader {
		return reader{name, words, func(u []uint64) uint64 {
			n := len(u) / words * words
			var s uint64
			if n > 0 {
				s = kern((*byte)(unsafe.Pointer(&u[0])), 8*n)
			}
			return s + sum4(u[n:])
		}}
	}
	if cpu.X86.HasAVX2 {
		rs = append(rs, wide("avx2", 16, readSumAVX2))
	}
	if cpu.X86.HasAVX512F {
		rs = append(rs, wide("avx512", 32, readSumAVX512))
	}
	return rs
}

// TestReadSum checks the probes against the Go sum on lengths around their
// step, with words that carry across lanes (the sums wrap).
func TestReadSum(t *testing.T) {
	rs := wideReaders()
	if len(rs) == 0 {
		t.Skip("!!! SKIPPING: this CPU has neither AVX2 nor AVX-512F: the read probes are not checked here")
	}
	u := make([]uint64, 4099)
	for i := range u {
		u[i] = uint64(i+1) * 0xfedcba9876543211
	}
	for _, rd := range rs {
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 64, 100, 4096, 4099} {
			if got, want := rd.sum(u[:n]), sum4(u[:n]); got != want {
				t.Fatalf("%s over %d words: %#x, want %#x", rd.name, n, got, want)
			}
		}
	}
}
