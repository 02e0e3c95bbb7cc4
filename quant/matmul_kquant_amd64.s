//go:build !purego

#include "textflag.h"

// Batched K-quant kernels: one weight row times four Q8_K activation rows
// (row j at a + j*aStride). Each weight block is decoded once; for every
// (weight row, activation row) pair the integer lane sums and the float
// operations (order, FMA placement, reduction) are those of the row kernels
// in avx2kquant_amd64.s, so each result equals the row kernel's bit for bit.

// q4bRow adds one 32+32-value chunk of a Q4_K block to activation row B's
// int32 lanes acc: low nibbles Y0 with the Q8_K quants at lo, high nibbles
// Y1 with those at hi, weighted by the sub-block scale vectors at slo and
// shi (BX). Uses Y2, Y3.
#define q4bRow(acc, lo, hi, slo, shi, B) \
	VPMADDUBSW lo B, Y0, Y2 \
	VPMADDUBSW hi B, Y1, Y3 \
	VPMADDWD slo(BX), Y2, Y2 \
	VPMADDWD shi(BX), Y3, Y3 \
	VPADDD Y2, acc, acc \
	VPADDD Y3, acc, acc

#define q4bChunk(qoff, lo, hi, slo, shi) \
	VMOVDQU qoff(SI), Y0 \
	VPSRLW $4, Y0, Y1 \
	VPAND Y15, Y0, Y0 \
	VPAND Y15, Y1, Y1 \
	q4bRow(Y4, lo, hi, slo, shi, (DI)) \
	q4bRow(Y6, lo, hi, slo, shi, (DI)(R8*1)) \
	q4bRow(Y7, lo, hi, slo, shi, (DI)(R8*2)) \
	q4bRow(Y12, lo, hi, slo, shi, (DI)(R9*1))

// q4bEnd finishes one block for activation row B as q4KDotAVX2 does: the
// mins term goes into the 4-lane accumulator at moff(BX) with -dmin, the
// int32 lanes acc into the float accumulator facc with d. X13 holds
// fp32(d_w), fp32(dmin_w); X14 dmin_w in lane 0; X5 the mins as words.
#define q4bEnd(acc, facc, moff, B) \
	VMOVSS B, X0 \
	VMULSS X0, X13, X1 \
	VMULSS X0, X14, X2 \
	VMOVDQU 260 B, X3 \
	VPHADDW 276 B, X3, X3 \
	VPMADDWD X3, X5, X3 \
	VCVTDQ2PS X3, X3 \
	VBROADCASTSS X2, X2 \
	VMOVUPS moff(BX), X0 \
	VFNMADD231PS X3, X2, X0 \
	VMOVUPS X0, moff(BX) \
	VBROADCASTSS X1, Y1 \
	VCVTDQ2PS acc, acc \
	VFMADD231PS acc, Y1, facc

// q4bOut reduces activation row j's accumulators (mins at moff(BX), main
// facc, its X form xacc) as q4KDotAVX2 does and stores the sum at oo(DX).
#define q4bOut(facc, xacc, moff, oo) \
	VMOVUPS moff(BX), X7 \
	VMOVHLPS X7, X7, X0 \
	VADDPS X0, X7, X7 \
	VMOVSHDUP X7, X0 \
	VADDSS X0, X7, X7 \
	VEXTRACTF128 $1, facc, X0 \
	VADDPS xacc, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0 \
	VADDSS X7, X0, X0 \
	VMOVSS X0, oo(DX)

