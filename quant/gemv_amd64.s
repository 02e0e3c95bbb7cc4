//go:build !purego

#include "textflag.h"

// func q4KGemvAVX2(w, a *byte, nb int) float32; nb > 0.
//
// One row of GemvQ4K (ggml_gemv_q4_K_8x8_q8_K's arithmetic): per
// super-block the integer sums isum = Σ_j sc_j·(Σ q_w·q_a) and
// imin = Σ_j m_j·(bsum_2j + bsum_2j+1) are computed exactly in int32
// (|isum| < 2^25), converted to float32 and accumulated with VFMADD231SS by
// d·d_a into X8 and by dmin·d_a into X7; the result is X8 - X7.
TEXT ·q4KGemvAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
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
	VXORPS X8, X8, X8
	VXORPS X7, X7, X7

q4kgloop:
	// The weights stream: fetch the lines of the super-block 2 KiB ahead.
	PREFETCHT0 2048(SI)
	PREFETCHT0 2112(SI)
	PREFETCHT0 2176(SI)

	// X14 = d*d_a, X6 = dmin*d_a (float32, rounded once each)
	VMOVD (SI), X0
	VCVTPH2PS X0, X0
	VMOVSS (DI), X1
	VMULSS X1, X0, X14
	VMOVSHDUP X0, X6
	VMULSS X1, X6, X6

	// scales (AX, R13) and mins (R12, R10) as bytes, ggml's utmp trick
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

	// X5 = 4 int32 partial sums of mins . pairwise bsums
	VMOVQ R12, X5
	VPINSRD $1, R10, X5, X5
	VPMOVZXBW X5, X5
	VMOVDQU 260(DI), X3
	VPHADDW 276(DI), X3, X3
	VPMADDWD X3, X5, X5

	// scales as words in both 128-bit lanes
	VMOVQ AX, X4
	VPINSRD $1, R13, X4, X4
	VPMOVZXBW X4, X4
	VINSERTI128 $1, X4, Y4, Y11
	VMOVDQU Y12, Y10
	VPXOR Y9, Y9, Y9

#define q4kgChunk(qoff, q8lo, q8hi) \
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

	q4kgChunk(16, 4, 36)
	q4kgChunk(48, 68, 100)
	q4kgChunk(80, 132, 164)
	q4kgChunk(112, 196, 228)

	// X9 lanes 0..3 = isum partials, X5 = imin partials; reduce both:
	// after two VPHADDD, lane 0 = isum and lane 1 = imin.
	VEXTRACTI128 $1, Y9, X0
	VPADDD X0, X9, X9
	VPHADDD X5, X9, X9
	VPHADDD X9, X9, X9
	VCVTDQ2PS X9, X9
	VFMADD231SS X14, X9, X8
	VMOVSHDUP X9, X9
	VFMADD231SS X6, X9, X7

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4kgloop

	VSUBSS X7, X8, X8
	VZEROUPPER
	MOVSS X8, ret+24(FP)
	RET


// One Q4_0 row's block sums into dst: the 16 weight bytes at addr (low
// nibbles = elements 0..15, high nibbles = 16..31) times the activations in
// Y11, as eight int32 partial sums of q_w·q_a (q_w unsigned 0..15).
// Uses Y0 and Y8.
#define q40ROW(addr, dst) \
	VMOVDQU addr, X0 \
	VPSRLW $4, X0, X8 \
	VINSERTI128 $1, X8, Y0, Y0 \
	VPAND Y15, Y0, Y0 \
	VPMADDUBSW Y11, Y0, Y0 \
	VPMADDWD Y13, Y0, dst

