package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// engine/cpu's AVX2+FMA kernels (engine/cpu/avx2cpu_amd64.s): the
// exponentials of softmax and SwiGLU, ggml_v_expf eight lanes at a time
// with the hardware fused multiply-add, as llama.cpp's AVX2 build computes
// it. Both stop before a block that needs ggml_v_expf's slow path
// (|n| > 126) and return how many elements they did; engine/cpu's
// expSumBlocks and swiGLUBlocks finish such blocks in Go.

// avx2CPU emits every kernel of the avx2-cpu set.
func avx2CPU() {
	c := vexpConsts()
	expSumBlocks(c)
	swiGLUBlocks(c)
	attentionKernels()
}

// vexpConsts emits vexpC, ggml_v_expf's constants, each repeated in eight
// lanes (32 bytes a constant), and returns it.
func vexpConsts() Mem {
	c := GLOBL("vexpC", RODATA|NOPTR)
	vals := []uint32{
		0x4b400000, // r
		0x3fb8aa3b, // log2e
		0x3f317200, // ln2hi
		0x35bfbe8e, // ln2lo
		0x3c072010, // c5
		0x3d2b9f17, // c4
		0x3e2aaf33, // c3
		0x3efffedb, // c2
		0x3f7ffff6, // c1
		0x3f800000, // one
		0x42fc0000, // c126
		0x7fffffff, // abs
	}
	for i, v := range vals {
		for k := 0; k < 4; k++ {
			DATA(32*i+8*k, U64(uint64(v)<<32|uint64(v)))
		}
	}
	return c
}

// Offsets of the constants in vexpC.
const (
	vexpR     = 0
	vexpLog2e = 32
	vexpLn2hi = 64
	vexpLn2lo = 96
	vexpC5    = 128
	vexpC4    = 160
	vexpC3    = 192
	vexpC2    = 224
	vexpC1    = 256
	vexpOne   = 288
	vexpC126  = 320
	vexpAbs   = 352
)

// vexpf8 emits Y1 = ggml_v_expf(Y0) for lanes whose |n| <= 126 (the fast
// path) and sets Y11 to the lanes that need the slow path. Uses Y1..Y11.
func vexpf8(c Mem) {
	VMOVUPS(c.Offset(vexpR), Y2)
	VFMADD231PS(c.Offset(vexpLog2e), Y0, Y2)
	VSUBPS(c.Offset(vexpR), Y2, Y3)
	VMOVAPS(Y0, Y4)
	VFNMADD231PS(c.Offset(vexpLn2hi), Y3, Y4)
	VFNMADD231PS(c.Offset(vexpLn2lo), Y3, Y4)
	VPSLLD(U8(23), Y2, Y5)
	VPADDD(c.Offset(vexpOne), Y5, Y6)
	VMULPS(Y4, Y4, Y7)
	VMOVUPS(c.Offset(vexpC5), Y1)
	VFMADD213PS(c.Offset(vexpC4), Y4, Y1)
	VMOVUPS(c.Offset(vexpC3), Y8)
	VFMADD213PS(c.Offset(vexpC2), Y4, Y8)
	VFMADD213PS(Y8, Y7, Y1)
	VMULPS(c.Offset(vexpC1), Y4, Y9)
	VFMADD213PS(Y9, Y7, Y1)
	VANDPS(c.Offset(vexpAbs), Y3, Y10)
	VCMPPS(U8(0x1e), c.Offset(vexpC126), Y10, Y11)
	VFMADD213PS(Y6, Y6, Y1)
}

