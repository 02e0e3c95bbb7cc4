//go:build !purego

#include "textflag.h"

// Batched Q2_K and Q3_K kernels: one weight row times up to eight Q8_K
// activation rows. Each weight block is decoded once into registers (the
// 2-bit quant vectors) and scratch (the shuffled sub-block scale vectors,
// Q3_K's "minus 4" vectors); then every activation row runs the same
// integer steps as q2KDotAVX2/q3KDotAVX2 into the same int32 lanes and the
// same float operations (FMA placement, order, hsum_float_8), so each sum
// equals the row kernel's bit for bit.

// k23bConst broadcasts the 8-byte pattern c into 32 bytes at off(BX).
#define k23bConst(c, off) \
	MOVQ c, AX \
	VMOVQ AX, X0 \
	VPBROADCASTQ X0, Y0 \
	VMOVDQU Y0, off(BX)

// k23bScales stores the eight scale-word vectors the row kernels pick with
// VPSHUFB (the shuffle starting at shuf(BX), advanced by the 0x04 bytes at
// step(BX)) from Y11 (first half) and Y9 (second half) at 0..255(BX).
// Uses Y3, Y10.
#define k23bScales(shuf, step) \
	VMOVDQU shuf(BX), Y10 \
	VPSHUFB Y10, Y11, Y3 \
	VMOVDQU Y3, 0(BX) \
	VPADDB step(BX), Y10, Y10 \
	VPSHUFB Y10, Y11, Y3 \
	VMOVDQU Y3, 32(BX) \
	VPADDB step(BX), Y10, Y10 \
	VPSHUFB Y10, Y11, Y3 \
	VMOVDQU Y3, 64(BX) \
	VPADDB step(BX), Y10, Y10 \
	VPSHUFB Y10, Y11, Y3 \
	VMOVDQU Y3, 96(BX) \
	VMOVDQU shuf(BX), Y10 \
	VPSHUFB Y10, Y9, Y3 \
	VMOVDQU Y3, 128(BX) \
	VPADDB step(BX), Y10, Y10 \
	VPSHUFB Y10, Y9, Y3 \
	VMOVDQU Y3, 160(BX) \
	VPADDB step(BX), Y10, Y10 \
	VPSHUFB Y10, Y9, Y3 \
	VMOVDQU Y3, 192(BX) \
	VPADDB step(BX), Y10, Y10 \
	VPSHUFB Y10, Y9, Y3 \
	VMOVDQU Y3, 224(BX)

// k23bQuants splits the 32 bytes at off(SI) into four 2-bit quant vectors
// (shifts 0, 2, 4, 6 under the 0x03 mask Y15) q0..q3. Uses Y8.
#define k23bQuants(off, q0, q1, q2, q3) \
	VMOVDQU off(SI), Y8 \
	VPAND Y15, Y8, q0 \
	VPSRLW $2, Y8, q1 \
	VPAND Y15, q1, q1 \
	VPSRLW $4, Y8, q2 \
	VPAND Y15, q2, q2 \
	VPSRLW $6, Y8, q3 \
	VPAND Y15, q3, q3

// k23bReduce writes hsum_float_8 of each row's float accumulator (rows DX,
// accumulators from facc(BX) on) to out.
#define k23bReduce(facc) \
	MOVQ out+48(FP), R9 \
	LEAQ facc(BX), R11 \
	MOVQ DX, R10 \
k23red: \
	VMOVUPS (R11), Y7 \
	VEXTRACTF128 $1, Y7, X0 \
	VADDPS X7, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0 \
	VMOVSS X0, (R9) \
	ADDQ $4, R9 \
	ADDQ $32, R11 \
	DECQ R10 \
	JNZ k23red

// k23bZero clears rows DX float accumulators from facc(BX) on.
#define k23bZero(facc) \
	VXORPS Y0, Y0, Y0 \
	LEAQ facc(BX), R11 \
	MOVQ DX, R10 \
k23zero: \
	VMOVUPS Y0, (R11) \
	ADDQ $32, R11 \
	DECQ R10 \
	JNZ k23zero

