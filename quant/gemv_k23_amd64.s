//go:build !purego

#include "textflag.h"

// One-token (GEMV) kernels for Q2_K and Q3_K weights: the rows are looped
// inside the kernel, which prefetches ahead of each block. Each row's
// result is the bits of q2KDotAVX2 / q3KDotAVX2 (ggml_vec_dot_q2_K_q8_K /
// ggml_vec_dot_q3_K_q8_K on AVX2): the float operations of a row are the
// same ones in the same order (d·d_a and dmin·d_a are formed in every lane
// at once, which rounds the same); only the exact integer work is arranged
// differently (scale shuffles from a table, the scales widened or unpacked
// in vector form, the Q3_K high bits moved with shifts), which gives the
// same int32 lanes.

// hsum8k reduces the 8 float32 lanes of Y to X0 lane 0 like ggml's
// hsum_float_8 (the steps of hsumFloat8 in _avo/main.go). Uses X1.
#define hsum8k(Y, X) \
	VEXTRACTF128 $1, Y, X0 \
	VADDPS X, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

// k23Shuf: four VPSHUFB controls of 32 bytes; the i-th picks word 2i of a
// lane of 8 scale words in the low 128-bit lane and word 2i+1 in the high
// one (get_scale_shuffle_q3k's rows).
DATA k23Shuf<>+0(SB)/8, $0x0100010001000100
DATA k23Shuf<>+8(SB)/8, $0x0100010001000100
DATA k23Shuf<>+16(SB)/8, $0x0302030203020302
DATA k23Shuf<>+24(SB)/8, $0x0302030203020302
DATA k23Shuf<>+32(SB)/8, $0x0504050405040504
DATA k23Shuf<>+40(SB)/8, $0x0504050405040504
DATA k23Shuf<>+48(SB)/8, $0x0706070607060706
DATA k23Shuf<>+56(SB)/8, $0x0706070607060706
DATA k23Shuf<>+64(SB)/8, $0x0908090809080908
DATA k23Shuf<>+72(SB)/8, $0x0908090809080908
DATA k23Shuf<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k23Shuf<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k23Shuf<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k23Shuf<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k23Shuf<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k23Shuf<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL k23Shuf<>(SB), RODATA|NOPTR, $128

// q2gStep adds one 32-value chunk of a Q2_K half to the int32 lanes of Y8:
// the 2-bit values (Y0 >> shift) & 3 times the Q8_K quants pairwise
// (VPMADDUBSW), then times the sub-block scales of sc picked by table
// row sh (VPMADDWD).
#define q2gStep(q8off, shift, sc, sh) \
	VPSRLW $shift, Y0, Y1 \
	VPAND Y15, Y1, Y1 \
	q2gMul(q8off, sc, sh)

// q2gStep0 is q2gStep for shift 0.
#define q2gStep0(q8off, sc, sh) \
	VPAND Y15, Y0, Y1 \
	q2gMul(q8off, sc, sh)

// q2gMul is the multiply-add half of q2gStep, the 2-bit values in Y1.
#define q2gMul(q8off, sc, sh) \
	VPMADDUBSW q8off(DI), Y1, Y1 \
	VPSHUFB k23Shuf<>+sh(SB), sc, Y3 \
	VPMADDWD Y3, Y1, Y1 \
	VPADDD Y1, Y8, Y8

// func q2KGemvAVX2(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int)
//
// dst[r] = q2KDotAVX2 of row r of w (stride rowBytes, nb > 0 blocks) with
// a, for r in [0, rows), rows > 0. Each block also prefetches the two
// cache lines pf bytes ahead of it (pf > 0), which runs on into the next
// rows.
TEXT ·q2KGemvAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), R8
	MOVQ w+8(FP), R9
	MOVQ rowBytes+16(FP), R10
	MOVQ a+24(FP), R11
	MOVQ nb+32(FP), R12
	MOVQ rows+40(FP), R13
	MOVQ pf+48(FP), DX
	MOVQ $0x0303030303030303, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ $0x000f000f000f000f, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, Y13