// expSumBlocks emits expSumBlocksAVX2: for whole blocks of 8 from x (n8
// elements, a multiple of 8): x[i] = ggml_v_expf(x[i] - mx), and *sum +=
// the block's float32 sum ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) in float64,
// block after block, like ggml_vec_soft_max_f32 on AVX2. It stops before
// the first block that needs ggml_v_expf's slow path (|n| > 126), leaving
// it untouched, and returns the number of elements done.
func expSumBlocks(c Mem) {
	TEXT("expSumBlocksAVX2", NOSPLIT, "func(x *float32, n8 int, mx float32, sum *float64) int")
	Pragma("noescape")
	Doc(
		"expSumBlocksAVX2 replaces x[i] by vExpf(x[i]-mx) for whole blocks of 8",
		"of the first n8 elements and adds each block's sum to *sum.",
	)
	Load(Param("x"), RSI)
	Load(Param("n8"), RCX)
	VBROADCASTSS(paramAddr("mx"), Y12)
	Load(Param("sum"), RDX)
	VMOVSD(Mem{Base: RDX}, X13)
	XORQ(RAX, RAX)

	Label("esbloop")
	CMPQ(RAX, RCX)
	JGE(LabelRef("esbdone"))
	x := Mem{Base: RSI, Index: RAX, Scale: 4}
	VMOVUPS(x, Y0)
	VSUBPS(Y12, Y0, Y0)
	vexpf8(c)
	VMOVMSKPS(Y11, EBX)
	TESTL(EBX, EBX)
	JNZ(LabelRef("esbdone"))
	VMOVUPS(Y1, x)
	Comment("The block's sum: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).")
	VEXTRACTF128(U8(1), Y1, X2)
	VADDPS(X2, X1, X1)
	VMOVHLPS(X1, X1, X2)
	VADDPS(X2, X1, X1)
	VMOVSHDUP(X1, X2)
	VADDSS(X2, X1, X1)
	VCVTSS2SD(X1, X1, X1)
	VADDSD(X1, X13, X13)
	ADDQ(U8(8), RAX)
	JMP(LabelRef("esbloop"))

	Label("esbdone")
	VMOVSD(X13, Mem{Base: RDX})
	VZEROUPPER()
	Store(RAX, ReturnIndex(0))
	RET()
}

// swiGLUBlocks emits swiGLUBlocksAVX2: gate[i] = gate[i] / (1 +
// ggml_v_expf(0 - gate[i])) * up[i] for whole blocks of 8 (n8 elements),
// like ggml_vec_swiglu_f32 on AVX2. It stops before the first block that
// needs ggml_v_expf's slow path and returns the number of elements done.
func swiGLUBlocks(c Mem) {
	TEXT("swiGLUBlocksAVX2", NOSPLIT, "func(gate, up *float32, n8 int) int")
	Pragma("noescape")
	Doc(
		"swiGLUBlocksAVX2 sets gate[i] = silu(gate[i])*up[i] for whole blocks of",
		"8 of the first n8 elements.",
	)
	Load(Param("gate"), RSI)
	Load(Param("up"), RDI)
	Load(Param("n8"), RCX)
	VXORPS(Y12, Y12, Y12)
	XORQ(RAX, RAX)

	Label("sgbloop")
	CMPQ(RAX, RCX)
	JGE(LabelRef("sgbdone"))
	g := Mem{Base: RSI, Index: RAX, Scale: 4}
	VMOVUPS(g, Y13)
	VSUBPS(Y13, Y12, Y0)
	vexpf8(c)
	VMOVMSKPS(Y11, EBX)
	TESTL(EBX, EBX)
	JNZ(LabelRef("sgbdone"))
	VADDPS(c.Offset(vexpOne), Y1, Y1)
	VDIVPS(Y1, Y13, Y1)
	VMULPS(Mem{Base: RDI, Index: RAX, Scale: 4}, Y1, Y1)
	VMOVUPS(Y1, g)
	ADDQ(U8(8), RAX)
	JMP(LabelRef("sgbloop"))

	Label("sgbdone")
	VZEROUPPER()
	Store(RAX, ReturnIndex(0))
	RET()
}

// The attention dot products on an F16 KV cache (engine/cpu's F16
// attention kernels, once attention_amd64.s), bit for bit equal to their
// Go twins in engine/cpu/attention.go (tinyDotRowsF16, ggmlDotRowsF16,
// roundF16s).
// Every product of two half-precision values is exact in float32, so
// VFMADD231PS rounds exactly like the Go code's fma32. Callers check the
// bounds: rows rows of n elements, stride elements apart, from x; n
// elements of y; rows results at out.

// attentionKernels emits the attention kernels and their tables.
func attentionKernels() {
	// tailMask is eight all-ones lanes then eight zero lanes: the eight
	// lanes from tailMask+32-4t keep the first t lanes of a vector.
	mask := GLOBL("tailMask", RODATA|NOPTR)
	for k := 0; k < 8; k++ {
		v := uint64(0)
		if k < 4 {
			v = 0xffffffffffffffff
		}
		DATA(8*k, U64(v))
	}
	tinyDotRowsF16(mask)
	ggmlDotRowsF16()
	roundF16()
	ggmlDotRowsF16Short()
	ggmlDotRowsF16x8()
}