// q2bStep adds step k's products for the activation row at R9 (quants at
// q8off) to the int32 lanes of Y8: the 2-bit vector q times the Q8_K
// quants (VPMADDUBSW), times the step's scale words (VPMADDWD).
#define q2bStep(q, q8off, k) \
	VPMADDUBSW q8off(R9), q, Y10 \
	VPMADDWD (32*(k))(BX), Y10, Y10 \
	VPADDD Y10, Y8, Y8

// func q2KQ8KDotNAVX2(w, a *byte, aStride int, tmp *byte, nb, rows int, out *float32)
//
// out[j] = q2KDotAVX2(w, a + j*aStride, nb) for j < rows, 0 < rows <= 8,
// nb > 0. tmp is 640 bytes of scratch: the scale vectors (0..255), the
// rows' float accumulators (256..511) and constants (512..639).
TEXT ·q2KQ8KDotNAVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ aStride+16(FP), R8
	MOVQ tmp+24(FP), BX
	MOVQ nb+32(FP), CX
	MOVQ rows+40(FP), DX
	k23bConst($0x0303030303030303, 512)
	k23bConst($0x0f0f0f0f0f0f0f0f, 544)
	k23bConst($0x0404040404040404, 576)
	// the first get_scale_shuffle_q3k row: words 0 | words 1
	MOVQ $0x0100010001000100, AX
	VMOVQ AX, X0
	VPBROADCASTQ X0, X0
	MOVQ $0x0302030203020302, AX
	VMOVQ AX, X1
	VPBROADCASTQ X1, X1
	VINSERTI128 $1, X1, Y0, Y0
	VMOVDQU Y0, 608(BX)
	k23bZero(256)

q2bblock:
	// fp32(d_w), fp32(dmin_w) in X13, dmin_w in X14 lane 0
	VMOVD 80(SI), X13
	VCVTPH2PS X13, X13
	VMOVSHDUP X13, X14
	// mins as words (Y12); scales as words, halves twice (Y11, Y9)
	VMOVDQU (SI), X0
	VPSRLW $4, X0, X2
	VPAND 544(BX), X2, X2
	VPMOVZXBW X2, Y12
	VPAND 544(BX), X0, X1
	VPMOVZXBW X1, Y1
	VPERM2I128 $0x00, Y1, Y1, Y11
	VPERM2I128 $0x11, Y1, Y1, Y9
	k23bScales(608, 576)
	VMOVDQU 512(BX), Y15
	k23bQuants(16, Y0, Y1, Y2, Y3)
	k23bQuants(48, Y4, Y5, Y6, Y7)

	MOVQ DI, R9
	LEAQ 256(BX), R11
	MOVQ DX, R10

q2brow:
	// d = d_w*d_a (X9), dmin = dmin_w*d_a broadcast (Y15)
	VMOVSS (R9), X8
	VMULSS X8, X13, X9
	VMULSS X8, X14, X15
	VBROADCASTSS X15, Y15
	// acc -= dmin * (mins . bsums)
	VPMADDWD 260(R9), Y12, Y8
	VCVTDQ2PS Y8, Y8
	VMOVUPS (R11), Y11
	VFNMADD231PS Y8, Y15, Y11
	// the block's int32 lanes
	VPMADDUBSW 4(R9), Y0, Y8
	VPMADDWD 0(BX), Y8, Y8
	q2bStep(Y1, 36, 1)
	q2bStep(Y2, 68, 2)
	q2bStep(Y3, 100, 3)
	q2bStep(Y4, 132, 4)
	q2bStep(Y5, 164, 5)
	q2bStep(Y6, 196, 6)
	q2bStep(Y7, 228, 7)
	// acc += d * sumi
	VCVTDQ2PS Y8, Y8
	VBROADCASTSS X9, Y9
	VFMADD231PS Y8, Y9, Y11
	VMOVUPS Y11, (R11)
	ADDQ R8, R9
	ADDQ $32, R11
	DECQ R10
	JNZ q2brow

	ADDQ $84, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q2bblock

	k23bReduce(256)
	VZEROUPPER
	RET

// q3bStep adds step k's products for the activation row at R9 (quants at
// q8off) to the int32 lanes of Y8 as q3xStep does: VPMADDUBSW of the 2-bit
// vector q and of the step's "4 where the hmask bit is clear" vector
// (256+32k(BX)) with the Q8_K quants, their difference times the step's
// scale words.
#define q3bStep(q, q8off, k) \
	VMOVDQU q8off(R9), Y10 \
	VMOVDQU (256+32*(k))(BX), Y12 \
	VPMADDUBSW Y10, q, Y11 \
	VPMADDUBSW Y10, Y12, Y12 \
	VPSUBW Y12, Y11, Y11 \
	VPMADDWD (32*(k))(BX), Y11, Y11 \
	VPADDD Y11, Y8, Y8

