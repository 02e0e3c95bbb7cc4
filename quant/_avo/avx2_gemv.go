package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 one-token multi-row F32 GEMV kernels and prefetchRange
// (avx2gemv_amd64.s, AVO_SET=avx2-gemv), formerly the hand-written
// gemv_amd64.s.

// avx2Gemv emits prefetchRange, gemvF32AVX2 and gemvF32x8AVX2.
func avx2Gemv() {
	gemvPrefetchRange()
	gemvF32()
	gemvF32x8()
}

// gemvPrefetchRange emits prefetchRange: asks for the cache lines of the
// n bytes from p (PREFETCHT0, no faults).
func gemvPrefetchRange() {
	TEXT("prefetchRange", NOSPLIT, "func(p *byte, n int)")
	Pragma("noescape")
	Doc("prefetchRange asks the CPU to load the cache lines of the n > 0 bytes",
		"from p; it never faults.")
	Load(Param("p"), RSI)
	Load(Param("n"), RCX)
	LEAQ(Mem{Base: RSI, Index: RCX, Scale: 1}, RDX)

	Label("pfloop")
	PREFETCHT0(Mem{Base: RSI})
	ADDQ(U8(64), RSI)
	CMPQ(RSI, RDX)
	JB(LabelRef("pfloop"))
	RET()
}

// gemvF32Reduce is GGML_F32x8_REDUCE of Y(a)..Y(a+3) into X(a) (temp
// X(a+1)), as in dotF32AVX2: (Ya+Ya+2)+(Ya+1+Ya+3), then lo+hi lanes,
// then two horizontal adds.
func gemvF32Reduce(a int) {
	VADDPS(yr(a+2), yr(a), yr(a))
	VADDPS(yr(a+3), yr(a+1), yr(a+1))
	VADDPS(yr(a+1), yr(a), yr(a))
	VEXTRACTF128(U8(1), yr(a), xr(a+1))
	VADDPS(xr(a+1), xr(a), xr(a))
	VHADDPS(xr(a), xr(a), xr(a))
	VHADDPS(xr(a), xr(a), xr(a))
}

// gemvF32Head loads the gemvF32AVX2/gemvF32x8AVX2 arguments (dst DX, w R8,
// rowBytes R9, x R10, n SI, rows R12; with shr, rows >>= 3) and the byte
// offsets R13 = 4·np, BX = 4·(np + (n-np)&^3), SI = 4·n.
func gemvF32Head(shr bool) {
	Load(Param("dst"), RDX)
	Load(Param("w"), R8)
	Load(Param("rowBytes"), R9)
	Load(Param("x"), R10)
	Load(Param("n"), RSI)
	Load(Param("rows"), R12)
	if shr {
		SHRQ(U8(3), R12)
	}
	Comment("byte offsets: R13 = 4·np, BX = 4·(np + (n-np)&^3), SI = 4·n")
	MOVQ(RSI, R13)
	ANDQ(I8(-32), R13)
	MOVQ(RSI, RBX)
	ANDQ(I8(-4), RBX)
	SHLQ(U8(2), R13)
	SHLQ(U8(2), RBX)
	SHLQ(U8(2), RSI)
}

// gemvF32Main emits the zeroed accumulators Y0..Y7 and the main loop of
// two rows (A at a, B at R11) over the first np elements, the activations
// loaded once into Y12..Y15; it jumps to done when np is 0.
func gemvF32Main(a GPPhysical, loop, done string) {
	for i := 0; i < 8; i++ {
		VXORPS(yr(i), yr(i), yr(i))
	}
	XORQ(RAX, RAX)
	CMPQ(RAX, R13)
	JGE(LabelRef(done))

	Label(loop)
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: R10, Index: RAX, Scale: 1, Disp: 32 * i}, yr(12+i))
	}
	for i := 0; i < 4; i++ {
		VFMADD231PS(Mem{Base: a, Index: RAX, Scale: 1, Disp: 32 * i}, yr(12+i), yr(i))
	}
	for i := 0; i < 4; i++ {
		VFMADD231PS(Mem{Base: R11, Index: RAX, Scale: 1, Disp: 32 * i}, yr(12+i), yr(4+i))
	}
	ADDQ(U8(128), RAX)
	CMPQ(RAX, R13)
	JLT(LabelRef(loop))
}