// tinyDotRowsF16 emits tinyDotRowsF16AVX2: out[r] =
// tinyDotF16(x[r*stride:r*stride+n], y[:n]) * scale for r < rows, n > 0.
// Eight rows at a time share each load of y; each row keeps its own
// eight-lane accumulator, reduced as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
// The last n%8 elements go to lanes 0.. with the other lanes' products
// masked to +0*+0, which leaves those lanes as they are (an accumulator
// that starts at +0 never becomes -0). The caller guarantees that the
// rows' x can be read up to n rounded up to 8; y is read only to n.
func tinyDotRowsF16(mask Mem) {
	TEXT("tinyDotRowsF16AVX2", NOSPLIT, "func(x *uint16, stride, rows int, y *float32, n int, scale float32, out *float32)")
	Pragma("noescape")
	Doc(
		"tinyDotRowsF16AVX2 sets out[r] = tinyDotF16(x[r*stride:][:n], y[:n]) *",
		"scale for r < rows, n > 0; it reads x's rows up to n rounded up to 8.",
	)
	Load(Param("x"), RSI)
	Load(Param("stride"), RBX)
	SHLQ(U8(1), RBX) // row stride in bytes
	Load(Param("rows"), RCX)
	Load(Param("y"), RDI)
	Load(Param("n"), RDX)
	MOVQ(RDX, R13)
	ANDQ(U8(7), R13) // tail elements
	SHRQ(U8(3), RDX) // whole chunks of 8
	MOVQ(R13, R12)
	SHLQ(U8(2), R12)
	NEGQ(R12)
	LEAQ(mask.Offset(32), RAX)
	ADDQ(RAX, R12)
	VMOVUPS(Mem{Base: R12}, Y14) // first R13 lanes set
	VBROADCASTSS(paramAddr("scale"), Y15)
	Load(Param("out"), R8)
	LEAQ(Mem{Base: RBX, Index: RBX, Scale: 2}, RAX) // 3 rows

	// rows4 of the eight rows from R9 (rows 0..3) and R10 (rows 4..7).
	quad := func(base GPPhysical) [4]Mem {
		return [4]Mem{
			{Base: base},
			{Base: base, Index: RBX, Scale: 1},
			{Base: base, Index: RBX, Scale: 2},
			{Base: base, Index: RAX, Scale: 1},
		}
	}
	// fma4 converts the four rows from base and adds their products with
	// Y8 to the accumulators Y(acc)..Y(acc+3), masking the products'
	// lanes beyond the tail first when masked.
	fma4 := func(base GPPhysical, acc int, masked bool) {
		q := quad(base)
		for i := 0; i < 4; i++ {
			VCVTPH2PS(q[i], yr(9+i))
		}
		if masked {
			for i := 0; i < 4; i++ {
				VANDPS(Y14, yr(9+i), yr(9+i))
			}
		}
		for i := 0; i < 4; i++ {
			VFMADD231PS(Y8, yr(9+i), yr(acc+i))
		}
	}

	Label("rows8")
	CMPQ(RCX, U8(8))
	JLT(LabelRef("rows1"))
	for i := 0; i < 8; i++ {
		VXORPS(yr(i), yr(i), yr(i))
	}
	MOVQ(RSI, R9)
	LEAQ(Mem{Base: RSI, Index: RBX, Scale: 4}, R10)
	MOVQ(RDI, R11)
	MOVQ(RDX, R12)
	TESTQ(R12, R12)
	JZ(LabelRef("tail8"))

	Label("loop8")
	VMOVUPS(Mem{Base: R11}, Y8)
	fma4(R9, 0, false)
	fma4(R10, 4, false)
	ADDQ(U8(32), R11)
	ADDQ(U8(16), R9)
	ADDQ(U8(16), R10)
	DECQ(R12)
	JNZ(LabelRef("loop8"))

	Label("tail8")
	TESTQ(R13, R13)
	JZ(LabelRef("reduce8"))
	VMASKMOVPS(Mem{Base: R11}, Y14, Y8)
	fma4(R9, 0, true)
	fma4(R10, 4, true)

	Label("reduce8")
	Comment("Reduce the eight accumulators together: pair rows r and r+4 in",
		"the two 128-bit lanes and add the halves (a_i = l_i + l_{i+4}) ...")
	for r := 0; r < 4; r++ {
		VPERM2F128(U8(0x20), yr(r+4), yr(r), Y8)
		VPERM2F128(U8(0x31), yr(r+4), yr(r), Y9)
		VADDPS(Y9, Y8, yr(r))
	}
	Comment("... then b0 = a0+a2 and b1 = a1+a3 for two rows per lane ...")
	VUNPCKLPD(Y1, Y0, Y8)
	VUNPCKHPD(Y1, Y0, Y9)
	VADDPS(Y9, Y8, Y8)
	VUNPCKLPD(Y3, Y2, Y10)
	VUNPCKHPD(Y3, Y2, Y11)
	VADDPS(Y11, Y10, Y10)
	Comment("... and b0+b1, rows 0..7 in order.")
	VSHUFPS(U8(0x88), Y10, Y8, Y11)
	VSHUFPS(U8(0xdd), Y10, Y8, Y12)
	VADDPS(Y12, Y11, Y11)
	VMULPS(Y15, Y11, Y11)
	VMOVUPS(Y11, Mem{Base: R8})
	ADDQ(U8(32), R8)
	LEAQ(Mem{Base: RSI, Index: RBX, Scale: 8}, RSI)
	SUBQ(U8(8), RCX)
	JMP(LabelRef("rows8"))

	Label("rows1")
	TESTQ(RCX, RCX)
	JZ(LabelRef("done"))
	VXORPS(Y0, Y0, Y0)
	MOVQ(RSI, R9)
	MOVQ(RDI, R11)
	MOVQ(RDX, R12)
	TESTQ(R12, R12)
	JZ(LabelRef("tail1"))

	Label("loop1")
	VCVTPH2PS(Mem{Base: R9}, Y9)
	VFMADD231PS(Mem{Base: R11}, Y9, Y0)
	ADDQ(U8(32), R11)
	ADDQ(U8(16), R9)
	DECQ(R12)
	JNZ(LabelRef("loop1"))

	Label("tail1")
	TESTQ(R13, R13)
	JZ(LabelRef("reduce1"))
	VMASKMOVPS(Mem{Base: R11}, Y14, Y8)
	VCVTPH2PS(Mem{Base: R9}, Y9)
	VANDPS(Y14, Y9, Y9)
	VFMADD231PS(Y8, Y9, Y0)

	Label("reduce1")
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPS(X1, X0, X0) // a_i = l_i + l_{i+4}
	VMOVHLPS(X0, X0, X1)
	VADDPS(X1, X0, X0) // a0+a2, a1+a3
	VMOVSHDUP(X0, X1)
	VADDSS(X1, X0, X0)
	VMULSS(X15, X0, X0)
	VMOVSS(X0, Mem{Base: R8})
	ADDQ(U8(4), R8)
	ADDQ(RBX, RSI)
	DECQ(RCX)
	JMP(LabelRef("rows1"))

	Label("done")
	VZEROUPPER()
	RET()
}