q2growloop:
	MOVQ R9, SI
	MOVQ R11, DI
	MOVQ R12, CX
	VXORPS Y7, Y7, Y7

q2gloop:
	PREFETCHT0 (SI)(DX*1)
	PREFETCHT0 64(SI)(DX*1)

	// d = y.d*x.d (Y4), dmin = y.d*x.dmin (Y5), each in every lane
	VPBROADCASTD 80(SI), X0
	VCVTPH2PS X0, Y0
	VBROADCASTSS (DI), Y1
	VMULPS Y1, Y0, Y0
	VMOVSLDUP Y0, Y4
	VMOVSHDUP Y0, Y5

	// the 16 scale bytes as words: mins (high nibbles) and scales
	VPMOVZXBW (SI), Y2
	VPSRLW $4, Y2, Y3

	// acc -= dmin * (mins . bsums), per lane pair
	VPMADDWD 260(DI), Y3, Y3
	VCVTDQ2PS Y3, Y3
	VFNMADD231PS Y3, Y5, Y7

	// scales: Y11 = groups 0..7 twice, Y9 = groups 8..15 twice
	VPAND Y13, Y2, Y1
	VPERM2I128 $0x00, Y1, Y1, Y11
	VPERM2I128 $0x11, Y1, Y1, Y9
	VPXOR Y8, Y8, Y8

	VMOVDQU 16(SI), Y0
	q2gStep0(4, Y11, 0)
	q2gStep(36, 2, Y11, 32)
	q2gStep(68, 4, Y11, 64)
	q2gStep(100, 6, Y11, 96)
	VMOVDQU 48(SI), Y0
	q2gStep0(132, Y9, 0)
	q2gStep(164, 2, Y9, 32)
	q2gStep(196, 4, Y9, 64)
	q2gStep(228, 6, Y9, 96)

	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y4, Y7

	ADDQ $84, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q2gloop

	hsum8k(Y7, X7)
	MOVSS X0, (R8)
	ADDQ $4, R8
	ADDQ R10, R9
	DECQ R13
	JNZ q2growloop

	VZEROUPPER
	RET

// q3gStep adds one 32-value chunk of a Q3_K half to the int32 lanes of Y8:
// the 2-bit values (Y0 >> shift) & 3 minus 4 where bit hbit of the hmask
// byte is clear (Y6 holds ~hmask; its bit hbit is moved to bit 2 by the
// shift hs, a VPSLLW for hbit < 2 and VPSRLW above, and kept by Y14 =
// 0x04 bytes), times the Q8_K quants pairwise (two VPMADDUBSW, subtracted
// as ggml does), then times the sub-block scales of sc picked by table row
// sh (VPMADDWD).
#define q3gStep(q8off, shift, hsop, hs, sc, sh) \
	VPSRLW $shift, Y0, Y1 \
	VPAND Y15, Y1, Y1 \
	hsop $hs, Y6, Y2 \
	VPAND Y14, Y2, Y2 \
	q3gMul(q8off, sc, sh)

// q3gStep0 is q3gStep for shift 0 (hbit 0 or 4, moved by hsop hs).
#define q3gStep0(q8off, hsop, hs, sc, sh) \
	VPAND Y15, Y0, Y1 \
	hsop $hs, Y6, Y2 \
	VPAND Y14, Y2, Y2 \
	q3gMul(q8off, sc, sh)

// q3gStep2 is q3gStep for hbit 2 (not shifted).
#define q3gStep2(q8off, shift, sc, sh) \
	VPSRLW $shift, Y0, Y1 \
	VPAND Y15, Y1, Y1 \
	VPAND Y14, Y6, Y2 \
	q3gMul(q8off, sc, sh)

