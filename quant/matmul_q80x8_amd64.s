//go:build !purego

#include "textflag.h"

// func q8_0GemmX8AVX2(w *byte, rowBytes, rows int, ap *byte, nb int, dst *float32, ldDst int)
//
// For each of rows weight rows (row r at w + r*rowBytes) and the group of
// eight packed activation rows at ap: per block, d[0..7] = fp32(d_w) *
// fp32(d_a) of the eight activation rows (one VMULPS, stored in an aligned
// slot of the frame and broadcast from there), |w| and the weights' signs
// moved onto the activations (ggml's sign trick), exact int32 lane sums of
// four consecutive products (VPMADDUBSW, VPMADDWD), one fused multiply-add
// per pair into its accumulator Y3..Y10; then hsum_float_8 of each, stored
// at dst[j*ldDst + r] for activation row j: the arithmetic of
// q8_0Q8_0DotAVX2 for every pair.

// The integer part of pair k: t = float32 of the exact int32 lane sums
// of activation row k's quants at off(DI) times the weights.
#define Q80X8_SUMS(off, t) \
	VMOVDQU off(DI), t \
	VPSIGNB Y0, t, t \
	VPMADDUBSW t, Y1, t \
	VPMADDWD Y13, t, t \
	VCVTDQ2PS t, t

// acc += d[k] * t.
#define Q80X8_FMA(k, t, acc) \
	VBROADCASTSS (k*4)(R12), Y2 \
	VFMADD231PS Y2, t, acc

// hsum_float_8(acc) stored at (addr). Uses X11, X12.
#define Q80X8_HSUM(acc, xacc, addr) \
	VEXTRACTF128 $1, acc, X11 \
	VADDPS xacc, X11, X11 \
	VMOVHLPS X11, X11, X12 \
	VADDPS X12, X11, X11 \
	VMOVSHDUP X11, X12 \
	VADDSS X12, X11, X11 \
	VMOVSS X11, addr

TEXT ·q8_0GemmX8AVX2(SB), NOSPLIT, $64-56
	MOVQ w+0(FP), R11
	MOVQ rows+16(FP), R9
	MOVQ dst+40(FP), R10
	MOVQ ldDst+48(FP), R8
	SHLQ $2, R8                 // row stride of dst in bytes
	LEAQ (R8)(R8*2), BX         // 3 * stride
	// R12: a 32-byte aligned slot in the frame for the eight d (a store
	// that crosses a cache line slows the broadcasts from it by a fifth).
	LEAQ 31(SP), R12
	ANDQ $~31, R12
	MOVQ $0x0001000100010001, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, Y13

q80x8row:
	MOVQ R11, SI
	MOVQ ap+24(FP), DI
	MOVQ nb+32(FP), CX
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10

q80x8loop:
	VPBROADCASTW (SI), X2
	VCVTPH2PS X2, Y2
	VMULPS (DI), Y2, Y2
	VMOVAPS Y2, (R12)
	VMOVDQU 2(SI), Y0
	VPSIGNB Y0, Y0, Y1
	// Each pair's multiply-add comes two pairs after its integer part
	// (four temporaries in turn), which runs about 3% faster than
	// issuing them together.
	Q80X8_SUMS(32, Y11)
	Q80X8_SUMS(64, Y12)
	Q80X8_SUMS(96, Y14)
	Q80X8_FMA(0, Y11, Y3)
	Q80X8_SUMS(128, Y15)
	Q80X8_FMA(1, Y12, Y4)
	Q80X8_SUMS(160, Y11)
	Q80X8_FMA(2, Y14, Y5)
	Q80X8_SUMS(192, Y12)
	Q80X8_FMA(3, Y15, Y6)
	Q80X8_SUMS(224, Y14)
	Q80X8_FMA(4, Y11, Y7)
	Q80X8_SUMS(256, Y15)
	Q80X8_FMA(5, Y12, Y8)
	Q80X8_FMA(6, Y14, Y9)
	Q80X8_FMA(7, Y15, Y10)
	ADDQ $34, SI
	ADDQ $288, DI
	DECQ CX
	JNZ q80x8loop

	LEAQ (R10)(R8*4), AX        // dst row 4
	Q80X8_HSUM(Y3, X3, (R10))
	Q80X8_HSUM(Y4, X4, (R10)(R8*1))
	Q80X8_HSUM(Y5, X5, (R10)(R8*2))
	Q80X8_HSUM(Y6, X6, (R10)(BX*1))
	Q80X8_HSUM(Y7, X7, (AX))
	Q80X8_HSUM(Y8, X8, (AX)(R8*1))
	Q80X8_HSUM(Y9, X9, (AX)(R8*2))
	Q80X8_HSUM(Y10, X10, (AX)(BX*1))
	ADDQ rowBytes+8(FP), R11
	ADDQ $4, R10
	DECQ R9
	JNZ q80x8row
	VZEROUPPER
	RET
