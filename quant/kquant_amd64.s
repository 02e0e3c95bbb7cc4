//go:build !purego

#include "textflag.h"

// hsum8 reduces the 8 float32 lanes of Y to X0 lane 0 exactly like ggml's
// hsum_float_8: (hi+lo), then lanes 0+2 and 1+3, then those two. Uses X1.
#define hsum8(Y, X) \
	VEXTRACTF128 $1, Y, X0 \
	VADDPS X, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

// func q4KDotAVX2(x, y *byte, nb int) float32
//
// ggml_vec_dot_q4_K_q8_K's AVX2 kernel, step for step: per block the scales
// are applied to 8 int32 lanes with VPMADDWD, the lanes are converted and
// FMA-accumulated with d = d_a*d_w across blocks, the mins go to a 4-lane
// accumulator with dmin, and both are reduced as ggml does, so the result is
// bit-identical to llama.cpp's haswell build.
TEXT ·q4KDotAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ $0x0202020202020202, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, Y13
	MOVQ $0x0100010001000100, AX
	VMOVQ AX, X12
	VPBROADCASTQ X12, Y12
	VXORPS Y8, Y8, Y8
	VXORPS X7, X7, X7
	TESTQ CX, CX
	JEQ q4xdone

q4xloop:
	// d = y.d * x.d and dmin = y.d * x.dmin (subtracted below)
	VMOVD (SI), X0
	VCVTPH2PS X0, X0
	VMOVSS (DI), X1
	VMULSS X1, X0, X14
	VMOVSHDUP X0, X3
	VMULSS X1, X3, X3

	// scales (AX, R13) and mins (R12, R10), ggml's utmp trick
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

	// acc_m -= dmin * (mins . pairwise bsums)
	VMOVQ R12, X5
	VPINSRD $1, R10, X5, X5
	VPMOVZXBW X5, X5
	VMOVDQU 260(DI), X6
	VPHADDW 276(DI), X6, X6
	VPMADDWD X6, X5, X5
	VCVTDQ2PS X5, X5
	VBROADCASTSS X3, X3
	VFNMADD231PS X5, X3, X7

	// scales as words in both 128-bit lanes
	VMOVQ AX, X4
	VPINSRD $1, R13, X4, X4
	VPMOVZXBW X4, X4
	VINSERTI128 $1, X4, Y4, Y11
	VMOVDQU Y12, Y10
	VPXOR Y9, Y9, Y9

#define q4xChunk(qoff, q8lo, q8hi) \
	VMOVDQU qoff(SI), Y0 \
	VPSRLW $4, Y0, Y1 \
	VPAND Y15, Y0, Y0 \
	VPAND Y15, Y1, Y1 \
	VPMADDUBSW q8lo(DI), Y0, Y0 \
	VPMADDUBSW q8hi(DI), Y1, Y1 \
	VPSHUFB Y10, Y11, Y2 \
	VPADDB Y13, Y10, Y10 \
	VPSHUFB Y10, Y11, Y3 \
	VPADDB Y13, Y10, Y10 \
	VPMADDWD Y2, Y0, Y0 \
	VPMADDWD Y3, Y1, Y1 \
	VPADDD Y1, Y0, Y0 \
	VPADDD Y0, Y9, Y9

	q4xChunk(16, 4, 36)
	q4xChunk(48, 68, 100)
	q4xChunk(80, 132, 164)
	q4xChunk(112, 196, 228)

	VBROADCASTSS X14, Y4
	VCVTDQ2PS Y9, Y9
	VFMADD231PS Y9, Y4, Y8

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4xloop

q4xdone:
	VMOVHLPS X7, X7, X0
	VADDPS X0, X7, X7
	VMOVSHDUP X7, X0
	VADDSS X0, X7, X7
	hsum8(Y8, X8)
	VADDSS X7, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func q6KDotAVX2(x, y *byte, nb int) float32
//
// ggml_vec_dot_q6_K_q8_K's AVX2 kernel, step for step (bit-identical to
// llama.cpp's haswell build).
TEXT ·q6KDotAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
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
	// scale shuffle: bytes 0 x8, 1 x8; advanced by 2 per 32 values
	MOVQ $0x0101010101010101, AX
	VPXOR X9, X9, X9
	VPINSRQ $1, AX, X9, X9
	MOVQ $0x0202020202020202, AX
	VMOVQ AX, X8
	VPBROADCASTQ X8, X8
	VXORPS Y5, Y5, Y5
	TESTQ CX, CX
	JEQ q6xdone

