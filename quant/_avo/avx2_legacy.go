package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 kernels of the legacy quantizations (avx2legacy_amd64.s): Q4_0,
// Q4_1, Q5_0, Q5_1 and Q8_0 weights against Q8_0/Q8_1 activations.
//
// The *SumsAVX2 kernels store, for each of nb weight/activation block
// pairs, the exact integer dot product of the block's quants into out[i]
// (equal to the portable q*Sums); they remain for the portable dot's inner
// loop when the AVX2 level is on but a caller asks for the portable order.
//
// The *DotAVX2 kernels compute a whole row dot product the way ggml-cpu's
// AVX2 ggml_vec_dot_*_q8_* do (checked against the haswell build): per
// block, d = fp32(d_w)*fp32(d_a) (one rounding), the 32 products summed
// exactly into eight int32 lanes of four consecutive elements each, the
// lanes converted to float32 and fused-multiply-added with d into an
// eight-lane accumulator; at the end hi+lo lanes, + movehl, + movehdup.
// Q4_1/Q5_1 also keep summs = fma(m_w, s_a, summs) and add it last. Each
// block prefetches the weights 2 KiB ahead (into the next rows, which the
// callers walk in order): decode streams the weights from DRAM and the
// hardware prefetcher alone left one core ~20 % short (Q8_0 TinyLlama).
//
// Register conventions shared by all of them: SI walks the weight blocks,
// DI the activation blocks, CX counts blocks, R9 walks out (Sums kernels);
// Y15 = 0x0f bytes, Y14 = 0x01 bytes, Y13 = 0x0001 words (legacyConsts);
// for the 5-bit formats Y12 = bit masks, Y11 = all ones, Y10 = the
// legacyBitShuf shuffle, Y9 = 0x10 bytes (highBitConsts).

// legacyKernels emits every kernel of avx2legacy_amd64.s.
func legacyKernels() {
	shuf := legacyBitShuf()
	// Q4_0 blocks: stride 18, quants at +2; Q8_0 blocks: stride 34, quants
	// at +2. sum (q-8)*a = sum q*a - 8*sum a, all in exact int16 pairs.
	legacySums("q4_0Q8_0SumsAVX2", "q40", "Q4_0 and Q8_0", nil, 2, -1, 3, 18, 34)
	// Q4_1 blocks: stride 20, quants at +4; Q8_1 blocks: stride 36, quants at +4.
	legacySums("q4_1Q8_1SumsAVX2", "q41", "Q4_1 and Q8_1", nil, 4, -1, 0, 20, 36)
	// Q5_0 blocks: stride 22, high bits at +2, quants at +6; Q8_0 as above.
	// sum (q-16)*a = sum q*a - 16*sum a.
	legacySums("q5_0Q8_0SumsAVX2", "q50", "Q5_0 and Q8_0", &shuf, 6, 2, 4, 22, 34)
	// Q5_1 blocks: stride 24, high bits at +4, quants at +8; Q8_1 as above.
	legacySums("q5_1Q8_1SumsAVX2", "q51", "Q5_1 and Q8_1", &shuf, 8, 4, 0, 24, 36)
	q8_0Sums()

	legacyDot("q4_0Q8_0DotAVX2", "q40d", "ggml_vec_dot_q4_0_q8_0", nil, 2, -1, 3, false, 18, 34)
	legacyDot("q4_1Q8_1DotAVX2", "q41d", "ggml_vec_dot_q4_1_q8_1", nil, 4, -1, 0, true, 20, 36)
	legacyDot("q5_0Q8_0DotAVX2", "q50d", "ggml_vec_dot_q5_0_q8_0", &shuf, 6, 2, 4, false, 22, 34)
	legacyDot("q5_1Q8_1DotAVX2", "q51d", "ggml_vec_dot_q5_1_q8_1", &shuf, 8, 4, 0, true, 24, 36)
	q8_0Dot()
}

