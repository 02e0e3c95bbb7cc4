package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX-512 F16 kernels: products of F16 weights and F16 activations in
// ggml_vec_dot_f16's AVX2 order (dotF16AVX2, dotF16x3AVX2), bit for bit.
//
// The AVX2 kernels keep, per (weight row, activation row) pair, four
// eight-lane accumulators: acc j lane l gets fma(x[32i+8j+l], y[32i+8j+l],
// acc) for every 32-element step i, and the sum is (acc0+acc2)+(acc1+acc3),
// then lo+hi 128-bit halves, then two horizontal adds. A ZMM register
// holds two of them: A = acc0|acc1 (elements 0..15 of each step) and B =
// acc2|acc3 (elements 16..31), each lane's chain of FMAs the AVX2 one, and
// A+B = (acc0+acc2)|(acc1+acc3), whose 256-bit halves added give the AVX2
// sum (addition commutes bit for bit). The 96-float accumulator block of
// dotF16x3AVX2 (activation row c's acc j at floats 32c+8j) is A and B of
// the three rows in order, so the AVX-512 batched kernel shares it and its
// reduction (reduceF32x3AVX2) with the AVX2 kernel.

// f16Gemm4x3 writes dotF16x4x3AVX512 (wide false) or dotF16x4x3WAVX512
// (wide: the activations come already widened to float32, which VCVTPH2PS
// does exactly, so the products are the same): four weight rows times
// three activation rows over one chunk, each halves-vector widened once per
// step.
//
// Registers: Z(6k+2c+h) is weight row k, activation row c, half h (A or
// B); Z24..Z27 the four weight rows' widened half; Z28..Z30 the activation
// rows'.
func f16Gemm4x3(wide bool) {
	if wide {
		TEXT("dotF16x4x3WAVX512", NOSPLIT, "func(x *uint16, xStride int, y *float32, yStride, n int, acc *float32)")
		Pragma("noescape")
		Doc(
			"dotF16x4x3WAVX512 is dotF16x4x3AVX512 with the three activation rows'",
			"chunks already widened to float32 (at y + c*yStride bytes), the same",
			"sums. It needs LevelAVX512.",
		)
	} else {
		TEXT("dotF16x4x3AVX512", NOSPLIT, "func(x *uint16, xStride int, y *uint16, yStride, n int, acc *float32)")
		Pragma("noescape")
		Doc(
			"dotF16x4x3AVX512 is dotF16x3AVX2 for four weight rows at once: weight",
			"row k's chunk at x + k*xStride bytes (k < 4), the three activation rows'",
			"at y + c*yStride, n > 0 a multiple of 32, and row k's 96 accumulators at",
			"acc[96k:], carried bit for bit as dotF16x3AVX2 carries them. It needs",
			"LevelAVX512.",
		)
	}
	label := "f16x4x3loop"
	aStep, aHalf := 64, 32 // activation bytes a step and a half
	if wide {
		label, aStep, aHalf = "f16x4x3wloop", 128, 64
	}
	Load(Param("x"), RSI)
	Load(Param("xStride"), R11)
	Load(Param("y"), RDI)
	Load(Param("yStride"), R8)
	Load(Param("n"), RCX)
	Load(Param("acc"), R10)
	LEAQ(Mem{Base: R11, Index: R11, Scale: 2}, R12) // 3·xStride

	accMem := func(k, c, h int) Mem { return Mem{Base: R10, Disp: 384*k + 128*c + 64*h} }
	Comment("Z(6k+2c+h) = the accumulators of weight row k, activation row c,",
		"elements 16h..16h+15 of each step.")
	for k := 0; k < 4; k++ {
		for c := 0; c < 3; c++ {
			for h := 0; h < 2; h++ {
				VMOVUPS(accMem(k, c, h), zr(6*k+2*c+h))
			}
		}
	}
	wRows := [4]Mem{
		{Base: RSI},
		{Base: RSI, Index: R11, Scale: 1},
		{Base: RSI, Index: R11, Scale: 2},
		{Base: RSI, Index: R12, Scale: 1},
	}
	aRows := [3]Mem{
		{Base: RDI},
		{Base: RDI, Index: R8, Scale: 1},
		{Base: RDI, Index: R8, Scale: 2},
	}

	Label(label)
	for h := 0; h < 2; h++ {
		how := "widened"
		if wide {
			how = "loaded"
		}
		Comment(fmt.Sprintf("elements %d..%d: the weight rows widened into Z24..Z27,", 16*h, 16*h+15),
			"each activation row "+how+" once and fused into the four rows' sums.")
		for k, m := range wRows {
			m.Disp += 32 * h
			VCVTPH2PS(m, zr(24+k))
		}
		for c, m := range aRows {
			m.Disp += aHalf * h
			if wide {
				VMOVUPS(m, zr(28+c))
			} else {
				VCVTPH2PS(m, zr(28+c))
			}
			for k := 0; k < 4; k++ {
				VFMADD231PS(zr(28+c), zr(24+k), zr(6*k+2*c+h))
			}
		}
	}
	ADDQ(U8(64), RSI)
	ADDQ(U32(uint32(aStep)), RDI)
	SUBQ(U8(32), RCX)
	JNZ(LabelRef(label))

	for k := 0; k < 4; k++ {
		for c := 0; c < 3; c++ {
			for h := 0; h < 2; h++ {
				VMOVUPS(zr(6*k+2*c+h), accMem(k, c, h))
			}
		}
	}
	VZEROUPPER()
	RET()
}

