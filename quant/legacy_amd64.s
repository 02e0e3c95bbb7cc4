//go:build !purego

#include "textflag.h"

// Byte j of each 32-byte row picks byte j/8 of a broadcast 32-bit word.
DATA legacyBitShuf<>+0(SB)/8, $0x0000000000000000
DATA legacyBitShuf<>+8(SB)/8, $0x0101010101010101
DATA legacyBitShuf<>+16(SB)/8, $0x0202020202020202
DATA legacyBitShuf<>+24(SB)/8, $0x0303030303030303
GLOBL legacyBitShuf<>(SB), RODATA|NOPTR, $32

// Constants: Y15 = 0x0f bytes, Y14 = 0x01 bytes, Y13 = 0x0001 words.
#define LEGACY_CONSTS \
	MOVQ $0x0f0f0f0f0f0f0f0f, AX \
	VMOVQ AX, X15 \
	VPBROADCASTQ X15, Y15 \
	MOVQ $0x0101010101010101, AX \
	VMOVQ AX, X14 \
	VPBROADCASTQ X14, Y14 \
	MOVQ $0x0001000100010001, AX \
	VMOVQ AX, X13 \
	VPBROADCASTQ X13, Y13

// Y0 = the 32 nibbles of the 16 bytes at off(SI): low nibbles (elements
// 0..15) in the low lane, high nibbles (elements 16..31) in the high lane.
#define NIBBLES(off) \
	VMOVDQU off(SI), X0 \
	VPSRLW $4, X0, X1 \
	VINSERTI128 $1, X1, Y0, Y0 \
	VPAND Y15, Y0, Y0

// Y0 |= 0x10 in byte j where bit j of the 32-bit word at off(SI) is set.
// Uses Y1, Y12 (bit mask), Y11 (all ones), Y10 (shuffle), Y9 (0x10 bytes).
#define HIGHBITS(off) \
	VPBROADCASTD off(SI), Y1 \
	VPSHUFB Y10, Y1, Y1 \
	VPOR Y12, Y1, Y1 \
	VPCMPEQB Y11, Y1, Y1 \
	VPAND Y9, Y1, Y1 \
	VPOR Y1, Y0, Y0

// Y2 (eight int32) -> 32-bit sum stored at (R9).
#define HSUM_STORE \
	VEXTRACTI128 $1, Y2, X3 \
	VPADDD X3, X2, X2 \
	VPSHUFD $0x4e, X2, X3 \
	VPADDD X3, X2, X2 \
	VPSHUFD $0xb1, X2, X3 \
	VPADDD X3, X2, X2 \
	VMOVD X2, AX \
	MOVL AX, (R9)

#define HIGHBIT_CONSTS \
	MOVQ $0x7fbfdfeff7fbfdfe, AX \
	VMOVQ AX, X12 \
	VPBROADCASTQ X12, Y12 \
	VPCMPEQB Y11, Y11, Y11 \
	VMOVDQU legacyBitShuf<>(SB), Y10 \
	VPSLLW $4, Y14, Y9

