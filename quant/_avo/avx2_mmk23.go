package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The batched AVX2 Q2_K, Q3_K and Q5_K kernels (avx2mmk23_amd64.s,
// AVO_SET=avx2-mmk23): one weight row times up to eight Q8_K activation
// rows. Each weight block is decoded once into registers (the 2-bit quant
// vectors) and scratch (the shuffled sub-block scale vectors, Q3_K's
// "minus 4" vectors); then every activation row runs the same integer
// steps as q2KDotAVX2/q3KDotAVX2 into the same int32 lanes and the same
// float operations (FMA placement, order, hsum_float_8), so each sum equals
// the row kernel's bit for bit.

// mmk23Kernels emits q2KQ8KDotNAVX2, q3KQ8KDotNAVX2 and q5KQ8KDotNAVX2.
func mmk23Kernels() {
	q2KDotN()
	q3KDotN()
	q5KDotN()
}

// mmkDecl is the Go signature the three kernels share.
const mmkDecl = "func(w, a *byte, aStride int, tmp *byte, nb, rows int, out *float32)"

// mmkHead loads the arguments: w (SI), a (DI), aStride (R8), tmp (BX), nb
// (CX), rows (DX).
func mmkHead() {
	Load(Param("w"), RSI)
	Load(Param("a"), RDI)
	Load(Param("aStride"), R8)
	Load(Param("tmp"), RBX)
	Load(Param("nb"), RCX)
	Load(Param("rows"), RDX)
}

// mmkConst broadcasts the 8-byte pattern c into 32 bytes at off(BX).
func mmkConst(c uint64, off int) {
	MOVQ(U64(c), RAX)
	VMOVQ(RAX, X0)
	VPBROADCASTQ(X0, Y0)
	VMOVDQU(Y0, Mem{Base: RBX, Disp: off})
}

// mmkShuf0 stores the first get_scale_shuffle_q3k row (words 0 | words 1)
// at off(BX).
func mmkShuf0(off int) {
	MOVQ(U64(0x0100010001000100), RAX)
	VMOVQ(RAX, X0)
	VPBROADCASTQ(X0, X0)
	MOVQ(U64(0x0302030203020302), RAX)
	VMOVQ(RAX, X1)
	VPBROADCASTQ(X1, X1)
	VINSERTI128(U8(1), X1, Y0, Y0)
	VMOVDQU(Y0, Mem{Base: RBX, Disp: off})
}

// mmkScales stores the eight scale-word vectors the row kernels pick with
// VPSHUFB (the shuffle starting at shuf(BX), advanced by the 0x04 bytes at
// step(BX)) from Y11 (first half) and Y9 (second half) at 0..255(BX).
// Uses Y3, Y10.
func mmkScales(shuf, step int) {
	for h, src := range []VecPhysical{Y11, Y9} {
		VMOVDQU(Mem{Base: RBX, Disp: shuf}, Y10)
		for i := 0; i < 4; i++ {
			if i > 0 {
				VPADDB(Mem{Base: RBX, Disp: step}, Y10, Y10)
			}
			VPSHUFB(Y10, src, Y3)
			VMOVDQU(Y3, Mem{Base: RBX, Disp: 128*h + 32*i})
		}
	}
}

// mmkQuants splits the 32 bytes at off(SI) into four 2-bit quant vectors
// (shifts 0, 2, 4, 6 under the 0x03 mask Y15) q0..q3. Uses Y8.
func mmkQuants(off int, q0, q1, q2, q3 VecPhysical) {
	VMOVDQU(Mem{Base: RSI, Disp: off}, Y8)
	VPAND(Y15, Y8, q0)
	VPSRLW(U8(2), Y8, q1)
	VPAND(Y15, q1, q1)
	VPSRLW(U8(4), Y8, q2)
	VPAND(Y15, q2, q2)
	VPSRLW(U8(6), Y8, q3)
	VPAND(Y15, q3, q3)
}

// mmkReduce writes hsum_float_8 of each row's float accumulator (rows DX,
// accumulators from facc(BX) on) to out; label names its loop.
func mmkReduce(facc int, label string) {
	Load(Param("out"), R9)
	LEAQ(Mem{Base: RBX, Disp: facc}, R11)
	MOVQ(RDX, R10)
	Label(label)
	VMOVUPS(Mem{Base: R11}, Y7)
	hsumFloat8(7, 0, 1)
	VMOVSS(X0, Mem{Base: R9})
	ADDQ(Imm(4), R9)
	ADDQ(Imm(32), R11)
	DECQ(R10)
	JNZ(LabelRef(label))
}

// mmkZero clears rows DX float accumulators from facc(BX) on; label names
// its loop.
func mmkZero(facc int, label string) {
	VXORPS(Y0, Y0, Y0)
	LEAQ(Mem{Base: RBX, Disp: facc}, R11)
	MOVQ(RDX, R10)
	Label(label)
	VMOVUPS(Y0, Mem{Base: R11})
	ADDQ(Imm(32), R11)
	DECQ(R10)
	JNZ(LabelRef(label))
}

// mmkQ2Step adds step k's products for the activation row at R9 (quants at
// q8off) to the int32 lanes of Y8: the 2-bit vector q times the Q8_K
// quants (VPMADDUBSW), times the step's scale words (VPMADDWD).
func mmkQ2Step(q VecPhysical, q8off, k int) {
	VPMADDUBSW(Mem{Base: R9, Disp: q8off}, q, Y10)
	VPMADDWD(Mem{Base: RBX, Disp: 32 * k}, Y10, Y10)
	VPADDD(Y10, Y8, Y8)
}

// mmkSteps emits the eight steps of one row's int32 lanes into Y8 (the 2-bit
// or 5-bit vectors Y0..Y7 times the row's Q8_K quants at 4(R9) on).
func mmkSteps() {
	VPMADDUBSW(Mem{Base: R9, Disp: 4}, Y0, Y8)
	VPMADDWD(Mem{Base: RBX, Disp: 0}, Y8, Y8)
	for k := 1; k < 8; k++ {
		mmkQ2Step(yr(k), 4+32*k, k)
	}
}

// mmkNextBlock advances w by the weight block size and a by one Q8_K block
// and loops to label while blocks are left.
func mmkNextBlock(label string, wBlock int) {
	ADDQ(Imm(uint64(wBlock)), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef(label))
}

// q2KDotN emits q2KQ8KDotNAVX2.
func q2KDotN() {
	TEXT("q2KQ8KDotNAVX2", NOSPLIT, mmkDecl)
	Pragma("noescape")
	Doc("q2KQ8KDotNAVX2 is the batched form of q2KDotAVX2 (avx2mmk23_amd64.s):",
		"one Q2_K weight row (w, nb blocks) times rows Q8_K activation rows (row 0",
		"at a, the others aStride bytes apart), 0 < rows <= 8, writing",
		"out[0..rows-1], each equal bit for bit to q2KDotAVX2 on that pair. tmp",
		"is 640 bytes of scratch: the scale vectors (0..255), the rows' float",
		"accumulators (256..511) and constants (512..639). It needs LevelAVX2",
		"and nb > 0.")
	mmkHead()
	mmkConst(0x0303030303030303, 512)
	mmkConst(0x0f0f0f0f0f0f0f0f, 544)
	mmkConst(0x0404040404040404, 576)
	Comment("the first get_scale_shuffle_q3k row: words 0 | words 1")
	mmkShuf0(608)
	mmkZero(256, "q2bzero")

	Label("q2bblock")
	Comment("fp32(d_w), fp32(dmin_w) in X13, dmin_w in X14 lane 0")
	VMOVD(Mem{Base: RSI, Disp: 80}, X13)
	VCVTPH2PS(X13, X13)
	VMOVSHDUP(X13, X14)
	Comment("mins as words (Y12); scales as words, halves twice (Y11, Y9)")
	VMOVDQU(Mem{Base: RSI}, X0)
	VPSRLW(U8(4), X0, X2)
	VPAND(Mem{Base: RBX, Disp: 544}, X2, X2)
	VPMOVZXBW(X2, Y12)
	VPAND(Mem{Base: RBX, Disp: 544}, X0, X1)
	VPMOVZXBW(X1, Y1)
	VPERM2I128(U8(0x00), Y1, Y1, Y11)
	VPERM2I128(U8(0x11), Y1, Y1, Y9)
	mmkScales(608, 576)
	VMOVDQU(Mem{Base: RBX, Disp: 512}, Y15)
	mmkQuants(16, Y0, Y1, Y2, Y3)
	mmkQuants(48, Y4, Y5, Y6, Y7)

	MOVQ(RDI, R9)
	LEAQ(Mem{Base: RBX, Disp: 256}, R11)
	MOVQ(RDX, R10)

	Label("q2brow")
	Comment("d = d_w*d_a (X9), dmin = dmin_w*d_a broadcast (Y15)")
	VMOVSS(Mem{Base: R9}, X8)
	VMULSS(X8, X13, X9)
	VMULSS(X8, X14, X15)
	VBROADCASTSS(X15, Y15)
	Comment("acc -= dmin * (mins . bsums)")
	VPMADDWD(Mem{Base: R9, Disp: 260}, Y12, Y8)
	VCVTDQ2PS(Y8, Y8)
	VMOVUPS(Mem{Base: R11}, Y11)
	VFNMADD231PS(Y8, Y15, Y11)
	Comment("the block's int32 lanes")
	mmkSteps()
	Comment("acc += d * sumi")
	VCVTDQ2PS(Y8, Y8)
	VBROADCASTSS(X9, Y9)
	VFMADD231PS(Y8, Y9, Y11)
	VMOVUPS(Y11, Mem{Base: R11})
	ADDQ(R8, R9)
	ADDQ(Imm(32), R11)
	DECQ(R10)
	JNZ(LabelRef("q2brow"))

	mmkNextBlock("q2bblock", 84)

	mmkReduce(256, "q2bred")
	VZEROUPPER()
	RET()
}

// mmkQ3Step adds step k's products for the activation row at R9 (quants at
// q8off) to the int32 lanes of Y8 as q3xStep does: VPMADDUBSW of the 2-bit
// vector q and of the step's "4 where the hmask bit is clear" vector
// (256+32k(BX)) with the Q8_K quants, their difference times the step's
// scale words.
func mmkQ3Step(q VecPhysical, q8off, k int) {
	VMOVDQU(Mem{Base: R9, Disp: q8off}, Y10)
	VMOVDQU(Mem{Base: RBX, Disp: 256 + 32*k}, Y12)
	VPMADDUBSW(Y10, q, Y11)
	VPMADDUBSW(Y10, Y12, Y12)
	VPSUBW(Y12, Y11, Y11)
	VPMADDWD(Mem{Base: RBX, Disp: 32 * k}, Y11, Y11)
	VPADDD(Y11, Y8, Y8)
}

// mmkQ3Hmask stores step k's "4 where bit k of the hmask (Y6) is clear"
// vector at 256+32k(BX) as q3xStep builds it; Y5 holds bit k in every byte
// and moves on to bit k+1. Uses Y2.
func mmkQ3Hmask(k int) {
	VPANDN(Y5, Y6, Y2)
	VPCMPEQB(Y5, Y2, Y2)
	VPAND(Y14, Y2, Y2)
	VPADDB(Y5, Y5, Y5)
	VMOVDQU(Y2, Mem{Base: RBX, Disp: 256 + 32*k})
}

// mmkQ3Scale builds one byte of Q3_K's 6-bit scales (the low nibbles lo,
// shifted right by lsh, with 2 high bits of the word R10, shifted right by
// hsh) into R12. Uses R11.
func mmkQ3Scale(lo GPPhysical, lsh, hsh int) {
	MOVL(lo, R12L)
	SHRL(U8(lsh), R12L)
	ANDL(U32(0x0f0f0f0f), R12L)
	MOVL(R10L, R11L)
	SHRL(U8(hsh), R11L)
	ANDL(U32(0x03030303), R11L)
	SHLL(U8(4), R11L)
	ORL(R11L, R12L)
}

// q3KDotN emits q3KQ8KDotNAVX2.
func q3KDotN() {
	TEXT("q3KQ8KDotNAVX2", NOSPLIT, mmkDecl)
	Pragma("noescape")
	Doc("q3KQ8KDotNAVX2 is the batched form of q3KDotAVX2, with the arguments of",
		"q2KQ8KDotNAVX2; tmp is 928 bytes of scratch: the scale vectors (0..255),",
		"the hmask vectors (256..511), the rows' float accumulators (512..767)",
		"and constants (768..927).")
	mmkHead()
	mmkConst(0x0303030303030303, 768)
	mmkConst(0x0404040404040404, 800)
	mmkConst(0x2020202020202020, 864)
	mmkConst(0x0101010101010101, 896)
	mmkShuf0(832)
	mmkZero(512, "q3bzero")

	Label("q3bblock")
	Comment("16 scales - 32 as words (ggml's aux trick), halves twice (Y11, Y9)")
	MOVL(Mem{Base: RSI, Disp: 96}, EAX)
	MOVL(Mem{Base: RSI, Disp: 100}, R9L)
	MOVL(Mem{Base: RSI, Disp: 104}, R10L)
	mmkQ3Scale(EAX, 0, 0)
	VMOVD(R12L, X1)
	mmkQ3Scale(R9L, 0, 2)
	VPINSRD(U8(1), R12L, X1, X1)
	mmkQ3Scale(EAX, 4, 4)
	VPINSRD(U8(2), R12L, X1, X1)
	mmkQ3Scale(R9L, 4, 6)
	VPINSRD(U8(3), R12L, X1, X1)
	VPSUBB(Mem{Base: RBX, Disp: 864}, X1, X1)
	VPMOVSXBW(X1, Y1)
	VPERM2I128(U8(0x00), Y1, Y1, Y11)
	VPERM2I128(U8(0x11), Y1, Y1, Y9)
	mmkScales(832, 800)
	Comment("hmask vectors")
	VMOVDQU(Mem{Base: RSI}, Y6)
	VMOVDQU(Mem{Base: RBX, Disp: 896}, Y5)
	VMOVDQU(Mem{Base: RBX, Disp: 800}, Y14)
	for k := 0; k < 8; k++ {
		mmkQ3Hmask(k)
	}
	Comment("d_w")
	MOVWLZX(Mem{Base: RSI, Disp: 108}, EAX)
	VMOVD(EAX, X13)
	VCVTPH2PS(X13, X13)
	VMOVDQU(Mem{Base: RBX, Disp: 768}, Y15)
	mmkQuants(32, Y0, Y1, Y2, Y3)
	mmkQuants(64, Y4, Y5, Y6, Y7)

	MOVQ(RDI, R9)
	LEAQ(Mem{Base: RBX, Disp: 512}, R11)
	MOVQ(RDX, R10)

	Label("q3brow")
	VPXOR(Y8, Y8, Y8)
	for k := 0; k < 8; k++ {
		mmkQ3Step(yr(k), 4+32*k, k)
	}
	Comment("acc += d * sumi, d = d_w * d_a")
	VMULSS(Mem{Base: R9}, X13, X9)
	VBROADCASTSS(X9, Y9)
	VCVTDQ2PS(Y8, Y8)
	VMOVUPS(Mem{Base: R11}, Y14)
	VFMADD231PS(Y8, Y9, Y14)
	VMOVUPS(Y14, Mem{Base: R11})
	ADDQ(R8, R9)
	ADDQ(Imm(32), R11)
	DECQ(R10)
	JNZ(LabelRef("q3brow"))

	mmkNextBlock("q3bblock", 110)

	mmkReduce(512, "q3bred")
	VZEROUPPER()
	RET()
}

// mmkQ5Quants builds the two 5-bit quant vectors of one 64-value chunk of a
// Q5_K block into lo and hi as q5xChunk does: low and high nibbles of the
// 32 bytes at qoff(SI) under the 0x0f mask Y15, plus 0x10 (Y14) where the
// qh bit (Y12 under the bit mask Y13, which moves on by one bit per
// vector) is set. Uses Y11.
func mmkQ5Quants(qoff int, lo, hi VecPhysical) {
	VMOVDQU(Mem{Base: RSI, Disp: qoff}, lo)
	VPSRLW(U8(4), lo, hi)
	VPAND(Y15, lo, lo)
	VPAND(Y15, hi, hi)
	for _, q := range []VecPhysical{lo, hi} {
		VPAND(Y13, Y12, Y11)
		VPCMPEQB(Y13, Y11, Y11)
		VPAND(Y14, Y11, Y11)
		VPOR(Y11, q, q)
		VPADDB(Y13, Y13, Y13)
	}
}

// q5KDotN emits q5KQ8KDotNAVX2.
func q5KDotN() {
	TEXT("q5KQ8KDotNAVX2", NOSPLIT, mmkDecl)
	Pragma("noescape")
	Doc("q5KQ8KDotNAVX2 is the batched form of q5KDotAVX2, with the arguments of",
		"q2KQ8KDotNAVX2; tmp is 736 bytes of scratch: the scale vectors (0..255),",
		"the rows' float accumulators (256..511), the block's mins words",
		"(512..527), fp32(d_w) and fp32(dmin_w) (528..535), the rows' scalar",
		"mins sums (544..575) and constants (576..735).")
	mmkHead()
	mmkConst(0x0f0f0f0f0f0f0f0f, 576)
	mmkConst(0x1010101010101010, 608)
	mmkConst(0x0101010101010101, 640)
	mmkConst(0x0100010001000100, 672)
	mmkConst(0x0202020202020202, 704)
	mmkZero(256, "q5bzero")
	VXORPS(X0, X0, X0)
	VMOVUPS(Y0, Mem{Base: RBX, Disp: 544})

	Label("q5bblock")
	Comment("scales (AX, R13) and mins (R12, R10), as in q5KDotAVX2")
	MOVL(Mem{Base: RSI, Disp: 4}, EAX)
	MOVL(Mem{Base: RSI, Disp: 8}, R9L)
	MOVL(Mem{Base: RSI, Disp: 12}, R11L)
	MOVL(R11L, R10L)
	SHRL(U8(4), R10L)
	ANDL(U32(0x0f0f0f0f), R10L)
	MOVL(R9L, R13L)
	SHRL(U8(6), R13L)
	ANDL(U32(0x03030303), R13L)
	SHLL(U8(4), R13L)
	ORL(R13L, R10L)
	MOVL(R9L, R12L)
	ANDL(U32(0x3f3f3f3f), R12L)
	MOVL(R11L, R13L)
	ANDL(U32(0x0f0f0f0f), R13L)
	MOVL(EAX, R9L)
	SHRL(U8(6), R9L)
	ANDL(U32(0x03030303), R9L)
	SHLL(U8(4), R9L)
	ORL(R9L, R13L)
	ANDL(U32(0x3f3f3f3f), EAX)
	VMOVQ(R12, X5)
	VPINSRD(U8(1), R10L, X5, X5)
	VPMOVZXBW(X5, X5)
	VMOVDQU(X5, Mem{Base: RBX, Disp: 512})
	VMOVQ(RAX, X0)
	VPINSRD(U8(1), R13L, X0, X0)
	VPMOVZXBW(X0, X0)
	VINSERTI128(U8(1), X0, Y0, Y11)
	Comment("the eight scale vectors (shuffle from words 0, step 2 bytes)")
	VMOVDQU(Mem{Base: RBX, Disp: 672}, Y10)
	for i := 0; i < 8; i++ {
		if i > 0 {
			VPADDB(Mem{Base: RBX, Disp: 704}, Y10, Y10)
		}
		VPSHUFB(Y10, Y11, Y3)
		VMOVDQU(Y3, Mem{Base: RBX, Disp: 32 * i})
	}
	Comment("fp32(d_w), fp32(dmin_w)")
	VMOVD(Mem{Base: RSI}, X13)
	VCVTPH2PS(X13, X13)
	VMOVDQU(X13, Mem{Base: RBX, Disp: 528})
	Comment("the eight 5-bit quant vectors Y0..Y7")
	VMOVDQU(Mem{Base: RBX, Disp: 576}, Y15)
	VMOVDQU(Mem{Base: RBX, Disp: 608}, Y14)
	VMOVDQU(Mem{Base: RBX, Disp: 640}, Y13)
	VMOVDQU(Mem{Base: RSI, Disp: 16}, Y12)
	mmkQ5Quants(48, Y0, Y1)
	mmkQ5Quants(80, Y2, Y3)
	mmkQ5Quants(112, Y4, Y5)
	mmkQ5Quants(144, Y6, Y7)

	MOVQ(RDI, R9)
	LEAQ(Mem{Base: RBX, Disp: 256}, R11)
	LEAQ(Mem{Base: RBX, Disp: 544}, R12)
	MOVQ(RDX, R13)

	Label("q5brow")
	Comment("d = d_w*d_a (X9), dmin = dmin_w*d_a (X10)")
	VMOVSS(Mem{Base: R9}, X8)
	VMULSS(Mem{Base: RBX, Disp: 528}, X8, X9)
	VMULSS(Mem{Base: RBX, Disp: 532}, X8, X10)
	Comment("summs -= dmin * sum_j m_j*(bsums[2j]+bsums[2j+1]) (one scalar FMA)")
	VMOVDQU(Mem{Base: R9, Disp: 260}, X11)
	VPHADDW(Mem{Base: R9, Disp: 276}, X11, X11)
	VPMADDWD(Mem{Base: RBX, Disp: 512}, X11, X11)
	VPSHUFD(U8(0x4e), X11, X12)
	VPADDD(X12, X11, X11)
	VPSHUFD(U8(0xb1), X11, X12)
	VPADDD(X12, X11, X11)
	VMOVD(X11, EAX)
	VCVTSI2SSL(EAX, X11, X11)
	VMOVSS(Mem{Base: R12}, X12)
	VFNMADD231SS(X11, X10, X12)
	VMOVSS(X12, Mem{Base: R12})
	Comment("the block's int32 lanes")
	mmkSteps()
	Comment("acc += d * sumi")
	VCVTDQ2PS(Y8, Y8)
	VBROADCASTSS(X9, Y9)
	VMOVUPS(Mem{Base: R11}, Y10)
	VFMADD231PS(Y8, Y9, Y10)
	VMOVUPS(Y10, Mem{Base: R11})
	ADDQ(R8, R9)
	ADDQ(Imm(32), R11)
	ADDQ(Imm(4), R12)
	DECQ(R13)
	JNZ(LabelRef("q5brow"))

	mmkNextBlock("q5bblock", 176)

	Comment("out[j] = hsum_float_8(acc_j) + summs_j")
	Load(Param("out"), R9)
	LEAQ(Mem{Base: RBX, Disp: 256}, R11)
	LEAQ(Mem{Base: RBX, Disp: 544}, R12)
	MOVQ(RDX, R10)

	Label("q5bred")
	VMOVUPS(Mem{Base: R11}, Y7)
	hsumFloat8(7, 0, 1)
	VADDSS(Mem{Base: R12}, X0, X0)
	VMOVSS(X0, Mem{Base: R9})
	ADDQ(Imm(4), R9)
	ADDQ(Imm(32), R11)
	ADDQ(Imm(4), R12)
	DECQ(R10)
	JNZ(LabelRef("q5bred"))
	VZEROUPPER()
	RET()
}
