package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 float dot products (avx2gen_amd64.s): ggml-cpu's AVX2
// ggml_vec_dot_f32, ggml_vec_dot_f16 and ggml_vec_dot_bf16 over n > 0
// elements, a multiple of 32 (the callers add the leftovers like ggml), with
// ggml's lanes, FMA where ggml uses it and its reduction trees, and fmaF32.

// floatDots emits dotF32AVX2, dotF16AVX2, dotBF16AVX2 and fmaF32AVX2.
func floatDots() {
	dotF32()
	dotF16()
	dotBF16()
	fmaF32()
}

// floatDotHead loads x, y and n into SI, DI and CX and zeroes the four
// accumulators Y0..Y3.
func floatDotHead(name, sig string, doc ...string) {
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc...)
	Load(Param("x"), RSI)
	Load(Param("y"), RDI)
	Load(Param("n"), RCX)
	for i := 0; i < 4; i++ {
		VXORPS(yr(i), yr(i), yr(i))
	}
}

// floatDotStep advances x and y by step bytes and loops to label while
// elements are left (32 a pass).
func floatDotStep(label string, step int) {
	ADDQ(Imm(uint64(step)), RSI)
	ADDQ(Imm(uint64(step)), RDI)
	SUBQ(Imm(32), RCX)
	JNZ(LabelRef(label))
}

// reduceF32x8 is GGML_F32x8_REDUCE of Y0..Y3 into X0: (Y0+Y2)+(Y1+Y3),
// then lo+hi lanes, then two horizontal adds; the result is returned.
func reduceF32x8() {
	VADDPS(Y2, Y0, Y0)
	VADDPS(Y3, Y1, Y1)
	VADDPS(Y1, Y0, Y0)
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPS(X1, X0, X0)
	VHADDPS(X0, X0, X0)
	VHADDPS(X0, X0, X0)
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

func dotF32() {
	floatDotHead("dotF32AVX2", "func(x, y *float32, n int) float32",
		"dotF32AVX2 is ggml_vec_dot_f32's AVX2 sum of x[i]*y[i], i < n (n > 0, a",
		"multiple of 32): four eight-lane FMA accumulators, GGML_F32x8_REDUCE.",
		"It needs LevelAVX2.")
	Label("f32loop")
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: RSI, Disp: 32 * i}, yr(4+i))
	}
	for i := 0; i < 4; i++ {
		VFMADD231PS(Mem{Base: RDI, Disp: 32 * i}, yr(4+i), yr(i))
	}
	floatDotStep("f32loop", 128)
	reduceF32x8()
}

func dotF16() {
	floatDotHead("dotF16AVX2", "func(x, y *uint16, n int) float32",
		"dotF16AVX2 is ggml_vec_dot_f16's AVX2 sum over n F16 pairs (n > 0, a",
		"multiple of 32): both widened with VCVTPH2PS, four eight-lane FMA",
		"accumulators, GGML_F32x8_REDUCE. It needs LevelAVX2.")
	Label("f16loop")
	for i := 0; i < 4; i++ {
		a, b := yr(4+2*(i%2)), yr(5+2*(i%2))
		VCVTPH2PS(Mem{Base: RSI, Disp: 16 * i}, a)
		VCVTPH2PS(Mem{Base: RDI, Disp: 16 * i}, b)
		VFMADD231PS(b, a, yr(i))
	}
	floatDotStep("f16loop", 64)
	reduceF32x8()
}