// legacyBitShuf emits the shuffle table of highBits: byte j of each 32-byte
// row picks byte j/8 of a broadcast 32-bit word.
func legacyBitShuf() Mem {
	t := GLOBL("legacyBitShuf", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(0x0101010101010101*uint64(i)))
	}
	return t
}

// broadcastQ sets the YMM register y to four copies of the quadword v
// (through AX and y's XMM view).
func broadcastQ(v uint64, y int) {
	MOVQ(U64(v), RAX)
	VMOVQ(RAX, xr(y))
	VPBROADCASTQ(xr(y), yr(y))
}

// legacyConsts sets Y15 = 0x0f bytes, Y14 = 0x01 bytes, Y13 = 0x0001 words.
func legacyConsts() {
	broadcastQ(0x0f0f0f0f0f0f0f0f, 15)
	broadcastQ(0x0101010101010101, 14)
	broadcastQ(0x0001000100010001, 13)
}

// highBitConsts sets the constants of highBits: Y12 = every byte with one
// bit clear (bit j%8 of byte j), Y11 = all ones, Y10 = the shuffle table,
// Y9 = 0x10 bytes (from Y14, so after legacyConsts).
func highBitConsts(shuf Mem) {
	broadcastQ(0x7fbfdfeff7fbfdfe, 12)
	VPCMPEQB(Y11, Y11, Y11)
	VMOVDQU(shuf, Y10)
	VPSLLW(U8(4), Y14, Y9)
}

// nibbles sets Y0 to the 32 nibbles of the 16 bytes at off(SI): low
// nibbles (elements 0..15) in the low lane, high nibbles (elements 16..31)
// in the high lane.
func nibbles(off int) {
	VMOVDQU(Mem{Base: RSI, Disp: off}, X0)
	VPSRLW(U8(4), X0, X1)
	VINSERTI128(U8(1), X1, Y0, Y0)
	VPAND(Y15, Y0, Y0)
}

// highBits ors 0x10 into byte j of Y0 where bit j of the 32-bit word at
// off(SI) is set. Uses Y1 and the highBitConsts registers.
func highBits(off int) {
	VPBROADCASTD(Mem{Base: RSI, Disp: off}, Y1)
	VPSHUFB(Y10, Y1, Y1)
	VPOR(Y12, Y1, Y1)
	VPCMPEQB(Y11, Y1, Y1)
	VPAND(Y9, Y1, Y1)
	VPOR(Y1, Y0, Y0)
}

// hsumStore stores the 32-bit sum of Y2's eight int32 lanes at (R9).
func hsumStore() {
	VEXTRACTI128(U8(1), Y2, X3)
	VPADDD(X3, X2, X2)
	VPSHUFD(U8(0x4e), X2, X3)
	VPADDD(X3, X2, X2)
	VPSHUFD(U8(0xb1), X2, X3)
	VPADDD(X3, X2, X2)
	VMOVD(X2, EAX)
	MOVL(EAX, Mem{Base: R9})
}

// loadHalf sets x to the fp32 of the half at off(reg). Clobbers AX.
func loadHalf(off int, reg GPPhysical, x VecPhysical) {
	MOVWLZX(Mem{Base: reg, Disp: off}, EAX)
	VMOVD(EAX, x)
	VCVTPH2PS(x, x)
}

// accBlock adds float(Y2's int32 lanes) * (half at 0(SI) * half at 0(DI))
// to Y3, fused.
func accBlock() {
	VCVTDQ2PS(Y2, Y2)
	loadHalf(0, RSI, X5)
	loadHalf(0, RDI, X6)
	VMULSS(X6, X5, X5)
	VBROADCASTSS(X5, Y5)
	VFMADD231PS(Y5, Y2, Y3)
}

// accMin adds half at 2(SI) * half at 2(DI) to X4, fused.
func accMin() {
	loadHalf(2, RSI, X7)
	loadHalf(2, RDI, X8)
	VFMADD231SS(X8, X7, X4)
}

