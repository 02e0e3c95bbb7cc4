//go:build !purego

#include "textflag.h"

// func q4KGemvAVX2(w, a *byte, nb int) float32; nb > 0.
//
// One row of GemvQ4K (ggml_gemv_q4_K_8x8_q8_K's arithmetic): per
// super-block the integer sums isum = Σ_j sc_j·(Σ q_w·q_a) and
// imin = Σ_j m_j·(bsum_2j + bsum_2j+1) are computed exactly in int32
// (|isum| < 2^25), converted to float32 and accumulated with VFMADD231SS by
// d·d_a into X8 and by dmin·d_a into X7; the result is X8 - X7.
TEXT ·q4KGemvAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ $0x0202020202020202, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, Y13
	MOVQ $0x0100010001000100, AX
	VMOVQ AX, X12
	VPBROADCASTQ X12, Y12
	VXORPS X8, X8, X8
	VXORPS X7, X7, X7

q4kgloop:
	// X14 = d*d_a, X6 = dmin*d_a (float32, rounded once each)
	VMOVD (SI), X0
	VCVTPH2PS X0, X0
	VMOVSS (DI), X1
	VMULSS X1, X0, X14
	VMOVSHDUP X0, X6
	VMULSS X1, X6, X6

	// scales (AX, R13) and mins (R12, R10) as bytes, ggml's utmp trick
	MOVL 4(SI), AX
	MOVL 8(SI), BX
	MOVL 12(SI), DX
	MOVL DX, R10
	SHRL $4, R10
	ANDL $0x0f0f0f0f, R10
	MOVL BX, R11
	SHRL $6, R11
	ANDL $0x03030303, R11
	SHLL $4, R11
	ORL R11, R10
	MOVL BX, R12
	ANDL $0x3f3f3f3f, R12
	MOVL DX, R13
	ANDL $0x0f0f0f0f, R13
	MOVL AX, R11
	SHRL $6, R11
	ANDL $0x03030303, R11
	SHLL $4, R11
	ORL R11, R13
	ANDL $0x3f3f3f3f, AX

	// X5 = 4 int32 partial sums of mins . pairwise bsums
	VMOVQ R12, X5
	VPINSRD $1, R10, X5, X5
	VPMOVZXBW X5, X5
	VMOVDQU 260(DI), X3
	VPHADDW 276(DI), X3, X3
	VPMADDWD X3, X5, X5

	// scales as words in both 128-bit lanes
	VMOVQ AX, X4
	VPINSRD $1, R13, X4, X4
	VPMOVZXBW X4, X4
	VINSERTI128 $1, X4, Y4, Y11
	VMOVDQU Y12, Y10
	VPXOR Y9, Y9, Y9

#define q4kgChunk(qoff, q8lo, q8hi) \
	VMOVDQU qoff(SI), Y0 \
	VPSRLW $4, Y0, Y1 \
	VPAND Y15, Y0, Y0 \
	VPAND Y15, Y1, Y1 \
	VPMADDUBSW q8lo(DI), Y0, Y0 \
	VPMADDUBSW q8hi(DI), Y1, Y1 \
	VPSHUFB Y10, Y11, Y2 \
	VPADDB Y13, Y10, Y10 \
	VPSHUFB Y10, Y11, Y3 \
	VPADDB Y13, Y10, Y10 \
	VPMADDWD Y2, Y0, Y0 \
	VPMADDWD Y3, Y1, Y1 \
	VPADDD Y1, Y0, Y0 \
	VPADDD Y0, Y9, Y9

	q4kgChunk(16, 4, 36)
	q4kgChunk(48, 68, 100)
	q4kgChunk(80, 132, 164)
	q4kgChunk(112, 196, 228)

	// X9 lanes 0..3 = isum partials, X5 = imin partials; reduce both:
	// after two VPHADDD, lane 0 = isum and lane 1 = imin.
	VEXTRACTI128 $1, Y9, X0
	VPADDD X0, X9, X9
	VPHADDD X5, X9, X9
	VPHADDD X9, X9, X9
	VCVTDQ2PS X9, X9
	VFMADD231SS X14, X9, X8
	VMOVSHDUP X9, X9
	VFMADD231SS X6, X9, X7

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4kgloop

	VSUBSS X7, X8, X8
	VZEROUPPER
	MOVSS X8, ret+24(FP)
	RET

