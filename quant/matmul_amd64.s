//go:build !purego

#include "textflag.h"

// Batched kernels: one weight row times four activation rows. Each weight
// block is decoded once and applied to the four activation blocks; for every
// (row, activation) pair the arithmetic is the one the single-row *DotAVX2
// kernel in avx2legacy_amd64.s does (the same exact int32 lane sums of four
// consecutive products, d = fp32(d_w)*fp32(d_a) rounded once, one FMA per
// block into eight float32 lanes, the same final reduction), so the results
// equal MatVec's bit for bit.
//
// func xxxDot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)
// w: one weight row; a: activation row 0, rows 1..3 follow at aStride;
// tab: per block, the four activation scales fp32(d_a) (and for Q4_1/Q5_1
// then the four fp32(s_a)); out: four sums (Q4_1/Q5_1: then the four
// fused min terms, which the caller adds). nb > 0.

// Y15 = 0x0f bytes, Y14 = 0x80 bytes, Y13 = 0x0001 words.
#define MM_CONSTS \
	MOVQ $0x0f0f0f0f0f0f0f0f, AX \
	VMOVQ AX, X15 \
	VPBROADCASTQ X15, Y15 \
	MOVQ $0x8080808080808080, AX \
	VMOVQ AX, X14 \
	VPBROADCASTQ X14, Y14 \
	MOVQ $0x0001000100010001, AX \
	VMOVQ AX, X13 \
	VPBROADCASTQ X13, Y13

#define MM_ARGS \
	MOVQ w+0(FP), SI \
	MOVQ a+8(FP), DI \
	MOVQ aStride+16(FP), R8 \
	LEAQ (R8)(R8*2), R9 \
	MOVQ tab+24(FP), DX \
	MOVQ nb+32(FP), CX \
	VXORPS Y3, Y3, Y3 \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6

// Y2 = fp32 of the half at off(SI), broadcast.
#define MM_DW(off) \
	MOVWLZX off(SI), AX \
	VMOVD AX, X2 \
	VCVTPH2PS X2, X2 \
	VBROADCASTSS X2, Y2

// Y0 = the 32 nibbles at off(SI) (low lane: elements 0..15).
#define MM_NIBBLES(off) \
	VMOVDQU off(SI), X0 \
	VPSRLW $4, X0, X1 \
	VINSERTI128 $1, X1, Y0, Y0 \
	VPAND Y15, Y0, Y0

// Y0 |= 0x10 where the bit of the 32-bit word at off(SI) is set (Q5 high
// bits). Uses Y1 and the constants Y12, Y11, Y10, Y9.
#define MM_HIGHBITS(off) \
	VPBROADCASTD off(SI), Y1 \
	VPSHUFB Y10, Y1, Y1 \
	VPOR Y12, Y1, Y1 \
	VPCMPEQB Y11, Y1, Y1 \
	VPAND Y9, Y1, Y1 \
	VPOR Y1, Y0, Y0

// acc += float(exact lane sums of wx*a) * (Y2 * tab[k]) for signed weights
// wx in Y0 (|wx| <= 16) and Y1 = 128*(pair sums of wx) as words: a is
// offset to unsigned (a+128), so that any int8 a, -128 included, is exact.
#define MM_ACT_OFFSET(aaddr, k, acc) \
	VMOVDQU aaddr, Y7 \
	VPXOR Y14, Y7, Y7 \
	VPMADDUBSW Y0, Y7, Y7 \
	VPSUBW Y1, Y7, Y7 \
	VPMADDWD Y13, Y7, Y7 \
	VCVTDQ2PS Y7, Y7 \
	VBROADCASTSS (k*4)(DX), Y8 \
	VMULPS Y8, Y2, Y8 \
	VFMADD231PS Y8, Y7, acc

