//go:build !purego

#include "textflag.h"

// hsum8q reduces the 8 float32 lanes of Y to X0 lane 0 like ggml's
// hsum_float_8 (the same steps as kquant_amd64.s's hsum8). Uses X1.
#define hsum8q(Y, X) \
	VEXTRACTF128 $1, Y, X0 \
	VADDPS X, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

// q6kShuf: eight VPSHUFB controls of 16 bytes; the i-th repeats scale byte
// 2i eight times, then byte 2i+1 eight times.
DATA q6kShuf<>+0(SB)/8, $0x0000000000000000
DATA q6kShuf<>+8(SB)/8, $0x0101010101010101
DATA q6kShuf<>+16(SB)/8, $0x0202020202020202
DATA q6kShuf<>+24(SB)/8, $0x0303030303030303
DATA q6kShuf<>+32(SB)/8, $0x0404040404040404
DATA q6kShuf<>+40(SB)/8, $0x0505050505050505
DATA q6kShuf<>+48(SB)/8, $0x0606060606060606
DATA q6kShuf<>+56(SB)/8, $0x0707070707070707
DATA q6kShuf<>+64(SB)/8, $0x0808080808080808
DATA q6kShuf<>+72(SB)/8, $0x0909090909090909
DATA q6kShuf<>+80(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA q6kShuf<>+88(SB)/8, $0x0b0b0b0b0b0b0b0b
DATA q6kShuf<>+96(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA q6kShuf<>+104(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA q6kShuf<>+112(SB)/8, $0x0e0e0e0e0e0e0e0e
DATA q6kShuf<>+120(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q6kShuf<>(SB), RODATA|NOPTR, $128

// func q6KGemvAVX2(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int)
//
// dst[r] = ggml_vec_dot_q6_K_q8_K (AVX2, the steps of q6KDotAVX2) of row r
// of w (stride rowBytes, nb > 0 blocks) with a, for r in [0, rows), rows > 0.
// Each block also prefetches the cache lines pf bytes ahead of it (pf > 0),
// which runs on into the next rows.
TEXT ·q6KGemvAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), R8
	MOVQ w+8(FP), R9
	MOVQ rowBytes+16(FP), R10
	MOVQ a+24(FP), R11
	MOVQ nb+32(FP), R12
	MOVQ rows+40(FP), R13
	MOVQ pf+48(FP), DX
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ $0x0303030303030303, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, Y13
	MOVQ $0x0c0c0c0c0c0c0c0c, AX
	VMOVQ AX, X12
	VPBROADCASTQ X12, Y12
	MOVQ $0x3030303030303030, AX
	VMOVQ AX, X11
	VPBROADCASTQ X11, Y11
	MOVQ $0xc0c0c0c0c0c0c0c0, AX
	VMOVQ AX, X10
	VPBROADCASTQ X10, Y10

q6growloop:
	MOVQ R9, SI
	MOVQ R11, DI
	MOVQ R12, CX
	VXORPS Y5, Y5, Y5

q6gloop:
	PREFETCHT0 (SI)(DX*1)
	PREFETCHT0 64(SI)(DX*1)
	PREFETCHT0 128(SI)(DX*1)
	PREFETCHT0 192(SI)(DX*1)
	VMOVDQU 192(SI), X7
	VPXOR Y6, Y6, Y6

#define q6gChunk(q8off, sh) \
	VPMADDUBSW q8off(DI), Y3, Y3 \
	VPSHUFB q6kShuf<>+sh(SB), X7, X4 \
	VPMOVSXBW X4, Y4 \
	VPMADDWD Y4, Y3, Y3 \
	VPADDD Y3, Y6, Y6

#define q6gHalf(qloff, qhoff, q8a, q8b, q8c, q8d, sh) \
	VMOVDQU qloff(SI), Y0 \
	VMOVDQU qloff+32(SI), Y1 \
	VMOVDQU qhoff(SI), Y2 \
	VPAND Y15, Y0, Y3 \
	VPAND Y13, Y2, Y4 \
	VPSLLW $4, Y4, Y4 \
	VPOR Y4, Y3, Y3 \
	q6gChunk(q8a, sh) \
	VPAND Y15, Y1, Y3 \
	VPAND Y12, Y2, Y4 \
	VPSLLW $2, Y4, Y4 \
	VPOR Y4, Y3, Y3 \
	q6gChunk(q8b, sh+16) \
	VPSRLW $4, Y0, Y3 \
	VPAND Y15, Y3, Y3 \
	VPAND Y11, Y2, Y4 \
	VPOR Y4, Y3, Y3 \
	q6gChunk(q8c, sh+32) \
	VPSRLW $4, Y1, Y3 \
	VPAND Y15, Y3, Y3 \
	VPAND Y10, Y2, Y4 \
	VPSRLW $2, Y4, Y4 \
	VPOR Y4, Y3, Y3 \
	q6gChunk(q8d, sh+48)

	q6gHalf(0, 128, 4, 36, 68, 100, 0)
	q6gHalf(64, 160, 132, 164, 196, 228, 64)

	// sumi -= 32 * (bsums . scales) per lane pair
	VPMOVSXBW X7, Y4
	VPMADDWD 260(DI), Y4, Y4
	VPSLLD $5, Y4, Y4
	VPSUBD Y4, Y6, Y6

	// acc += d * sumi, d = y.d * x.d
	MOVWLZX 208(SI), AX
	VMOVD AX, X3
	VCVTPH2PS X3, X3
	VMULSS (DI), X3, X3
	VBROADCASTSS X3, Y3
	VCVTDQ2PS Y6, Y6
	VFMADD231PS Y6, Y3, Y5

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q6gloop

	hsum8q(Y5, X5)
	MOVSS X0, (R8)
	ADDQ $4, R8
	ADDQ R10, R9
	DECQ R13
	JNZ q6growloop

	VZEROUPPER
	RET