// func q4KQ8KDot4AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32)
//
// tmp is 352 bytes of scratch: the block's scale words (0), its eight
// broadcast sub-block scale vectors (32..287) and the four rows' mins
// accumulators (288..351).
TEXT ·q4KQ8KDot4AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ aStride+16(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ nb+32(FP), CX
	MOVQ tmp+24(FP), BX
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VMOVUPS Y8, 288(BX)
	VMOVUPS Y8, 320(BX)

q4bloop:
	VMOVD (SI), X13
	VCVTPH2PS X13, X13
	VMOVSHDUP X13, X14

	// scales (AX, R13) and mins (R12, R10), as in q4KDotAVX2
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
	MOVQ tmp+24(FP), BX

	VMOVQ R12, X5
	VPINSRD $1, R10, X5, X5
	VPMOVZXBW X5, X5
	VMOVQ AX, X4
	VPINSRD $1, R13, X4, X4
	VPMOVZXBW X4, X4
	VMOVDQU X4, (BX)
	VPBROADCASTW 0(BX), Y0
	VMOVDQU Y0, 32(BX)
	VPBROADCASTW 2(BX), Y0
	VMOVDQU Y0, 64(BX)
	VPBROADCASTW 4(BX), Y0
	VMOVDQU Y0, 96(BX)
	VPBROADCASTW 6(BX), Y0
	VMOVDQU Y0, 128(BX)
	VPBROADCASTW 8(BX), Y0
	VMOVDQU Y0, 160(BX)
	VPBROADCASTW 10(BX), Y0
	VMOVDQU Y0, 192(BX)
	VPBROADCASTW 12(BX), Y0
	VMOVDQU Y0, 224(BX)
	VPBROADCASTW 14(BX), Y0
	VMOVDQU Y0, 256(BX)

	VPXOR Y4, Y4, Y4
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y12, Y12, Y12
	q4bChunk(16, 4, 36, 32, 64)
	q4bChunk(48, 68, 100, 96, 128)
	q4bChunk(80, 132, 164, 160, 192)
	q4bChunk(112, 196, 228, 224, 256)

	q4bEnd(Y4, Y8, 288, (DI))
	q4bEnd(Y6, Y9, 304, (DI)(R8*1))
	q4bEnd(Y7, Y10, 320, (DI)(R8*2))
	q4bEnd(Y12, Y11, 336, (DI)(R9*1))

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4bloop

	MOVQ out+40(FP), DX
	q4bOut(Y8, X8, 288, 0)
	q4bOut(Y9, X9, 304, 4)
	q4bOut(Y10, X10, 320, 8)
	q4bOut(Y11, X11, 336, 12)
	VZEROUPPER
	RET

// q6bQuant builds the 6-bit quants of one 32-value chunk k of a Q6_K block
// into Y3 as q6KDotAVX2 does (low 4 bits from lo under the 0x0f mask Y15,
// high 2 from Y2 under mask M, moved into place by the shift macro), stores them at 32k(BX) and
// the chunk's sub-block scale words (picked by the shuffle X14, which
// advances by X8) at 256+32k(BX). Uses Y4.
#define q6bQuant(lo, M, shift, k) \
	VPAND Y15, lo, Y3 \
	VPAND M, Y2, Y4 \
	shift \
	VPOR Y4, Y3, Y3 \
	VMOVDQU Y3, (32*(k))(BX) \
	VPSHUFB X14, X7, X4 \
	VPADDB X8, X14, X14 \
	VPMOVSXBW X4, Y4 \
	VMOVDQU Y4, (256+32*(k))(BX)

#define q6bShl4 VPSLLW $4, Y4, Y4
#define q6bShl2 VPSLLW $2, Y4, Y4
#define q6bShr2 VPSRLW $2, Y4, Y4
#define q6bNoShift

#define q6bHalf(qloff, qhoff, k) \
	VMOVDQU qloff(SI), Y0 \
	VMOVDQU qloff+32(SI), Y1 \
	VMOVDQU qhoff(SI), Y2 \
	q6bQuant(Y0, Y13, q6bShl4, k) \
	q6bQuant(Y1, Y12, q6bShl2, k+1) \
	VPSRLW $4, Y0, Y0 \
	VPSRLW $4, Y1, Y1 \
	q6bQuant(Y0, Y11, q6bNoShift, k+2) \
	q6bQuant(Y1, Y10, q6bShr2, k+3)

// q6bRow adds chunk k's products with activation row B's quants (at q8)
// to that row's int32 lanes acc. Uses Y0.
#define q6bRow(acc, q8, k, B) \
	VPMADDUBSW q8 B, Y3, Y0 \
	VPMADDWD (256+32*(k))(BX), Y0, Y0 \
	VPADDD Y0, acc, acc

#define q6bChunk(k) \
	VMOVDQU (32*(k))(BX), Y3 \
	q6bRow(Y1, 4+32*(k), k, (DI)) \
	q6bRow(Y2, 4+32*(k), k, (DI)(R8*1)) \
	q6bRow(Y5, 4+32*(k), k, (DI)(R8*2)) \
	q6bRow(Y6, 4+32*(k), k, (DI)(R9*1))

// q6bEnd finishes one block for activation row B as q6KDotAVX2 does:
// acc -= 32 * (bsums . scales) (scale words in Y4), then the float
// accumulator at foff(BX) += (d_w*d_a) * acc; X3 holds fp32(d_w).
#define q6bEnd(acc, foff, B) \
	VPMADDWD 260 B, Y4, Y0 \
	VPSLLD $5, Y0, Y0 \
	VPSUBD Y0, acc, acc \
	VMULSS B, X3, X0 \
	VBROADCASTSS X0, Y0 \
	VCVTDQ2PS acc, acc \
	VMOVUPS foff(BX), Y7 \
	VFMADD231PS acc, Y0, Y7 \
	VMOVUPS Y7, foff(BX)

#define q6bOut(foff, oo) \
	VMOVUPS foff(BX), Y5 \
	hsum8b(Y5, X5) \
	VMOVSS X0, oo(DX)

#define hsum8b(Y, X) \
	VEXTRACTF128 $1, Y, X0 \
	VADDPS X, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

// func q6KQ8KDot4AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32)
//
// tmp is 640 bytes of scratch: the block's eight 6-bit quant vectors
// (0..255), their scale words (256..511) and the four rows' float
// accumulators (512..639).
TEXT ·q6KQ8KDot4AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ aStride+16(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ tmp+24(FP), BX
	MOVQ nb+32(FP), CX
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
	MOVQ $0x0101010101010101, AX
	VPXOR X9, X9, X9
	VPINSRQ $1, AX, X9, X9
	MOVQ $0x0202020202020202, AX
	VMOVQ AX, X8
	VPBROADCASTQ X8, X8
	VXORPS Y0, Y0, Y0
	VMOVUPS Y0, 512(BX)
	VMOVUPS Y0, 544(BX)
	VMOVUPS Y0, 576(BX)
	VMOVUPS Y0, 608(BX)

q6bloop:
	VMOVDQU 192(SI), X7
	VMOVDQU X9, X14
	q6bHalf(0, 128, 0)
	q6bHalf(64, 160, 4)

	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	q6bChunk(0)
	q6bChunk(1)
	q6bChunk(2)
	q6bChunk(3)
	q6bChunk(4)
	q6bChunk(5)
	q6bChunk(6)
	q6bChunk(7)

	VPMOVSXBW X7, Y4
	MOVWLZX 208(SI), AX
	VMOVD AX, X3
	VCVTPH2PS X3, X3
	q6bEnd(Y1, 512, (DI))
	q6bEnd(Y2, 544, (DI)(R8*1))
	q6bEnd(Y5, 576, (DI)(R8*2))
	q6bEnd(Y6, 608, (DI)(R9*1))

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q6bloop

	MOVQ out+40(FP), DX
	q6bOut(512, 0)
	q6bOut(544, 4)
	q6bOut(576, 8)
	q6bOut(608, 12)
	VZEROUPPER
	RET

// q4b8Chunk: the chunk's two sub-block scale vectors are loaded once into
// Y12, Y13 for the eight rows (q4bRowR).
#define q4b8Chunk(qoff, lo, hi, slo, shi) \
	VMOVDQU qoff(SI), Y0 \
	VPSRLW $4, Y0, Y1 \
	VPAND Y15, Y0, Y0 \
	VPAND Y15, Y1, Y1 \
	VMOVDQU slo(BX), Y12 \
	VMOVDQU shi(BX), Y13 \
	q4bRowR(Y4, lo, hi, (DI)) \
	q4bRowR(Y5, lo, hi, (DI)(R8*1)) \
	q4bRowR(Y6, lo, hi, (DI)(R8*2)) \
	q4bRowR(Y7, lo, hi, (DI)(R9*1)) \
	q4bRowR(Y8, lo, hi, (DX)) \
	q4bRowR(Y9, lo, hi, (DX)(R8*1)) \
	q4bRowR(Y10, lo, hi, (DX)(R8*2)) \
	q4bRowR(Y11, lo, hi, (DX)(R9*1))

// q4bRowR is q4bRow with the scale vectors in Y12 (low) and Y13 (high).
#define q4bRowR(acc, lo, hi, B) \
	VPMADDUBSW lo B, Y0, Y2 \
	VPMADDUBSW hi B, Y1, Y3 \
	VPMADDWD Y12, Y2, Y2 \
	VPMADDWD Y13, Y3, Y3 \
	VPADDD Y2, acc, acc \
	VPADDD Y3, acc, acc

// q4b8End is q4bEnd with the float accumulator at foff(BX), fp32(d_w) and
// fp32(dmin_w) at 672(BX) and 676(BX), the mins words at 688(BX).
#define q4b8End(acc, moff, foff, B) \
	VMOVSS B, X0 \
	VMULSS 672(BX), X0, X1 \
	VMULSS 676(BX), X0, X2 \
	VMOVDQU 260 B, X3 \
	VPHADDW 276 B, X3, X3 \
	VPMADDWD 688(BX), X3, X3 \
	VCVTDQ2PS X3, X3 \
	VBROADCASTSS X2, X2 \
	VMOVUPS moff(BX), X0 \
	VFNMADD231PS X3, X2, X0 \
	VMOVUPS X0, moff(BX) \
	VBROADCASTSS X1, Y1 \
	VCVTDQ2PS acc, acc \
	VMOVUPS foff(BX), Y0 \
	VFMADD231PS acc, Y1, Y0 \
	VMOVUPS Y0, foff(BX)

#define q4b8Out(moff, foff, oo) \
	VMOVUPS foff(BX), Y8 \
	q4bOut(Y8, X8, moff, oo)

// func q4KQ8KDot8AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32)
//
// The eight-row form of q4KQ8KDot4AVX2: out receives eight sums. tmp is 704
// bytes of scratch: scale words (0), the sub-block scale vectors (32..287),
// the eight rows' mins accumulators (288..415) and float accumulators
// (416..671), fp32(d_w), fp32(dmin_w) (672..679) and the mins words
// (688..703).
TEXT ·q4KQ8KDot8AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ aStride+16(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ nb+32(FP), CX
	MOVQ tmp+24(FP), BX
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	VXORPS Y0, Y0, Y0
	VMOVUPS Y0, 288(BX)
	VMOVUPS Y0, 320(BX)
	VMOVUPS Y0, 352(BX)
	VMOVUPS Y0, 384(BX)
	VMOVUPS Y0, 416(BX)
	VMOVUPS Y0, 448(BX)
	VMOVUPS Y0, 480(BX)
	VMOVUPS Y0, 512(BX)
	VMOVUPS Y0, 544(BX)
	VMOVUPS Y0, 576(BX)
	VMOVUPS Y0, 608(BX)
	VMOVUPS Y0, 640(BX)

q4b8loop:
	VMOVD (SI), X13
	VCVTPH2PS X13, X13
	VMOVSHDUP X13, X14

	// scales (AX, R13) and mins (R12, R10), as in q4KDotAVX2
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
	MOVQ tmp+24(FP), BX
	LEAQ (DI)(R8*4), DX

	VMOVQ R12, X12
	VPINSRD $1, R10, X12, X12
	VPMOVZXBW X12, X12
	VMOVDQU X12, 688(BX)
	VMOVDQU X13, 672(BX)
	VMOVQ AX, X4
	VPINSRD $1, R13, X4, X4
	VPMOVZXBW X4, X4
	VMOVDQU X4, (BX)
	VPBROADCASTW 0(BX), Y0
	VMOVDQU Y0, 32(BX)
	VPBROADCASTW 2(BX), Y0
	VMOVDQU Y0, 64(BX)
	VPBROADCASTW 4(BX), Y0
	VMOVDQU Y0, 96(BX)
	VPBROADCASTW 6(BX), Y0
	VMOVDQU Y0, 128(BX)
	VPBROADCASTW 8(BX), Y0
	VMOVDQU Y0, 160(BX)
	VPBROADCASTW 10(BX), Y0
	VMOVDQU Y0, 192(BX)
	VPBROADCASTW 12(BX), Y0
	VMOVDQU Y0, 224(BX)
	VPBROADCASTW 14(BX), Y0
	VMOVDQU Y0, 256(BX)

	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	q4b8Chunk(16, 4, 36, 32, 64)
	q4b8Chunk(48, 68, 100, 96, 128)
	q4b8Chunk(80, 132, 164, 160, 192)
	q4b8Chunk(112, 196, 228, 224, 256)

	q4b8End(Y4, 288, 416, (DI))
	q4b8End(Y5, 304, 448, (DI)(R8*1))
	q4b8End(Y6, 320, 480, (DI)(R8*2))
	q4b8End(Y7, 336, 512, (DI)(R9*1))
	q4b8End(Y8, 352, 544, (DX))
	q4b8End(Y9, 368, 576, (DX)(R8*1))
	q4b8End(Y10, 384, 608, (DX)(R8*2))
	q4b8End(Y11, 400, 640, (DX)(R9*1))

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4b8loop

	MOVQ out+40(FP), DX
	q4b8Out(288, 416, 0)
	q4b8Out(304, 448, 4)
	q4b8Out(320, 480, 8)
	q4b8Out(336, 512, 12)
	q4b8Out(352, 544, 16)
	q4b8Out(368, 576, 20)
	q4b8Out(384, 608, 24)
	q4b8Out(400, 640, 28)
	VZEROUPPER
	RET

// q6b8Quant is q6bQuant with the masks in memory: the 0x0f mask at
// 768(BX), the high-bit mask at moff(BX), the shuffle step at 944(BX).
#define q6b8Quant(lo, moff, shift, k) \
	VPAND 768(BX), lo, Y3 \
	VPAND moff(BX), Y2, Y4 \
	shift \
	VPOR Y4, Y3, Y3 \
	VMOVDQU Y3, (32*(k))(BX) \
	VPSHUFB X14, X7, X4 \
	VPADDB 944(BX), X14, X14 \
	VPMOVSXBW X4, Y4 \
	VMOVDQU Y4, (256+32*(k))(BX)

#define q6b8Half(qloff, qhoff, k) \
	VMOVDQU qloff(SI), Y0 \
	VMOVDQU qloff+32(SI), Y1 \
	VMOVDQU qhoff(SI), Y2 \
	q6b8Quant(Y0, 800, q6bShl4, k) \
	q6b8Quant(Y1, 832, q6bShl2, k+1) \
	VPSRLW $4, Y0, Y0 \
	VPSRLW $4, Y1, Y1 \
	q6b8Quant(Y0, 864, q6bNoShift, k+2) \
	q6b8Quant(Y1, 896, q6bShr2, k+3)

// q6b8Chunk loads chunk k's quants (Y3) and scale words (Y1) once for
// the eight rows.
#define q6b8Chunk(k) \
	VMOVDQU (32*(k))(BX), Y3 \
	VMOVDQU (256+32*(k))(BX), Y1 \
	q6bRowR(Y8, 4+32*(k), (DI)) \
	q6bRowR(Y9, 4+32*(k), (DI)(R8*1)) \
	q6bRowR(Y10, 4+32*(k), (DI)(R8*2)) \
	q6bRowR(Y11, 4+32*(k), (DI)(R9*1)) \
	q6bRowR(Y12, 4+32*(k), (DX)) \
	q6bRowR(Y13, 4+32*(k), (DX)(R8*1)) \
	q6bRowR(Y14, 4+32*(k), (DX)(R8*2)) \
	q6bRowR(Y15, 4+32*(k), (DX)(R9*1))

// q6bRowR is q6bRow with the scale words in Y1.
#define q6bRowR(acc, q8, B) \
	VPMADDUBSW q8 B, Y3, Y0 \
	VPMADDWD Y1, Y0, Y0 \
	VPADDD Y0, acc, acc

// q6bConst broadcasts the byte pattern c and stores it at off(BX).
#define q6bConst(c, off) \
	MOVQ c, AX \
	VMOVQ AX, X0 \
	VPBROADCASTQ X0, Y0 \
	VMOVDQU Y0, off(BX)

// func q6KQ8KDot8AVX2(w, a *byte, aStride int, tmp *byte, nb int, out *float32)
//
// The eight-row form of q6KQ8KDot4AVX2. tmp is 960 bytes of scratch: the
// block's quant vectors (0..255) and scale words (256..511), the eight
// rows' float accumulators (512..767) and the masks (768..959).
TEXT ·q6KQ8KDot8AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ aStride+16(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ tmp+24(FP), BX
	MOVQ nb+32(FP), CX
	q6bConst($0x0f0f0f0f0f0f0f0f, 768)
	q6bConst($0x0303030303030303, 800)
	q6bConst($0x0c0c0c0c0c0c0c0c, 832)
	q6bConst($0x3030303030303030, 864)
	q6bConst($0xc0c0c0c0c0c0c0c0, 896)
	q6bConst($0x0202020202020202, 944)
	MOVQ $0x0101010101010101, AX
	VPXOR X0, X0, X0
	VPINSRQ $1, AX, X0, X0
	VMOVDQU X0, 928(BX)
	VXORPS Y0, Y0, Y0
	VMOVUPS Y0, 512(BX)
	VMOVUPS Y0, 544(BX)
	VMOVUPS Y0, 576(BX)
	VMOVUPS Y0, 608(BX)
	VMOVUPS Y0, 640(BX)
	VMOVUPS Y0, 672(BX)
	VMOVUPS Y0, 704(BX)
	VMOVUPS Y0, 736(BX)

q6b8loop:
	LEAQ (DI)(R8*4), DX
	VMOVDQU 192(SI), X7
	VMOVDQU 928(BX), X14
	q6b8Half(0, 128, 0)
	q6b8Half(64, 160, 4)

	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	VPXOR Y12, Y12, Y12
	VPXOR Y13, Y13, Y13
	VPXOR Y14, Y14, Y14
	VPXOR Y15, Y15, Y15
	q6b8Chunk(0)
	q6b8Chunk(1)
	q6b8Chunk(2)
	q6b8Chunk(3)
	q6b8Chunk(4)
	q6b8Chunk(5)
	q6b8Chunk(6)
	q6b8Chunk(7)

	VPMOVSXBW X7, Y4
	MOVWLZX 208(SI), AX
	VMOVD AX, X3
	VCVTPH2PS X3, X3
	q6bEnd(Y8, 512, (DI))
	q6bEnd(Y9, 544, (DI)(R8*1))
	q6bEnd(Y10, 576, (DI)(R8*2))
	q6bEnd(Y11, 608, (DI)(R9*1))
	q6bEnd(Y12, 640, (DX))
	q6bEnd(Y13, 672, (DX)(R8*1))
	q6bEnd(Y14, 704, (DX)(R8*2))
	q6bEnd(Y15, 736, (DX)(R9*1))

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q6b8loop

	MOVQ out+40(FP), DX
	q6bOut(512, 0)
	q6bOut(544, 4)
	q6bOut(576, 8)
	q6bOut(608, 12)
	q6bOut(640, 16)
	q6bOut(672, 20)
	q6bOut(704, 24)
	q6bOut(736, 28)
	VZEROUPPER
	RET
