package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 Q8_K activation quantizer and the row-looping Q6_K one-token
// kernel (avx2act_amd64.s, AVO_SET=avx2-act).

// avx2Act emits quantizeQ8KAVX2 and q6KGemvAVX2.
func avx2Act() {
	q8KAct()
	q6KGemv()
}

// q8KAct emits quantizeQ8KAVX2: quantizeQ8K (ggml's quantize_row_q8_K_ref)
// for nb > 0 blocks of 256: amax = the largest |x| (NaNs skipped, as the
// reference's ax > amax does), max = the first x with |x| == amax, iscale =
// -127/max, q = min(127, round_half_even(iscale*x)) (VCVTPS2DQ rounds as
// the reference's nearest_int for |iscale*x| <= 127), d = 1/iscale, and
// the sums of each 16 quants; a block with amax == 0 is all zeros.
func q8KAct() {
	// q8kactPerm puts the dwords of the two-step pack back in element order.
	perm := GLOBL("q8kactPerm", RODATA|NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
	TEXT("quantizeQ8KAVX2", NOSPLIT, "func(dst *byte, src *float32, nb int)")
	Pragma("noescape")
	Doc("quantizeQ8KAVX2 is quantizeQ8K for nb > 0 blocks: 256*nb floats at src",
		"into nb Q8_K blocks at dst. It needs LevelAVX2.")
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("nb"), RCX)
	MOVL(U32(0x7fffffff), EAX)
	VMOVD(EAX, X15)
	VPBROADCASTD(X15, Y15) // |x| mask
	MOVL(U32(127), EAX)
	VMOVD(EAX, X12)
	VPBROADCASTD(X12, Y12) // 127 as int32
	VMOVDQU(perm, Y13)

	Label("q8kblock")
	// amax over the block, 32 floats a step
	VXORPS(Y4, Y4, Y4)
	XORQ(RAX, RAX)
	Label("q8kamax")
	for i := 0; i < 4; i++ {
		VANDPS(Mem{Base: RSI, Index: RAX, Scale: 1, Disp: 32 * i}, Y15, yr(i))
	}
	for i := 0; i < 4; i++ {
		VMAXPS(Y4, yr(i), Y4) // max(x, acc): acc when x is NaN
	}
	ADDQ(Imm(128), RAX)
	CMPQ(RAX, U32(1024))
	JLT(LabelRef("q8kamax"))
	VEXTRACTF128(U8(1), Y4, X5)
	VMAXPS(X4, X5, X5)
	VMOVHLPS(X5, X5, X6)
	VMAXPS(X6, X5, X5)
	VMOVSHDUP(X5, X6)
	VMAXSS(X6, X5, X5) // amax
	VXORPS(X6, X6, X6)
	VUCOMISS(X6, X5)
	JNE(LabelRef("q8kfind"))
	JPS(LabelRef("q8kfind"))
	// amax == 0: an all-zero block
	VXORPS(Y0, Y0, Y0)
	for i := 0; i < 9; i++ {
		VMOVDQU(Y0, Mem{Base: RDI, Disp: 32 * i})
	}
	MOVL(U32(0), Mem{Base: RDI, Disp: 288})
	JMP(LabelRef("q8knext"))

	Label("q8kfind")
	// the first element whose magnitude is amax
	VBROADCASTSS(X5, Y5)
	XORQ(RAX, RAX)
	Label("q8kfindloop")
	VANDPS(Mem{Base: RSI, Index: RAX, Scale: 4}, Y15, Y0)
	VCMPPS(U8(0), Y5, Y0, Y0) // |x| == amax
	VMOVMSKPS(Y0, EBX)
	TESTL(EBX, EBX)
	JNZ(LabelRef("q8kfound"))
	ADDQ(Imm(8), RAX)
	CMPQ(RAX, U32(256))
	JLT(LabelRef("q8kfindloop"))
	// not reached: amax is one of the |x|
	Label("q8kfound")
	BSFL(EBX, EBX)
	ADDQ(RBX, RAX)
	VMOVSS(Mem{Base: RSI, Index: RAX, Scale: 4}, X6) // max
	MOVL(U32(0xc2fe0000), EAX)                       // -127.0
	VMOVD(EAX, X7)
	VDIVSS(X6, X7, X7)         // iscale = -127 / max
	MOVL(U32(0x3f800000), EAX) // 1.0
	VMOVD(EAX, X8)
	VDIVSS(X7, X8, X8) // d = 1 / iscale
	VMOVSS(X8, Mem{Base: RDI})
	VBROADCASTSS(X7, Y7)

	// quants and their sums, 32 a step
	XORQ(RAX, RAX)
	XORQ(RBX, RBX)
	Label("q8kquant")
	for i := 0; i < 4; i++ {
		VMULPS(Mem{Base: RSI, Index: RAX, Scale: 4, Disp: 32 * i}, Y7, yr(i))
	}
	for i := 0; i < 4; i++ {
		VCVTPS2DQ(yr(i), yr(i))
	}
	for i := 0; i < 4; i++ {
		VPMINSD(Y12, yr(i), yr(i))
	}
	// the two groups of 16: lanes summed within each 128-bit half, then
	// the halves
	VPADDD(Y1, Y0, Y8)
	VPADDD(Y3, Y2, Y9)
	VPHADDD(Y9, Y8, Y8)
	VPHADDD(Y8, Y8, Y8)
	VEXTRACTI128(U8(1), Y8, X9)
	VPADDD(X9, X8, X8)
	VPACKSSDW(X8, X8, X8)
	VMOVD(X8, EDX)
	MOVL(EDX, Mem{Base: RDI, Index: RBX, Scale: 4, Disp: 260})
	VPACKSSDW(Y1, Y0, Y0)
	VPACKSSDW(Y3, Y2, Y2)
	VPACKSSWB(Y2, Y0, Y0)
	VPERMD(Y0, Y13, Y0)
	VMOVDQU(Y0, Mem{Base: RDI, Index: RAX, Scale: 1, Disp: 4})
	ADDQ(Imm(32), RAX)
	INCQ(RBX)
	CMPQ(RAX, U32(256))
	JLT(LabelRef("q8kquant"))

	Label("q8knext")
	ADDQ(U32(1024), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q8kblock"))
	VZEROUPPER()
	RET()
}

// q6KGemv emits q6KGemvAVX2: dst[r] = ggml_vec_dot_q6_K_q8_K (AVX2, the
// steps of q6KDotAVX2) of row r of w (stride rowBytes, nb > 0 blocks) with
// a, for r in [0, rows), rows > 0. Each block also prefetches the four cache
// lines pf bytes ahead of it (pf > 0), which runs on into the next rows; the
// prefetches sit one at a time through the block's body, not bunched.
//
// It is 92 instructions a block (was 96): the 32·(bsums·scales) correction
// is the integer sum's start, the quants' products are taken from it, and
// the result, -sumi, goes in with acc -= d·(-sumi) (VFNMADD231PS: the exact
// product negated and rounded once, the same bits as acc += d·sumi; -sumi
// converts exactly as -float(sumi)). |sumi| < 256·63·128·128 < 2^31, and
// each lane pair of the correction is at most 2·2048·4096 = 2^24 (|bsum| <=
// 16·128, |32·scale| <= 4096, which fits a word).
func q6KGemv() {
	// q6kWordShuf: eight VPSHUFB controls of 32 bytes over the scale
	// words [sc_0..7 | sc_0..7] (chunks 0..3) or [sc_8..15 | sc_8..15]
	// (chunks 4..7); the i-th broadcasts word 2i mod 8 in the low lane and
	// word 2i+1 mod 8 in the high lane, chunk i's two scales.
	shuf := GLOBL("q6kWordShuf", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		for l := 0; l < 2; l++ {
			w := (2*i + l) % 8
			for k := 0; k < 8; k++ {
				DATA(32*i+16*l+2*k, U8(2*w))
				DATA(32*i+16*l+2*k+1, U8(2*w+1))
			}
		}
	}
	TEXT("q6KGemvAVX2", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int)")
	Pragma("noescape")
	Doc("q6KGemvAVX2 sets dst[0:rows] to the AVX2 Q6_K·Q8_K dot (q6KDotAVX2's",
		"steps) of rows > 0 consecutive rows from w (stride rowBytes, nb > 0",
		"blocks) with a, prefetching pf > 0 bytes ahead of each block.")
	Load(Param("dst"), R8)
	Load(Param("w"), R9)
	Load(Param("rowBytes"), R10)
	Load(Param("a"), R11)
	Load(Param("nb"), R12)
	Load(Param("rows"), R13)
	Load(Param("pf"), RDX)
	for _, c := range []struct {
		v uint64
		r int
	}{
		{0x0f0f0f0f0f0f0f0f, 15},
		{0x0303030303030303, 13},
		{0x0c0c0c0c0c0c0c0c, 12},
		{0x3030303030303030, 11},
		{0xc0c0c0c0c0c0c0c0, 10},
	} {
		MOVQ(U64(c.v), RAX)
		VMOVQ(RAX, xr(c.r))
		VPBROADCASTQ(xr(c.r), yr(c.r))
	}

	Label("q6growloop")
	MOVQ(R9, RSI)
	MOVQ(R11, RDI)
	MOVQ(R12, RCX)
	VXORPS(Y5, Y5, Y5)

	Label("q6gloop")
	pf := func(line int) { PREFETCHT0(Mem{Base: RSI, Index: RDX, Scale: 1, Disp: 64 * line}) }
	pf(0)
	VMOVDQU(Mem{Base: RSI, Disp: 192}, X7)
	Comment("the scales as words: Y7 = [sc_0..15], Y8 = [sc_0..7 | sc_0..7], Y9 = [sc_8..15 | sc_8..15]")
	VPMOVSXBW(X7, Y7)
	VPERMQ(U8(0x44), Y7, Y8)
	VPERMQ(U8(0xee), Y7, Y9)
	Comment("Y6 = 32·(bsums·scales) per lane pair, the products are taken from it")
	VPSLLW(U8(5), Y7, Y7)
	VPMADDWD(Mem{Base: RDI, Disp: 260}, Y7, Y6)
	q6gHalf(shuf, 0, 128, [4]int{4, 36, 68, 100}, 0, func() { pf(1) })
	pf(2)
	q6gHalf(shuf, 64, 160, [4]int{132, 164, 196, 228}, 4, func() { pf(3) })

	Comment("Y6 = -sumi: acc -= d·(-sumi), d = x.d·y.d")
	VPBROADCASTW(Mem{Base: RSI, Disp: 208}, X3)
	VCVTPH2PS(X3, Y3)
	VBROADCASTSS(Mem{Base: RDI}, Y4)
	VMULPS(Y4, Y3, Y3)
	VCVTDQ2PS(Y6, Y6)
	VFNMADD231PS(Y6, Y3, Y5)

	ADDQ(U32(210), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q6gloop"))

	rowLoopNext(5, "q6growloop")

	VZEROUPPER()
	RET()
}

// q6gHalf emits one half (128 quants) of a Q6_K block, taken from the
// accumulator Y6: from the low nibbles at qloff(SI) and qloff+32(SI) and
// the high bits at qhoff(SI), four chunks of 32 six-bit quants, each
// multiplied by the activations at q8[k](DI) and its scales (controls
// chunk c+k, see q6gChunk); mid is emitted after the second chunk.
func q6gHalf(shuf Mem, qloff, qhoff int, q8 [4]int, c int, mid func()) {
	VMOVDQU(Mem{Base: RSI, Disp: qloff}, Y0)
	VMOVDQU(Mem{Base: RSI, Disp: qloff + 32}, Y1)
	VMOVDQU(Mem{Base: RSI, Disp: qhoff}, Y2)
	VPAND(Y15, Y0, Y3)
	VPAND(Y13, Y2, Y4)
	VPSLLW(U8(4), Y4, Y4)
	VPOR(Y4, Y3, Y3)
	q6gChunk(shuf, q8[0], c)
	VPAND(Y15, Y1, Y3)
	VPAND(Y12, Y2, Y4)
	VPSLLW(U8(2), Y4, Y4)
	VPOR(Y4, Y3, Y3)
	q6gChunk(shuf, q8[1], c+1)
	mid()
	VPSRLW(U8(4), Y0, Y3)
	VPAND(Y15, Y3, Y3)
	VPAND(Y11, Y2, Y4)
	VPOR(Y4, Y3, Y3)
	q6gChunk(shuf, q8[2], c+2)
	VPSRLW(U8(4), Y1, Y3)
	VPAND(Y15, Y3, Y3)
	VPAND(Y10, Y2, Y4)
	VPSRLW(U8(2), Y4, Y4)
	VPOR(Y4, Y3, Y3)
	q6gChunk(shuf, q8[3], c+3)
}

// q6gChunk emits chunk c (0..7) of 32 quants in Y3 (0..63): the byte
// products with the activations at q8off(DI) summed in pairs, times the
// chunk's scale words (broadcast from Y8 or Y9 by control c of shuf),
// taken from Y6.
func q6gChunk(shuf Mem, q8off, c int) {
	src := Y8
	if c >= 4 {
		src = Y9
	}
	VPMADDUBSW(Mem{Base: RDI, Disp: q8off}, Y3, Y3)
	VPSHUFB(shuf.Offset(32*c), src, Y4)
	VPMADDWD(Y4, Y3, Y3)
	VPSUBD(Y3, Y6, Y6)
}

// rowLoopNext ends a row of the row-looping one-token kernels: the row's
// sum (the eight lanes of Y(acc)) to the float at R8, R8 to the next one,
// R9 to the next weight row (stride R10), and back to label while rows
// (R13) are left.
func rowLoopNext(acc int, label string) {
	hsumFloat8(acc, 0, 1)
	MOVSS(X0, Mem{Base: R8})
	ADDQ(Imm(4), R8)
	ADDQ(R10, R9)
	DECQ(R13)
	JNZ(LabelRef(label))
}