// ggmlDotRowsF16 emits ggmlDotRowsF16AVX2: out[r] =
// ggmlDotF16(x[r*stride:r*stride+n], y[:n]) for r < rows, n > 0: four
// eight-lane accumulators over blocks of 32, reduced as ggml does
// (GGML_F32x8_REDUCE), then the leftover products added one by one in
// float64.
func ggmlDotRowsF16() {
	TEXT("ggmlDotRowsF16AVX2", NOSPLIT, "func(x *uint16, stride, rows int, y *float32, n int, out *float32)")
	Pragma("noescape")
	Doc(
		"ggmlDotRowsF16AVX2 sets out[r] = ggmlDotF16(x[r*stride:][:n], y[:n]) for",
		"r < rows; n > 0.",
	)
	Load(Param("x"), RSI)
	Load(Param("stride"), RBX)
	SHLQ(U8(1), RBX)
	Load(Param("rows"), RCX)
	Load(Param("y"), RDI)
	Load(Param("n"), RDX)
	Load(Param("out"), R8)
	MOVQ(RDX, R13)
	SHRQ(U8(5), R13)  // blocks of 32
	ANDQ(U8(31), RDX) // leftovers

	Label("grow")
	TESTQ(RCX, RCX)
	JZ(LabelRef("gdone"))
	for i := 0; i < 4; i++ {
		VXORPS(yr(i), yr(i), yr(i))
	}
	MOVQ(RSI, R9)
	MOVQ(RDI, R11)
	MOVQ(R13, R10)
	TESTQ(R10, R10)
	JZ(LabelRef("greduce"))

	Label("gblk")
	for i := 0; i < 4; i++ {
		VCVTPH2PS(Mem{Base: R9, Disp: 16 * i}, yr(4+i))
	}
	for i := 0; i < 4; i++ {
		VFMADD231PS(Mem{Base: R11, Disp: 32 * i}, yr(4+i), yr(i))
	}
	ADDQ(U8(64), R9)
	ADDQ(U32(128), R11)
	DECQ(R10)
	JNZ(LabelRef("gblk"))

	Label("greduce")
	VADDPS(Y2, Y0, Y0)
	VADDPS(Y3, Y1, Y1)
	VADDPS(Y1, Y0, Y0)
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPS(X1, X0, X0)
	VHADDPS(X0, X0, X0)
	VHADDPS(X0, X0, X0)
	VCVTSS2SD(X0, X0, X0)
	MOVQ(RDX, R10)
	TESTQ(R10, R10)
	JZ(LabelRef("gstore"))

	Label("gtail")
	MOVWLZX(Mem{Base: R9}, EAX)
	VMOVD(EAX, X4)
	VCVTPH2PS(X4, X4)
	VMULSS(Mem{Base: R11}, X4, X4)
	VCVTSS2SD(X4, X4, X4)
	VADDSD(X4, X0, X0)
	ADDQ(U8(2), R9)
	ADDQ(U8(4), R11)
	DECQ(R10)
	JNZ(LabelRef("gtail"))

	Label("gstore")
	VCVTSD2SS(X0, X0, X0)
	VMOVSS(X0, Mem{Base: R8})
	ADDQ(U8(4), R8)
	ADDQ(RBX, RSI)
	DECQ(RCX)
	JMP(LabelRef("grow"))

	Label("gdone")
	VZEROUPPER()
	RET()
}

