package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The row-looping Q2_K/Q3_K one-token kernels (avx2k4r_amd64.s,
// AVO_SET=avx2-k4r).
//
// One-token (GEMV) kernels for Q2_K and Q3_K weights: the rows are looped
// inside the kernel, which prefetches ahead of each block. Each row's
// result is the bits of q2KDotAVX2 / q3KDotAVX2 (ggml_vec_dot_q2_K_q8_K /
// ggml_vec_dot_q3_K_q8_K on AVX2): the float operations of a row are the
// same ones in the same order (d·d_a and dmin·d_a are formed in every lane
// at once, which rounds the same); only the exact integer work is arranged
// differently (scale shuffles from a table, the scales widened or unpacked
// in vector form, the Q3_K high bits moved with shifts), which gives the
// same int32 lanes.

// avx2K4r emits q2KGemvAVX2 and q3KGemvAVX2.
func avx2K4r() {
	shuf := k23Shuf()
	q2KGemv(shuf)
	q3KGemv(shuf)
}

// k23Shuf emits the table k23Shuf: four VPSHUFB controls of 32 bytes; the
// i-th picks word 2i of a lane of 8 scale words in the low 128-bit lane and
// word 2i+1 in the high one (get_scale_shuffle_q3k's rows).
func k23Shuf() Mem {
	shuf := GLOBL("k23Shuf", RODATA|NOPTR)
	for k := 0; k < 8; k++ {
		// word k repeated: bytes 2k, 2k+1 four times over 8 bytes, twice
		w := uint64(2*k) | uint64(2*k+1)<<8
		v := w * 0x0001000100010001
		DATA(16*k, U64(v))
		DATA(16*k+8, U64(v))
	}
	return shuf
}

// k23Bcast loads the 64-bit constant v into every quadword of Y(n) (X(n)
// when x): MOVQ $v, AX; VMOVQ AX, X(n); VPBROADCASTQ.
func k23Bcast(v uint64, n int, x bool) {
	MOVQ(U64(v), RAX)
	VMOVQ(RAX, xr(n))
	if x {
		VPBROADCASTQ(xr(n), xr(n))
	} else {
		VPBROADCASTQ(xr(n), yr(n))
	}
}

// k23Prefetch prefetches the two cache lines pf (DX) bytes ahead of the
// block at SI.
func k23Prefetch() {
	PREFETCHT0(Mem{Base: RSI, Index: RDX, Scale: 1})
	PREFETCHT0(Mem{Base: RSI, Index: RDX, Scale: 1, Disp: 64})
}

// q2KGemv emits q2KGemvAVX2.
func q2KGemv(shuf Mem) {
	TEXT("q2KGemvAVX2", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int)")
	Pragma("noescape")
	Doc("q2KGemvAVX2 sets dst[0:rows] to q2KDotAVX2 of rows > 0 consecutive Q2_K",
		"rows from w (stride rowBytes, nb > 0 blocks) with a, prefetching pf > 0",
		"bytes ahead of each block (the two cache lines there, which runs on",
		"into the next rows).")
	Load(Param("dst"), R8)
	Load(Param("w"), R9)
	Load(Param("rowBytes"), R10)
	Load(Param("a"), R11)
	Load(Param("nb"), R12)
	Load(Param("rows"), R13)
	Load(Param("pf"), RDX)
	k23Bcast(0x0303030303030303, 15, false)
	k23Bcast(0x000f000f000f000f, 13, false)

	Label("q2growloop")
	MOVQ(R9, RSI)
	MOVQ(R11, RDI)
	MOVQ(R12, RCX)
	VXORPS(Y7, Y7, Y7)

	Label("q2gloop")
	k23Prefetch()

	Comment("d = y.d*x.d (Y4), dmin = y.d*x.dmin (Y5), each in every lane")
	VPBROADCASTD(Mem{Base: RSI, Disp: 80}, X0)
	VCVTPH2PS(X0, Y0)
	VBROADCASTSS(Mem{Base: RDI}, Y1)
	VMULPS(Y1, Y0, Y0)
	VMOVSLDUP(Y0, Y4)
	VMOVSHDUP(Y0, Y5)

	Comment("the 16 scale bytes as words: mins (high nibbles) and scales")
	VPMOVZXBW(Mem{Base: RSI}, Y2)
	VPSRLW(U8(4), Y2, Y3)

	Comment("acc -= dmin * (mins . bsums), per lane pair")
	VPMADDWD(Mem{Base: RDI, Disp: 260}, Y3, Y3)
	VCVTDQ2PS(Y3, Y3)
	VFNMADD231PS(Y3, Y5, Y7)

	Comment("scales: Y11 = groups 0..7 twice, Y9 = groups 8..15 twice")
	VPAND(Y13, Y2, Y1)
	VPERM2I128(U8(0x00), Y1, Y1, Y11)
	VPERM2I128(U8(0x11), Y1, Y1, Y9)
	VPXOR(Y8, Y8, Y8)

	for h, sc := range []VecPhysical{Y11, Y9} {
		VMOVDQU(Mem{Base: RSI, Disp: 16 + 32*h}, Y0)
		for j := 0; j < 4; j++ {
			q2gStep(shuf, 4+128*h+32*j, 2*j, sc, 32*j)
		}
	}

	VCVTDQ2PS(Y8, Y8)
	VFMADD231PS(Y8, Y4, Y7)

	ADDQ(Imm(84), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q2gloop"))

	hsumFloat8(7, 0, 1)
	MOVSS(X0, Mem{Base: R8})
	ADDQ(Imm(4), R8)
	ADDQ(R10, R9)
	DECQ(R13)
	JNZ(LabelRef("q2growloop"))

	VZEROUPPER()
	RET()
}

// q2gStep adds one 32-value chunk of a Q2_K half to the int32 lanes of Y8:
// the 2-bit values (Y0 >> shift) & 3 times the Q8_K quants pairwise
// (VPMADDUBSW), then times the sub-block scales of sc picked by table
// row sh (VPMADDWD). Shift 0 skips the shift.
func q2gStep(shuf Mem, q8off, shift int, sc VecPhysical, sh int) {
	if shift == 0 {
		VPAND(Y15, Y0, Y1)
	} else {
		VPSRLW(U8(uint8(shift)), Y0, Y1)
		VPAND(Y15, Y1, Y1)
	}
	q2gMul(shuf, q8off, sc, sh)
}

// q2gMul is the multiply-add half of q2gStep, the 2-bit values in Y1.
func q2gMul(shuf Mem, q8off int, sc VecPhysical, sh int) {
	VPMADDUBSW(Mem{Base: RDI, Disp: q8off}, Y1, Y1)
	VPSHUFB(shuf.Offset(sh), sc, Y3)
	VPMADDWD(Y3, Y1, Y1)
	VPADDD(Y1, Y8, Y8)
}

// q3KGemv emits q3KGemvAVX2.
func q3KGemv(shuf Mem) {
	// k23Q3Shift: the dword shifts 0, 2, 4, 6 that bring the high bits of
	// Q3_K scales 4k..4k+3 to the bottom of dword k.
	q3shift := GLOBL("k23Q3Shift", RODATA|NOPTR)
	DATA(0, U64(0x0000000200000000))
	DATA(8, U64(0x0000000600000004))

	TEXT("q3KGemvAVX2", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int)")
	Pragma("noescape")
	Doc("q3KGemvAVX2 is q2KGemvAVX2 for Q3_K rows, each row q3KDotAVX2's bits.")
	Load(Param("dst"), R8)
	Load(Param("w"), R9)
	Load(Param("rows"), R14)
	Load(Param("pf"), RDX)
	k23Bcast(0x0303030303030303, 15, false)
	k23Bcast(0x0404040404040404, 14, false)
	k23Bcast(0x2020202020202020, 13, true)
	VPCMPEQB(Y12, Y12, Y12)
	k23Bcast(0x0f0f0f0f0f0f0f0f, 10, true)

	Label("q3growloop")
	MOVQ(R9, RSI)
	Load(Param("a"), RDI)
	Load(Param("nb"), RCX)
	VXORPS(Y7, Y7, Y7)

	Label("q3gloop")
	k23Prefetch()

	Comment("16 scales - 32 as words (ggml's aux trick, in vector form): the",
		"low nibbles of scale bytes 0..7, then their high nibbles, each with",
		"bits 2k..2k+1 of bytes 8..11 on top for scales 4k..4k+3.")
	VMOVQ(Mem{Base: RSI, Disp: 96}, X1)
	VPSRLW(U8(4), X1, X2)
	VPUNPCKLQDQ(X2, X1, X1)
	VPAND(X10, X1, X1)
	VPBROADCASTD(Mem{Base: RSI, Disp: 104}, X2)
	VPSRLVD(q3shift, X2, X2)
	VPAND(X15, X2, X2)
	VPSLLD(U8(4), X2, X2)
	VPOR(X2, X1, X1)
	VPSUBB(X13, X1, X1)
	VPMOVSXBW(X1, Y1)
	VPERM2I128(U8(0x00), Y1, Y1, Y11)
	VPERM2I128(U8(0x11), Y1, Y1, Y9)

	Comment("Y6 = ~hmask")
	VPXOR(Mem{Base: RSI}, Y12, Y6)
	VPXOR(Y8, Y8, Y8)

	// hbit = 4h+j of the hmask byte goes to bit 2: a left shift by 2-hbit
	// below 2, none at 2, a right shift by hbit-2 above.
	for h, sc := range []VecPhysical{Y11, Y9} {
		VMOVDQU(Mem{Base: RSI, Disp: 32 + 32*h}, Y0)
		for j := 0; j < 4; j++ {
			q3gStep(shuf, 4+128*h+32*j, 2*j, 4*h+j, sc, 32*j)
		}
	}

	Comment("acc += d * sumi, d = y.d * x.d in every lane")
	VPBROADCASTW(Mem{Base: RSI, Disp: 108}, X4)
	VCVTPH2PS(X4, Y4)
	VBROADCASTSS(Mem{Base: RDI}, Y3)
	VMULPS(Y3, Y4, Y4)
	VCVTDQ2PS(Y8, Y8)
	VFMADD231PS(Y8, Y4, Y7)

	ADDQ(Imm(110), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q3gloop"))

	hsumFloat8(7, 0, 1)
	MOVSS(X0, Mem{Base: R8})
	ADDQ(Imm(4), R8)
	rowBytes, err := Param("rowBytes").Resolve()
	if err != nil {
		panic(err)
	}
	ADDQ(rowBytes.Addr, R9)
	DECQ(R14)
	JNZ(LabelRef("q3growloop"))

	VZEROUPPER()
	RET()
}

// q3gStep adds one 32-value chunk of a Q3_K half to the int32 lanes of Y8:
// the 2-bit values (Y0 >> shift) & 3 minus 4 where bit hbit of the hmask
// byte is clear (Y6 holds ~hmask; its bit hbit is moved to bit 2 by a
// VPSLLW for hbit < 2 and a VPSRLW above, and kept by Y14 = 0x04 bytes),
// times the Q8_K quants pairwise (two VPMADDUBSW, subtracted as ggml
// does), then times the sub-block scales of sc picked by table row sh
// (VPMADDWD).
func q3gStep(shuf Mem, q8off, shift, hbit int, sc VecPhysical, sh int) {
	if shift == 0 {
		VPAND(Y15, Y0, Y1)
	} else {
		VPSRLW(U8(uint8(shift)), Y0, Y1)
		VPAND(Y15, Y1, Y1)
	}
	switch {
	case hbit < 2:
		VPSLLW(U8(uint8(2-hbit)), Y6, Y2)
		VPAND(Y14, Y2, Y2)
	case hbit == 2:
		VPAND(Y14, Y6, Y2)
	default:
		VPSRLW(U8(uint8(hbit-2)), Y6, Y2)
		VPAND(Y14, Y2, Y2)
	}
	q3gMul(shuf, q8off, sc, sh)
}

// q3gMul is the multiply-add half of q3gStep, the 2-bit values in Y1 and
// the 4s to subtract in Y2.
func q3gMul(shuf Mem, q8off int, sc VecPhysical, sh int) {
	VPMADDUBSW(Mem{Base: RDI, Disp: q8off}, Y1, Y1)
	VPMADDUBSW(Mem{Base: RDI, Disp: q8off}, Y2, Y2)
	VPSUBW(Y2, Y1, Y1)
	VPSHUFB(shuf.Offset(sh), sc, Y3)
	VPMADDWD(Y3, Y1, Y1)
	VPADDD(Y1, Y8, Y8)
}
