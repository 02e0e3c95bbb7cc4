//go:build !purego

#include "textflag.h"

// Batched Q4_K x Q8_K in the arithmetic of llama.cpp's repacked
// ggml_gemm_q4_K_8x8_q8_K on AVX2: per pair of rows, super-block and
// 64-element half-pair sb (sub-blocks 2sb, 2sb+1), the exact integer sums
// isum = sc_2sb*Σ_2sb + sc_2sb+1*Σ_2sb+1 and imin = m_2sb*bsum_2sb +
// m_2sb+1*bsum_2sb+1 are converted to float32 and accumulated with one
// fused multiply-add each, acc = fma(isum, d*d_a, acc), accMin =
// fma(imin, dmin*d_a, accMin); the result is acc - accMin.
//
// Packed layout of eight weight rows, 2496 bytes a super-block (see
// matmul_q4kr.go): 64 vectors V[j][c] (sub-block j, chunk c of 4 quants;
// 32-bit lane r = quants 4c..4c+3 of sub-block j of row r, 0..15), then
// 8 vectors SC[j] (lane r = int16 pair sc_j, sc_j), 4 vectors MN[sb]
// (lane r = int16 pair m_2sb, m_2sb+1), then d and dmin of the rows as
// float32.

#define Q4KR_V 0
#define Q4KR_SC 2048
#define Q4KR_MN 2304
#define Q4KR_D 2432
#define Q4KR_DMIN 2464
#define Q4KR_LEN 2496

// Sub-block j's integer sums for activation rows 0 (DI) and 1 (DI+R8):
// Σ_c VPMADDUBSW(V[j][c], broadcast quants) into int16 Y0/Y1, then
// VPMADDWD with SC[j]: int32 lanes sc_j*Σ_j in t0, t1.
#define Q4KR_SUB(j, t0, t1) \
	VMOVDQU (Q4KR_V+((j)*8+0)*32)(SI), Y8 \
	VPBROADCASTD (4+32*(j)+0)(DI), Y9 \
	VPBROADCASTD (4+32*(j)+0)(DI)(R8*1), Y10 \
	VPMADDUBSW Y9, Y8, t0 \
	VPMADDUBSW Y10, Y8, t1 \
	Q4KR_CHUNK(j, 1, t0, t1) \
	Q4KR_CHUNK(j, 2, t0, t1) \
	Q4KR_CHUNK(j, 3, t0, t1) \
	Q4KR_CHUNK(j, 4, t0, t1) \
	Q4KR_CHUNK(j, 5, t0, t1) \
	Q4KR_CHUNK(j, 6, t0, t1) \
	Q4KR_CHUNK(j, 7, t0, t1) \
	VPMADDWD (Q4KR_SC+(j)*32)(SI), t0, t0 \
	VPMADDWD (Q4KR_SC+(j)*32)(SI), t1, t1

#define Q4KR_CHUNK(j, c, t0, t1) \
	VMOVDQU (Q4KR_V+((j)*8+(c))*32)(SI), Y8 \
	VPBROADCASTD (4+32*(j)+4*(c))(DI), Y9 \
	VPBROADCASTD (4+32*(j)+4*(c))(DI)(R8*1), Y10 \
	VPMADDUBSW Y9, Y8, Y9 \
	VPMADDUBSW Y10, Y8, Y10 \
	VPADDW Y9, t0, t0 \
	VPADDW Y10, t1, t1

// Half-pair sb: isum into the accumulators, then the min sums (the int16
// pairs of bsums for sb of row 0 at 128+4*off(SP), row 1 at 160+4*off(SP)).
#define Q4KR_SB(sb, off) \
	Q4KR_SUB((2*(sb)), Y2, Y3) \
	Q4KR_SUB((2*(sb)+1), Y0, Y1) \
	VPADDD Y0, Y2, Y2 \
	VPADDD Y1, Y3, Y3 \
	VCVTDQ2PS Y2, Y2 \
	VCVTDQ2PS Y3, Y3 \
	VFMADD231PS 0(SP), Y2, Y4 \
	VFMADD231PS 64(SP), Y3, Y6 \
	VPBROADCASTD (128+4*(off))(SP), Y9 \
	VPBROADCASTD (160+4*(off))(SP), Y10 \
	VPMADDWD (Q4KR_MN+(sb)*32)(SI), Y9, Y9 \
	VPMADDWD (Q4KR_MN+(sb)*32)(SI), Y10, Y10 \
	VCVTDQ2PS Y9, Y9 \
	VCVTDQ2PS Y10, Y10 \
	VFMADD231PS 32(SP), Y9, Y5 \
	VFMADD231PS 96(SP), Y10, Y7

