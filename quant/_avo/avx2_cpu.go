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