// func q4_0Q8_0Gemv8AVX2(dst *float32, w *byte, rowBytes int, a *byte, nb int); nb > 0.
//
// Eight consecutive rows of GemvQ4_0 at once, one row per lane like
// ggml_gemv_q4_0_8x8_q8_0: per block the eight exact integer sums
// Σ (q_w-8)·q_a = Σ q_w·q_a - 8·Σ q_a are gathered into one vector,
// converted to float32 and accumulated with VFMADD231PS by d_w·d_a (one
// float32 product per row), so every lane rounds exactly like the one-row
// kernel q4_0Q8_0GemvAVX2.
TEXT ·q4_0Q8_0Gemv8AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DX
	MOVQ w+8(FP), SI
	MOVQ rowBytes+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ nb+32(FP), CX
	LEAQ (R8)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (SI)(R8*4), R11
	LEAQ (R11)(R8*4), R12
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ $0x0808080808080808, AX
	VMOVQ AX, X14
	VPBROADCASTQ X14, Y14
	MOVQ $0x0001000100010001, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, Y13
	VXORPS Y12, Y12, Y12

q40g8loop:
	// The next eight rows are 8·rowBytes contiguous bytes from R12:
	// prefetch 144 of them (8 blocks' worth) per block.
	PREFETCHT0 (R12)
	PREFETCHT0 64(R12)
	PREFETCHT0 128(R12)
	ADDQ $144, R12
	VMOVDQU 2(DI), Y11
	// Y10 = 8·Σ q_a in every lane
	VPMADDUBSW Y11, Y14, Y10
	VPMADDWD Y13, Y10, Y10
	VPHADDD Y10, Y10, Y10
	VPHADDD Y10, Y10, Y10
	VPERM2I128 $0x01, Y10, Y10, Y9
	VPADDD Y9, Y10, Y10

	// rows 0..3 -> Y1 = [r0 r1 r2 r3 | r0 r1 r2 r3] half sums
	q40ROW(2(SI), Y1)
	q40ROW(2(SI)(R8*1), Y2)
	VPHADDD Y2, Y1, Y1
	q40ROW(2(SI)(R9*1), Y2)
	q40ROW(2(SI)(R10*1), Y3)
	VPHADDD Y3, Y2, Y2
	VPHADDD Y2, Y1, Y1
	// rows 4..7 -> Y4
	q40ROW(2(R11), Y4)
	q40ROW(2(R11)(R8*1), Y2)
	VPHADDD Y2, Y4, Y4
	q40ROW(2(R11)(R9*1), Y2)
	q40ROW(2(R11)(R10*1), Y3)
	VPHADDD Y3, Y2, Y2
	VPHADDD Y2, Y4, Y4
	// Y5 = [r0..r7] whole sums minus 8·Σ q_a
	VPERM2I128 $0x20, Y4, Y1, Y5
	VPERM2I128 $0x31, Y4, Y1, Y6
	VPADDD Y6, Y5, Y5
	VPSUBD Y10, Y5, Y5
	VCVTDQ2PS Y5, Y5

	// Y6 = d_w of the eight rows times d_a
	MOVWLZX (SI), AX
	VMOVD AX, X6
	VPINSRW $1, (SI)(R8*1), X6, X6
	VPINSRW $2, (SI)(R9*1), X6, X6
	VPINSRW $3, (SI)(R10*1), X6, X6
	VPINSRW $4, (R11), X6, X6
	VPINSRW $5, (R11)(R8*1), X6, X6
	VPINSRW $6, (R11)(R9*1), X6, X6
	VPINSRW $7, (R11)(R10*1), X6, X6
	VCVTPH2PS X6, Y6
	MOVWLZX (DI), AX
	VMOVD AX, X7
	VCVTPH2PS X7, X7
	VBROADCASTSS X7, Y7
	VMULPS Y7, Y6, Y6
	VFMADD231PS Y6, Y5, Y12

	ADDQ $18, SI
	ADDQ $18, R11
	ADDQ $34, DI
	DECQ CX
	JNZ q40g8loop

	VMOVUPS Y12, (DX)
	VZEROUPPER
	RET

