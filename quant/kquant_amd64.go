//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// haveAVX2 reports whether the AVX2 K-quant kernels can run here. It is
// fixed at program start.
var haveAVX2 = cpu.X86.HasAVX2

// q4KGroupDotsAVX2 stores, for each of nb Q4_K/Q8_K block pairs starting at
// x and y, the 8 integer sums over its sub-blocks of the 4-bit quants times
// the Q8_K quants into out[8i:8i+8]. Implemented in kquant_amd64.s.
//
//go:noescape
func q4KGroupDotsAVX2(x, y *byte, nb int, out *int32)

// q6KGroupDotsAVX2 stores, for each of nb Q6_K/Q8_K block pairs, the 16
// integer sums over sub-blocks of the unsigned 6-bit quants (0..63) times the
// Q8_K quants into out[16i:16i+16], in the order of q6KGroupOrder.
//
//go:noescape
func q6KGroupDotsAVX2(x, y *byte, nb int, out *int32)