// q3bHmask stores step k's "4 where bit k of the hmask (Y6) is clear"
// vector at 256+32k(BX) as q3xStep builds it; Y5 holds bit k in every byte
// and moves on to bit k+1. Uses Y2.
#define q3bHmask(k) \
	VPANDN Y5, Y6, Y2 \
	VPCMPEQB Y5, Y2, Y2 \
	VPAND Y14, Y2, Y2 \
	VPADDB Y5, Y5, Y5 \
	VMOVDQU Y2, (256+32*(k))(BX)

// q3bScale builds one byte of Q3_K's 6-bit scales (the low nibbles lo,
// shifted right by lsh, with 2 high bits of the word R10, shifted right
// by hsh) into R12. Uses R11.
#define q3bScale(lo, lsh, hsh) \
	MOVL lo, R12 \
	SHRL $lsh, R12 \
	ANDL $0x0f0f0f0f, R12 \
	MOVL R10, R11 \
	SHRL $hsh, R11 \
	ANDL $0x03030303, R11 \
	SHLL $4, R11 \
	ORL R11, R12

// func q3KQ8KDotNAVX2(w, a *byte, aStride int, tmp *byte, nb, rows int, out *float32)
//
// out[j] = q3KDotAVX2(w, a + j*aStride, nb) for j < rows, 0 < rows <= 8,
// nb > 0. tmp is 928 bytes of scratch: the scale vectors (0..255), the
// hmask vectors (256..511), the rows' float accumulators (512..767) and
// constants (768..927).
TEXT ·q3KQ8KDotNAVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ aStride+16(FP), R8
	MOVQ tmp+24(FP), BX
	MOVQ nb+32(FP), CX
	MOVQ rows+40(FP), DX
	k23bConst($0x0303030303030303, 768)
	k23bConst($0x0404040404040404, 800)
	k23bConst($0x2020202020202020, 864)
	k23bConst($0x0101010101010101, 896)
	MOVQ $0x0100010001000100, AX
	VMOVQ AX, X0
	VPBROADCASTQ X0, X0
	MOVQ $0x0302030203020302, AX
	VMOVQ AX, X1
	VPBROADCASTQ X1, X1
	VINSERTI128 $1, X1, Y0, Y0
	VMOVDQU Y0, 832(BX)
	k23bZero(512)

q3bblock:
	// 16 scales - 32 as words (ggml's aux trick), halves twice (Y11, Y9)
	MOVL 96(SI), AX
	MOVL 100(SI), R9
	MOVL 104(SI), R10
	q3bScale(AX, 0, 0)
	VMOVD R12, X1
	q3bScale(R9, 0, 2)
	VPINSRD $1, R12, X1, X1
	q3bScale(AX, 4, 4)
	VPINSRD $2, R12, X1, X1
	q3bScale(R9, 4, 6)
	VPINSRD $3, R12, X1, X1
	VPSUBB 864(BX), X1, X1
	VPMOVSXBW X1, Y1
	VPERM2I128 $0x00, Y1, Y1, Y11
	VPERM2I128 $0x11, Y1, Y1, Y9
	k23bScales(832, 800)
	// hmask vectors
	VMOVDQU (SI), Y6
	VMOVDQU 896(BX), Y5
	VMOVDQU 800(BX), Y14
	q3bHmask(0)
	q3bHmask(1)
	q3bHmask(2)
	q3bHmask(3)
	q3bHmask(4)
	q3bHmask(5)
	q3bHmask(6)
	q3bHmask(7)
	// d_w
	MOVWLZX 108(SI), AX
	VMOVD AX, X13
	VCVTPH2PS X13, X13
	VMOVDQU 768(BX), Y15
	k23bQuants(32, Y0, Y1, Y2, Y3)
	k23bQuants(64, Y4, Y5, Y6, Y7)

	MOVQ DI, R9
	LEAQ 512(BX), R11
	MOVQ DX, R10