// gemvF32 emits gemvF32AVX2: rows consecutive rows of ggml_vec_dot_f32 on
// the haswell build (the arithmetic of vecDotF32At's AVX2 path) without a
// call per row: the first np = n&^31 products in four accumulators of
// eight lanes reduced by gemvF32Reduce (all zero when np is 0), then the
// tail's first (n-np)&^3 products rounded and added one at a time and its
// last (n-np)&3 fused. Rows go two at a time (A in Y0..Y3, B in Y4..Y7,
// the activations loaded once into Y12..Y15), so the two rows' serial
// tails overlap; a last odd row runs as A and B alike and stores once.
func gemvF32() {
	TEXT("gemvF32AVX2", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, x *byte, n, rows int)")
	Pragma("noescape")
	Doc("gemvF32AVX2 sets dst[0:rows] to the AVX2 vecDotF32 of rows > 0",
		"consecutive F32 rows from w (stride rowBytes) with the n floats at x.")
	gemvF32Head(false)

	Label("gf32pair")
	LEAQ(Mem{Base: R8, Index: R9, Scale: 1}, R11)
	CMPQ(R12, Imm(1))
	JNE(LabelRef("gf32two"))
	MOVQ(R8, R11)

	Label("gf32two")
	gemvF32Main(R8, "gf32loop", "gf32reduce")

	Label("gf32reduce")
	gemvF32Reduce(0)
	gemvF32Reduce(4)

	Label("gf32mul")
	CMPQ(RAX, RBX)
	JGE(LabelRef("gf32fma"))
	VMOVSS(Mem{Base: R8, Index: RAX, Scale: 1}, X8)
	VMULSS(Mem{Base: R10, Index: RAX, Scale: 1}, X8, X8)
	VADDSS(X8, X0, X0)
	VMOVSS(Mem{Base: R11, Index: RAX, Scale: 1}, X9)
	VMULSS(Mem{Base: R10, Index: RAX, Scale: 1}, X9, X9)
	VADDSS(X9, X4, X4)
	ADDQ(U8(4), RAX)
	JMP(LabelRef("gf32mul"))

	Label("gf32fma")
	CMPQ(RAX, RSI)
	JGE(LabelRef("gf32store"))
	VMOVSS(Mem{Base: R8, Index: RAX, Scale: 1}, X8)
	VFMADD231SS(Mem{Base: R10, Index: RAX, Scale: 1}, X8, X0)
	VMOVSS(Mem{Base: R11, Index: RAX, Scale: 1}, X9)
	VFMADD231SS(Mem{Base: R10, Index: RAX, Scale: 1}, X9, X4)
	ADDQ(U8(4), RAX)
	JMP(LabelRef("gf32fma"))

	Label("gf32store")
	VMOVSS(X0, Mem{Base: RDX})
	CMPQ(R12, Imm(1))
	JEQ(LabelRef("gf32done"))
	VMOVSS(X4, Mem{Base: RDX, Disp: 4})
	ADDQ(U8(8), RDX)
	LEAQ(Mem{Base: R8, Index: R9, Scale: 2}, R8)
	SUBQ(U8(2), R12)
	JNZ(LabelRef("gf32pair"))

	Label("gf32done")
	VZEROUPPER()
	RET()
}