// Q8_0 weights Y0, |w| in Y1: ggml's sign trick, as q8_0Q8_0DotAVX2.
#define MM_ACT_SIGN(aaddr, k, acc) \
	VMOVDQU aaddr, Y7 \
	VPSIGNB Y0, Y7, Y7 \
	VPMADDUBSW Y7, Y1, Y7 \
	VPMADDWD Y13, Y7, Y7 \
	VCVTDQ2PS Y7, Y7 \
	VBROADCASTSS (k*4)(DX), Y8 \
	VMULPS Y8, Y2, Y8 \
	VFMADD231PS Y8, Y7, acc

// Unsigned weights Y0 (Q4_1, Q5_1) times signed a: exact as they are.
#define MM_ACT_UNSIGNED(aaddr, k, acc) \
	VMOVDQU aaddr, Y7 \
	VPMADDUBSW Y7, Y0, Y7 \
	VPMADDWD Y13, Y7, Y7 \
	VCVTDQ2PS Y7, Y7 \
	VBROADCASTSS (k*4)(DX), Y8 \
	VMULPS Y8, Y2, Y8 \
	VFMADD231PS Y8, Y7, acc

// X7 = hsum_float_8(acc) stored at off(R10). Uses X8.
#define MM_HSUM_STORE(acc, xacc, off) \
	VEXTRACTF128 $1, acc, X7 \
	VADDPS xacc, X7, X7 \
	VMOVHLPS X7, X7, X8 \
	VADDPS X8, X7, X7 \
	VMOVSHDUP X7, X8 \
	VADDSS X8, X7, X7 \
	VMOVSS X7, off(R10)

#define MM_STORE4 \
	MOVQ out+40(FP), R10 \
	MM_HSUM_STORE(Y3, X3, 0) \
	MM_HSUM_STORE(Y4, X4, 4) \
	MM_HSUM_STORE(Y5, X5, 8) \
	MM_HSUM_STORE(Y6, X6, 12)

#define MM_HIGHBIT_CONSTS \
	MOVQ $0x7fbfdfeff7fbfdfe, AX \
	VMOVQ AX, X12 \
	VPBROADCASTQ X12, Y12 \
	VPCMPEQB Y11, Y11, Y11 \
	VMOVDQU mmBitShuf<>(SB), Y10 \
	MOVQ $0x1010101010101010, AX \
	VMOVQ AX, X9 \
	VPBROADCASTQ X9, Y9

DATA mmBitShuf<>+0(SB)/8, $0x0000000000000000
DATA mmBitShuf<>+8(SB)/8, $0x0101010101010101
DATA mmBitShuf<>+16(SB)/8, $0x0202020202020202
DATA mmBitShuf<>+24(SB)/8, $0x0303030303030303
GLOBL mmBitShuf<>(SB), RODATA|NOPTR, $32

// func q4_0Q8_0Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)
TEXT ·q4_0Q8_0Dot4AVX2(SB), NOSPLIT, $0-48
	MM_ARGS
	MM_CONSTS
	MOVQ $0x0808080808080808, AX
	VMOVQ AX, X12
	VPBROADCASTQ X12, Y12

q40loop:
	MM_DW(0)
	MM_NIBBLES(2)
	VPSUBB Y12, Y0, Y0
	VPMADDUBSW Y0, Y14, Y1
	MM_ACT_OFFSET(2(DI), 0, Y3)
	MM_ACT_OFFSET(2(DI)(R8*1), 1, Y4)
	MM_ACT_OFFSET(2(DI)(R8*2), 2, Y5)
	MM_ACT_OFFSET(2(DI)(R9*1), 3, Y6)
	ADDQ $18, SI
	ADDQ $34, DI
	ADDQ $16, DX
	DECQ CX
	JNZ q40loop

	MM_STORE4
	VZEROUPPER
	RET

// func q5_0Q8_0Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)
TEXT ·q5_0Q8_0Dot4AVX2(SB), NOSPLIT, $0-48
	MM_ARGS
	MM_CONSTS
	MM_HIGHBIT_CONSTS