// func q4_0Q8_0SumsAVX2(w, a *byte, nb int, out *int32)
// Q4_0 blocks: stride 18, quants at +2; Q8_0 blocks: stride 34, quants at +2.
// sum (q-8)*a = sum q*a - 8*sum a, all in exact int16 pairs.
TEXT ·q4_0Q8_0SumsAVX2(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVQ out+24(FP), R9
	LEGACY_CONSTS
	TESTQ CX, CX
	JEQ q40done

q40loop:
	NIBBLES(2)
	VMOVDQU 2(DI), Y1
	VPMADDUBSW Y1, Y0, Y2
	VPMADDUBSW Y1, Y14, Y3
	VPSLLW $3, Y3, Y3
	VPSUBW Y3, Y2, Y2
	VPMADDWD Y13, Y2, Y2
	HSUM_STORE
	ADDQ $18, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ q40loop

q40done:
	VZEROUPPER
	RET

// func q4_1Q8_1SumsAVX2(w, a *byte, nb int, out *int32)
// Q4_1 blocks: stride 20, quants at +4; Q8_1 blocks: stride 36, quants at +4.
TEXT ·q4_1Q8_1SumsAVX2(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVQ out+24(FP), R9
	LEGACY_CONSTS
	TESTQ CX, CX
	JEQ q41done

q41loop:
	NIBBLES(4)
	VMOVDQU 4(DI), Y1
	VPMADDUBSW Y1, Y0, Y2
	VPMADDWD Y13, Y2, Y2
	HSUM_STORE
	ADDQ $20, SI
	ADDQ $36, DI
	ADDQ $4, R9
	DECQ CX
	JNZ q41loop

q41done:
	VZEROUPPER
	RET

// func q5_0Q8_0SumsAVX2(w, a *byte, nb int, out *int32)
// Q5_0 blocks: stride 22, high bits at +2, quants at +6; Q8_0 as above.
// sum (q-16)*a = sum q*a - 16*sum a.
TEXT ·q5_0Q8_0SumsAVX2(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVQ out+24(FP), R9
	LEGACY_CONSTS
	HIGHBIT_CONSTS
	TESTQ CX, CX
	JEQ q50done

q50loop:
	NIBBLES(6)
	HIGHBITS(2)
	VMOVDQU 2(DI), Y1
	VPMADDUBSW Y1, Y0, Y2
	VPMADDUBSW Y1, Y14, Y3
	VPSLLW $4, Y3, Y3
	VPSUBW Y3, Y2, Y2
	VPMADDWD Y13, Y2, Y2
	HSUM_STORE
	ADDQ $22, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ q50loop

q50done:
	VZEROUPPER
	RET

// func q5_1Q8_1SumsAVX2(w, a *byte, nb int, out *int32)
// Q5_1 blocks: stride 24, high bits at +4, quants at +8; Q8_1 as above.
TEXT ·q5_1Q8_1SumsAVX2(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVQ out+24(FP), R9
	LEGACY_CONSTS
	HIGHBIT_CONSTS
	TESTQ CX, CX
	JEQ q51done

q51loop:
	NIBBLES(8)
	HIGHBITS(4)
	VMOVDQU 4(DI), Y1
	VPMADDUBSW Y1, Y0, Y2
	VPMADDWD Y13, Y2, Y2
	HSUM_STORE
	ADDQ $24, SI
	ADDQ $36, DI
	ADDQ $4, R9
	DECQ CX
	JNZ q51loop

q51done:
	VZEROUPPER
	RET

// func q8_0Q8_0SumsAVX2(w, a *byte, nb int, out *int32)
// Both Q8_0: stride 34, quants at +2; int8 widened to int16, exact for -128.
TEXT ·q8_0Q8_0SumsAVX2(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVQ out+24(FP), R9
	TESTQ CX, CX
	JEQ q80done

q80loop:
	VPMOVSXBW 2(SI), Y0
	VPMOVSXBW 2(DI), Y1
	VPMADDWD Y1, Y0, Y2
	VPMOVSXBW 18(SI), Y0
	VPMOVSXBW 18(DI), Y1
	VPMADDWD Y1, Y0, Y3
	VPADDD Y3, Y2, Y2
	HSUM_STORE
	ADDQ $34, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ q80loop

q80done:
	VZEROUPPER
	RET

// The *DotAVX2 kernels below compute a whole row dot product the way
// ggml-cpu's AVX2 ggml_vec_dot_*_q8_* do (checked against the haswell build):
// per block, d = fp32(d_w)*fp32(d_a) (one rounding), the 32 products summed
// exactly into eight int32 lanes of four consecutive elements each, the
// lanes converted to float32 and fused-multiply-added with d into an
// eight-lane accumulator; at the end hi+lo lanes, + movehl, + movehdup.
// Q4_1/Q5_1 also keep summs = fma(m_w, s_a, summs) and add it last.
// Each block prefetches the weights 2 KiB ahead (into the next rows, which
// the callers walk in order): decode streams the weights from DRAM and the
// hardware prefetcher alone left one core ~20 % short (Q8_0 TinyLlama).
// func xxxDotAVX2(w, a *byte, nb int) float32; nb > 0.

// X5 = fp32 of the half at off(reg). Clobbers AX.
#define LOAD_HALF(off, reg, x) \
	MOVWLZX off(reg), AX \
	VMOVD AX, x \
	VCVTPH2PS x, x

// Y3 += float(Y2 int32 lanes) * (half at 0(SI) * half at 0(DI)).
#define ACC_BLOCK \
	VCVTDQ2PS Y2, Y2 \
	LOAD_HALF(0, SI, X5) \
	LOAD_HALF(0, DI, X6) \
	VMULSS X6, X5, X5 \
	VBROADCASTSS X5, Y5 \
	VFMADD231PS Y5, Y2, Y3

// X4 += half at 2(SI) * half at 2(DI), fused.
#define ACC_MIN \
	LOAD_HALF(2, SI, X7) \
	LOAD_HALF(2, DI, X8) \
	VFMADD231SS X8, X7, X4

// X0 = hsum_float_8(Y3).
#define HSUM_FLOAT8 \
	VEXTRACTF128 $1, Y3, X0 \
	VADDPS X3, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

TEXT ·q4_0Q8_0DotAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	LEGACY_CONSTS
	VXORPS Y3, Y3, Y3

q40dloop:
	PREFETCHT0 2048(SI)
	NIBBLES(2)
	VMOVDQU 2(DI), Y1
	VPMADDUBSW Y1, Y0, Y2
	VPMADDUBSW Y1, Y14, Y4
	VPSLLW $3, Y4, Y4
	VPSUBW Y4, Y2, Y2
	VPMADDWD Y13, Y2, Y2
	ACC_BLOCK
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q40dloop

	HSUM_FLOAT8
	VZEROUPPER
	VMOVSS X0, ret+24(FP)
	RET

TEXT ·q4_1Q8_1DotAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	LEGACY_CONSTS
	VXORPS Y3, Y3, Y3
	VXORPS X4, X4, X4

q41dloop:
	PREFETCHT0 2048(SI)
	NIBBLES(4)
	VMOVDQU 4(DI), Y1
	VPMADDUBSW Y1, Y0, Y2
	VPMADDWD Y13, Y2, Y2
	ACC_MIN
	ACC_BLOCK
	ADDQ $20, SI
	ADDQ $36, DI
	DECQ CX
	JNZ q41dloop

	HSUM_FLOAT8
	VADDSS X4, X0, X0
	VZEROUPPER
	VMOVSS X0, ret+24(FP)
	RET

TEXT ·q5_0Q8_0DotAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	LEGACY_CONSTS
	HIGHBIT_CONSTS
	VXORPS Y3, Y3, Y3

q50dloop:
	PREFETCHT0 2048(SI)
	NIBBLES(6)
	HIGHBITS(2)
	VMOVDQU 2(DI), Y1
	VPMADDUBSW Y1, Y0, Y2
	VPMADDUBSW Y1, Y14, Y4
	VPSLLW $4, Y4, Y4
	VPSUBW Y4, Y2, Y2
	VPMADDWD Y13, Y2, Y2
	ACC_BLOCK
	ADDQ $22, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q50dloop

	HSUM_FLOAT8
	VZEROUPPER
	VMOVSS X0, ret+24(FP)
	RET

TEXT ·q5_1Q8_1DotAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	LEGACY_CONSTS
	HIGHBIT_CONSTS
	VXORPS Y3, Y3, Y3
	VXORPS X4, X4, X4

q51dloop:
	PREFETCHT0 2048(SI)
	NIBBLES(8)
	HIGHBITS(4)
	VMOVDQU 4(DI), Y1
	VPMADDUBSW Y1, Y0, Y2
	VPMADDWD Y13, Y2, Y2
	ACC_MIN
	ACC_BLOCK
	ADDQ $24, SI
	ADDQ $36, DI
	DECQ CX
	JNZ q51dloop

	HSUM_FLOAT8
	VADDSS X4, X0, X0
	VZEROUPPER
	VMOVSS X0, ret+24(FP)
	RET

// Q8_0 x Q8_0 uses ggml's sign trick (|x| times y with x's sign) so that
// even the saturating -128*-128 pairs match.
TEXT ·q8_0Q8_0DotAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	LEGACY_CONSTS
	VXORPS Y3, Y3, Y3

q80dloop:
	PREFETCHT0 2048(SI)
	VMOVDQU 2(SI), Y0
	VMOVDQU 2(DI), Y1
	VPSIGNB Y0, Y0, Y4
	VPSIGNB Y0, Y1, Y1
	VPMADDUBSW Y1, Y4, Y2
	VPMADDWD Y13, Y2, Y2
	ACC_BLOCK
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q80dloop

	HSUM_FLOAT8
	VZEROUPPER
	VMOVSS X0, ret+24(FP)
	RET

// func q4_0Q8_0GemvAVX2(w, a *byte, nb int) float32; nb > 0.
// One row in the order of ggml_gemv_q4_0_8x8_q8_0 (llama.cpp's repacked
// one-token Q4_0 kernel on AVX2), where each lane of the accumulator is one
// row: per block acc = fma(float(Σ (q_w-8)·q_a), fp32(d_w)·fp32(d_a), acc),
// with the block's integer sum exact and the accumulator a single float32.
TEXT ·q4_0Q8_0GemvAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	LEGACY_CONSTS
	VXORPS X3, X3, X3

q40gloop:
	PREFETCHT0 2048(SI)
	NIBBLES(2)
	VMOVDQU 2(DI), Y1
	VPMADDUBSW Y1, Y0, Y2
	VPMADDUBSW Y1, Y14, Y4
	VPSLLW $3, Y4, Y4
	VPSUBW Y4, Y2, Y2
	VPMADDWD Y13, Y2, Y2
	VEXTRACTI128 $1, Y2, X4
	VPADDD X4, X2, X2
	VPSHUFD $0x4e, X2, X4
	VPADDD X4, X2, X2
	VPSHUFD $0xb1, X2, X4
	VPADDD X4, X2, X2
	VCVTDQ2PS X2, X2
	LOAD_HALF(0, SI, X5)
	LOAD_HALF(0, DI, X6)
	VMULSS X6, X5, X5
	VFMADD231SS X5, X2, X3
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q40gloop

	VZEROUPPER
	VMOVSS X3, ret+24(FP)
	RET
