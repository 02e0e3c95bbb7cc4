//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// haveAVX2 reports whether the AVX2 K-quant kernels can run here. It is
// fixed at program start.
var haveAVX2 = cpu.X86.HasAVX2

// q4KGroupDotsAVX2 stores, for each of nb Q4_K/Q8_K block pairs starting at
// x and y, the block's integer dot sum_j sc_j*sum(q4*q8) into out[2i] and its
// min term sum_j m_j*(bsums[2j]+bsums[2j+1]) into out[2i+1]. Implemented in
// kquant_amd64.s.
//
//go:noescape
func q4KGroupDotsAVX2(x, y *byte, nb int, out *int32)

// q6KGroupDotsAVX2 stores, for each of nb Q6_K/Q8_K block pairs, the
// block's integer dot sum_g sc_g*(sum(q6*q8) - 32*bsum_g) into out[i], q6 the
// unsigned 6-bit quants (0..63).
//
//go:noescape
func q6KGroupDotsAVX2(x, y *byte, nb int, out *int32)

// q5KGroupDotsAVX2 is q4KGroupDotsAVX2 for Q5_K blocks.
//
//go:noescape
func q5KGroupDotsAVX2(x, y *byte, nb int, out *int32)

// q3KGroupDotsAVX2 stores, for each of nb Q3_K/Q8_K block pairs, the
// block's integer dot sum_g (sc_g-32)*(sum(q*q8) - 4*bsum_g) into out[i].
//
//go:noescape
func q3KGroupDotsAVX2(x, y *byte, nb int, out *int32)

// q2KGroupDotsAVX2 stores, for each of nb Q2_K/Q8_K block pairs, the
// block's scaled dot sum_g (sc_g&15)*sum(q*q8) into out[2i] and its min
// term sum_g (sc_g>>4)*bsum_g into out[2i+1].
//
//go:noescape
func q2KGroupDotsAVX2(x, y *byte, nb int, out *int32)