// storeF32 stores x as the float32 result with VMOVSS (avo's Store would
// pick the SSE MOVSS).
func storeF32(x VecPhysical) {
	ret, err := ReturnIndex(0).Resolve()
	if err != nil {
		panic(err)
	}
	VMOVSS(x, ret.Addr)
}

// legacyHead loads w, a and nb into SI, DI and CX.
func legacyHead() {
	Load(Param("w"), RSI)
	Load(Param("a"), RDI)
	Load(Param("nb"), RCX)
}

// legacyIntSum sets Y2 to the eight int32 sums of four consecutive
// products of the weight block's quants (in Y0, built from the nibbles at
// quants(SI) and, when shuf is not nil, the high bits at hiOff(SI)) with
// the activation quants at aOff(DI). With a nonzero shift, a·2^shift is
// subtracted (the weights' offset 8 or 16) in the exact int16 pairs,
// through the scratch register Y(tmp).
func legacyIntSum(shuf *Mem, quants, hiOff, aOff, shift, tmp int) {
	nibbles(quants)
	if shuf != nil {
		highBits(hiOff)
	}
	VMOVDQU(Mem{Base: RDI, Disp: aOff}, Y1)
	VPMADDUBSW(Y1, Y0, Y2)
	if shift != 0 {
		VPMADDUBSW(Y1, Y14, yr(tmp))
		VPSLLW(U8(shift), yr(tmp), yr(tmp))
		VPSUBW(yr(tmp), Y2, Y2)
	}
	VPMADDWD(Y13, Y2, Y2)
}

// legacySums emits a *SumsAVX2 kernel: weight blocks of wStride bytes with
// the 16 nibble bytes at quants (and, when shuf is set, the 32 high bits
// at hiOff), activation blocks of aStride bytes (34 for Q8_0, 36 for
// Q8_1) ending in their 32 quants; shift as in legacyIntSum.
func legacySums(name, label, formats string, shuf *Mem, quants, hiOff, shift, wStride, aStride int) {
	TEXT(name, NOSPLIT, "func(w, a *byte, nb int, out *int32)")
	Pragma("noescape")
	Doc(name+" stores in out[i], i < nb, the exact integer dot",
		"product of the quants of the i-th "+formats+" block pair from w and a",
		"(the portable q*Sums; used for the portable dot's inner loop when the",
		"AVX2 level is on). It needs LevelAVX2.")
	legacyHead()
	Load(Param("out"), R9)
	legacyConsts()
	if shuf != nil {
		highBitConsts(*shuf)
	}
	TESTQ(RCX, RCX)
	JEQ(LabelRef(label + "done"))

	Label(label + "loop")
	legacyIntSum(shuf, quants, hiOff, aStride-32, shift, 3)
	hsumStore()
	legacyStep(label+"loop", wStride, aStride, true)

	Label(label + "done")
	VZEROUPPER()
	RET()
}

// legacyStep advances SI and DI by a block (and R9 by an int32 when out),
// and loops to label while blocks are left.
func legacyStep(label string, wStride, aStride int, out bool) {
	ADDQ(Imm(uint64(wStride)), RSI)
	ADDQ(Imm(uint64(aStride)), RDI)
	if out {
		ADDQ(Imm(4), R9)
	}
	DECQ(RCX)
	JNZ(LabelRef(label))
}