// roundF16 emits roundF16AVX2: dst[i] = src[i] rounded to half precision
// (nearest even) for i < n, n a positive multiple of 8.
func roundF16() {
	TEXT("roundF16AVX2", NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc(
		"roundF16AVX2 sets dst[i] = roundF16(src[i]) for i < n, n > 0 a multiple",
		"of 8.",
	)
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("n"), RCX)
	SHRQ(U8(3), RCX)

	Label("rloop")
	VMOVUPS(Mem{Base: RSI}, Y0)
	VCVTPS2PH(U8(0), Y0, X1)
	VCVTPH2PS(X1, Y0)
	VMOVUPS(Y0, Mem{Base: RDI})
	ADDQ(U8(32), RSI)
	ADDQ(U8(32), RDI)
	DECQ(RCX)
	JNZ(LabelRef("rloop"))
	VZEROUPPER()
	RET()
}

// sAdd adds the float64 widenings of the four floats lo (rows 0..3) and
// hi (rows 4..7) to the row sums Y10 and Y11, through Y1 and Y5.
func sAdd(lo, hi VecPhysical) {
	VCVTPS2PD(lo, Y1)
	VCVTPS2PD(hi, Y5)
	VADDPD(Y1, Y10, Y10)
	VADDPD(Y5, Y11, Y11)
}

// sAddHigh is sAdd of the high 128-bit halves of lo and hi (through X14
// and X15).
func sAddHigh(lo, hi VecPhysical) {
	VEXTRACTF128(U8(1), lo, X14)
	VEXTRACTF128(U8(1), hi, X15)
	sAdd(X14, X15)
}