// func prefetchRange(p *byte, n int); n > 0.
//
// Asks for the cache lines of the n bytes from p (PREFETCHT0, no faults).
TEXT ·prefetchRange(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	LEAQ (SI)(CX*1), DX

pfloop:
	PREFETCHT0 (SI)
	ADDQ $64, SI
	CMPQ SI, DX
	JB pfloop
	RET

// GGML_F32x8_REDUCE of Y0..Y3 into X0 (as in dotF32AVX2, avx2gen_amd64.s):
// (Y0+Y2)+(Y1+Y3), then lo+hi lanes, then two horizontal adds.
#define gf32REDUCE \
	VADDPS Y2, Y0, Y0 \
	VADDPS Y3, Y1, Y1 \
	VADDPS Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// gf32REDUCE of Y4..Y7 into X4 (temp X5).
#define gf32REDUCEB \
	VADDPS Y6, Y4, Y4 \
	VADDPS Y7, Y5, Y5 \
	VADDPS Y5, Y4, Y4 \
	VEXTRACTF128 $1, Y4, X5 \
	VADDPS X5, X4, X4 \
	VHADDPS X4, X4, X4 \
	VHADDPS X4, X4, X4

// func gemvF32AVX2(dst *float32, w *byte, rowBytes int, x *byte, n, rows int); rows > 0.
//
// rows consecutive rows of ggml_vec_dot_f32 on the haswell build (the
// arithmetic of vecDotF32At's AVX2 path) without a call per row: the first
// np = n&^31 products in four accumulators of eight lanes reduced by
// gf32REDUCE (all zero when np is 0), then the tail's first (n-np)&^3
// products rounded and added one at a time and its last (n-np)&3 fused.
// Rows go two at a time (A in Y0..Y3, B in Y4..Y7, the activations loaded
// once into Y12..Y15), so the two rows' serial tails overlap; a last odd
// row runs as A and B alike and stores once.
TEXT ·gemvF32AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DX
	MOVQ w+8(FP), R8
	MOVQ rowBytes+16(FP), R9
	MOVQ x+24(FP), R10
	MOVQ n+32(FP), SI
	MOVQ rows+40(FP), R12
	// byte offsets: R13 = 4·np, BX = 4·(np + (n-np)&^3), SI = 4·n
	MOVQ SI, R13
	ANDQ $-32, R13
	MOVQ SI, BX
	ANDQ $-4, BX
	SHLQ $2, R13
	SHLQ $2, BX
	SHLQ $2, SI

gf32pair:
	LEAQ (R8)(R9*1), R11
	CMPQ R12, $1
	JNE gf32two
	MOVQ R8, R11

gf32two:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	CMPQ AX, R13
	JGE gf32reduce

gf32loop:
	VMOVUPS (R10)(AX*1), Y12
	VMOVUPS 32(R10)(AX*1), Y13
	VMOVUPS 64(R10)(AX*1), Y14
	VMOVUPS 96(R10)(AX*1), Y15
	VFMADD231PS (R8)(AX*1), Y12, Y0
	VFMADD231PS 32(R8)(AX*1), Y13, Y1
	VFMADD231PS 64(R8)(AX*1), Y14, Y2
	VFMADD231PS 96(R8)(AX*1), Y15, Y3
	VFMADD231PS (R11)(AX*1), Y12, Y4
	VFMADD231PS 32(R11)(AX*1), Y13, Y5
	VFMADD231PS 64(R11)(AX*1), Y14, Y6
	VFMADD231PS 96(R11)(AX*1), Y15, Y7
	ADDQ $128, AX
	CMPQ AX, R13
	JLT gf32loop

gf32reduce:
	gf32REDUCE
	gf32REDUCEB

gf32mul:
	CMPQ AX, BX
	JGE gf32fma
	VMOVSS (R8)(AX*1), X8
	VMULSS (R10)(AX*1), X8, X8
	VADDSS X8, X0, X0
	VMOVSS (R11)(AX*1), X9
	VMULSS (R10)(AX*1), X9, X9
	VADDSS X9, X4, X4
	ADDQ $4, AX
	JMP gf32mul

gf32fma:
	CMPQ AX, SI
	JGE gf32store
	VMOVSS (R8)(AX*1), X8
	VFMADD231SS (R10)(AX*1), X8, X0
	VMOVSS (R11)(AX*1), X9
	VFMADD231SS (R10)(AX*1), X9, X4
	ADDQ $4, AX
	JMP gf32fma

gf32store:
	VMOVSS X0, (DX)
	CMPQ R12, $1
	JEQ gf32done
	VMOVSS X4, 4(DX)
	ADDQ $8, DX
	LEAQ (R8)(R9*2), R8
	SUBQ $2, R12
	JNZ gf32pair

gf32done:
	VZEROUPPER
	RET

// q4k8Idx: eight VPSHUFB controls; the j-th (32 bytes at 32j) repeats the
// byte pair 2j, 2j+1, broadcasting scale word j to every word.
DATA q4k8Idx<>+0(SB)/8, $0x0100010001000100
DATA q4k8Idx<>+8(SB)/8, $0x0100010001000100
DATA q4k8Idx<>+16(SB)/8, $0x0100010001000100
DATA q4k8Idx<>+24(SB)/8, $0x0100010001000100
DATA q4k8Idx<>+32(SB)/8, $0x0302030203020302
DATA q4k8Idx<>+40(SB)/8, $0x0302030203020302
DATA q4k8Idx<>+48(SB)/8, $0x0302030203020302
DATA q4k8Idx<>+56(SB)/8, $0x0302030203020302
DATA q4k8Idx<>+64(SB)/8, $0x0504050405040504
DATA q4k8Idx<>+72(SB)/8, $0x0504050405040504
DATA q4k8Idx<>+80(SB)/8, $0x0504050405040504
DATA q4k8Idx<>+88(SB)/8, $0x0504050405040504
DATA q4k8Idx<>+96(SB)/8, $0x0706070607060706
DATA q4k8Idx<>+104(SB)/8, $0x0706070607060706
DATA q4k8Idx<>+112(SB)/8, $0x0706070607060706
DATA q4k8Idx<>+120(SB)/8, $0x0706070607060706
DATA q4k8Idx<>+128(SB)/8, $0x0908090809080908
DATA q4k8Idx<>+136(SB)/8, $0x0908090809080908
DATA q4k8Idx<>+144(SB)/8, $0x0908090809080908
DATA q4k8Idx<>+152(SB)/8, $0x0908090809080908
DATA q4k8Idx<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4k8Idx<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4k8Idx<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4k8Idx<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4k8Idx<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4k8Idx<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4k8Idx<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4k8Idx<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4k8Idx<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q4k8Idx<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q4k8Idx<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q4k8Idx<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL q4k8Idx<>(SB), RODATA|NOPTR, $256

// One 64-element chunk of a Q4_K row at R10 (weights at qoff) against the
// Q8_K activations at q8lo/q8hi(DI), scaled per sub-block (scale words in
// Y11, broadcast by the shuffles at ilo/ihi of q4k8Idx) and added to Y9.
// Uses Y0..Y3.
#define q4k8Chunk(qoff, q8lo, q8hi, ilo, ihi) \
	VMOVDQU qoff(R10), Y0 \
	VPSRLW $4, Y0, Y1 \
	VPAND Y15, Y0, Y0 \
	VPAND Y15, Y1, Y1 \
	VPMADDUBSW q8lo(DI), Y0, Y0 \
	VPMADDUBSW q8hi(DI), Y1, Y1 \
	VPSHUFB q4k8Idx<>+ilo(SB), Y11, Y2 \
	VPSHUFB q4k8Idx<>+ihi(SB), Y11, Y3 \
	VPMADDWD Y2, Y0, Y0 \
	VPMADDWD Y3, Y1, Y1 \
	VPADDD Y1, Y0, Y0 \
	VPADDD Y0, Y9, Y9

// The super-block of the row at R10 (then R10 += rowBytes): its d|dmin
// word to dslot(SP), and [isum partials (2), imin partials (2)] as four
// int32 to slot(SP), exactly q4KGemvAVX2's integer work. X6 holds the
// pairwise bsums of the activation block.
#define q4k8Row(slot, dslot) \
	MOVL (R10), AX \
	MOVL AX, dslot(SP) \
	MOVL 12(R10), DX \
	MOVL 8(R10), BX \
	MOVL DX, R12 \
	SHRL $4, R12 \
	ANDL $0x0f0f0f0f, R12 \
	MOVL BX, R13 \
	SHRL $6, R13 \
	ANDL $0x03030303, R13 \
	SHLL $4, R13 \
	ORL R13, R12 \
	ANDL $0x3f3f3f3f, BX \
	ANDL $0x0f0f0f0f, DX \
	MOVL 4(R10), AX \
	MOVL AX, R13 \
	SHRL $6, R13 \
	ANDL $0x03030303, R13 \
	SHLL $4, R13 \
	ORL R13, DX \
	ANDL $0x3f3f3f3f, AX \
	VMOVQ BX, X5 \
	VPINSRD $1, R12, X5, X5 \
	VPMOVZXBW X5, X5 \
	VPMADDWD X6, X5, X5 \
	VMOVQ AX, X4 \
	VPINSRD $1, DX, X4, X4 \
	VPMOVZXBW X4, X4 \
	VINSERTI128 $1, X4, Y4, Y11 \
	VPXOR Y9, Y9, Y9 \
	q4k8Chunk(16, 4, 36, 0, 32) \
	q4k8Chunk(48, 68, 100, 64, 96) \
	q4k8Chunk(80, 132, 164, 128, 160) \
	q4k8Chunk(112, 196, 228, 192, 224) \
	VEXTRACTI128 $1, Y9, X0 \
	VPADDD X0, X9, X9 \
	VPHADDD X5, X9, X9 \
	VMOVDQU X9, slot(SP) \
	ADDQ R8, R10

// func q4KGemv8AVX2(dst *float32, w *byte, rowBytes int, a *byte, nb int); nb > 0.
//
// Eight consecutive rows of GemvQ4K, one row per lane like
// ggml_gemv_q4_K_8x8_q8_K: each row's integer sums are q4KGemvAVX2's, and
// per super-block the eight isum (imin) are converted to float32 together
// and accumulated with VFMADD231PS by d·d_a (dmin·d_a), so every lane
// rounds exactly like the one-row kernel. The next eight rows (8·rowBytes
// contiguous bytes) are prefetched as these are read.
TEXT ·q4KGemv8AVX2(SB), NOSPLIT, $160-40
	MOVQ w+8(FP), SI
	MOVQ rowBytes+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ nb+32(FP), CX
	LEAQ (SI)(R8*8), R9
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15
	VXORPS Y8, Y8, Y8
	VXORPS Y14, Y14, Y14

q4kg8loop:
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	PREFETCHT0 192(R9)
	PREFETCHT0 256(R9)
	PREFETCHT0 320(R9)
	PREFETCHT0 384(R9)
	PREFETCHT0 448(R9)
	PREFETCHT0 512(R9)
	PREFETCHT0 576(R9)
	PREFETCHT0 640(R9)
	PREFETCHT0 704(R9)
	PREFETCHT0 768(R9)
	PREFETCHT0 832(R9)
	PREFETCHT0 896(R9)
	PREFETCHT0 960(R9)
	PREFETCHT0 1024(R9)
	PREFETCHT0 1088(R9)
	ADDQ $1152, R9

	VMOVDQU 260(DI), X6
	VPHADDW 276(DI), X6, X6
	MOVQ SI, R10
	// d|dmin words go to 128(SP) as rows 0 1 4 5 2 3 6 7
	q4k8Row(0, 128)
	q4k8Row(16, 132)
	q4k8Row(32, 144)
	q4k8Row(48, 148)
	q4k8Row(64, 136)
	q4k8Row(80, 140)
	q4k8Row(96, 152)
	q4k8Row(112, 156)

	// Y2 = isum of rows 0..7, Y4 = imin, as float32
	VMOVDQU 0(SP), X0
	VPHADDD 16(SP), X0, X0
	VMOVDQU 32(SP), X1
	VPHADDD 48(SP), X1, X1
	VMOVDQU 64(SP), X2
	VPHADDD 80(SP), X2, X2
	VMOVDQU 96(SP), X4
	VPHADDD 112(SP), X4, X4
	VINSERTI128 $1, X2, Y0, Y0
	VINSERTI128 $1, X4, Y1, Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xdd, Y1, Y0, Y4
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y4, Y4

	// Y3 = d·d_a, Y7 = dmin·d_a of rows 0..7
	VCVTPH2PS 128(SP), Y5
	VCVTPH2PS 144(SP), Y6
	VSHUFPS $0x88, Y6, Y5, Y3
	VSHUFPS $0xdd, Y6, Y5, Y7
	VBROADCASTSS (DI), Y1
	VMULPS Y1, Y3, Y3
	VMULPS Y1, Y7, Y7
	VFMADD231PS Y3, Y2, Y8
	VFMADD231PS Y7, Y4, Y14

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4kg8loop

	VSUBPS Y14, Y8, Y8
	MOVQ dst+0(FP), DX
	VMOVUPS Y8, (DX)
	VZEROUPPER
	RET

// gf32x8Perm: VPERMPS indices that put rows [0 2 4 6 | 1 3 5 7] back in
// order.
DATA gf32x8Perm<>+0(SB)/4, $0
DATA gf32x8Perm<>+4(SB)/4, $4
DATA gf32x8Perm<>+8(SB)/4, $1
DATA gf32x8Perm<>+12(SB)/4, $5
DATA gf32x8Perm<>+16(SB)/4, $2
DATA gf32x8Perm<>+20(SB)/4, $6
DATA gf32x8Perm<>+24(SB)/4, $3
DATA gf32x8Perm<>+28(SB)/4, $7
GLOBL gf32x8Perm<>(SB), RODATA|NOPTR, $32

// func gemvF32x8AVX2(dst *float32, w *byte, rowBytes int, x *byte, n, rows int)
//
// gemvF32AVX2 for rows a positive multiple of 8, eight rows at a time:
// each row's four accumulators are summed lane-wise as GGML_F32x8_REDUCE
// does ((a0+a2)+(a1+a3)) and kept on the stack; then the horizontal steps
// of the eight rows (hi+lo, then the two VHADDPS) run together, two rows a
// vector, which adds the same pairs in the same order as the one-row
// reduction. The tail (n%32 elements) follows per row as in gemvF32AVX2.
TEXT ·gemvF32x8AVX2(SB), NOSPLIT, $256-48
	MOVQ dst+0(FP), DX
	MOVQ w+8(FP), R8
	MOVQ rowBytes+16(FP), R9
	MOVQ x+24(FP), R10
	MOVQ n+32(FP), SI
	MOVQ rows+40(FP), R12
	SHRQ $3, R12
	// byte offsets: R13 = 4·np, BX = 4·(np + (n-np)&^3), SI = 4·n
	MOVQ SI, R13
	ANDQ $-32, R13
	MOVQ SI, BX
	ANDQ $-4, BX
	SHLQ $2, R13
	SHLQ $2, BX
	SHLQ $2, SI

g8group:
	MOVQ R8, CX                 // row A of the pair
	XORQ DI, DI                 // stack offset of the pair

g8pair:
	LEAQ (CX)(R9*1), R11        // row B
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	CMPQ AX, R13
	JGE g8vsum

g8loop:
	VMOVUPS (R10)(AX*1), Y12
	VMOVUPS 32(R10)(AX*1), Y13
	VMOVUPS 64(R10)(AX*1), Y14
	VMOVUPS 96(R10)(AX*1), Y15
	VFMADD231PS (CX)(AX*1), Y12, Y0
	VFMADD231PS 32(CX)(AX*1), Y13, Y1
	VFMADD231PS 64(CX)(AX*1), Y14, Y2
	VFMADD231PS 96(CX)(AX*1), Y15, Y3
	VFMADD231PS (R11)(AX*1), Y12, Y4
	VFMADD231PS 32(R11)(AX*1), Y13, Y5
	VFMADD231PS 64(R11)(AX*1), Y14, Y6
	VFMADD231PS 96(R11)(AX*1), Y15, Y7
	ADDQ $128, AX
	CMPQ AX, R13
	JLT g8loop

g8vsum:
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VADDPS Y6, Y4, Y4
	VADDPS Y7, Y5, Y5
	VADDPS Y5, Y4, Y4
	VMOVUPS Y0, (SP)(DI*1)
	VMOVUPS Y4, 32(SP)(DI*1)
	LEAQ (CX)(R9*2), CX
	ADDQ $64, DI
	CMPQ DI, $256
	JLT g8pair

	// t_r = lo(v_r)+hi(v_r), two rows a vector: T01, T23, T45, T67
	VMOVUPS (SP), Y0
	VMOVUPS 32(SP), Y1
	VPERM2F128 $0x20, Y1, Y0, Y8
	VPERM2F128 $0x31, Y1, Y0, Y9
	VADDPS Y9, Y8, Y8
	VMOVUPS 64(SP), Y0
	VMOVUPS 96(SP), Y1
	VPERM2F128 $0x20, Y1, Y0, Y10
	VPERM2F128 $0x31, Y1, Y0, Y9
	VADDPS Y9, Y10, Y10
	VMOVUPS 128(SP), Y0
	VMOVUPS 160(SP), Y1
	VPERM2F128 $0x20, Y1, Y0, Y11
	VPERM2F128 $0x31, Y1, Y0, Y9
	VADDPS Y9, Y11, Y11
	VMOVUPS 192(SP), Y0
	VMOVUPS 224(SP), Y1
	VPERM2F128 $0x20, Y1, Y0, Y12
	VPERM2F128 $0x31, Y1, Y0, Y9
	VADDPS Y9, Y12, Y12
	// (t[0]+t[1]), (t[2]+t[3]), then their sum, for all eight rows
	VHADDPS Y10, Y8, Y8
	VHADDPS Y12, Y11, Y11
	VHADDPS Y11, Y8, Y8
	VMOVUPS gf32x8Perm<>(SB), Y13
	VPERMPS Y8, Y13, Y8
	VMOVUPS Y8, (DX)

	// the tail, row by row
	CMPQ R13, SI
	JGE g8next
	MOVQ R8, CX
	XORQ DI, DI

g8trow:
	VMOVSS (DX)(DI*4), X0
	MOVQ R13, AX

g8tmul:
	CMPQ AX, BX
	JGE g8tfma
	VMOVSS (CX)(AX*1), X8
	VMULSS (R10)(AX*1), X8, X8
	VADDSS X8, X0, X0
	ADDQ $4, AX
	JMP g8tmul

g8tfma:
	CMPQ AX, SI
	JGE g8tstore
	VMOVSS (CX)(AX*1), X8
	VFMADD231SS (R10)(AX*1), X8, X0
	ADDQ $4, AX
	JMP g8tfma

g8tstore:
	VMOVSS X0, (DX)(DI*4)
	ADDQ R9, CX
	INCQ DI
	CMPQ DI, $8
	JLT g8trow

g8next:
	ADDQ $32, DX
	LEAQ (R8)(R9*8), R8
	DECQ R12
	JNZ g8group

	VZEROUPPER
	RET
