//go:build !purego

#include "textflag.h"

// GGML_F32x8_REDUCE of the accumulators Y0..Y3 into X0:
// (Y0+Y2)+(Y1+Y3), then lo+hi lanes, then two horizontal adds.
#define REDUCE_F32X8 \
	VADDPS Y2, Y0, Y0 \
	VADDPS Y3, Y1, Y1 \
	VADDPS Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

#define ZERO_ACC \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3

// func dotF32AVX2(x, y *float32, n int) float32
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	ZERO_ACC

f32loop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JNZ f32loop

	REDUCE_F32X8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotF16AVX2(x, y *uint16, n int) float32
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	ZERO_ACC

f16loop:
	VCVTPH2PS (SI), Y4
	VCVTPH2PS (DI), Y5
	VFMADD231PS Y5, Y4, Y0
	VCVTPH2PS 16(SI), Y6
	VCVTPH2PS 16(DI), Y7
	VFMADD231PS Y7, Y6, Y1
	VCVTPH2PS 32(SI), Y4
	VCVTPH2PS 32(DI), Y5
	VFMADD231PS Y5, Y4, Y2
	VCVTPH2PS 48(SI), Y6
	VCVTPH2PS 48(DI), Y7
	VFMADD231PS Y7, Y6, Y3
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JNZ f16loop

	REDUCE_F32X8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// BF16 widening load: 8 bfloat16 at off(reg) into float32 lanes of dst.
#define LOAD_BF16(off, reg, dst) \
	VPMOVZXWD off(reg), dst \
	VPSLLD $16, dst, dst

// func dotBF16AVX2(x, y *uint16, n int) float32
// c_k += x*y (separate multiply and add), then ((c1+c3)+(c2+c4)), hi+lo,
// + movehl, + movehdup, like ggml_vec_dot_bf16's AVX2 path.
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	ZERO_ACC

bf16loop:
	LOAD_BF16(0, SI, Y4)
	LOAD_BF16(0, DI, Y5)
	VMULPS Y5, Y4, Y4
	VADDPS Y0, Y4, Y0
	LOAD_BF16(16, SI, Y6)
	LOAD_BF16(16, DI, Y7)
	VMULPS Y7, Y6, Y6
	VADDPS Y1, Y6, Y1
	LOAD_BF16(32, SI, Y4)
	LOAD_BF16(32, DI, Y5)
	VMULPS Y5, Y4, Y4
	VADDPS Y2, Y4, Y2
	LOAD_BF16(48, SI, Y6)
	LOAD_BF16(48, DI, Y7)
	VMULPS Y7, Y6, Y6
	VADDPS Y3, Y6, Y3
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JNZ bf16loop

	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X0, X1, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func fmaF32AVX2(x, y, z float32) float32: x*y+z rounded once (VFMADD231SS).
TEXT ·fmaF32AVX2(SB), NOSPLIT, $0-20
	MOVSS x+0(FP), X0
	MOVSS y+4(FP), X1
	MOVSS z+8(FP), X2
	VFMADD231SS X1, X0, X2
	MOVSS X2, ret+16(FP)
	RET