q3brow:
	VPXOR Y8, Y8, Y8
	q3bStep(Y0, 4, 0)
	q3bStep(Y1, 36, 1)
	q3bStep(Y2, 68, 2)
	q3bStep(Y3, 100, 3)
	q3bStep(Y4, 132, 4)
	q3bStep(Y5, 164, 5)
	q3bStep(Y6, 196, 6)
	q3bStep(Y7, 228, 7)
	// acc += d * sumi, d = d_w * d_a
	VMULSS (R9), X13, X9
	VBROADCASTSS X9, Y9
	VCVTDQ2PS Y8, Y8
	VMOVUPS (R11), Y14
	VFMADD231PS Y8, Y9, Y14
	VMOVUPS Y14, (R11)
	ADDQ R8, R9
	ADDQ $32, R11
	DECQ R10
	JNZ q3brow

	ADDQ $110, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q3bblock

	k23bReduce(512)
	VZEROUPPER
	RET

// q5bQuants builds the two 5-bit quant vectors of one 64-value chunk of a
// Q5_K block into lo and hi as q5xChunk does: low and high nibbles of the
// 32 bytes at qoff(SI) under the 0x0f mask Y15, plus 0x10 (Y14) where the
// qh bit (Y12 under the bit mask Y13, which moves on by one bit per
// vector) is set. Uses Y11.
#define q5bQuants(qoff, lo, hi) \
	VMOVDQU qoff(SI), lo \
	VPSRLW $4, lo, hi \
	VPAND Y15, lo, lo \
	VPAND Y15, hi, hi \
	VPAND Y13, Y12, Y11 \
	VPCMPEQB Y13, Y11, Y11 \
	VPAND Y14, Y11, Y11 \
	VPOR Y11, lo, lo \
	VPADDB Y13, Y13, Y13 \
	VPAND Y13, Y12, Y11 \
	VPCMPEQB Y13, Y11, Y11 \
	VPAND Y14, Y11, Y11 \
	VPOR Y11, hi, hi \
	VPADDB Y13, Y13, Y13

// func q5KQ8KDotNAVX2(w, a *byte, aStride int, tmp *byte, nb, rows int, out *float32)
//
// out[j] = q5KDotAVX2(w, a + j*aStride, nb) for j < rows, 0 < rows <= 8,
// nb > 0. tmp is 736 bytes of scratch: the scale vectors (0..255), the
// rows' float accumulators (256..511), the block's mins words (512..527),
// fp32(d_w) and fp32(dmin_w) (528..535), the rows' scalar mins sums
// (544..575) and constants (576..735).
TEXT ·q5KQ8KDotNAVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ aStride+16(FP), R8
	MOVQ tmp+24(FP), BX
	MOVQ nb+32(FP), CX
	MOVQ rows+40(FP), DX
	k23bConst($0x0f0f0f0f0f0f0f0f, 576)
	k23bConst($0x1010101010101010, 608)
	k23bConst($0x0101010101010101, 640)
	k23bConst($0x0100010001000100, 672)
	k23bConst($0x0202020202020202, 704)
	k23bZero(256)
	VXORPS X0, X0, X0
	VMOVUPS Y0, 544(BX)

