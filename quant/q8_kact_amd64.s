//go:build !purego

#include "textflag.h"

// func quantizeQ8KAVX2(dst *byte, src *float32, nb int)
//
// quantizeQ8K (ggml's quantize_row_q8_K_ref) for nb > 0 blocks of 256:
// amax = the largest |x| (NaNs skipped, as the reference's ax > amax
// does), max = the first x with |x| == amax, iscale = -127/max,
// q = min(127, round_half_even(iscale*x)) (VCVTPS2DQ rounds as the
// reference's nearest_int for |iscale*x| <= 127), d = 1/iscale, and the
// sums of each 16 quants; a block with amax == 0 is all zeros.
TEXT ·quantizeQ8KAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15       // |x| mask
	MOVL $127, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12       // 127 as int32
	VMOVDQU q8kactPerm<>(SB), Y13

q8kblock:
	// amax over the block, 32 floats a step
	VXORPS Y4, Y4, Y4
	XORQ AX, AX
q8kamax:
	VANDPS (SI)(AX*1), Y15, Y0
	VANDPS 32(SI)(AX*1), Y15, Y1
	VANDPS 64(SI)(AX*1), Y15, Y2
	VANDPS 96(SI)(AX*1), Y15, Y3
	VMAXPS Y4, Y0, Y4           // max(x, acc): acc when x is NaN
	VMAXPS Y4, Y1, Y4
	VMAXPS Y4, Y2, Y4
	VMAXPS Y4, Y3, Y4
	ADDQ $128, AX
	CMPQ AX, $1024
	JLT q8kamax
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X4, X5, X5
	VMOVHLPS X5, X5, X6
	VMAXPS X6, X5, X5
	VMOVSHDUP X5, X6
	VMAXSS X6, X5, X5           // amax
	VXORPS X6, X6, X6
	VUCOMISS X6, X5
	JNE q8kfind
	JPS q8kfind
	// amax == 0: an all-zero block
	VXORPS Y0, Y0, Y0
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y0, 32(DI)
	VMOVDQU Y0, 64(DI)
	VMOVDQU Y0, 96(DI)
	VMOVDQU Y0, 128(DI)
	VMOVDQU Y0, 160(DI)
	VMOVDQU Y0, 192(DI)
	VMOVDQU Y0, 224(DI)
	VMOVDQU Y0, 256(DI)
	MOVL $0, 288(DI)
	JMP q8knext

q8kfind:
	// the first element whose magnitude is amax
	VBROADCASTSS X5, Y5
	XORQ AX, AX
q8kfindloop:
	VANDPS (SI)(AX*4), Y15, Y0
	VCMPPS $0, Y5, Y0, Y0       // |x| == amax
	VMOVMSKPS Y0, BX
	TESTL BX, BX
	JNZ q8kfound
	ADDQ $8, AX
	CMPQ AX, $256
	JLT q8kfindloop
	// not reached: amax is one of the |x|
q8kfound:
	BSFL BX, BX
	ADDQ BX, AX
	VMOVSS (SI)(AX*4), X6       // max
	MOVL $0xc2fe0000, AX        // -127.0
	VMOVD AX, X7
	VDIVSS X6, X7, X7           // iscale = -127 / max
	MOVL $0x3f800000, AX        // 1.0
	VMOVD AX, X8
	VDIVSS X7, X8, X8           // d = 1 / iscale
	VMOVSS X8, 0(DI)
	VBROADCASTSS X7, Y7

	// quants and their sums, 32 a step
	XORQ AX, AX
	XORQ BX, BX
q8kquant:
	VMULPS (SI)(AX*4), Y7, Y0
	VMULPS 32(SI)(AX*4), Y7, Y1
	VMULPS 64(SI)(AX*4), Y7, Y2
	VMULPS 96(SI)(AX*4), Y7, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPMINSD Y12, Y0, Y0
	VPMINSD Y12, Y1, Y1
	VPMINSD Y12, Y2, Y2
	VPMINSD Y12, Y3, Y3
	// the two groups of 16: lanes summed within each 128-bit half, then
	// the halves
	VPADDD Y1, Y0, Y8
	VPADDD Y3, Y2, Y9
	VPHADDD Y9, Y8, Y8
	VPHADDD Y8, Y8, Y8
	VEXTRACTI128 $1, Y8, X9
	VPADDD X9, X8, X8
	VPACKSSDW X8, X8, X8
	VMOVD X8, DX
	MOVL DX, 260(DI)(BX*4)
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, 4(DI)(AX*1)
	ADDQ $32, AX
	INCQ BX
	CMPQ AX, $256
	JLT q8kquant

q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q8kblock
	VZEROUPPER
	RET

// q8kactPerm puts the dwords of the two-step pack back in element order.
DATA q8kactPerm<>+0(SB)/4, $0
DATA q8kactPerm<>+4(SB)/4, $4
DATA q8kactPerm<>+8(SB)/4, $1
DATA q8kactPerm<>+12(SB)/4, $5
DATA q8kactPerm<>+16(SB)/4, $2
DATA q8kactPerm<>+20(SB)/4, $6
DATA q8kactPerm<>+24(SB)/4, $3
DATA q8kactPerm<>+28(SB)/4, $7
GLOBL q8kactPerm<>(SB), RODATA|NOPTR, $32