// ggmlDotRowsF16Short emits ggmlDotRowsF16ShortAVX2: ggmlDotRowsF16AVX2
// for n < 32 (no 32-wide block, so each dot is only ggml's tail: the
// float32 products added in order to +0 in float64), n a multiple of 8 and
// rows a multiple of 8: eight rows at a time, their products for eight
// elements transposed so that one float64 lane per row adds them in the
// same order.
func ggmlDotRowsF16Short() {
	TEXT("ggmlDotRowsF16ShortAVX2", NOSPLIT, "func(x *uint16, stride, rows int, y *float32, n int, out *float32)")
	Pragma("noescape")
	Doc(
		"ggmlDotRowsF16ShortAVX2 is ggmlDotRowsF16AVX2 for n < 32 and rows and n",
		"multiples of 8 (eight rows at a time); it reads exactly n elements a row.",
	)
	Load(Param("x"), RSI)
	Load(Param("stride"), RBX)
	SHLQ(U8(1), RBX)
	Load(Param("rows"), RCX)
	SHRQ(U8(3), RCX)
	Load(Param("y"), RDI)
	Load(Param("n"), RDX)
	SHRQ(U8(3), RDX)
	Load(Param("out"), R8)

	Label("sgroup")
	VXORPD(Y10, Y10, Y10)
	VXORPD(Y11, Y11, Y11)
	MOVQ(RSI, R9)
	LEAQ(Mem{Base: RSI, Index: RBX, Scale: 2}, R10)
	ADDQ(RBX, R10) // row 3
	LEAQ(Mem{Base: RSI, Index: RBX, Scale: 2}, R11)
	LEAQ(Mem{Base: R11, Index: RBX, Scale: 4}, R11) // row 6
	MOVQ(RDI, R12)
	MOVQ(RDX, R13)

	Label("selem")
	VMOVUPS(Mem{Base: R12}, Y8)
	rows := []Mem{
		{Base: R9},
		{Base: R9, Index: RBX, Scale: 1},
		{Base: R9, Index: RBX, Scale: 2},
		{Base: R10},
		{Base: R9, Index: RBX, Scale: 4},
		{Base: R10, Index: RBX, Scale: 2},
		{Base: R11},
		{Base: R10, Index: RBX, Scale: 4},
	}
	for i, m := range rows {
		VCVTPH2PS(m, yr(i))
	}
	for i := range rows {
		VMULPS(Y8, yr(i), yr(i))
	}
	Comment("rows 0..3: element e in lane e%4 of half e/4 of Y2, Y3, Y12, Y0 (e%4 = 0..3)")
	VUNPCKLPS(Y1, Y0, Y12)
	VUNPCKHPS(Y1, Y0, Y13)
	VUNPCKLPS(Y3, Y2, Y0)
	VUNPCKHPS(Y3, Y2, Y1)
	VSHUFPS(U8(0x44), Y0, Y12, Y2)
	VSHUFPS(U8(0xee), Y0, Y12, Y3)
	VSHUFPS(U8(0x44), Y1, Y13, Y12)
	VSHUFPS(U8(0xee), Y1, Y13, Y0)
	Comment("rows 4..7 likewise in Y6, Y7, Y13, Y4")
	VUNPCKLPS(Y5, Y4, Y13)
	VUNPCKHPS(Y5, Y4, Y14)
	VUNPCKLPS(Y7, Y6, Y4)
	VUNPCKHPS(Y7, Y6, Y5)
	VSHUFPS(U8(0x44), Y4, Y13, Y6)
	VSHUFPS(U8(0xee), Y4, Y13, Y7)
	VSHUFPS(U8(0x44), Y5, Y14, Y13)
	VSHUFPS(U8(0xee), Y5, Y14, Y4)

	sAdd(X2, X6)
	sAdd(X3, X7)
	sAdd(X12, X13)
	sAdd(X0, X4)
	sAddHigh(Y2, Y6)
	sAddHigh(Y3, Y7)
	sAddHigh(Y12, Y13)
	sAddHigh(Y0, Y4)

	ADDQ(U8(32), R12)
	ADDQ(U8(16), R9)
	ADDQ(U8(16), R10)
	ADDQ(U8(16), R11)
	DECQ(R13)
	JNZ(LabelRef("selem"))

	VCVTPD2PSY(Y10, X10)
	VCVTPD2PSY(Y11, X11)
	VMOVUPS(X10, Mem{Base: R8})
	VMOVUPS(X11, Mem{Base: R8, Disp: 16})
	ADDQ(U8(32), R8)
	LEAQ(Mem{Base: RSI, Index: RBX, Scale: 8}, RSI)
	DECQ(RCX)
	JNZ(LabelRef("sgroup"))
	VZEROUPPER()
	RET()
}