// gemvF32x8 emits gemvF32x8AVX2: gemvF32AVX2 for rows a positive multiple
// of 8, eight rows at a time: each row's four accumulators are summed
// lane-wise as GGML_F32x8_REDUCE does ((a0+a2)+(a1+a3)) and kept on the
// stack; then the horizontal steps of the eight rows (hi+lo, then the two
// VHADDPS) run together, two rows a vector, which adds the same pairs in
// the same order as the one-row reduction. The tail (n%32 elements)
// follows per row as in gemvF32AVX2.
func gemvF32x8() {
	// gf32x8Perm: VPERMPS indices that put rows [0 2 4 6 | 1 3 5 7] back
	// in order.
	perm := GLOBL("gf32x8Perm", RODATA|NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
	TEXT("gemvF32x8AVX2", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, x *byte, n, rows int)")
	Pragma("noescape")
	Doc("gemvF32x8AVX2 is gemvF32AVX2 for rows a positive multiple of 8, the",
		"horizontal sums of eight rows done together (same bits).")
	stack := AllocLocal(256)
	gemvF32Head(true)

	Label("g8group")
	MOVQ(R8, RCX)  // row A of the pair
	XORQ(RDI, RDI) // stack offset of the pair

	Label("g8pair")
	LEAQ(Mem{Base: RCX, Index: R9, Scale: 1}, R11) // row B
	gemvF32Main(RCX, "g8loop", "g8vsum")

	Label("g8vsum")
	VADDPS(Y2, Y0, Y0)
	VADDPS(Y3, Y1, Y1)
	VADDPS(Y1, Y0, Y0)
	VADDPS(Y6, Y4, Y4)
	VADDPS(Y7, Y5, Y5)
	VADDPS(Y5, Y4, Y4)
	VMOVUPS(Y0, Mem{Base: RSP, Index: RDI, Scale: 1})
	VMOVUPS(Y4, Mem{Base: RSP, Index: RDI, Scale: 1, Disp: 32})
	LEAQ(Mem{Base: RCX, Index: R9, Scale: 2}, RCX)
	ADDQ(U8(64), RDI)
	CMPQ(RDI, U32(256))
	JLT(LabelRef("g8pair"))

	Comment("t_r = lo(v_r)+hi(v_r), two rows a vector: T01, T23, T45, T67")
	for i, t := range []VecPhysical{Y8, Y10, Y11, Y12} {
		VMOVUPS(stack.Offset(64*i), Y0)
		VMOVUPS(stack.Offset(64*i+32), Y1)
		VPERM2F128(U8(0x20), Y1, Y0, t)
		VPERM2F128(U8(0x31), Y1, Y0, Y9)
		VADDPS(Y9, t, t)
	}
	Comment("(t[0]+t[1]), (t[2]+t[3]), then their sum, for all eight rows")
	VHADDPS(Y10, Y8, Y8)
	VHADDPS(Y12, Y11, Y11)
	VHADDPS(Y11, Y8, Y8)
	VMOVUPS(perm, Y13)
	VPERMPS(Y8, Y13, Y8)
	VMOVUPS(Y8, Mem{Base: RDX})

	Comment("the tail, row by row")
	CMPQ(R13, RSI)
	JGE(LabelRef("g8next"))
	MOVQ(R8, RCX)
	XORQ(RDI, RDI)

	Label("g8trow")
	VMOVSS(Mem{Base: RDX, Index: RDI, Scale: 4}, X0)
	MOVQ(R13, RAX)

	Label("g8tmul")
	CMPQ(RAX, RBX)
	JGE(LabelRef("g8tfma"))
	VMOVSS(Mem{Base: RCX, Index: RAX, Scale: 1}, X8)
	VMULSS(Mem{Base: R10, Index: RAX, Scale: 1}, X8, X8)
	VADDSS(X8, X0, X0)
	ADDQ(U8(4), RAX)
	JMP(LabelRef("g8tmul"))

	Label("g8tfma")
	CMPQ(RAX, RSI)
	JGE(LabelRef("g8tstore"))
	VMOVSS(Mem{Base: RCX, Index: RAX, Scale: 1}, X8)
	VFMADD231SS(Mem{Base: R10, Index: RAX, Scale: 1}, X8, X0)
	ADDQ(U8(4), RAX)
	JMP(LabelRef("g8tfma"))

	Label("g8tstore")
	VMOVSS(X0, Mem{Base: RDX, Index: RDI, Scale: 4})
	ADDQ(R9, RCX)
	INCQ(RDI)
	CMPQ(RDI, U8(8))
	JLT(LabelRef("g8trow"))

	Label("g8next")
	ADDQ(U8(32), RDX)
	LEAQ(Mem{Base: R8, Index: R9, Scale: 8}, R8)
	DECQ(R12)
	JNZ(LabelRef("g8group"))

	VZEROUPPER()
	RET()
}