// One 16-byte quarter of the quants of rows 0..7 (at qoff in each block:
// 16 + sb*32 + h*16): a 4x4 dword transpose in each 128-bit half (rows r |
// r+4), low nibbles to V[2sb][4h..4h+3] at voff = (2sb*8+4h)*32, high
// nibbles to V[2sb+1][4h..] at voff+256.
#define Q4KR_QUARTER(qoff, voff) \
	VMOVDQU qoff(SI), X0 \
	VINSERTI128 $1, qoff(R11), Y0, Y0 \
	VMOVDQU qoff(SI)(R8*1), X1 \
	VINSERTI128 $1, qoff(R11)(R8*1), Y1, Y1 \
	VMOVDQU qoff(SI)(R8*2), X2 \
	VINSERTI128 $1, qoff(R11)(R8*2), Y2, Y2 \
	VMOVDQU qoff(SI)(R9*1), X3 \
	VINSERTI128 $1, qoff(R11)(R9*1), Y3, Y3 \
	VPUNPCKLDQ Y1, Y0, Y4 \
	VPUNPCKHDQ Y1, Y0, Y5 \
	VPUNPCKLDQ Y3, Y2, Y6 \
	VPUNPCKHDQ Y3, Y2, Y7 \
	VPUNPCKLQDQ Y6, Y4, Y0 \
	VPUNPCKHQDQ Y6, Y4, Y1 \
	VPUNPCKLQDQ Y7, Y5, Y2 \
	VPUNPCKHQDQ Y7, Y5, Y3 \
	VPAND Y15, Y0, Y4 \
	VPAND Y15, Y1, Y5 \
	VPAND Y15, Y2, Y6 \
	VPAND Y15, Y3, Y7 \
	VMOVDQU Y4, (voff+0)(DI) \
	VMOVDQU Y5, (voff+32)(DI) \
	VMOVDQU Y6, (voff+64)(DI) \
	VMOVDQU Y7, (voff+96)(DI) \
	VPSRLW $4, Y0, Y0 \
	VPSRLW $4, Y1, Y1 \
	VPSRLW $4, Y2, Y2 \
	VPSRLW $4, Y3, Y3 \
	VPAND Y15, Y0, Y0 \
	VPAND Y15, Y1, Y1 \
	VPAND Y15, Y2, Y2 \
	VPAND Y15, Y3, Y3 \
	VMOVDQU Y0, (voff+256)(DI) \
	VMOVDQU Y1, (voff+288)(DI) \
	VMOVDQU Y2, (voff+320)(DI) \
	VMOVDQU Y3, (voff+352)(DI)

