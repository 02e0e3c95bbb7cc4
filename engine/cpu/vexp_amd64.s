//go:build !purego

#include "textflag.h"

// vexpC: ggml_v_expf's constants, each repeated in eight lanes.
DATA vexpC<>+0(SB)/8, $0x4b4000004b400000 // r
DATA vexpC<>+8(SB)/8, $0x4b4000004b400000 // r
DATA vexpC<>+16(SB)/8, $0x4b4000004b400000 // r
DATA vexpC<>+24(SB)/8, $0x4b4000004b400000 // r
DATA vexpC<>+32(SB)/8, $0x3fb8aa3b3fb8aa3b // log2e
DATA vexpC<>+40(SB)/8, $0x3fb8aa3b3fb8aa3b // log2e
DATA vexpC<>+48(SB)/8, $0x3fb8aa3b3fb8aa3b // log2e
DATA vexpC<>+56(SB)/8, $0x3fb8aa3b3fb8aa3b // log2e
DATA vexpC<>+64(SB)/8, $0x3f3172003f317200 // ln2hi
DATA vexpC<>+72(SB)/8, $0x3f3172003f317200 // ln2hi
DATA vexpC<>+80(SB)/8, $0x3f3172003f317200 // ln2hi
DATA vexpC<>+88(SB)/8, $0x3f3172003f317200 // ln2hi
DATA vexpC<>+96(SB)/8, $0x35bfbe8e35bfbe8e // ln2lo
DATA vexpC<>+104(SB)/8, $0x35bfbe8e35bfbe8e // ln2lo
DATA vexpC<>+112(SB)/8, $0x35bfbe8e35bfbe8e // ln2lo
DATA vexpC<>+120(SB)/8, $0x35bfbe8e35bfbe8e // ln2lo
DATA vexpC<>+128(SB)/8, $0x3c0720103c072010 // c5
DATA vexpC<>+136(SB)/8, $0x3c0720103c072010 // c5
DATA vexpC<>+144(SB)/8, $0x3c0720103c072010 // c5
DATA vexpC<>+152(SB)/8, $0x3c0720103c072010 // c5
DATA vexpC<>+160(SB)/8, $0x3d2b9f173d2b9f17 // c4
DATA vexpC<>+168(SB)/8, $0x3d2b9f173d2b9f17 // c4
DATA vexpC<>+176(SB)/8, $0x3d2b9f173d2b9f17 // c4
DATA vexpC<>+184(SB)/8, $0x3d2b9f173d2b9f17 // c4
DATA vexpC<>+192(SB)/8, $0x3e2aaf333e2aaf33 // c3
DATA vexpC<>+200(SB)/8, $0x3e2aaf333e2aaf33 // c3
DATA vexpC<>+208(SB)/8, $0x3e2aaf333e2aaf33 // c3
DATA vexpC<>+216(SB)/8, $0x3e2aaf333e2aaf33 // c3
DATA vexpC<>+224(SB)/8, $0x3efffedb3efffedb // c2
DATA vexpC<>+232(SB)/8, $0x3efffedb3efffedb // c2
DATA vexpC<>+240(SB)/8, $0x3efffedb3efffedb // c2
DATA vexpC<>+248(SB)/8, $0x3efffedb3efffedb // c2
DATA vexpC<>+256(SB)/8, $0x3f7ffff63f7ffff6 // c1
DATA vexpC<>+264(SB)/8, $0x3f7ffff63f7ffff6 // c1
DATA vexpC<>+272(SB)/8, $0x3f7ffff63f7ffff6 // c1
DATA vexpC<>+280(SB)/8, $0x3f7ffff63f7ffff6 // c1
DATA vexpC<>+288(SB)/8, $0x3f8000003f800000 // one
DATA vexpC<>+296(SB)/8, $0x3f8000003f800000 // one
DATA vexpC<>+304(SB)/8, $0x3f8000003f800000 // one
DATA vexpC<>+312(SB)/8, $0x3f8000003f800000 // one
DATA vexpC<>+320(SB)/8, $0x42fc000042fc0000 // c126
DATA vexpC<>+328(SB)/8, $0x42fc000042fc0000 // c126
DATA vexpC<>+336(SB)/8, $0x42fc000042fc0000 // c126
DATA vexpC<>+344(SB)/8, $0x42fc000042fc0000 // c126
DATA vexpC<>+352(SB)/8, $0x7fffffff7fffffff // abs
DATA vexpC<>+360(SB)/8, $0x7fffffff7fffffff // abs
DATA vexpC<>+368(SB)/8, $0x7fffffff7fffffff // abs
DATA vexpC<>+376(SB)/8, $0x7fffffff7fffffff // abs
GLOBL vexpC<>(SB), RODATA|NOPTR, $384