q50loop:
	MM_DW(0)
	MM_NIBBLES(6)
	MM_HIGHBITS(2)
	VPSUBB Y9, Y0, Y0
	VPMADDUBSW Y0, Y14, Y1
	MM_ACT_OFFSET(2(DI), 0, Y3)
	MM_ACT_OFFSET(2(DI)(R8*1), 1, Y4)
	MM_ACT_OFFSET(2(DI)(R8*2), 2, Y5)
	MM_ACT_OFFSET(2(DI)(R9*1), 3, Y6)
	ADDQ $22, SI
	ADDQ $34, DI
	ADDQ $16, DX
	DECQ CX
	JNZ q50loop

	MM_STORE4
	VZEROUPPER
	RET

// func q8_0Q8_0Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)
TEXT ·q8_0Q8_0Dot4AVX2(SB), NOSPLIT, $0-48
	MM_ARGS
	MM_CONSTS

q80loop:
	MM_DW(0)
	VMOVDQU 2(SI), Y0
	VPSIGNB Y0, Y0, Y1
	MM_ACT_SIGN(2(DI), 0, Y3)
	MM_ACT_SIGN(2(DI)(R8*1), 1, Y4)
	MM_ACT_SIGN(2(DI)(R8*2), 2, Y5)
	MM_ACT_SIGN(2(DI)(R9*1), 3, Y6)
	ADDQ $34, SI
	ADDQ $34, DI
	ADDQ $16, DX
	DECQ CX
	JNZ q80loop

	MM_STORE4
	VZEROUPPER
	RET

// xacc (four lanes, one per activation row) = fma(m_w, s_a, X9): the min term
// of Q4_1/Q5_1, each lane the scalar VFMADD231SS of the single-row kernel.
#define MM_MIN4(off, xacc) \
	MOVWLZX off(SI), AX \
	VMOVD AX, X1 \
	VCVTPH2PS X1, X1 \
	VBROADCASTSS X1, X1 \
	VFMADD231PS 16(DX), X1, xacc

// func q4_1Q8_1Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)
// tab holds eight floats per block (d_a of rows 0..3, then s_a).
TEXT ·q4_1Q8_1Dot4AVX2(SB), NOSPLIT, $0-48
	MM_ARGS
	MM_CONSTS
	VXORPS X9, X9, X9

q41loop:
	MM_DW(0)
	MM_MIN4(2, X9)
	MM_NIBBLES(4)
	MM_ACT_UNSIGNED(4(DI), 0, Y3)
	MM_ACT_UNSIGNED(4(DI)(R8*1), 1, Y4)
	MM_ACT_UNSIGNED(4(DI)(R8*2), 2, Y5)
	MM_ACT_UNSIGNED(4(DI)(R9*1), 3, Y6)
	ADDQ $20, SI
	ADDQ $36, DI
	ADDQ $32, DX
	DECQ CX
	JNZ q41loop

	MM_STORE4
	VMOVUPS X9, 16(R10)
	VZEROUPPER
	RET

// func q5_1Q8_1Dot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)
// Like q4_1Q8_1Dot4AVX2; the min terms live in X14 (Y9 holds 0x10 bytes).
TEXT ·q5_1Q8_1Dot4AVX2(SB), NOSPLIT, $0-48
	MM_ARGS
	MM_CONSTS
	MM_HIGHBIT_CONSTS
	VXORPS X14, X14, X14

q51loop:
	MM_DW(0)
	MM_MIN4(2, X14)
	MM_NIBBLES(8)
	MM_HIGHBITS(4)
	MM_ACT_UNSIGNED(4(DI), 0, Y3)
	MM_ACT_UNSIGNED(4(DI)(R8*1), 1, Y4)
	MM_ACT_UNSIGNED(4(DI)(R8*2), 2, Y5)
	MM_ACT_UNSIGNED(4(DI)(R9*1), 3, Y6)
	ADDQ $24, SI
	ADDQ $36, DI
	ADDQ $32, DX
	DECQ CX
	JNZ q51loop

	MM_STORE4
	VMOVUPS X14, 16(R10)
	VZEROUPPER
	RET