// ggmlDotRowsF16x8 emits ggmlDotRowsF16x8AVX2: ggmlDotRowsF16AVX2 for n a
// positive multiple of 32 (no tail, so the float64 step is exact and left
// out) and rows a positive multiple of 8: two rows share each load of y;
// each row's four accumulators are summed lane-wise as GGML_F32x8_REDUCE
// does and kept on the stack; then the horizontal steps of eight rows
// (hi+lo, then the two VHADDPS) run together, adding the same pairs in the
// same order as the one-row code.
func ggmlDotRowsF16x8() {
	TEXT("ggmlDotRowsF16x8AVX2", NOSPLIT, "func(x *uint16, stride, rows int, y *float32, n int, out *float32)")
	Pragma("noescape")
	Doc(
		"ggmlDotRowsF16x8AVX2 is ggmlDotRowsF16AVX2 for n and rows positive",
		"multiples of 32 and 8: eight rows' horizontal sums done together.",
	)
	// rowsPerm8: VPERMPS indices that put rows [0 2 4 6 | 1 3 5 7] back
	// in order.
	perm := GLOBL("rowsPerm8", RODATA|NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
	AllocLocal(256)

	Load(Param("x"), RSI)
	Load(Param("stride"), RBX)
	SHLQ(U8(1), RBX)
	Load(Param("rows"), R12)
	SHRQ(U8(3), R12)
	Load(Param("y"), R10)
	Load(Param("n"), R13)
	SHLQ(U8(1), R13) // bytes of a row's halves
	Load(Param("out"), RDX)

	Label("h8group")
	MOVQ(RSI, RCX)
	XORQ(RDI, RDI)

	Label("h8pair")
	LEAQ(Mem{Base: RCX, Index: RBX, Scale: 1}, R11)
	for i := 0; i < 8; i++ {
		VXORPS(yr(i), yr(i), yr(i))
	}
	XORQ(RAX, RAX)

	Label("h8loop")
	for i := 0; i < 4; i++ {
		VCVTPH2PS(Mem{Base: RCX, Index: RAX, Scale: 1, Disp: 16 * i}, yr(8+i))
	}
	for i := 0; i < 4; i++ {
		VCVTPH2PS(Mem{Base: R11, Index: RAX, Scale: 1, Disp: 16 * i}, yr(12+i))
	}
	for i := 0; i < 8; i++ {
		VFMADD231PS(Mem{Base: R10, Index: RAX, Scale: 2, Disp: 32 * (i % 4)}, yr(8+i), yr(i))
	}
	ADDQ(U8(64), RAX)
	CMPQ(RAX, R13)
	JLT(LabelRef("h8loop"))

	VADDPS(Y2, Y0, Y0)
	VADDPS(Y3, Y1, Y1)
	VADDPS(Y1, Y0, Y0)
	VADDPS(Y6, Y4, Y4)
	VADDPS(Y7, Y5, Y5)
	VADDPS(Y5, Y4, Y4)
	VMOVUPS(Y0, Mem{Base: RSP, Index: RDI, Scale: 1})
	VMOVUPS(Y4, Mem{Base: RSP, Index: RDI, Scale: 1, Disp: 32})
	LEAQ(Mem{Base: RCX, Index: RBX, Scale: 2}, RCX)
	ADDQ(U8(64), RDI)
	CMPQ(RDI, U32(256))
	JLT(LabelRef("h8pair"))

	for k, d := range []VecPhysical{Y8, Y10, Y11, Y12} {
		VMOVUPS(Mem{Base: RSP, Disp: 64 * k}, Y0)
		VMOVUPS(Mem{Base: RSP, Disp: 64*k + 32}, Y1)
		VPERM2F128(U8(0x20), Y1, Y0, d)
		VPERM2F128(U8(0x31), Y1, Y0, Y9)
		VADDPS(Y9, d, d)
	}
	VHADDPS(Y10, Y8, Y8)
	VHADDPS(Y12, Y11, Y11)
	VHADDPS(Y11, Y8, Y8)
	VMOVUPS(perm, Y13)
	VPERMPS(Y8, Y13, Y8)
	VMOVUPS(Y8, Mem{Base: RDX})

	ADDQ(U8(32), RDX)
	LEAQ(Mem{Base: RSI, Index: RBX, Scale: 8}, RSI)
	DECQ(R12)
	JNZ(LabelRef("h8group"))

	VZEROUPPER()
	RET()
}
