//go:build !purego

#include "textflag.h"

// Eight-row Q4_0 kernel with precomputed activation pair sums: the 4-bit
// quants q (0..15) stay unsigned, VPMADDUBSW takes the Q8_0 quants a
// straight from memory, and 8*(a_2i + a_2i+1) is subtracted afterwards, so
// every int16 pair is (q_2i-8)*a_2i + (q_2i+1-8)*a_2i+1, the same integer
// q4_0Q8_0Dot8AVX2 and the row kernel form (no term can saturate), and
// every later step is theirs: bit-identical sums in fewer instructions.

// func q8_0PairSums8AVX2(a *byte, aStride, nb int, corr *byte)
//
// corr[(b*8+r)*32:][:32] = the 16 int16 sums 8*(a_2i + a_2i+1) of block b
// of activation row r (row r at a + r*aStride), for b < nb, r < 8.
TEXT ·q8_0PairSums8AVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), DI
	MOVQ aStride+8(FP), R8
	MOVQ nb+16(FP), CX
	MOVQ corr+24(FP), BX
	LEAQ (R8)(R8*2), R9
	LEAQ (DI)(R8*4), R11
	MOVQ $0x0808080808080808, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15

psloop:
	VPMADDUBSW 2(DI), Y15, Y0
	VPMADDUBSW 2(DI)(R8*1), Y15, Y1
	VPMADDUBSW 2(DI)(R8*2), Y15, Y2
	VPMADDUBSW 2(DI)(R9*1), Y15, Y3
	VPMADDUBSW 2(R11), Y15, Y4
	VPMADDUBSW 2(R11)(R8*1), Y15, Y5
	VPMADDUBSW 2(R11)(R8*2), Y15, Y6
	VPMADDUBSW 2(R11)(R9*1), Y15, Y7
	VMOVDQU Y0, (BX)
	VMOVDQU Y1, 32(BX)
	VMOVDQU Y2, 64(BX)
	VMOVDQU Y3, 96(BX)
	VMOVDQU Y4, 128(BX)
	VMOVDQU Y5, 160(BX)
	VMOVDQU Y6, 192(BX)
	VMOVDQU Y7, 224(BX)
	ADDQ $34, DI
	ADDQ $34, R11
	ADDQ $256, BX
	DECQ CX
	JNZ psloop
	VZEROUPPER
	RET

// One activation row k of the block: unsigned quants Y0 times the Q8_0
// quants at aaddr, minus the pair sums at 32k(BX), then as MM8_ACT_OFFSET.
#define MM8C_ROW(aaddr, k, acc) \
	VPMADDUBSW aaddr, Y0, Y11 \
	VPSUBW (32*(k))(BX), Y11, Y11 \
	VPMADDWD Y13, Y11, Y11 \
	VCVTDQ2PS Y11, Y11 \
	VBROADCASTSS (k*4)(SP), Y12 \
	VFMADD231PS Y12, Y11, acc

// hsum_float_8(acc) stored at off(R10). Uses X11, X12.
#define MM8C_HSUM8_STORE(acc, xacc, off) \
	VEXTRACTF128 $1, acc, X11 \
	VADDPS xacc, X11, X11 \
	VMOVHLPS X11, X11, X12 \
	VADDPS X12, X11, X11 \
	VMOVSHDUP X11, X12 \
	VADDSS X12, X11, X11 \
	VMOVSS X11, off(R10)

// func q4_0Q8_0Dot8CAVX2(w, a *byte, aStride int, tab *float32, corr *byte, nb int, out *float32)
//
// q4_0Q8_0Dot8AVX2 with corr from q8_0PairSums8AVX2 for the same eight
// activation rows and nb blocks.
TEXT ·q4_0Q8_0Dot8CAVX2(SB), NOSPLIT, $32-56
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ aStride+16(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (DI)(R8*4), R11
	MOVQ tab+24(FP), DX
	MOVQ corr+32(FP), BX
	MOVQ nb+40(FP), CX
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ $0x0001000100010001, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, Y13
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10

q40cloop:
	// d[0..7] = fp32(d_w) * tab[0..7] on the stack
	MOVWLZX (SI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VBROADCASTSS X2, Y2
	VMULPS (DX), Y2, Y2
	VMOVUPS Y2, (SP)
	// quants 0..15 low nibbles, 16..31 high nibbles
	VMOVDQU 2(SI), X0
	VPSRLW $4, X0, X1
	VINSERTI128 $1, X1, Y0, Y0
	VPAND Y15, Y0, Y0
	MM8C_ROW(2(DI), 0, Y3)
	MM8C_ROW(2(DI)(R8*1), 1, Y4)
	MM8C_ROW(2(DI)(R8*2), 2, Y5)
	MM8C_ROW(2(DI)(R9*1), 3, Y6)
	MM8C_ROW(2(R11), 4, Y7)
	MM8C_ROW(2(R11)(R8*1), 5, Y8)
	MM8C_ROW(2(R11)(R8*2), 6, Y9)
	MM8C_ROW(2(R11)(R9*1), 7, Y10)
	ADDQ $18, SI
	ADDQ $34, DI
	ADDQ $34, R11
	ADDQ $32, DX
	ADDQ $256, BX
	DECQ CX
	JNZ q40cloop

	MOVQ out+48(FP), R10
	MM8C_HSUM8_STORE(Y3, X3, 0)
	MM8C_HSUM8_STORE(Y4, X4, 4)
	MM8C_HSUM8_STORE(Y5, X5, 8)
	MM8C_HSUM8_STORE(Y6, X6, 12)
	MM8C_HSUM8_STORE(Y7, X7, 16)
	MM8C_HSUM8_STORE(Y8, X8, 20)
	MM8C_HSUM8_STORE(Y9, X9, 24)
	MM8C_HSUM8_STORE(Y10, X10, 28)
	VZEROUPPER
	RET
