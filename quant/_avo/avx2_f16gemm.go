package main

import (
	"fmt"
	"strings"

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
	for _, zero := range []bool{false, true} {
		for _, reduce := range []bool{false, true} {
			f16Gemm4x3WAVX2(zero, reduce)
		}
	}
	widenF16AVX2()
	quantizeF16AVX2()
}

// f16Gemm4x3WAVX2 writes dotF16x4x3WAVX2; with zero dotF16x4x3WZ*, which
// starts from zero accumulators instead of loading them (a row's first
// chunk); with reduce dotF16x4x3W*RAVX2, which after the chunk reduces each
// pair's accumulators into out instead of storing them back (a row's last
// chunk).
//
// Registers: Y(3k+c) is weight row k, activation row c's accumulator of the
// pass; the activation pieces are loaded once a step into Y12..Y14 and each
// weight piece widened into Y15 in turn. SI = x, R11 = xStride, R12 =
// 3·xStride, DI = y, R8 = yStride, CX = n, R10 = acc; AX, BX, DX walk the
// weights, activations and count of a pass.
func f16Gemm4x3WAVX2(zero, reduce bool) {
	const R, C = 4, 3
	base := "dotF16x4x3W"
	name := base
	if zero {
		name += "Z"
	}
	if reduce {
		name += "R"
	}
	name += "AVX2"
	sig := "func(x *uint16, xStride int, y *float32, yStride, n int, acc *float32)"
	if reduce {
		sig = "func(x *uint16, xStride int, y *float32, yStride, n int, acc *float32, out *float32)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	switch {
	case zero && reduce:
		Doc(
			fmt.Sprintf("%s is %sRAVX2 from zero accumulators (it", name, base),
			"reads none at acc, which it uses as scratch). It needs LevelAVX2.",
		)
	case zero:
		Doc(
			fmt.Sprintf("%s is %sAVX2 from zero accumulators (it reads", name, base),
			"none at acc, it only stores them there). It needs LevelAVX2.",
		)
	case reduce:
		Doc(
			fmt.Sprintf("%s is %sAVX2 followed by reduceF32x3AVX2's reduction of", name, base),
			"each pair's accumulators, the sum of weight row k with activation row",
			fmt.Sprintf("c stored at out[%dc+k] (the accumulators at acc are left partly", R),
			"updated). It needs LevelAVX2.",
		)
	default:
		Doc(
			fmt.Sprintf("%s is dotF16x3AVX2 for %d weight rows and %d activation rows", name, R, C),
			"at once, the activations already widened to float32: weight row k's",
			fmt.Sprintf("chunk at x + k*xStride bytes (k < %d), activation row c's float32", R),
			fmt.Sprintf("chunk at y + c*yStride bytes (c < %d), n > 0 a multiple of 32, and", C),
			fmt.Sprintf("the pair's 32 accumulators at acc[32(%dk+c):] (accumulator j lane l", C),
			"at 8j+l), carried bit for bit as dotF16x3AVX2 carries them. It needs",
			"LevelAVX2.",
		)
	}
	Load(Param("x"), RSI)
	Load(Param("xStride"), R11)
	Load(Param("y"), RDI)
	Load(Param("yStride"), R8)
	Load(Param("n"), RCX)
	Load(Param("acc"), R10)
	LEAQ(Mem{Base: R11, Index: R11, Scale: 2}, R12) // 3·xStride

	accMem := func(k, c, j int) Mem { return Mem{Base: R10, Disp: 32*(C*k+c)*4 + 32*j} }
	acc := func(k, c int) VecPhysical { return yr(C*k + c) }
	for j := 0; j < 4; j++ {
		Comment(fmt.Sprintf("pass %d: elements 32i+%d..32i+%d of every step i, accumulator %d of each pair", j, 8*j, 8*j+7, j))
		for k := 0; k < R; k++ {
			for c := 0; c < C; c++ {
				if zero {
					VXORPS(acc(k, c), acc(k, c), acc(k, c))
				} else {
					VMOVUPS(accMem(k, c, j), acc(k, c))
				}
			}
		}
		MOVQ(RSI, RAX)
		MOVQ(RDI, RBX)
		MOVQ(RCX, RDX)
		wRow := func(k int) Mem {
			m := Mem{Base: RAX, Disp: 16 * j}
			switch k {
			case 1:
				m.Index, m.Scale = R11, 1
			case 2:
				m.Index, m.Scale = R11, 2
			case 3:
				m.Index, m.Scale = R12, 1
			}
			return m
		}
		aRow := func(c int) Mem {
			m := Mem{Base: RBX, Disp: 32 * j}
			if c > 0 {
				m.Index, m.Scale = R8, uint8(c)
			}
			return m
		}
		label := fmt.Sprintf("%sp%d", strings.ToLower(name), j)
		Label(label)
		for c := 0; c < C; c++ {
			VMOVUPS(aRow(c), yr(12+c))
		}
		for k := 0; k < R; k++ {
			VCVTPH2PS(wRow(k), Y15)
			for c := 0; c < C; c++ {
				VFMADD231PS(yr(12+c), Y15, acc(k, c))
			}
		}
		ADDQ(U8(64), RAX)
		ADDQ(U32(128), RBX)
		SUBQ(U8(32), RDX)
		JNZ(LabelRef(label))
		if reduce && j == 3 {
			break
		}
		for k := 0; k < R; k++ {
			for c := 0; c < C; c++ {
				VMOVUPS(acc(k, c), accMem(k, c, j))
			}
		}
	}
	if reduce {
		Comment("Each pair: (acc0+acc2)+(acc1+acc3), lo+hi, two horizontal adds,",
			"as reduceF32x3AVX2 (acc3 is in its register, the others at acc).")
		Load(Param("out"), R9)
		for k := 0; k < R; k++ {
			for c := 0; c < C; c++ {
				a, x := acc(k, c), xr(C*k+c)
				VMOVUPS(accMem(k, c, 0), Y15)
				VADDPS(accMem(k, c, 2), Y15, Y15)
				VADDPS(accMem(k, c, 1), a, a)
				VADDPS(a, Y15, a)
				VEXTRACTF128(U8(1), a, X15)
				VADDPS(X15, x, x)
				VHADDPS(x, x, x)
				VHADDPS(x, x, x)
				VMOVSS(x, Mem{Base: R9, Disp: 4 * (R*c + k)})
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
		"i < n, n > 0 a multiple of 32 (VCVTPH2PS, exact), prefetching the n",
		"halves after them (the next chunk of a row). It needs LevelAVX2.",
	)
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("n"), RCX)
	LEAQ(Mem{Base: RCX, Index: RCX, Scale: 1}, RDX) // 2n: the next chunk's bytes
	Label("widenf16avx2loop")
	PREFETCHT0(Mem{Base: RSI, Index: RDX, Scale: 1})
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

// quantizeF16AVX2 writes quantizeF16AVX2: float32 to half with VCVTPS2PH
// rounding to nearest even (immediate 0, whatever MXCSR says), eight a step.
func quantizeF16AVX2() {
	TEXT("quantizeF16AVX2", NOSPLIT, "func(dst *uint16, src *float32, n int)")
	Pragma("noescape")
	Doc(
		"quantizeF16AVX2 sets dst[i] to FP32ToFP16(src[i]) for i < n, n > 0 a",
		"multiple of 8 (VCVTPS2PH, round to nearest even: the same bits, NaN",
		"payloads included). It needs LevelAVX2.",
	)
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("n"), RCX)
	Label("quantizef16avx2loop")
	VMOVUPS(Mem{Base: RSI}, Y0)
	VCVTPS2PH(U8(0), Y0, Mem{Base: RDI})
	ADDQ(U8(32), RSI)
	ADDQ(U8(16), RDI)
	SUBQ(U8(8), RCX)
	JNZ(LabelRef("quantizef16avx2loop"))
	VZEROUPPER()
	RET()
}
