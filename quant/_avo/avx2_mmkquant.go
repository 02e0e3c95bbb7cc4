package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Batched K-quant kernels (avx2mmkquant_amd64.s, AVO_SET=avx2-mmkquant):
// one weight row times four or eight Q8_K activation rows (row j at a +
// j*aStride). Each weight block is decoded once; for every (weight row,
// activation row) pair the integer lane sums and the float operations
// (order, FMA placement, reduction) are those of the row kernels in
// avx2kquant_amd64.s, so each result equals the row kernel's bit for bit.
//
// Every kernel keeps w in SI, activation row 0 in DI (rows 4..7 in DX for
// the eight-row forms), aStride in R8 and 3*aStride in R9, the scratch tmp
// in BX and the block count in CX. A Q8_K block is 292 bytes (d at 0, qs at
// 4, bsums at 260).

// mmkquantDots emits q4KQ8KDot4AVX2, q6KQ8KDot4AVX2, q4KQ8KDot8AVX2 and
// q6KQ8KDot8AVX2.
func mmkquantDots() {
	q4KQ8KDot4()
	q6KQ8KDot4()
	q4KQ8KDot8()
	q6KQ8KDot8()
}

// mmkqHead declares a batched kernel and loads w, a, aStride (and
// 3*aStride into R9); tmpFirst says whether tmp goes to BX before nb goes
// to CX (the order of the hand-written kernels).
func mmkqHead(name string, tmpFirst bool, doc ...string) {
	TEXT(name, NOSPLIT, "func(w, a *byte, aStride int, tmp *byte, nb int, out *float32)")
	Pragma("noescape")
	Doc(doc...)
	Load(Param("w"), RSI)
	Load(Param("a"), RDI)
	Load(Param("aStride"), R8)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R9)
	if tmpFirst {
		Load(Param("tmp"), RBX)
		Load(Param("nb"), RCX)
	} else {
		Load(Param("nb"), RCX)
		Load(Param("tmp"), RBX)
	}
}

// mmkNext advances w by the weight block size and a by one Q8_K block and
// loops to label while blocks are left.
func mmkNext(label string, wBlock int) {
	ADDQ(U32(wBlock), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef(label))
}

// mmkRows8 addresses the Q8_K blocks of the eight activation rows at disp:
// rows 0..3 from DI, rows 4..7 from DX.
func mmkRows8(disp int) [8]Mem {
	lo, hi := rows4(RDI, disp), rows4(RDX, disp)
	return [8]Mem{lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]}
}

// bx is disp(BX), the scratch at tmp.
func bx(disp int) Mem { return Mem{Base: RBX, Disp: disp} }

// q4bDecode is the per-block head of the Q4_K kernels: fp32(d_w) in X13,
// fp32(dmin_w) in X14 (lane 0), then the scales (AX, R13) and mins (R12,
// R10) as in q4KDotAVX2 (kScalesMins), and tmp back in BX.
func q4bDecode() {
	VMOVD(Mem{Base: RSI}, X13)
	VCVTPH2PS(X13, X13)
	VMOVSHDUP(X13, X14)

	// scales (AX, R13) and mins (R12, R10), as in q4KDotAVX2
	kScalesMins()
	Load(Param("tmp"), RBX)
}

// q4bScaleVectors stores the eight scales (AX, R13, through X4) as words
// at 0(BX) and each broadcast to a vector at 32+32i(BX).
func q4bScaleVectors() {
	VMOVQ(RAX, X4)
	VPINSRD(U8(1), R13L, X4, X4)
	VPMOVZXBW(X4, X4)
	VMOVDQU(X4, bx(0))
	for i := 0; i < 8; i++ {
		VPBROADCASTW(bx(2*i), Y0)
		VMOVDQU(Y0, bx(32+32*i))
	}
}

// q4bNibbles loads 32 bytes of Q4_K quants at qoff(SI): low nibbles into
// Y0, high nibbles into Y1 (mask Y15).
func q4bNibbles(qoff int) {
	VMOVDQU(Mem{Base: RSI, Disp: qoff}, Y0)
	VPSRLW(U8(4), Y0, Y1)
	VPAND(Y15, Y0, Y0)
	VPAND(Y15, Y1, Y1)
}