q5bblock:
	// scales (AX, R13) and mins (R12, R10), as in q5KDotAVX2
	MOVL 4(SI), AX
	MOVL 8(SI), R9
	MOVL 12(SI), R11
	MOVL R11, R10
	SHRL $4, R10
	ANDL $0x0f0f0f0f, R10
	MOVL R9, R13
	SHRL $6, R13
	ANDL $0x03030303, R13
	SHLL $4, R13
	ORL R13, R10
	MOVL R9, R12
	ANDL $0x3f3f3f3f, R12
	MOVL R11, R13
	ANDL $0x0f0f0f0f, R13
	MOVL AX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL R9, R13
	ANDL $0x3f3f3f3f, AX
	VMOVQ R12, X5
	VPINSRD $1, R10, X5, X5
	VPMOVZXBW X5, X5
	VMOVDQU X5, 512(BX)
	VMOVQ AX, X0
	VPINSRD $1, R13, X0, X0
	VPMOVZXBW X0, X0
	VINSERTI128 $1, X0, Y0, Y11
	// the eight scale vectors (shuffle from words 0, step 2 bytes)
	VMOVDQU 672(BX), Y10
	VPSHUFB Y10, Y11, Y3
	VMOVDQU Y3, 0(BX)
	VPADDB 704(BX), Y10, Y10
	VPSHUFB Y10, Y11, Y3
	VMOVDQU Y3, 32(BX)
	VPADDB 704(BX), Y10, Y10
	VPSHUFB Y10, Y11, Y3
	VMOVDQU Y3, 64(BX)
	VPADDB 704(BX), Y10, Y10
	VPSHUFB Y10, Y11, Y3
	VMOVDQU Y3, 96(BX)
	VPADDB 704(BX), Y10, Y10
	VPSHUFB Y10, Y11, Y3
	VMOVDQU Y3, 128(BX)
	VPADDB 704(BX), Y10, Y10
	VPSHUFB Y10, Y11, Y3
	VMOVDQU Y3, 160(BX)
	VPADDB 704(BX), Y10, Y10
	VPSHUFB Y10, Y11, Y3
	VMOVDQU Y3, 192(BX)
	VPADDB 704(BX), Y10, Y10
	VPSHUFB Y10, Y11, Y3
	VMOVDQU Y3, 224(BX)
	// fp32(d_w), fp32(dmin_w)
	VMOVD (SI), X13
	VCVTPH2PS X13, X13
	VMOVDQU X13, 528(BX)
	// the eight 5-bit quant vectors Y0..Y7
	VMOVDQU 576(BX), Y15
	VMOVDQU 608(BX), Y14
	VMOVDQU 640(BX), Y13
	VMOVDQU 16(SI), Y12
	q5bQuants(48, Y0, Y1)
	q5bQuants(80, Y2, Y3)
	q5bQuants(112, Y4, Y5)
	q5bQuants(144, Y6, Y7)

	MOVQ DI, R9
	LEAQ 256(BX), R11
	LEAQ 544(BX), R12
	MOVQ DX, R13

q5brow:
	// d = d_w*d_a (X9), dmin = dmin_w*d_a (X10)
	VMOVSS (R9), X8
	VMULSS 528(BX), X8, X9
	VMULSS 532(BX), X8, X10
	// summs -= dmin * sum_j m_j*(bsums[2j]+bsums[2j+1]) (one scalar FMA)
	VMOVDQU 260(R9), X11
	VPHADDW 276(R9), X11, X11
	VPMADDWD 512(BX), X11, X11
	VPSHUFD $0x4e, X11, X12
	VPADDD X12, X11, X11
	VPSHUFD $0xb1, X11, X12
	VPADDD X12, X11, X11
	VMOVD X11, AX
	VCVTSI2SSL AX, X11, X11
	VMOVSS (R12), X12
	VFNMADD231SS X11, X10, X12
	VMOVSS X12, (R12)
	// the block's int32 lanes
	VPMADDUBSW 4(R9), Y0, Y8
	VPMADDWD 0(BX), Y8, Y8
	q2bStep(Y1, 36, 1)
	q2bStep(Y2, 68, 2)
	q2bStep(Y3, 100, 3)
	q2bStep(Y4, 132, 4)
	q2bStep(Y5, 164, 5)
	q2bStep(Y6, 196, 6)
	q2bStep(Y7, 228, 7)
	// acc += d * sumi
	VCVTDQ2PS Y8, Y8
	VBROADCASTSS X9, Y9
	VMOVUPS (R11), Y10
	VFMADD231PS Y8, Y9, Y10
	VMOVUPS Y10, (R11)
	ADDQ R8, R9
	ADDQ $32, R11
	ADDQ $4, R12
	DECQ R13
	JNZ q5brow

	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q5bblock

	// out[j] = hsum_float_8(acc_j) + summs_j
	MOVQ out+48(FP), R9
	LEAQ 256(BX), R11
	LEAQ 544(BX), R12
	MOVQ DX, R10

q5bred:
	VMOVUPS (R11), Y7
	VEXTRACTF128 $1, Y7, X0
	VADDPS X7, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VADDSS (R12), X0, X0
	VMOVSS X0, (R9)
	ADDQ $4, R9
	ADDQ $32, R11
	ADDQ $4, R12
	DECQ R10
	JNZ q5bred
	VZEROUPPER
	RET
