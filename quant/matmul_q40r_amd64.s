//go:build !purego

#include "textflag.h"

// Batched Q4_0 x Q8_0 in the arithmetic of llama.cpp's repacked
// ggml_gemm_q4_0_8x8_q8_0 (and ggml_gemv_q4_0_8x8_q8_0): per pair of a
// weight row and an activation row, the exact integer sum of each
// 32-element block is converted to float32 and accumulated with one fused
// multiply-add, acc = fma(float32(isum), d_w*d_a, acc), block after block.
//
// The weights of eight rows are first unpacked ("packed") for a run of
// blocks: per block eight vectors W_k (k = 0..7) whose 32-bit lane j holds
// the four unsigned 4-bit quants 4k..4k+3 (0..15) of row j, then the eight
// rows' d_w as float32 (288 bytes a block). The kernel then takes four
// activation rows at a time: VPMADDUBSW of W_k with the broadcast quants
// 4k..4k+3 of an activation row gives, per lane, two int16 pair sums of
// q_w*q_a (|each| <= 2*15*127); their sum over the eight k fits int16
// (<= 30480), VPMADDWD adds the pairs, and subtracting 8*Σq_a turns
// Σq_w*q_a into Σ(q_w-8)*q_a: the same exact integer the ggml kernels form.

// func q4_0Pack8AVX2(w *byte, rowBytes, nb int, pack *byte)
//
// pack[b*288:] = the unpacked quants (8 x 32 bytes) and the eight float32
// d_w of block b of rows 0..7 (row j at w + j*rowBytes), for b < nb.
TEXT ·q4_0Pack8AVX2(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ rowBytes+8(FP), R8
	MOVQ nb+16(FP), CX
	MOVQ pack+24(FP), DI
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R11
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15

q40packloop:
	// Y0..Y3 = rows j | j+4 (16 quant bytes each)
	VMOVDQU 2(SI), X0
	VINSERTI128 $1, 2(R11), Y0, Y0
	VMOVDQU 2(SI)(R8*1), X1
	VINSERTI128 $1, 2(R11)(R8*1), Y1, Y1
	VMOVDQU 2(SI)(R8*2), X2
	VINSERTI128 $1, 2(R11)(R8*2), Y2, Y2
	VMOVDQU 2(SI)(R9*1), X3
	VINSERTI128 $1, 2(R11)(R9*1), Y3, Y3
	// 4x4 transpose of dwords in each 128-bit half: T_m lane j = dword m of row j
	VPUNPCKLDQ Y1, Y0, Y4
	VPUNPCKHDQ Y1, Y0, Y5
	VPUNPCKLDQ Y3, Y2, Y6
	VPUNPCKHDQ Y3, Y2, Y7
	VPUNPCKLQDQ Y6, Y4, Y0
	VPUNPCKHQDQ Y6, Y4, Y1
	VPUNPCKLQDQ Y7, Y5, Y2
	VPUNPCKHQDQ Y7, Y5, Y3
	// low nibbles: quants 4m..4m+3; high nibbles: quants 16+4m..
	VPAND Y15, Y0, Y4
	VPAND Y15, Y1, Y5
	VPAND Y15, Y2, Y6
	VPAND Y15, Y3, Y7
	VMOVDQU Y4, 0(DI)
	VMOVDQU Y5, 32(DI)
	VMOVDQU Y6, 64(DI)
	VMOVDQU Y7, 96(DI)
	VPSRLW $4, Y0, Y0
	VPSRLW $4, Y1, Y1
	VPSRLW $4, Y2, Y2
	VPSRLW $4, Y3, Y3
	VPAND Y15, Y0, Y0
	VPAND Y15, Y1, Y1
	VPAND Y15, Y2, Y2
	VPAND Y15, Y3, Y3
	VMOVDQU Y0, 128(DI)
	VMOVDQU Y1, 160(DI)
	VMOVDQU Y2, 192(DI)
	VMOVDQU Y3, 224(DI)
	// the eight d_w
	MOVWLZX (SI), AX
	VMOVD AX, X6
	VPINSRW $1, (SI)(R8*1), X6, X6
	VPINSRW $2, (SI)(R8*2), X6, X6
	VPINSRW $3, (SI)(R9*1), X6, X6
	VPINSRW $4, (R11), X6, X6
	VPINSRW $5, (R11)(R8*1), X6, X6
	VPINSRW $6, (R11)(R8*2), X6, X6
	VPINSRW $7, (R11)(R9*1), X6, X6
	VCVTPH2PS X6, Y6
	VMOVUPS Y6, 256(DI)
	ADDQ $18, SI
	ADDQ $18, R11
	ADDQ $288, DI
	DECQ CX
	JNZ q40packloop
	VZEROUPPER
	RET

// func q8_0GemmTabAVX2(a *byte, aStride, rows, nb int, tab *byte)
//
// tab[(i*nb+b)*8:] = float32(d_a), int32 8*Σq_a of block b of Q8_0
// activation row i (row i at a + i*aStride), for i < rows, b < nb.
TEXT ·q8_0GemmTabAVX2(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ aStride+8(FP), R8
	MOVQ rows+16(FP), R9
	MOVQ nb+24(FP), R10
	MOVQ tab+32(FP), DI
	MOVQ $0x0808080808080808, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ $0x0001000100010001, AX
	VMOVQ AX, X14
	VPBROADCASTQ X14, Y14

q80tabrow:
	MOVQ SI, R11
	MOVQ R10, CX

q80tabblk:
	VPMADDUBSW 2(R11), Y15, Y0
	VPMADDWD Y14, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VPADDD X1, X0, X0
	VMOVD X0, 4(DI)
	MOVWLZX (R11), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VMOVSS X2, (DI)
	ADDQ $34, R11
	ADDQ $8, DI
	DECQ CX
	JNZ q80tabblk
	ADDQ R8, SI
	DECQ R9
	JNZ q80tabrow
	VZEROUPPER
	RET

// One more quant chunk k (1..7): W_k times the broadcast quants 4k..4k+3
// of the four activation rows, added to the int16 sums Y0..Y3.
#define Q40R_STEP(k) \
	VMOVDQU (32*(k))(SI), Y8 \
	VPBROADCASTD (2+4*(k))(DI), Y9 \
	VPBROADCASTD (2+4*(k))(DI)(R8*1), Y10 \
	VPBROADCASTD (2+4*(k))(DI)(R8*2), Y11 \
	VPBROADCASTD (2+4*(k))(DI)(R9*1), Y12 \
	VPMADDUBSW Y9, Y8, Y9 \
	VPMADDUBSW Y10, Y8, Y10 \
	VPMADDUBSW Y11, Y8, Y11 \
	VPMADDUBSW Y12, Y8, Y12 \
	VPADDW Y9, Y0, Y0 \
	VPADDW Y10, Y1, Y1 \
	VPADDW Y11, Y2, Y2 \
	VPADDW Y12, Y3, Y3

// The block's end for one activation row: int32 sums minus 8*Σq_a (tab
// entry: d_a at daddr, 8*Σq_a at caddr), to float32, times d_w*d_a,
// added to acc.
#define Q40R_FIN(sums, daddr, caddr, acc) \
	VPMADDWD Y15, sums, sums \
	VPBROADCASTD caddr, Y13 \
	VPSUBD Y13, sums, sums \
	VCVTDQ2PS sums, sums \
	VBROADCASTSS daddr, Y14 \
	VMULPS 256(SI), Y14, Y14 \
	VFMADD231PS Y14, sums, acc

// func q4_0GemmR4AVX2(pack, a *byte, aStride int, tab *byte, tabStride, nb int, dst *float32, ldDst int)
//
// For nb packed blocks of eight weight rows (q4_0Pack8AVX2) and the same
// nb blocks of four Q8_0 activation rows (row i at a + i*aStride, their
// q8_0GemmTabAVX2 entries at tab + i*tabStride, 8 bytes a block), carries
// the eight accumulators of each activation row i, dst[i*ldDst+0..7],
// through the blocks.
TEXT ·q4_0GemmR4AVX2(SB), NOSPLIT, $0-64
	MOVQ pack+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ aStride+16(FP), R8
	MOVQ tab+24(FP), DX
	MOVQ tabStride+32(FP), R10
	MOVQ nb+40(FP), CX
	MOVQ dst+48(FP), BX
	MOVQ ldDst+56(FP), R13
	SHLQ $2, R13
	LEAQ (R8)(R8*2), R9
	LEAQ (R10)(R10*2), R12
	LEAQ (R13)(R13*2), R14
	MOVQ $0x0001000100010001, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	VMOVUPS (BX), Y4
	VMOVUPS (BX)(R13*1), Y5
	VMOVUPS (BX)(R13*2), Y6
	VMOVUPS (BX)(R14*1), Y7

q40r4loop:
	VMOVDQU (SI), Y8
	VPBROADCASTD 2(DI), Y9
	VPBROADCASTD 2(DI)(R8*1), Y10
	VPBROADCASTD 2(DI)(R8*2), Y11
	VPBROADCASTD 2(DI)(R9*1), Y12
	VPMADDUBSW Y9, Y8, Y0
	VPMADDUBSW Y10, Y8, Y1
	VPMADDUBSW Y11, Y8, Y2
	VPMADDUBSW Y12, Y8, Y3
	Q40R_STEP(1)
	Q40R_STEP(2)
	Q40R_STEP(3)
	Q40R_STEP(4)
	Q40R_STEP(5)
	Q40R_STEP(6)
	Q40R_STEP(7)
	Q40R_FIN(Y0, (DX), 4(DX), Y4)
	Q40R_FIN(Y1, (DX)(R10*1), 4(DX)(R10*1), Y5)
	Q40R_FIN(Y2, (DX)(R10*2), 4(DX)(R10*2), Y6)
	Q40R_FIN(Y3, (DX)(R12*1), 4(DX)(R12*1), Y7)
	ADDQ $288, SI
	ADDQ $34, DI
	ADDQ $8, DX
	DECQ CX
	JNZ q40r4loop

	VMOVUPS Y4, (BX)
	VMOVUPS Y5, (BX)(R13*1)
	VMOVUPS Y6, (BX)(R13*2)
	VMOVUPS Y7, (BX)(R14*1)
	VZEROUPPER
	RET