// q4bRow adds one 32+32-value chunk of a Q4_K block to an activation row's
// int32 lanes acc: low nibbles Y0 with the Q8_K quants at lo, high nibbles
// Y1 with those at hi, weighted by the sub-block scale vectors slo and shi
// (memory in the four-row kernel, Y12 and Y13 in the eight-row one). Uses
// Y2, Y3.
func q4bRow(acc VecPhysical, lo, hi Mem, slo, shi Op) {
	VPMADDUBSW(lo, Y0, Y2)
	VPMADDUBSW(hi, Y1, Y3)
	VPMADDWD(slo, Y2, Y2)
	VPMADDWD(shi, Y3, Y3)
	VPADDD(Y2, acc, acc)
	VPADDD(Y3, acc, acc)
}

// q4bMins adds -dmin_w*d_a times (mins . pairwise bsums) of the activation
// row whose block is at B to the 4-lane mins accumulator at moff(BX), as
// q4KDotAVX2 does; d_a is in X0, d_w*d_a is computed into X1 and
// dmin_w*d_a into X2. The four-row kernel has fp32(d_w), fp32(dmin_w) in
// X13, X14 and the mins words in X5; the eight-row one (inMem) has them
// at 672, 676 and 688(BX).
func q4bMins(B Mem, moff int, inMem bool) {
	VMOVSS(B, X0)
	if inMem {
		VMULSS(bx(672), X0, X1)
		VMULSS(bx(676), X0, X2)
	} else {
		VMULSS(X0, X13, X1)
		VMULSS(X0, X14, X2)
	}
	VMOVDQU(B.Offset(260), X3)
	VPHADDW(B.Offset(276), X3, X3)
	if inMem {
		VPMADDWD(bx(688), X3, X3)
	} else {
		VPMADDWD(X3, X5, X3)
	}
	VCVTDQ2PS(X3, X3)
	VBROADCASTSS(X2, X2)
	VMOVUPS(bx(moff), X0)
	VFNMADD231PS(X3, X2, X0)
	VMOVUPS(X0, bx(moff))
	VBROADCASTSS(X1, Y1)
}

// q4bOut reduces an activation row's accumulators (mins at moff(BX), main
// facc) as q4KDotAVX2 does and stores the sum at oo(DX).
func q4bOut(facc int, moff, oo int) {
	VMOVUPS(bx(moff), X7)
	VMOVHLPS(X7, X7, X0)
	VADDPS(X0, X7, X7)
	VMOVSHDUP(X7, X0)
	VADDSS(X0, X7, X7)
	hsumFloat8(facc, 0, 1)
	VADDSS(X7, X0, X0)
	VMOVSS(X0, Mem{Base: RDX, Disp: oo})
}

// q4KQ8KDot4 emits q4KQ8KDot4AVX2. tmp is 352 bytes of scratch: the
// block's scale words (0), its eight broadcast sub-block scale vectors
// (32..287) and the four rows' mins accumulators (288..351).
func q4KQ8KDot4() {
	mmkqHead("q4KQ8KDot4AVX2", false,
		"q4KQ8KDot4AVX2 is the batched form of q4KDotAVX2: one Q4_K weight row (w,",
		"nb blocks) times four Q8_K activation rows (row 0 at a, the others",
		"aStride bytes apart), writing out[0..3], each equal bit for bit to",
		"q4KDotAVX2 on that pair. tmp is 352 bytes of scratch. It needs",
		"LevelAVX2 and nb > 0.")
	bcastQ(0x0f0f0f0f0f0f0f0f, 15)
	for _, f := range []VecPhysical{Y8, Y9, Y10, Y11} {
		VXORPS(f, f, f)
	}
	VMOVUPS(Y8, bx(288))
	VMOVUPS(Y8, bx(320))

	Label("q4bloop")
	q4bDecode()

	VMOVQ(R12, X5)
	VPINSRD(U8(1), R10L, X5, X5)
	VPMOVZXBW(X5, X5)
	q4bScaleVectors()

	accs := []VecPhysical{Y4, Y6, Y7, Y12}
	for _, a := range accs {
		VPXOR(a, a, a)
	}
	for c := 0; c < 4; c++ {
		q4bNibbles(16 + 32*c)
		lo, hi := rows4(RDI, 4+64*c), rows4(RDI, 36+64*c)
		for r, a := range accs {
			q4bRow(a, lo[r], hi[r], bx(32+64*c), bx(64+64*c))
		}
	}

	// q4bEnd: the mins term, then the int32 lanes into the float
	// accumulator with d
	B := rows4(RDI, 0)
	for r, a := range accs {
		q4bMins(B[r], 288+16*r, false)
		VCVTDQ2PS(a, a)
		VFMADD231PS(a, Y1, yr(8+r))
	}

	mmkNext("q4bloop", 144)

	Load(Param("out"), RDX)
	for r := 0; r < 4; r++ {
		q4bOut(8+r, 288+16*r, 4*r)
	}
	VZEROUPPER()
	RET()
}