// Eight-row kernels for Q8_0 and Q4_0 weights: as the four-row ones, with
// activation rows 4..7 starting at R11 = a + 4*aStride, the eight products
// d = fp32(d_w)*fp32(d_a) computed in one VMULPS and broadcast from the
// stack, and accumulators Y3..Y10. tab holds eight fp32(d_a) per block.

#define MM8_ARGS \
	MOVQ w+0(FP), SI \
	MOVQ a+8(FP), DI \
	MOVQ aStride+16(FP), R8 \
	LEAQ (R8)(R8*2), R9 \
	LEAQ (DI)(R8*4), R11 \
	MOVQ tab+24(FP), DX \
	MOVQ nb+32(FP), CX \
	VXORPS Y3, Y3, Y3 \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7 \
	VXORPS Y8, Y8, Y8 \
	VXORPS Y9, Y9, Y9 \
	VXORPS Y10, Y10, Y10

// R12 = a 32-byte aligned slot in the frame (64 bytes) for the eight d:
// a store that crosses a cache line slows the broadcasts from it by about
// a fifth.
#define MM8_SLOT \
	MOVQ SP, R12 \
	ADDQ $31, R12 \
	ANDQ $~31, R12

// d[0..7] = fp32(half at 0(SI)) * tab[0..7], stored at 0(R12).
#define MM8_D \
	MOVWLZX (SI), AX \
	VMOVD AX, X2 \
	VCVTPH2PS X2, X2 \
	VBROADCASTSS X2, Y2 \
	VMULPS (DX), Y2, Y2 \
	VMOVAPS Y2, (R12)

// Q8_0: weights Y0, |w| Y1; Y11, Y12 temporaries.
#define MM8_ACT_SIGN(aaddr, k, acc) \
	VMOVDQU aaddr, Y11 \
	VPSIGNB Y0, Y11, Y11 \
	VPMADDUBSW Y11, Y1, Y11 \
	VPMADDWD Y13, Y11, Y11 \
	VCVTDQ2PS Y11, Y11 \
	VBROADCASTSS (k*4)(R12), Y12 \
	VFMADD231PS Y12, Y11, acc

// Q4_0: signed weights Y0, Y1 = 128*(pair sums of w) as words.
#define MM8_ACT_OFFSET(aaddr, k, acc) \
	VMOVDQU aaddr, Y11 \
	VPXOR Y14, Y11, Y11 \
	VPMADDUBSW Y0, Y11, Y11 \
	VPSUBW Y1, Y11, Y11 \
	VPMADDWD Y13, Y11, Y11 \
	VCVTDQ2PS Y11, Y11 \
	VBROADCASTSS (k*4)(R12), Y12 \
	VFMADD231PS Y12, Y11, acc

#define MM8_STORE8 \
	MOVQ out+40(FP), R10 \
	MM_HSUM8_STORE(Y3, X3, 0) \
	MM_HSUM8_STORE(Y4, X4, 4) \
	MM_HSUM8_STORE(Y5, X5, 8) \
	MM_HSUM8_STORE(Y6, X6, 12) \
	MM_HSUM8_STORE(Y7, X7, 16) \
	MM_HSUM8_STORE(Y8, X8, 20) \
	MM_HSUM8_STORE(Y9, X9, 24) \
	MM_HSUM8_STORE(Y10, X10, 28)

// hsum_float_8(acc) stored at off(R10). Uses X11, X12.
#define MM_HSUM8_STORE(acc, xacc, off) \
	VEXTRACTF128 $1, acc, X11 \
	VADDPS xacc, X11, X11 \
	VMOVHLPS X11, X11, X12 \
	VADDPS X12, X11, X11 \
	VMOVSHDUP X11, X12 \
	VADDSS X12, X11, X11 \
	VMOVSS X11, off(R10)