// Y1 = ggml_v_expf(Y0) for lanes whose |n| <= 126 (the fast path); sets
// Y11 to the lanes that need the slow path. Uses Y1..Y11.
#define VEXPF8 \
	VMOVUPS vexpC<>+0(SB), Y2 \
	VFMADD231PS vexpC<>+32(SB), Y0, Y2 \
	VSUBPS vexpC<>+0(SB), Y2, Y3 \
	VMOVAPS Y0, Y4 \
	VFNMADD231PS vexpC<>+64(SB), Y3, Y4 \
	VFNMADD231PS vexpC<>+96(SB), Y3, Y4 \
	VPSLLD $23, Y2, Y5 \
	VPADDD vexpC<>+288(SB), Y5, Y6 \
	VMULPS Y4, Y4, Y7 \
	VMOVUPS vexpC<>+128(SB), Y1 \
	VFMADD213PS vexpC<>+160(SB), Y4, Y1 \
	VMOVUPS vexpC<>+192(SB), Y8 \
	VFMADD213PS vexpC<>+224(SB), Y4, Y8 \
	VFMADD213PS Y8, Y7, Y1 \
	VMULPS vexpC<>+256(SB), Y4, Y9 \
	VFMADD213PS Y9, Y7, Y1 \
	VANDPS vexpC<>+352(SB), Y3, Y10 \
	VCMPPS $0x1e, vexpC<>+320(SB), Y10, Y11 \
	VFMADD213PS Y6, Y6, Y1

// func expSumBlocksAVX2(x *float32, n8 int, mx float32, sum *float64) int
//
// For whole blocks of 8 from x (n8 elements, a multiple of 8): x[i] =
// ggml_v_expf(x[i] - mx), and *sum += the block's float32 sum
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) in float64, block after block, like
// ggml_vec_soft_max_f32 on AVX2. Stops before the first block that needs
// ggml_v_expf's slow path (|n| > 126), leaving it untouched, and returns
// the number of elements done.
TEXT ·expSumBlocksAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	VBROADCASTSS mx+16(FP), Y12
	MOVQ sum+24(FP), DX
	VMOVSD (DX), X13
	XORQ AX, AX

esbloop:
	CMPQ AX, CX
	JGE esbdone
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS Y12, Y0, Y0
	VEXPF8
	VMOVMSKPS Y11, BX
	TESTL BX, BX
	JNZ esbdone
	VMOVUPS Y1, (SI)(AX*4)
	VEXTRACTF128 $1, Y1, X2
	VADDPS X2, X1, X1
	VMOVHLPS X1, X1, X2
	VADDPS X2, X1, X1
	VMOVSHDUP X1, X2
	VADDSS X2, X1, X1
	VCVTSS2SD X1, X1, X1
	VADDSD X1, X13, X13
	ADDQ $8, AX
	JMP esbloop

esbdone:
	VMOVSD X13, (DX)
	VZEROUPPER
	MOVQ AX, ret+32(FP)
	RET

// func swiGLUBlocksAVX2(gate, up *float32, n8 int) int
//
// gate[i] = gate[i] / (1 + ggml_v_expf(0 - gate[i])) * up[i] for whole
// blocks of 8 (n8 elements), like ggml_vec_swiglu_f32 on AVX2. Stops before
// the first block that needs ggml_v_expf's slow path and returns the
// number of elements done.
TEXT ·swiGLUBlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ gate+0(FP), SI
	MOVQ up+8(FP), DI
	MOVQ n8+16(FP), CX
	VXORPS Y12, Y12, Y12
	XORQ AX, AX

sgbloop:
	CMPQ AX, CX
	JGE sgbdone
	VMOVUPS (SI)(AX*4), Y13
	VSUBPS Y13, Y12, Y0
	VEXPF8
	VMOVMSKPS Y11, BX
	TESTL BX, BX
	JNZ sgbdone
	VADDPS vexpC<>+288(SB), Y1, Y1
	VDIVPS Y1, Y13, Y1
	VMULPS (DI)(AX*4), Y1, Y1
	VMOVUPS Y1, (SI)(AX*4)
	ADDQ $8, AX
	JMP sgbloop

sgbdone:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