// q6bQuant builds the 6-bit quants of one 32-value chunk k of a Q6_K block
// into Y3 as q6KDotAVX2 does (low 4 bits from lo under the 0x0f mask, high
// 2 from Y2 under mask m, moved into place by shift), stores them at
// 32k(BX) and the chunk's sub-block scale words (picked by the shuffle X14,
// which advances by step) at 256+32k(BX). Uses Y4.
func q6bQuant(lo VecPhysical, mask0f, m Op, shift func(), step Op, k int) {
	VPAND(mask0f, lo, Y3)
	VPAND(m, Y2, Y4)
	if shift != nil {
		shift()
	}
	VPOR(Y4, Y3, Y3)
	VMOVDQU(Y3, bx(32*k))
	VPSHUFB(X14, X7, X4)
	VPADDB(step, X14, X14)
	VPMOVSXBW(X4, Y4)
	VMOVDQU(Y4, bx(256+32*k))
}

func q6bShl4() { VPSLLW(U8(4), Y4, Y4) }
func q6bShl2() { VPSLLW(U8(2), Y4, Y4) }
func q6bShr2() { VPSRLW(U8(2), Y4, Y4) }

// q6bHalf decodes the four chunks k..k+3 of a Q6_K block (low bits at
// qloff(SI), high bits at qhoff(SI)); masks holds the 0x0f mask and the
// four high-bit masks (0x03, 0x0c, 0x30, 0xc0 bytes), step the shuffle
// step.
func q6bHalf(qloff, qhoff, k int, masks [5]Op, step Op) {
	VMOVDQU(Mem{Base: RSI, Disp: qloff}, Y0)
	VMOVDQU(Mem{Base: RSI, Disp: qloff + 32}, Y1)
	VMOVDQU(Mem{Base: RSI, Disp: qhoff}, Y2)
	q6bQuant(Y0, masks[0], masks[1], q6bShl4, step, k)
	q6bQuant(Y1, masks[0], masks[2], q6bShl2, step, k+1)
	VPSRLW(U8(4), Y0, Y0)
	VPSRLW(U8(4), Y1, Y1)
	q6bQuant(Y0, masks[0], masks[3], nil, step, k+2)
	q6bQuant(Y1, masks[0], masks[4], q6bShr2, step, k+3)
}

// q6bRow adds chunk k's products (quants Y3) with an activation row's
// quants at q8 to that row's int32 lanes acc, weighted by the scale words
// sc. Uses Y0.
func q6bRow(acc VecPhysical, q8 Mem, sc Op) {
	VPMADDUBSW(q8, Y3, Y0)
	VPMADDWD(sc, Y0, Y0)
	VPADDD(Y0, acc, acc)
}

// q6bBlockScale puts the block's scale bytes as words in Y4 and fp32(d_w)
// in X3.
func q6bBlockScale() {
	VPMOVSXBW(X7, Y4)
	MOVWLZX(Mem{Base: RSI, Disp: 208}, EAX)
	VMOVD(EAX, X3)
	VCVTPH2PS(X3, X3)
}

