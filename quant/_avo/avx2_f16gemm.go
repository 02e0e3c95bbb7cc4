package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 register-blocked F16 GEMM kernel (avx2f16gemm_amd64.s): four F16
// weight rows times three activation rows already widened to float32, in
// ggml_vec_dot_f16's AVX2 order (dotF16AVX2, dotF16x3AVX2), bit for bit.
//
// dotF16x3AVX2 keeps, per (weight row, activation row) pair, four eight-lane
// accumulators: acc j lane l gets fma(x[32i+8j+l], y[32i+8j+l], acc) for
// every 32-element step i. The four accumulators of a pair never meet until
// the reduction, so a kernel may run them one after the other: pass j walks
// the chunk with only the accumulators j of the twelve pairs (Y0..Y11), each
// step widening one eight-lane piece of each weight row (VCVTPH2PS, exact)
// once for the three activation rows, and loading each activation piece once
// for the four weight rows. Per step that is 12 FMAs for 4 conversions and 3
// loads, where dotF16x3AVX2 needs 16 conversions for 12 FMAs. Each lane's
// chain of FMAs is the one dotF16x3AVX2 runs, so the 96-float accumulator
// block of each weight row (activation row c's acc j at floats 32c+8j) and
// its reduction (reduceF32x3AVX2) are shared with that kernel. The chunk
// (at most 4 KiB of weights, 6 KiB of activations) stays in L1 across the
// four passes.

// avx2F16Gemm emits every kernel of avx2f16gemm_amd64.s.
func avx2F16Gemm() {
	f16Gemm4x3WAVX2()
	widenF16AVX2()
}

// f16Gemm4x3WAVX2 writes dotF16x4x3WAVX2.
//
// Registers: Y(3k+c) is weight row k, activation row c's accumulator of the
// pass; Y12..Y14 the activation rows' pieces; Y15 the widened weight piece.
// SI = x, R11 = xStride, R12 = 3·xStride, DI = y, R8 = yStride, CX = n,
// R10 = acc; AX, BX, DX walk the weights, activations and count of a pass.
func f16Gemm4x3WAVX2() {
	TEXT("dotF16x4x3WAVX2", NOSPLIT, "func(x *uint16, xStride int, y *float32, yStride, n int, acc *float32)")
	Pragma("noescape")
	Doc(
		"dotF16x4x3WAVX2 is dotF16x3AVX2 for four weight rows at once with the",
		"activations already widened to float32: weight row k's chunk at x +",
		"k*xStride bytes (k < 4), the three activation rows' float32 chunks at y",
		"+ c*yStride bytes, n > 0 a multiple of 32, and row k's 96 accumulators",
		"at acc[96k:] (activation row c's accumulator j lane l at 32c+8j+l),",
		"carried bit for bit as dotF16x3AVX2 carries them. It needs LevelAVX2.",
	)
	Load(Param("x"), RSI)
	Load(Param("xStride"), R11)
	Load(Param("y"), RDI)
	Load(Param("yStride"), R8)
	Load(Param("n"), RCX)
	Load(Param("acc"), R10)
	LEAQ(Mem{Base: R11, Index: R11, Scale: 2}, R12) // 3·xStride

	accMem := func(k, c, j int) Mem { return Mem{Base: R10, Disp: 384*k + 128*c + 32*j} }
	for j := 0; j < 4; j++ {
		Comment(fmt.Sprintf("pass %d: elements 32i+%d..32i+%d of every step i, accumulator %d of each pair", j, 8*j, 8*j+7, j))
		for k := 0; k < 4; k++ {
			for c := 0; c < 3; c++ {
				VMOVUPS(accMem(k, c, j), yr(3*k+c))
			}
		}
		MOVQ(RSI, RAX)
		MOVQ(RDI, RBX)
		MOVQ(RCX, RDX)
		wRows := [4]Mem{
			{Base: RAX, Disp: 16 * j},
			{Base: RAX, Index: R11, Scale: 1, Disp: 16 * j},
			{Base: RAX, Index: R11, Scale: 2, Disp: 16 * j},
			{Base: RAX, Index: R12, Scale: 1, Disp: 16 * j},
		}
		aRows := [3]Mem{
			{Base: RBX, Disp: 32 * j},
			{Base: RBX, Index: R8, Scale: 1, Disp: 32 * j},
			{Base: RBX, Index: R8, Scale: 2, Disp: 32 * j},
		}
		label := fmt.Sprintf("f16x4x3wavx2p%d", j)
		Label(label)
		for c, m := range aRows {
			VMOVUPS(m, yr(12+c))
		}
		for k, m := range wRows {
			VCVTPH2PS(m, Y15)
			for c := 0; c < 3; c++ {
				VFMADD231PS(yr(12+c), Y15, yr(3*k+c))
			}
		}
		ADDQ(U8(64), RAX)
		ADDQ(U32(128), RBX)
		SUBQ(U8(32), RDX)
		JNZ(LabelRef(label))
		for k := 0; k < 4; k++ {
			for c := 0; c < 3; c++ {
				VMOVUPS(yr(3*k+c), accMem(k, c, j))
			}
		}
	}
	VZEROUPPER()
	RET()
}

// widenF16AVX2 writes widenF16AVX2: n halves widened to float32 with
// VCVTPH2PS (exact), 32 a step.
func widenF16AVX2() {
	TEXT("widenF16AVX2", NOSPLIT, "func(dst *float32, src *uint16, n int)")
	Pragma("noescape")
	Doc(
		"widenF16AVX2 sets dst[i] to the float32 value of the half src[i] for",
		"i < n, n > 0 a multiple of 32 (VCVTPH2PS, exact). It needs LevelAVX2.",
	)
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("n"), RCX)
	Label("widenf16avx2loop")
	for i := 0; i < 4; i++ {
		VCVTPH2PS(Mem{Base: RSI, Disp: 16 * i}, yr(i))
	}
	for i := 0; i < 4; i++ {
		VMOVUPS(yr(i), Mem{Base: RDI, Disp: 32 * i})
	}
	ADDQ(U8(64), RSI)
	ADDQ(U32(128), RDI)
	SUBQ(U8(32), RCX)
	JNZ(LabelRef("widenf16avx2loop"))
	VZEROUPPER()
	RET()
}