q6xloop:
	VMOVDQU 192(SI), X7
	VMOVDQU X9, X14
	VPXOR Y6, Y6, Y6

#define q6xChunk(q8off) \
	VPMADDUBSW q8off(DI), Y3, Y3 \
	VPSHUFB X14, X7, X4 \
	VPADDB X8, X14, X14 \
	VPMOVSXBW X4, Y4 \
	VPMADDWD Y4, Y3, Y3 \
	VPADDD Y3, Y6, Y6

#define q6xHalf(qloff, qhoff, q8a, q8b, q8c, q8d) \
	VMOVDQU qloff(SI), Y0 \
	VMOVDQU qloff+32(SI), Y1 \
	VMOVDQU qhoff(SI), Y2 \
	VPAND Y15, Y0, Y3 \
	VPAND Y13, Y2, Y4 \
	VPSLLW $4, Y4, Y4 \
	VPOR Y4, Y3, Y3 \
	q6xChunk(q8a) \
	VPAND Y15, Y1, Y3 \
	VPAND Y12, Y2, Y4 \
	VPSLLW $2, Y4, Y4 \
	VPOR Y4, Y3, Y3 \
	q6xChunk(q8b) \
	VPSRLW $4, Y0, Y3 \
	VPAND Y15, Y3, Y3 \
	VPAND Y11, Y2, Y4 \
	VPOR Y4, Y3, Y3 \
	q6xChunk(q8c) \
	VPSRLW $4, Y1, Y3 \
	VPAND Y15, Y3, Y3 \
	VPAND Y10, Y2, Y4 \
	VPSRLW $2, Y4, Y4 \
	VPOR Y4, Y3, Y3 \
	q6xChunk(q8d)

	q6xHalf(0, 128, 4, 36, 68, 100)
	q6xHalf(64, 160, 132, 164, 196, 228)

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
	JNZ q6xloop

q6xdone:
	hsum8(Y5, X5)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func q5KDotAVX2(x, y *byte, nb int) float32
//
// ggml_vec_dot_q5_K_q8_K's AVX2 kernel, step for step (bit-identical to
// llama.cpp's haswell build, whose compiled code fuses summs += dmin*hsum
// into an FMA).
TEXT ·q5KDotAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ $0x0202020202020202, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, Y13
	MOVQ $0x0100010001000100, AX
	VMOVQ AX, X12
	VPBROADCASTQ X12, Y12
	MOVQ $0x1010101010101010, AX
	VMOVQ AX, X4
	VPBROADCASTQ X4, Y4
	VXORPS Y8, Y8, Y8
	VXORPS X7, X7, X7
	TESTQ CX, CX
	JEQ q5xdone

q5xloop:
	VMOVD (SI), X0
	VCVTPH2PS X0, X0
	VMOVSS (DI), X1
	VMULSS X1, X0, X14
	VMOVSHDUP X0, X3
	VMULSS X1, X3, X3

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

	// summs -= dmin * sum_j m_j*(bsums[2j]+bsums[2j+1]) (one FMA)
	VMOVQ R12, X5
	VPINSRD $1, R10, X5, X5
	VPMOVZXBW X5, X5
	VMOVDQU 260(DI), X6
	VPHADDW 276(DI), X6, X6
	VPMADDWD X6, X5, X5
	VPSHUFD $0x4e, X5, X6
	VPADDD X6, X5, X5
	VPSHUFD $0xb1, X5, X6
	VPADDD X6, X5, X5
	VMOVD X5, R11
	VCVTSI2SSL R11, X5, X5
	VFNMADD231SS X5, X3, X7

	VMOVQ AX, X0
	VPINSRD $1, R13, X0, X0
	VPMOVZXBW X0, X0
	VINSERTI128 $1, X0, Y0, Y11
	VMOVDQU Y12, Y10
	VPXOR Y9, Y9, Y9
	VMOVDQU 16(SI), Y6
	VPSRLW $4, Y4, Y5