// q6bEnd finishes one block for the activation row whose block is at B as
// q6KDotAVX2 does: acc -= 32 * (bsums . scales) (scale words in Y4), then
// the float accumulator at foff(BX) += (d_w*d_a) * acc; X3 holds fp32(d_w).
func q6bEnd(acc VecPhysical, foff int, B Mem) {
	VPMADDWD(B.Offset(260), Y4, Y0)
	VPSLLD(U8(5), Y0, Y0)
	VPSUBD(Y0, acc, acc)
	VMULSS(B, X3, X0)
	VBROADCASTSS(X0, Y0)
	VCVTDQ2PS(acc, acc)
	VMOVUPS(bx(foff), Y7)
	VFMADD231PS(acc, Y0, Y7)
	VMOVUPS(Y7, bx(foff))
}

// q6bOut reduces the float accumulator at foff(BX) and stores the sum at
// oo(DX).
func q6bOut(foff, oo int) {
	VMOVUPS(bx(foff), Y5)
	hsumFloat8(5, 0, 1)
	VMOVSS(X0, Mem{Base: RDX, Disp: oo})
}

// q6KQ8KDot4 emits q6KQ8KDot4AVX2. tmp is 640 bytes of scratch: the
// block's eight 6-bit quant vectors (0..255), their scale words (256..511)
// and the four rows' float accumulators (512..639).
func q6KQ8KDot4() {
	mmkqHead("q6KQ8KDot4AVX2", true,
		"q6KQ8KDot4AVX2 is the batched form of q6KDotAVX2, with the arguments of",
		"q4KQ8KDot4AVX2; tmp is 640 bytes of scratch.")
	q6Consts()
	VXORPS(Y0, Y0, Y0)
	for r := 0; r < 4; r++ {
		VMOVUPS(Y0, bx(512+32*r))
	}

	Label("q6bloop")
	VMOVDQU(Mem{Base: RSI, Disp: 192}, X7)
	VMOVDQU(X9, X14)
	masks := [5]Op{Y15, Y13, Y12, Y11, Y10}
	q6bHalf(0, 128, 0, masks, X8)
	q6bHalf(64, 160, 4, masks, X8)

	accs := []VecPhysical{Y1, Y2, Y5, Y6}
	for _, a := range accs {
		VPXOR(a, a, a)
	}
	for k := 0; k < 8; k++ {
		VMOVDQU(bx(32*k), Y3)
		q8 := rows4(RDI, 4+32*k)
		for r, a := range accs {
			q6bRow(a, q8[r], bx(256+32*k))
		}
	}

	q6bBlockScale()
	B := rows4(RDI, 0)
	for r, a := range accs {
		q6bEnd(a, 512+32*r, B[r])
	}

	mmkNext("q6bloop", 210)

	Load(Param("out"), RDX)
	for r := 0; r < 4; r++ {
		q6bOut(512+32*r, 4*r)
	}
	VZEROUPPER()
	RET()
}

// q4KQ8KDot8 emits q4KQ8KDot8AVX2, the eight-row form of q4KQ8KDot4AVX2.
// tmp is 704 bytes of scratch: scale words (0), the sub-block scale vectors
// (32..287), the eight rows' mins accumulators (288..415) and float
// accumulators (416..671), fp32(d_w), fp32(dmin_w) (672..679) and the mins
// words (688..703). Each chunk's two sub-block scale vectors are loaded
// once into Y12, Y13 for the eight rows.
func q4KQ8KDot8() {
	mmkqHead("q4KQ8KDot8AVX2", false,
		"q4KQ8KDot8AVX2 is the eight-row form of q4KQ8KDot4AVX2: activation rows",
		"0..7 at aStride, out eight sums; tmp is 704 bytes of scratch.")
	bcastQ(0x0f0f0f0f0f0f0f0f, 15)
	VXORPS(Y0, Y0, Y0)
	for off := 288; off <= 640; off += 32 {
		VMOVUPS(Y0, bx(off))
	}

	Label("q4b8loop")
	q4bDecode()
	LEAQ(Mem{Base: RDI, Index: R8, Scale: 4}, RDX)

	VMOVQ(R12, X12)
	VPINSRD(U8(1), R10L, X12, X12)
	VPMOVZXBW(X12, X12)
	VMOVDQU(X12, bx(688))
	VMOVDQU(X13, bx(672))
	q4bScaleVectors()

	for n := 4; n < 12; n++ {
		VPXOR(yr(n), yr(n), yr(n))
	}
	for c := 0; c < 4; c++ {
		q4bNibbles(16 + 32*c)
		VMOVDQU(bx(32+64*c), Y12)
		VMOVDQU(bx(64+64*c), Y13)
		lo, hi := mmkRows8(4+64*c), mmkRows8(36+64*c)
		for r := 0; r < 8; r++ {
			q4bRow(yr(4+r), lo[r], hi[r], Y12, Y13)
		}
	}

	// q4b8End: q4bEnd with the float accumulators in memory
	B := mmkRows8(0)
	for r := 0; r < 8; r++ {
		a := yr(4 + r)
		q4bMins(B[r], 288+16*r, true)
		VCVTDQ2PS(a, a)
		VMOVUPS(bx(416+32*r), Y0)
		VFMADD231PS(a, Y1, Y0)
		VMOVUPS(Y0, bx(416+32*r))
	}

	mmkNext("q4b8loop", 144)

	Load(Param("out"), RDX)
	for r := 0; r < 8; r++ {
		VMOVUPS(bx(416+32*r), Y8)
		q4bOut(8, 288+16*r, 4*r)
	}
	VZEROUPPER()
	RET()
}

