//go:build !purego

#include "textflag.h"

// func quantizeActQ8_0AVX2(dst *byte, src *float32, nb int)
//
// ggml-cpu's AVX2 quantize_row_q8_0 for nb > 0 blocks: per block the
// largest |x| (VMAXPS tree as ggml's), d = amax/127 stored as fp16 (round
// to nearest even), id = 127/amax (0 when amax is 0), q = x*id rounded half
// to even (VROUNDPS), converted and packed with signed saturation, the
// lanes put back in element order (VPERMD).
TEXT ·quantizeActQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15       // |x| mask
	MOVL $0x42fe0000, AX        // 127.0
	VMOVD AX, X14
	VMOVDQU q80actPerm<>(SB), Y13

q80actloop:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y15, Y0, Y4
	VANDPS Y15, Y1, Y5
	VMAXPS Y5, Y4, Y4
	VANDPS Y15, Y2, Y5
	VMAXPS Y5, Y4, Y4
	VANDPS Y15, Y3, Y5
	VMAXPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X4, X5, X5           // max(high, low)
	VMOVHLPS X5, X5, X6
	VMAXPS X6, X5, X5
	VMOVSHDUP X5, X6
	VMAXSS X6, X5, X5           // amax
	VDIVSS X14, X5, X6          // d = amax / 127
	VCVTPS2PH $0, X6, X6
	VPEXTRW $0, X6, AX
	MOVW AX, 0(DI)
	VXORPS X7, X7, X7
	VUCOMISS X7, X5
	JNE q80actdiv
	JPC q80actzero              // amax == 0 (a NaN amax divides, as ggml's != does)
q80actdiv:
	VDIVSS X5, X14, X7          // id = 127 / amax
q80actzero:
	VBROADCASTSS X7, Y7
	VMULPS Y7, Y0, Y0
	VMULPS Y7, Y1, Y1
	VMULPS Y7, Y2, Y2
	VMULPS Y7, Y3, Y3
	VROUNDPS $0, Y0, Y0
	VROUNDPS $0, Y1, Y1
	VROUNDPS $0, Y2, Y2
	VROUNDPS $0, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q80actloop
	VZEROUPPER
	RET

DATA q80actPerm<>+0(SB)/4, $0
DATA q80actPerm<>+4(SB)/4, $4
DATA q80actPerm<>+8(SB)/4, $1
DATA q80actPerm<>+12(SB)/4, $5
DATA q80actPerm<>+16(SB)/4, $2
DATA q80actPerm<>+20(SB)/4, $6
DATA q80actPerm<>+24(SB)/4, $3
DATA q80actPerm<>+28(SB)/4, $7
GLOBL q80actPerm<>(SB), RODATA|NOPTR, $32