// func q8_0Q8_0Dot8AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)
TEXT ·q8_0Q8_0Dot8AVX2(SB), NOSPLIT, $64-48
	MM8_ARGS
	MM8_SLOT
	MM_CONSTS

q80x8loop:
	MM8_D
	VMOVDQU 2(SI), Y0
	VPSIGNB Y0, Y0, Y1
	MM8_ACT_SIGN(2(DI), 0, Y3)
	MM8_ACT_SIGN(2(DI)(R8*1), 1, Y4)
	MM8_ACT_SIGN(2(DI)(R8*2), 2, Y5)
	MM8_ACT_SIGN(2(DI)(R9*1), 3, Y6)
	MM8_ACT_SIGN(2(R11), 4, Y7)
	MM8_ACT_SIGN(2(R11)(R8*1), 5, Y8)
	MM8_ACT_SIGN(2(R11)(R8*2), 6, Y9)
	MM8_ACT_SIGN(2(R11)(R9*1), 7, Y10)
	ADDQ $34, SI
	ADDQ $34, DI
	ADDQ $34, R11
	ADDQ $32, DX
	DECQ CX
	JNZ q80x8loop

	MM8_STORE8
	VZEROUPPER
	RET

// func q4_0Q8_0Dot8AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)
TEXT ·q4_0Q8_0Dot8AVX2(SB), NOSPLIT, $64-48
	MM8_ARGS
	MM8_SLOT
	MM_CONSTS

q40x8loop:
	MM8_D
	VMOVDQU 2(SI), X0
	VPSRLW $4, X0, X1
	VINSERTI128 $1, X1, Y0, Y0
	VPAND Y15, Y0, Y0
	VPSUBB mmEights<>(SB), Y0, Y0
	VPMADDUBSW Y0, Y14, Y1
	MM8_ACT_OFFSET(2(DI), 0, Y3)
	MM8_ACT_OFFSET(2(DI)(R8*1), 1, Y4)
	MM8_ACT_OFFSET(2(DI)(R8*2), 2, Y5)
	MM8_ACT_OFFSET(2(DI)(R9*1), 3, Y6)
	MM8_ACT_OFFSET(2(R11), 4, Y7)
	MM8_ACT_OFFSET(2(R11)(R8*1), 5, Y8)
	MM8_ACT_OFFSET(2(R11)(R8*2), 6, Y9)
	MM8_ACT_OFFSET(2(R11)(R9*1), 7, Y10)
	ADDQ $18, SI
	ADDQ $34, DI
	ADDQ $34, R11
	ADDQ $32, DX
	DECQ CX
	JNZ q40x8loop

	MM8_STORE8
	VZEROUPPER
	RET

DATA mmEights<>+0(SB)/8, $0x0808080808080808
DATA mmEights<>+8(SB)/8, $0x0808080808080808
DATA mmEights<>+16(SB)/8, $0x0808080808080808
DATA mmEights<>+24(SB)/8, $0x0808080808080808
GLOBL mmEights<>(SB), RODATA|NOPTR, $32

// Q5_0 high bits for the eight-row kernel, constants from memory: Y0 |=
// 0x10 where the bit of the 32-bit word at off(SI) is set. Uses Y1.
#define MM8_HIGHBITS(off) \
	VPBROADCASTD off(SI), Y1 \
	VPSHUFB mmBitShuf<>(SB), Y1, Y1 \
	VPOR mmBitMask<>(SB), Y1, Y1 \
	VPCMPEQB mmOnes<>(SB), Y1, Y1 \
	VPAND mmSixteens<>(SB), Y1, Y1 \
	VPOR Y1, Y0, Y0