// q6KQ8KDot8 emits q6KQ8KDot8AVX2, the eight-row form of q6KQ8KDot4AVX2.
// tmp is 960 bytes of scratch: the block's quant vectors (0..255) and scale
// words (256..511), the eight rows' float accumulators (512..767) and the
// masks (768..959), as all sixteen vector registers are taken.
func q6KQ8KDot8() {
	mmkqHead("q6KQ8KDot8AVX2", true,
		"q6KQ8KDot8AVX2 is the eight-row form of q6KQ8KDot4AVX2; tmp is 960 bytes",
		"of scratch.")
	// q6bConst: broadcast each byte pattern and store it at off(BX)
	for _, c := range []struct {
		v   uint64
		off int
	}{
		{0x0f0f0f0f0f0f0f0f, 768},
		{0x0303030303030303, 800},
		{0x0c0c0c0c0c0c0c0c, 832},
		{0x3030303030303030, 864},
		{0xc0c0c0c0c0c0c0c0, 896},
		{0x0202020202020202, 944},
	} {
		MOVQ(U64(c.v), RAX)
		VMOVQ(RAX, X0)
		VPBROADCASTQ(X0, Y0)
		VMOVDQU(Y0, bx(c.off))
	}
	MOVQ(U64(0x0101010101010101), RAX)
	VPXOR(X0, X0, X0)
	VPINSRQ(U8(1), RAX, X0, X0)
	VMOVDQU(X0, bx(928))
	VXORPS(Y0, Y0, Y0)
	for r := 0; r < 8; r++ {
		VMOVUPS(Y0, bx(512+32*r))
	}

	Label("q6b8loop")
	LEAQ(Mem{Base: RDI, Index: R8, Scale: 4}, RDX)
	VMOVDQU(Mem{Base: RSI, Disp: 192}, X7)
	VMOVDQU(bx(928), X14)
	masks := [5]Op{bx(768), bx(800), bx(832), bx(864), bx(896)}
	q6bHalf(0, 128, 0, masks, bx(944))
	q6bHalf(64, 160, 4, masks, bx(944))

	for n := 8; n < 16; n++ {
		VPXOR(yr(n), yr(n), yr(n))
	}
	for k := 0; k < 8; k++ {
		// chunk k's quants (Y3) and scale words (Y1), loaded once
		VMOVDQU(bx(32*k), Y3)
		VMOVDQU(bx(256+32*k), Y1)
		q8 := mmkRows8(4 + 32*k)
		for r := 0; r < 8; r++ {
			q6bRow(yr(8+r), q8[r], Y1)
		}
	}

	q6bBlockScale()
	B := mmkRows8(0)
	for r := 0; r < 8; r++ {
		q6bEnd(yr(8+r), 512+32*r, B[r])
	}

	mmkNext("q6b8loop", 210)

	Load(Param("out"), RDX)
	for r := 0; r < 8; r++ {
		q6bOut(512+32*r, 4*r)
	}
	VZEROUPPER()
	RET()
}