// func q4KPack8AVX2(w *byte, rowBytes, nb int, pack *byte)
//
// Writes the V vectors of nb super-blocks of rows 0..7 (row r at w +
// r*rowBytes) into pack, Q4KR_LEN bytes a super-block.
TEXT ·q4KPack8AVX2(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ rowBytes+8(FP), R8
	MOVQ nb+16(FP), CX
	MOVQ pack+24(FP), DI
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R11
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15

q4kpackblk:
	Q4KR_QUARTER(16, 0)
	Q4KR_QUARTER(32, 128)
	Q4KR_QUARTER(48, 512)
	Q4KR_QUARTER(64, 640)
	Q4KR_QUARTER(80, 1024)
	Q4KR_QUARTER(96, 1152)
	Q4KR_QUARTER(112, 1536)
	Q4KR_QUARTER(128, 1664)
	ADDQ $144, SI
	ADDQ $144, R11
	ADDQ $Q4KR_LEN, DI
	DECQ CX
	JNZ q4kpackblk
	VZEROUPPER
	RET

// func q4KGemmR2AVX2(pack, a *byte, aStride, nb int, acc *float32)
//
// Carries acc[0..7], acc[8..15] (acc and accMin of activation row 0) and
// acc[16..31] (row 1) of eight packed weight rows through nb super-blocks
// of the two Q8_K activation rows at a and a+aStride.
TEXT ·q4KGemmR2AVX2(SB), NOSPLIT, $192-40
	MOVQ pack+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ aStride+16(FP), R8
	MOVQ nb+24(FP), CX
	MOVQ acc+32(FP), BX
	VMOVUPS 0(BX), Y4
	VMOVUPS 32(BX), Y5
	VMOVUPS 64(BX), Y6
	VMOVUPS 96(BX), Y7

q4kr2loop:
	// scale products d*d_a, dmin*d_a of both rows at 0..127(SP)
	VBROADCASTSS (DI), Y9
	VMULPS Q4KR_D(SI), Y9, Y10
	VMOVUPS Y10, 0(SP)
	VMULPS Q4KR_DMIN(SI), Y9, Y10
	VMOVUPS Y10, 32(SP)
	VBROADCASTSS (DI)(R8*1), Y9
	VMULPS Q4KR_D(SI), Y9, Y10
	VMOVUPS Y10, 64(SP)
	VMULPS Q4KR_DMIN(SI), Y9, Y10
	VMOVUPS Y10, 96(SP)
	// bsums pairs: int16 (bsum_2sb, bsum_2sb+1) for sb = 0,1 (dwords 0,1)
	// and 2,3 (dwords 4,5)
	VMOVDQU 260(DI), Y9
	VPHADDW Y9, Y9, Y9
	VMOVDQU Y9, 128(SP)
	VMOVDQU 260(DI)(R8*1), Y10
	VPHADDW Y10, Y10, Y10
	VMOVDQU Y10, 160(SP)

	Q4KR_SB(0, 0)
	Q4KR_SB(1, 1)
	Q4KR_SB(2, 4)
	Q4KR_SB(3, 5)

	ADDQ $Q4KR_LEN, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4kr2loop

	VMOVUPS Y4, 0(BX)
	VMOVUPS Y5, 32(BX)
	VMOVUPS Y6, 64(BX)
	VMOVUPS Y7, 96(BX)
	VZEROUPPER
	RET

// One row of q4KPack8ScalesAVX2: the row's super-block at addr (any
// address expression; R12 holds it), its pack column at roff(DI). The
// scales and mins are unpacked from the three scale words as q4KScaleMin
// does for all eight sub-blocks (ggml's kmask steps): s0 = scales 0-3,
// s1 = scales 4-7, m0 = mins 0-3, m1 = mins 4-7, one byte each.
#define q4krScalesRow(addr, roff) \
	LEAQ addr, R12 \
	LEAQ roff(DI), R10 \
	MOVL 4(R12), AX \
	MOVL 8(R12), BX \
	MOVL 12(R12), DX \
	MOVL AX, R8 \
	ANDL $0x3f3f3f3f, R8 \
	MOVL DX, R9 \
	ANDL $0x0f0f0f0f, R9 \
	SHRL $6, AX \
	ANDL $0x03030303, AX \
	SHLL $4, AX \
	ORL AX, R9 \
	MOVL BX, R11 \
	ANDL $0x3f3f3f3f, R11 \
	SHRL $4, DX \
	ANDL $0x0f0f0f0f, DX \
	SHRL $6, BX \
	ANDL $0x03030303, BX \
	SHLL $4, BX \
	ORL BX, DX \
	q4krSc(R8, 2048) \
	q4krSc(R8, 2080) \
	q4krSc(R8, 2112) \
	q4krSc(R8, 2144) \
	q4krSc(R9, 2176) \
	q4krSc(R9, 2208) \
	q4krSc(R9, 2240) \
	q4krSc(R9, 2272) \
	q4krMn(R11, 2304) \
	q4krMn(R11, 2336) \
	q4krMn(DX, 2368) \
	q4krMn(DX, 2400) \
	MOVWLZX 0(R12), AX \
	VMOVD AX, X0 \
	VCVTPH2PS X0, X0 \
	VMOVSS X0, 2432(R10) \
	MOVWLZX 2(R12), AX \
	VMOVD AX, X0 \
	VCVTPH2PS X0, X0 \
	VMOVSS X0, 2464(R10)

// q4krSc stores the low byte of reg as the 16-bit pair (s, s) at
// off(R10) and shifts reg to the next byte.
#define q4krSc(reg, off) \
	MOVBLZX reg, AX \
	IMUL3L $0x10001, AX, AX \
	MOVL AX, off(R10) \
	SHRL $8, reg

// q4krMn stores the low two bytes of reg as the 16-bit pair (m, m') at
// off(R10) and shifts reg to the next two.
#define q4krMn(reg, off) \
	MOVBLZX reg, AX \
	MOVL reg, BX \
	SHRL $8, BX \
	ANDL $0xff, BX \
	SHLL $16, BX \
	ORL BX, AX \
	MOVL AX, off(R10) \
	SHRL $16, reg

// func q4KPack8ScalesAVX2(w *byte, rowBytes, nb int, pack *byte)
//
// q4KPack8Scales for nb > 0 super-blocks: the scale, min and d/dmin parts
// of the packed layout of eight Q4_K rows (row r at w + r*rowBytes).
TEXT ·q4KPack8ScalesAVX2(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ rowBytes+8(FP), R13
	MOVQ nb+16(FP), CX
	MOVQ pack+24(FP), DI
	LEAQ (R13)(R13*2), R15      // 3*rowBytes

q4krscblock:
	LEAQ (SI)(R13*4), R14       // row 4
	q4krScalesRow((SI), 0)
	q4krScalesRow((SI)(R13*1), 4)
	q4krScalesRow((SI)(R13*2), 8)
	q4krScalesRow((SI)(R15*1), 12)
	q4krScalesRow((R14), 16)
	q4krScalesRow((R14)(R13*1), 20)
	q4krScalesRow((R14)(R13*2), 24)
	q4krScalesRow((R14)(R15*1), 28)
	ADDQ $144, SI
	ADDQ $2496, DI
	DECQ CX
	JNZ q4krscblock
	RET