// func q5_0Q8_0Dot8AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)
TEXT ·q5_0Q8_0Dot8AVX2(SB), NOSPLIT, $64-48
	MM8_ARGS
	MM8_SLOT
	MM_CONSTS

q50x8loop:
	MM8_D
	VMOVDQU 6(SI), X0
	VPSRLW $4, X0, X1
	VINSERTI128 $1, X1, Y0, Y0
	VPAND Y15, Y0, Y0
	MM8_HIGHBITS(2)
	VPSUBB mmSixteens<>(SB), Y0, Y0
	VPMADDUBSW Y0, Y14, Y1
	MM8_ACT_OFFSET(2(DI), 0, Y3)
	MM8_ACT_OFFSET(2(DI)(R8*1), 1, Y4)
	MM8_ACT_OFFSET(2(DI)(R8*2), 2, Y5)
	MM8_ACT_OFFSET(2(DI)(R9*1), 3, Y6)
	MM8_ACT_OFFSET(2(R11), 4, Y7)
	MM8_ACT_OFFSET(2(R11)(R8*1), 5, Y8)
	MM8_ACT_OFFSET(2(R11)(R8*2), 6, Y9)
	MM8_ACT_OFFSET(2(R11)(R9*1), 7, Y10)
	ADDQ $22, SI
	ADDQ $34, DI
	ADDQ $34, R11
	ADDQ $32, DX
	DECQ CX
	JNZ q50x8loop

	MM8_STORE8
	VZEROUPPER
	RET

DATA mmBitMask<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA mmBitMask<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA mmBitMask<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA mmBitMask<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL mmBitMask<>(SB), RODATA|NOPTR, $32

DATA mmOnes<>+0(SB)/8, $-1
DATA mmOnes<>+8(SB)/8, $-1
DATA mmOnes<>+16(SB)/8, $-1
DATA mmOnes<>+24(SB)/8, $-1
GLOBL mmOnes<>(SB), RODATA|NOPTR, $32

DATA mmSixteens<>+0(SB)/8, $0x1010101010101010
DATA mmSixteens<>+8(SB)/8, $0x1010101010101010
DATA mmSixteens<>+16(SB)/8, $0x1010101010101010
DATA mmSixteens<>+24(SB)/8, $0x1010101010101010
GLOBL mmSixteens<>(SB), RODATA|NOPTR, $32

// Float kernels: one weight row times three float32 activation rows (rows
// 1 and 2 at yStride bytes after row 0), n > 0 a multiple of 32, over one
// chunk of the row: the twelve eight-lane accumulators (four per activation
// row, as dotF32AVX2/dotF16AVX2 in avx2gen_amd64.s keep them) are loaded from
// acc and stored back, so that a row can be walked in chunks that keep the
// activations in L1 with the same sums in the same order. reduceF32x3AVX2
// then reduces them like those kernels: (c0+c2)+(c1+c3), lo+hi, two
// horizontal adds. F16 weights and activations are widened with VCVTPH2PS, as in
// dotF16AVX2.

// (a0+a2)+(a1+a3) reduced into xa0, stored at off(R10). Uses X12.
#define MM_REDUCE_STORE(a0, a1, a2, a3, xa0, off) \
	VADDPS a2, a0, a0 \
	VADDPS a3, a1, a1 \
	VADDPS a1, a0, a0 \
	VEXTRACTF128 $1, a0, X12 \
	VADDPS X12, xa0, xa0 \
	VHADDPS xa0, xa0, xa0 \
	VHADDPS xa0, xa0, xa0 \
	VMOVSS xa0, off(R10)

#define MM_F_LOAD_ACC \
	VMOVUPS (R10), Y0 \
	VMOVUPS 32(R10), Y1 \
	VMOVUPS 64(R10), Y2 \
	VMOVUPS 96(R10), Y3 \
	VMOVUPS 128(R10), Y4 \
	VMOVUPS 160(R10), Y5 \
	VMOVUPS 192(R10), Y6 \
	VMOVUPS 224(R10), Y7 \
	VMOVUPS 256(R10), Y8 \
	VMOVUPS 288(R10), Y9 \
	VMOVUPS 320(R10), Y10 \
	VMOVUPS 352(R10), Y11