// q3gMul is the multiply-add half of q3gStep, the 2-bit values in Y1 and
// the 4s to subtract in Y2.
#define q3gMul(q8off, sc, sh) \
	VPMADDUBSW q8off(DI), Y1, Y1 \
	VPMADDUBSW q8off(DI), Y2, Y2 \
	VPSUBW Y2, Y1, Y1 \
	VPSHUFB k23Shuf<>+sh(SB), sc, Y3 \
	VPMADDWD Y3, Y1, Y1 \
	VPADDD Y1, Y8, Y8

// k23Q3Shift: the dword shifts 0, 2, 4, 6 that bring the high bits of
// Q3_K scales 4k..4k+3 to the bottom of dword k.
DATA k23Q3Shift<>+0(SB)/8, $0x0000000200000000
DATA k23Q3Shift<>+8(SB)/8, $0x0000000600000004
GLOBL k23Q3Shift<>(SB), RODATA|NOPTR, $16

// func q3KGemvAVX2(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int)
//
// dst[r] = q3KDotAVX2 of row r of w (stride rowBytes, nb > 0 blocks) with
// a, for r in [0, rows), rows > 0, prefetching like q2KGemvAVX2.
TEXT ·q3KGemvAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), R8
	MOVQ w+8(FP), R9
	MOVQ rows+40(FP), R14
	MOVQ pf+48(FP), DX
	MOVQ $0x0303030303030303, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ $0x0404040404040404, AX
	VMOVQ AX, X14
	VPBROADCASTQ X14, Y14
	MOVQ $0x2020202020202020, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, X13
	VPCMPEQB Y12, Y12, Y12
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X10
	VPBROADCASTQ X10, X10

q3growloop:
	MOVQ R9, SI
	MOVQ a+24(FP), DI
	MOVQ nb+32(FP), CX
	VXORPS Y7, Y7, Y7

q3gloop:
	PREFETCHT0 (SI)(DX*1)
	PREFETCHT0 64(SI)(DX*1)

	// 16 scales - 32 as words (ggml's aux trick, in vector form): the
	// low nibbles of scale bytes 0..7, then their high nibbles, each with
	// bits 2k..2k+1 of bytes 8..11 on top for scales 4k..4k+3.
	VMOVQ 96(SI), X1
	VPSRLW $4, X1, X2
	VPUNPCKLQDQ X2, X1, X1
	VPAND X10, X1, X1
	VPBROADCASTD 104(SI), X2
	VPSRLVD k23Q3Shift<>(SB), X2, X2
	VPAND X15, X2, X2
	VPSLLD $4, X2, X2
	VPOR X2, X1, X1
	VPSUBB X13, X1, X1
	VPMOVSXBW X1, Y1
	VPERM2I128 $0x00, Y1, Y1, Y11
	VPERM2I128 $0x11, Y1, Y1, Y9

	// Y6 = ~hmask
	VPXOR (SI), Y12, Y6
	VPXOR Y8, Y8, Y8

	VMOVDQU 32(SI), Y0
	q3gStep0(4, VPSLLW, 2, Y11, 0)
	q3gStep(36, 2, VPSLLW, 1, Y11, 32)
	q3gStep2(68, 4, Y11, 64)
	q3gStep(100, 6, VPSRLW, 1, Y11, 96)
	VMOVDQU 64(SI), Y0
	q3gStep0(132, VPSRLW, 2, Y9, 0)
	q3gStep(164, 2, VPSRLW, 3, Y9, 32)
	q3gStep(196, 4, VPSRLW, 4, Y9, 64)
	q3gStep(228, 6, VPSRLW, 5, Y9, 96)

	// acc += d * sumi, d = y.d * x.d in every lane
	VPBROADCASTW 108(SI), X4
	VCVTPH2PS X4, Y4
	VBROADCASTSS (DI), Y3
	VMULPS Y3, Y4, Y4
	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y4, Y7

	ADDQ $110, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q3gloop

	hsum8k(Y7, X7)
	MOVSS X0, (R8)
	ADDQ $4, R8
	ADDQ rowBytes+16(FP), R9
	DECQ R14
	JNZ q3growloop

	VZEROUPPER
	RET