func dotBF16() {
	floatDotHead("dotBF16AVX2", "func(x, y *uint16, n int) float32",
		"dotBF16AVX2 is ggml_vec_dot_bf16's AVX2 sum over n BF16 pairs (n > 0, a",
		"multiple of 32): c_k += x*y (separate multiply and add), then",
		"((c1+c3)+(c2+c4)), hi+lo, + movehl, + movehdup. It needs LevelAVX2.")
	Label("bf16loop")
	for i := 0; i < 4; i++ {
		a, b := yr(4+2*(i%2)), yr(5+2*(i%2))
		// widening load: eight bfloat16 into the high halves of float32 lanes
		VPMOVZXWD(Mem{Base: RSI, Disp: 16 * i}, a)
		VPSLLD(U8(16), a, a)
		VPMOVZXWD(Mem{Base: RDI, Disp: 16 * i}, b)
		VPSLLD(U8(16), b, b)
		VMULPS(b, a, a)
		VADDPS(yr(i), a, yr(i))
	}
	floatDotStep("bf16loop", 64)
	VADDPS(Y2, Y0, Y0)
	VADDPS(Y3, Y1, Y1)
	VADDPS(Y1, Y0, Y0)
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPS(X0, X1, X0)
	VMOVHLPS(X0, X0, X1)
	VADDPS(X1, X0, X0)
	VMOVSHDUP(X0, X1)
	VADDSS(X1, X0, X0)
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

func fmaF32() {
	TEXT("fmaF32AVX2", NOSPLIT, "func(x, y, z float32) float32")
	Pragma("noescape")
	Doc("fmaF32AVX2 returns x*y+z with one rounding (VFMADD231SS). It needs LevelAVX2.")
	Load(Param("x"), X0)
	Load(Param("y"), X1)
	Load(Param("z"), X2)
	VFMADD231SS(X1, X0, X2)
	Store(X2, ReturnIndex(0))
	RET()
}

// q8_0Act emits quantizeActQ8_0AVX2: ggml-cpu's AVX2 quantize_row_q8_0 for
// nb > 0 blocks: per block the largest |x| (VMAXPS tree as ggml's), d =
// amax/127 stored as fp16 (round to nearest even), id = 127/amax (0 when
// amax is 0), q = x*id rounded half to even (VROUNDPS), converted and packed
// with signed saturation, the lanes put back in element order (VPERMD).
func q8_0Act() {
	perm := GLOBL("q80actPerm", RODATA|NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
	TEXT("quantizeActQ8_0AVX2", NOSPLIT, "func(dst *byte, src *float32, nb int)")
	Pragma("noescape")
	Doc("quantizeActQ8_0AVX2 is quantizeActQ8_0 for nb > 0 blocks: 32*nb floats",
		"at src into nb Q8_0 blocks at dst. It needs LevelAVX2.")
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("nb"), RCX)
	MOVL(U32(0x7fffffff), EAX)
	VMOVD(EAX, X15)
	VPBROADCASTD(X15, Y15)     // |x| mask
	MOVL(U32(0x42fe0000), EAX) // 127.0
	VMOVD(EAX, X14)
	VMOVDQU(perm, Y13)

	Label("q80actloop")
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: RSI, Disp: 32 * i}, yr(i))
	}
	VANDPS(Y15, Y0, Y4)
	VANDPS(Y15, Y1, Y5)
	VMAXPS(Y5, Y4, Y4)
	VANDPS(Y15, Y2, Y5)
	VMAXPS(Y5, Y4, Y4)
	VANDPS(Y15, Y3, Y5)
	VMAXPS(Y5, Y4, Y4)
	VEXTRACTF128(U8(1), Y4, X5)
	VMAXPS(X4, X5, X5) // max(high, low)
	VMOVHLPS(X5, X5, X6)
	VMAXPS(X6, X5, X5)
	VMOVSHDUP(X5, X6)
	VMAXSS(X6, X5, X5)  // amax
	VDIVSS(X14, X5, X6) // d = amax / 127
	VCVTPS2PH(U8(0), X6, X6)
	VPEXTRW(U8(0), X6, EAX)
	MOVW(AX, Mem{Base: RDI})
	VXORPS(X7, X7, X7)
	VUCOMISS(X7, X5)
	JNE(LabelRef("q80actdiv"))
	JPC(LabelRef("q80actzero")) // amax == 0 (a NaN amax divides, as ggml's != does)
	Label("q80actdiv")
	VDIVSS(X5, X14, X7) // id = 127 / amax
	Label("q80actzero")
	VBROADCASTSS(X7, Y7)
	for i := 0; i < 4; i++ {
		VMULPS(Y7, yr(i), yr(i))
	}
	for i := 0; i < 4; i++ {
		VROUNDPS(U8(0), yr(i), yr(i))
	}
	for i := 0; i < 4; i++ {
		VCVTPS2DQ(yr(i), yr(i))
	}
	VPACKSSDW(Y1, Y0, Y0)
	VPACKSSDW(Y3, Y2, Y2)
	VPACKSSWB(Y2, Y0, Y0)
	VPERMD(Y0, Y13, Y0)
	VMOVDQU(Y0, Mem{Base: RDI, Disp: 2})
	ADDQ(Imm(128), RSI)
	ADDQ(Imm(34), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q80actloop"))
	VZEROUPPER()
	RET()
}