#define q5xChunk(qoff, q8lo, q8hi) \
	VMOVDQU qoff(SI), Y0 \
	VPSRLW $4, Y0, Y1 \
	VPAND Y15, Y0, Y0 \
	VPAND Y15, Y1, Y1 \
	VPAND Y5, Y6, Y2 \
	VPCMPEQB Y5, Y2, Y2 \
	VPAND Y4, Y2, Y2 \
	VPOR Y2, Y0, Y0 \
	VPADDB Y5, Y5, Y5 \
	VPAND Y5, Y6, Y2 \
	VPCMPEQB Y5, Y2, Y2 \
	VPAND Y4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	VPADDB Y5, Y5, Y5 \
	VPMADDUBSW q8lo(DI), Y0, Y0 \
	VPMADDUBSW q8hi(DI), Y1, Y1 \
	VPSHUFB Y10, Y11, Y2 \
	VPADDB Y13, Y10, Y10 \
	VPSHUFB Y10, Y11, Y3 \
	VPADDB Y13, Y10, Y10 \
	VPMADDWD Y2, Y0, Y0 \
	VPMADDWD Y3, Y1, Y1 \
	VPADDD Y1, Y0, Y0 \
	VPADDD Y0, Y9, Y9

	q5xChunk(48, 4, 36)
	q5xChunk(80, 68, 100)
	q5xChunk(112, 132, 164)
	q5xChunk(144, 196, 228)

	VBROADCASTSS X14, Y0
	VCVTDQ2PS Y9, Y9
	VFMADD231PS Y9, Y0, Y8

	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q5xloop

q5xdone:
	hsum8(Y8, X8)
	VADDSS X7, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// q2xStep and q3xStep add one 32-value chunk of a Q2_K/Q3_K half to the int32 lanes
// of Y8 as ggml does: the 2-bit values (Y0 >> shift) & 3, for Q3_K minus 4
// where the hmask bit (Y6 under byte mask Y5) is clear, are multiplied
// pairwise with the Q8_K quants (VPMADDUBSW) and then with the sub-block
// scales picked from the words of sc by the shuffle mask Y10 (VPMADDWD).
#define q2xStep(q8off, shift, sc) \
	VPSRLW $shift, Y0, Y1 \
	VPAND Y15, Y1, Y1 \
	VPMADDUBSW q8off(DI), Y1, Y1 \
	VPSHUFB Y10, sc, Y3 \
	VPADDB Y13, Y10, Y10 \
	VPMADDWD Y3, Y1, Y1 \
	VPADDD Y1, Y8, Y8

#define q3xStep(q8off, shift, sc) \
	VPSRLW $shift, Y0, Y1 \
	VPAND Y15, Y1, Y1 \
	VPANDN Y5, Y6, Y2 \
	VPCMPEQB Y5, Y2, Y2 \
	VPAND Y14, Y2, Y2 \
	VPADDB Y5, Y5, Y5 \
	VPMADDUBSW q8off(DI), Y1, Y1 \
	VPMADDUBSW q8off(DI), Y2, Y2 \
	VPSUBW Y2, Y1, Y1 \
	VPSHUFB Y10, sc, Y3 \
	VPADDB Y13, Y10, Y10 \
	VPMADDWD Y3, Y1, Y1 \
	VPADDD Y1, Y8, Y8

// k23Consts loads the constants shared by the Q2_K and Q3_K kernels:
// Y15 = 0x03 bytes, Y13 = 0x04 bytes (shuffle step), Y12 = the first
// get_scale_shuffle_q3k row (words 0 | 1), Y7 = 0 (float accumulator).
#define k23Consts \
	MOVQ $0x0303030303030303, AX \
	VMOVQ AX, X15 \
	VPBROADCASTQ X15, Y15 \
	MOVQ $0x0404040404040404, AX \
	VMOVQ AX, X13 \
	VPBROADCASTQ X13, Y13 \
	MOVQ $0x0100010001000100, AX \
	VMOVQ AX, X12 \
	VPBROADCASTQ X12, X12 \
	MOVQ $0x0302030203020302, AX \
	VMOVQ AX, X0 \
	VPBROADCASTQ X0, X0 \
	VINSERTI128 $1, X0, Y12, Y12 \
	VXORPS Y7, Y7, Y7

// func q2KDotAVX2(x, y *byte, nb int) float32
//
// ggml_vec_dot_q2_K_q8_K's AVX2 kernel, step for step (bit-identical to
// llama.cpp's haswell build).
TEXT ·q2KDotAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	k23Consts
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X14
	VPBROADCASTQ X14, Y14
	TESTQ CX, CX
	JEQ q2xdone