// gemvF16PrefetchAhead is how far ahead of its loads gemvF16x8PAVX512
// prefetches each row (bytes).
const gemvF16PrefetchAhead = 1024

// f16Gemv8 writes gemvF16x8AVX512: eight weight rows times one activation
// row, each row reduced like dotF16AVX2.
//
// Registers: Z(2k+h) is row k's accumulator of half h; Z16 the activation
// half widened once; Z17..Z24 the rows' widened halves.
//
// With prefetch (gemvF16x8PAVX512) each step also prefetches each row's
// line gemvF16PrefetchAhead bytes ahead.
func f16Gemv8(prefetch bool) {
	name, label := "gemvF16x8AVX512", "f16g8loop"
	if prefetch {
		name, label = "gemvF16x8PAVX512", "f16g8ploop"
	}
	TEXT(name, NOSPLIT, "func(dst *float32, w *byte, rowBytes int, a *byte, nb int)")
	Pragma("noescape")
	if prefetch {
		Doc(
			"gemvF16x8PAVX512 is gemvF16x8AVX512 with a software prefetch of each",
			"row's data 1 KiB ahead of the loads (a variant for benchmarks to",
			"compare). It needs LevelAVX512.",
		)
	} else {
		Doc(
			"gemvF16x8AVX512 sets dst[0:8] to the F16 dot products of the eight",
			"rows from w (row stride rowBytes) with a over nb > 0 steps of 32",
			"elements, each equal bit for bit to dotF16AVX2 on that row. It needs",
			"LevelAVX512.",
		)
	}
	Load(Param("dst"), RDX)
	Load(Param("w"), RSI)
	Load(Param("rowBytes"), R8)
	Load(Param("a"), RDI)
	Load(Param("nb"), RCX)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R9)   // 3·rowBytes
	LEAQ(Mem{Base: RSI, Index: R8, Scale: 4}, R11) // rows 4..7
	for i := 0; i < 16; i++ {
		VPXORD(zr(i), zr(i), zr(i))
	}
	lo, hi := rows4(RSI, 0), rows4(R11, 0)
	rows := append(lo[:], hi[:]...)

	Label(label)
	if prefetch {
		for _, m := range rows {
			m.Disp += gemvF16PrefetchAhead
			PREFETCHT0(m)
		}
	}
	for h := 0; h < 2; h++ {
		Comment(fmt.Sprintf("elements %d..%d", 16*h, 16*h+15))
		VCVTPH2PS(Mem{Base: RDI, Disp: 32 * h}, Z16)
		for k, m := range rows {
			m.Disp += 32 * h
			VCVTPH2PS(m, zr(17+k))
			VFMADD231PS(Z16, zr(17+k), zr(2*k+h))
		}
	}
	ADDQ(U8(64), RSI)
	ADDQ(U8(64), R11)
	ADDQ(U8(64), RDI)
	DECQ(RCX)
	JNZ(LabelRef(label))

	Comment("Each row: (acc0+acc2)|(acc1+acc3), its halves added, then lo+hi",
		"and two horizontal adds, as dotF16AVX2 reduces.")
	for k := 0; k < 8; k++ {
		a, t := 2*k, 2*k+1
		VADDPS(zr(t), zr(a), zr(a))
		VEXTRACTF64X4(U8(1), zr(a), yr(t))
		VADDPS(yr(t), yr(a), yr(a))
		VEXTRACTF128(U8(1), yr(a), xr(t))
		VADDPS(xr(t), xr(a), xr(a))
		VHADDPS(xr(a), xr(a), xr(a))
		VHADDPS(xr(a), xr(a), xr(a))
		VMOVSS(xr(a), Mem{Base: RDX, Disp: 4 * k})
	}
	VZEROUPPER()
	RET()
}

// widenF16 writes widenF16AVX512: n halves widened to float32.
func widenF16() {
	TEXT("widenF16AVX512", NOSPLIT, "func(dst *float32, src *uint16, n int)")
	Pragma("noescape")
	Doc(
		"widenF16AVX512 sets dst[i] to the float32 value of the half src[i]",
		"(exact), i < n, n > 0 a multiple of 32. It needs LevelAVX512.",
	)
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("n"), RCX)
	Label("widenf16loop")
	VCVTPH2PS(Mem{Base: RSI}, Z0)
	VCVTPH2PS(Mem{Base: RSI, Disp: 32}, Z1)
	VMOVUPS(Z0, Mem{Base: RDI})
	VMOVUPS(Z1, Mem{Base: RDI, Disp: 64})
	ADDQ(U8(64), RSI)
	ADDQ(U32(128), RDI)
	SUBQ(U8(32), RCX)
	JNZ(LabelRef("widenf16loop"))
	VZEROUPPER()
	RET()
}