// q8_0Sums emits q8_0Q8_0SumsAVX2: both Q8_0 (stride 34, quants at +2);
// int8 widened to int16, exact for -128.
func q8_0Sums() {
	TEXT("q8_0Q8_0SumsAVX2", NOSPLIT, "func(w, a *byte, nb int, out *int32)")
	Pragma("noescape")
	Doc("q8_0Q8_0SumsAVX2 stores in out[i], i < nb, the exact integer dot",
		"product of the quants of the i-th Q8_0 block pair from w and a (the",
		"portable q*Sums; used for the portable dot's inner loop when the AVX2",
		"level is on). It needs LevelAVX2.")
	legacyHead()
	Load(Param("out"), R9)
	TESTQ(RCX, RCX)
	JEQ(LabelRef("q80done"))

	Label("q80loop")
	VPMOVSXBW(Mem{Base: RSI, Disp: 2}, Y0)
	VPMOVSXBW(Mem{Base: RDI, Disp: 2}, Y1)
	VPMADDWD(Y1, Y0, Y2)
	VPMOVSXBW(Mem{Base: RSI, Disp: 18}, Y0)
	VPMOVSXBW(Mem{Base: RDI, Disp: 18}, Y1)
	VPMADDWD(Y1, Y0, Y3)
	VPADDD(Y3, Y2, Y2)
	hsumStore()
	legacyStep("q80loop", 34, 34, true)

	Label("q80done")
	VZEROUPPER()
	RET()
}

// legacyDot emits a *DotAVX2 kernel (ggml's order, see the top of this
// file); the block layout arguments are legacySums', hasMin says whether the
// weights carry a min (Q4_1, Q5_1: summs accumulated in X4 and added last).
func legacyDot(name, label, ggml string, shuf *Mem, quants, hiOff, shift int, hasMin bool, wStride, aStride int) {
	TEXT(name, NOSPLIT, "func(w, a *byte, nb int) float32")
	Pragma("noescape")
	Doc(name+" is "+ggml+"'s AVX2 row dot product",
		"over the nb > 0 blocks from w and a, in ggml-cpu's order. It needs",
		"LevelAVX2 (AVX2, FMA, F16C).")
	legacyHead()
	legacyConsts()
	if shuf != nil {
		highBitConsts(*shuf)
	}
	VXORPS(Y3, Y3, Y3)
	if hasMin {
		VXORPS(X4, X4, X4)
	}

	Label(label + "loop")
	PREFETCHT0(Mem{Base: RSI, Disp: 2048})
	legacyIntSum(shuf, quants, hiOff, aStride-32, shift, 4)
	if hasMin {
		accMin()
	}
	accBlock()
	legacyStep(label+"loop", wStride, aStride, false)

	hsumFloat8(3, 0, 1)
	if hasMin {
		VADDSS(X4, X0, X0)
	}
	VZEROUPPER()
	storeF32(X0)
	RET()
}

// q8_0Dot emits q8_0Q8_0DotAVX2. Q8_0 x Q8_0 uses ggml's sign trick (|x|
// times y with x's sign) so that even the saturating -128*-128 pairs match.
func q8_0Dot() {
	TEXT("q8_0Q8_0DotAVX2", NOSPLIT, "func(w, a *byte, nb int) float32")
	Pragma("noescape")
	Doc("q8_0Q8_0DotAVX2 is ggml_vec_dot_q8_0_q8_0's AVX2 row dot product",
		"over the nb > 0 blocks from w and a, in ggml-cpu's order (its sign trick",
		"included). It needs LevelAVX2 (AVX2, FMA, F16C).")
	legacyHead()
	legacyConsts()
	VXORPS(Y3, Y3, Y3)

	Label("q80dloop")
	PREFETCHT0(Mem{Base: RSI, Disp: 2048})
	VMOVDQU(Mem{Base: RSI, Disp: 2}, Y0)
	VMOVDQU(Mem{Base: RDI, Disp: 2}, Y1)
	VPSIGNB(Y0, Y0, Y4)
	VPSIGNB(Y0, Y1, Y1)
	VPMADDUBSW(Y1, Y4, Y2)
	VPMADDWD(Y13, Y2, Y2)
	accBlock()
	legacyStep("q80dloop", 34, 34, false)

	hsumFloat8(3, 0, 1)
	VZEROUPPER()
	storeF32(X0)
	RET()
}