q2xloop:
	// d = y.d*x.d (X4), dmin = y.d*x.dmin (X5), both broadcast
	VMOVD 80(SI), X0
	VCVTPH2PS X0, X0
	VMOVSS (DI), X1
	VMULSS X1, X0, X4
	VMOVSHDUP X0, X5
	VMULSS X1, X5, X5
	VBROADCASTSS X4, Y4
	VBROADCASTSS X5, Y5

	// acc -= dmin * (mins . bsums), per lane pair
	VMOVDQU (SI), X0
	VPSRLW $4, X0, X2
	VPAND X14, X2, X2
	VPMOVZXBW X2, Y2
	VPMADDWD 260(DI), Y2, Y2
	VCVTDQ2PS Y2, Y2
	VFNMADD231PS Y2, Y5, Y7

	// scales as words: Y11 = groups 0..7 twice, Y9 = groups 8..15 twice
	VPAND X14, X0, X1
	VPMOVZXBW X1, Y1
	VPERM2I128 $0x00, Y1, Y1, Y11
	VPERM2I128 $0x11, Y1, Y1, Y9
	VPXOR Y8, Y8, Y8

	VMOVDQU 16(SI), Y0
	VMOVDQU Y12, Y10
	q2xStep(4, 0, Y11)
	q2xStep(36, 2, Y11)
	q2xStep(68, 4, Y11)
	q2xStep(100, 6, Y11)
	VMOVDQU 48(SI), Y0
	VMOVDQU Y12, Y10
	q2xStep(132, 0, Y9)
	q2xStep(164, 2, Y9)
	q2xStep(196, 4, Y9)
	q2xStep(228, 6, Y9)

	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y4, Y7

	ADDQ $84, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q2xloop

q2xdone:
	hsum8(Y7, X7)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func q3KDotAVX2(x, y *byte, nb int) float32
//
// ggml_vec_dot_q3_K_q8_K's AVX2 kernel, step for step (bit-identical to
// llama.cpp's haswell build).
TEXT ·q3KDotAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	k23Consts
	MOVQ $0x0404040404040404, AX
	VMOVQ AX, X14
	VPBROADCASTQ X14, Y14
	TESTQ CX, CX
	JEQ q3xdone

q3xloop:
	// 16 scales - 32 as words (ggml's aux trick)
	MOVL 96(SI), AX
	MOVL 100(SI), BX
	MOVL 104(SI), DX
	MOVL AX, R10
	ANDL $0x0f0f0f0f, R10
	MOVL DX, R8
	ANDL $0x03030303, R8
	SHLL $4, R8
	ORL R8, R10
	MOVL BX, R11
	ANDL $0x0f0f0f0f, R11
	MOVL DX, R8
	SHRL $2, R8
	ANDL $0x03030303, R8
	SHLL $4, R8
	ORL R8, R11
	MOVL AX, R12
	SHRL $4, R12
	ANDL $0x0f0f0f0f, R12
	MOVL DX, R8
	SHRL $4, R8
	ANDL $0x03030303, R8
	SHLL $4, R8
	ORL R8, R12
	MOVL BX, R13
	SHRL $4, R13
	ANDL $0x0f0f0f0f, R13
	MOVL DX, R8
	SHRL $6, R8
	ANDL $0x03030303, R8
	SHLL $4, R8
	ORL R8, R13
	VMOVD R10, X1
	VPINSRD $1, R11, X1, X1
	VPINSRD $2, R12, X1, X1
	VPINSRD $3, R13, X1, X1
	MOVQ $0x2020202020202020, AX
	VMOVQ AX, X2
	VPBROADCASTQ X2, X2
	VPSUBB X2, X1, X1
	VPMOVSXBW X1, Y1
	VPERM2I128 $0x00, Y1, Y1, Y11
	VPERM2I128 $0x11, Y1, Y1, Y9

	VMOVDQU (SI), Y6
	VPSRLW $2, Y14, Y5
	VPXOR Y8, Y8, Y8

	VMOVDQU 32(SI), Y0
	VMOVDQU Y12, Y10
	q3xStep(4, 0, Y11)
	q3xStep(36, 2, Y11)
	q3xStep(68, 4, Y11)
	q3xStep(100, 6, Y11)
	VMOVDQU 64(SI), Y0
	VMOVDQU Y12, Y10
	q3xStep(132, 0, Y9)
	q3xStep(164, 2, Y9)
	q3xStep(196, 4, Y9)
	q3xStep(228, 6, Y9)

	// acc += d * sumi, d = y.d * x.d
	MOVWLZX 108(SI), AX
	VMOVD AX, X4
	VCVTPH2PS X4, X4
	VMULSS (DI), X4, X4
	VBROADCASTSS X4, Y4
	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y8, Y4, Y7

	ADDQ $110, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q3xloop

q3xdone:
	hsum8(Y7, X7)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