#define MM_F_STORE_ACC \
	VMOVUPS Y0, (R10) \
	VMOVUPS Y1, 32(R10) \
	VMOVUPS Y2, 64(R10) \
	VMOVUPS Y3, 96(R10) \
	VMOVUPS Y4, 128(R10) \
	VMOVUPS Y5, 160(R10) \
	VMOVUPS Y6, 192(R10) \
	VMOVUPS Y7, 224(R10) \
	VMOVUPS Y8, 256(R10) \
	VMOVUPS Y9, 288(R10) \
	VMOVUPS Y10, 320(R10) \
	VMOVUPS Y11, 352(R10)

// Weights in Y12..Y15: FMA them with the three activation rows.
#define MM_F_FMAS \
	VFMADD231PS (DI), Y12, Y0 \
	VFMADD231PS 32(DI), Y13, Y1 \
	VFMADD231PS 64(DI), Y14, Y2 \
	VFMADD231PS 96(DI), Y15, Y3 \
	VFMADD231PS (DI)(R8*1), Y12, Y4 \
	VFMADD231PS 32(DI)(R8*1), Y13, Y5 \
	VFMADD231PS 64(DI)(R8*1), Y14, Y6 \
	VFMADD231PS 96(DI)(R8*1), Y15, Y7 \
	VFMADD231PS (DI)(R8*2), Y12, Y8 \
	VFMADD231PS 32(DI)(R8*2), Y13, Y9 \
	VFMADD231PS 64(DI)(R8*2), Y14, Y10 \
	VFMADD231PS 96(DI)(R8*2), Y15, Y11 \
	ADDQ $128, DI \
	SUBQ $32, CX

// func dotF32x3AVX2(x, y *float32, yStride, n int, acc *float32)
TEXT ·dotF32x3AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ yStride+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ acc+32(FP), R10
	MM_F_LOAD_ACC

f32x3loop:
	VMOVUPS (SI), Y12
	VMOVUPS 32(SI), Y13
	VMOVUPS 64(SI), Y14
	VMOVUPS 96(SI), Y15
	ADDQ $128, SI
	MM_F_FMAS
	JNZ f32x3loop

	MM_F_STORE_ACC
	VZEROUPPER
	RET

// Y12, Y13 (weights, eight lanes each) times the eight F16 activations at
// a0 and the eight at a1, widened into Y14/Y15, FMA'd into acc0/acc1.
#define MM_F16_PAIR(a0, a1, acc0, acc1) \
	VCVTPH2PS a0, Y14 \
	VFMADD231PS Y14, Y12, acc0 \
	VCVTPH2PS a1, Y15 \
	VFMADD231PS Y15, Y13, acc1

// func dotF16x3AVX2(x, y *uint16, yStride, n int, acc *float32)
// Like dotF32x3AVX2 with F16 weights and activations, both widened with
// VCVTPH2PS as dotF16AVX2 does; each 32-element step in two halves so that
// the accumulators, two weight vectors and two temporaries fit.
TEXT ·dotF16x3AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ yStride+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ acc+32(FP), R10
	MM_F_LOAD_ACC

f16x3loop:
	VCVTPH2PS (SI), Y12
	VCVTPH2PS 16(SI), Y13
	MM_F16_PAIR((DI), 16(DI), Y0, Y1)
	MM_F16_PAIR((DI)(R8*1), 16(DI)(R8*1), Y4, Y5)
	MM_F16_PAIR((DI)(R8*2), 16(DI)(R8*2), Y8, Y9)
	VCVTPH2PS 32(SI), Y12
	VCVTPH2PS 48(SI), Y13
	MM_F16_PAIR(32(DI), 48(DI), Y2, Y3)
	MM_F16_PAIR(32(DI)(R8*1), 48(DI)(R8*1), Y6, Y7)
	MM_F16_PAIR(32(DI)(R8*2), 48(DI)(R8*2), Y10, Y11)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JNZ f16x3loop

	MM_F_STORE_ACC
	VZEROUPPER
	RET

// func reduceF32x3AVX2(acc *float32, out *float32)
TEXT ·reduceF32x3AVX2(SB), NOSPLIT, $0-16
	MOVQ acc+0(FP), R10
	MM_F_LOAD_ACC
	MOVQ out+8(FP), R10
	MM_REDUCE_STORE(Y0, Y1, Y2, Y3, X0, 0)
	MM_REDUCE_STORE(Y4, Y5, Y6, Y7, X4, 4)
	MM_REDUCE_STORE(Y8, Y9, Y10, Y11, X8, 8)
	VZEROUPPER
	RET

#define MM_F_ZERO_ACC \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3 \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7 \
	VXORPS Y8, Y8, Y8 \
	VXORPS Y9, Y9, Y9 \
	VXORPS Y10, Y10, Y10 \
	VXORPS Y11, Y11, Y11

// func dotF32x3FullAVX2(x, y *float32, yStride, n int, out *float32)
// dotF32x3AVX2 from zero accumulators over whole rows of n elements (n > 0
// a multiple of 32), then reduceF32x3AVX2 into out[0..2]: the same sums,
// without keeping the accumulators in memory.
TEXT ·dotF32x3FullAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ yStride+16(FP), R8
	MOVQ n+24(FP), CX
	MM_F_ZERO_ACC

f32x3floop:
	VMOVUPS (SI), Y12
	VMOVUPS 32(SI), Y13
	VMOVUPS 64(SI), Y14
	VMOVUPS 96(SI), Y15
	ADDQ $128, SI
	MM_F_FMAS
	JNZ f32x3floop

	MOVQ out+32(FP), R10
	MM_REDUCE_STORE(Y0, Y1, Y2, Y3, X0, 0)
	MM_REDUCE_STORE(Y4, Y5, Y6, Y7, X4, 4)
	MM_REDUCE_STORE(Y8, Y9, Y10, Y11, X8, 8)
	VZEROUPPER
	RET

// func dotF16x3FullAVX2(x, y *uint16, yStride, n int, out *float32)
// dotF32x3FullAVX2 for dotF16x3AVX2.
TEXT ·dotF16x3FullAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ yStride+16(FP), R8
	MOVQ n+24(FP), CX
	MM_F_ZERO_ACC

f16x3floop:
	VCVTPH2PS (SI), Y12
	VCVTPH2PS 16(SI), Y13
	MM_F16_PAIR((DI), 16(DI), Y0, Y1)
	MM_F16_PAIR((DI)(R8*1), 16(DI)(R8*1), Y4, Y5)
	MM_F16_PAIR((DI)(R8*2), 16(DI)(R8*2), Y8, Y9)
	VCVTPH2PS 32(SI), Y12
	VCVTPH2PS 48(SI), Y13
	MM_F16_PAIR(32(DI), 48(DI), Y2, Y3)
	MM_F16_PAIR(32(DI)(R8*1), 48(DI)(R8*1), Y6, Y7)
	MM_F16_PAIR(32(DI)(R8*2), 48(DI)(R8*2), Y10, Y11)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JNZ f16x3floop

	MOVQ out+32(FP), R10
	MM_REDUCE_STORE(Y0, Y1, Y2, Y3, X0, 0)
	MM_REDUCE_STORE(Y4, Y5, Y6, Y7, X4, 4)
	MM_REDUCE_STORE(Y8, Y9, Y10, Y11, X8, 8)
	VZEROUPPER
	RET
