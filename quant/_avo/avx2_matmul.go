package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 batched kernels (avx2matmul_amd64.s).
//
// Batched kernels: one weight row times four activation rows. Each weight
// block is decoded once and applied to the four activation blocks; for every
// (row, activation) pair the arithmetic is the one the single-row *DotAVX2
// kernel in avx2legacy_amd64.s does (the same exact int32 lane sums of four
// consecutive products, d = fp32(d_w)*fp32(d_a) rounded once, one FMA per
// block into eight float32 lanes, the same final reduction), so the results
// equal MatVec's bit for bit.
//
// func xxxDot4AVX2(w, a *byte, aStride int, tab *float32, nb int, out *float32)
// w: one weight row; a: activation row 0, rows 1..3 follow at aStride;
// tab: per block, the four activation scales fp32(d_a) (and for Q4_1/Q5_1
// then the four fp32(s_a)); out: four sums (Q4_1/Q5_1: then the four
// fused min terms, which the caller adds). nb > 0.

// mmSig is the signature of the four- and eight-row batched kernels.
const mmSig = "func(w, a *byte, aStride int, tab *float32, nb int, out *float32)"

// matmulKernels emits every kernel of avx2matmul_amd64.s.
func matmulKernels() {
	bitShuf := mmTable("mmBitShuf", 0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303)
	q4_0Dot4()
	q5_0Dot4(bitShuf)
	q8_0Dot4()
	q4_1Dot4()
	q5_1Dot4(bitShuf)
	q8_0Dot8()
	eights := mmTable("mmEights", 0x0808080808080808, 0x0808080808080808, 0x0808080808080808, 0x0808080808080808)
	q4_0Dot8(eights)
	bitMask := mmTable("mmBitMask", 0x7fbfdfeff7fbfdfe, 0x7fbfdfeff7fbfdfe, 0x7fbfdfeff7fbfdfe, 0x7fbfdfeff7fbfdfe)
	ones := mmTable("mmOnes", ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0))
	sixteens := mmTable("mmSixteens", 0x1010101010101010, 0x1010101010101010, 0x1010101010101010, 0x1010101010101010)
	q5_0Dot8(bitShuf, bitMask, ones, sixteens)
	dotF32x3()
	dotF16x3()
	reduceF32x3()
	dotF32x3Full()
	dotF16x3Full()
}

// mmTable emits a 32-byte read-only table of four quadwords.
func mmTable(name string, q ...uint64) Mem {
	t := GLOBL(name, RODATA|NOPTR)
	for i, v := range q {
		DATA(8*i, U64(v))
	}
	return t
}

// mmDot4Head starts a four-row kernel: its TEXT, pragma and doc.
func mmDot4Head(name string, doc ...string) {
	TEXT(name, NOSPLIT, mmSig)
	Pragma("noescape")
	Doc(doc...)
}

// mmConsts sets Y15 = 0x0f bytes, Y14 = 0x80 bytes, Y13 = 0x0001 words.
func mmConsts() {
	broadcastQ(0x0f0f0f0f0f0f0f0f, 15)
	broadcastQ(0x8080808080808080, 14)
	broadcastQ(0x0001000100010001, 13)
}

// mmArgs loads w, a, aStride (R9 = 3·aStride), tab and nb into SI, DI,
// R8, DX and CX and zeroes the accumulators Y3..Y(3+accs-1); with eight
// rows R11 = a + 4·aStride.
func mmArgs(accs int) {
	Load(Param("w"), RSI)
	Load(Param("a"), RDI)
	Load(Param("aStride"), R8)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R9)
	if accs == 8 {
		LEAQ(Mem{Base: RDI, Index: R8, Scale: 4}, R11)
	}
	Load(Param("tab"), RDX)
	Load(Param("nb"), RCX)
	for i := 3; i < 3+accs; i++ {
		VXORPS(yr(i), yr(i), yr(i))
	}
}

// mmDW sets Y2 to the fp32 of the half at off(SI), broadcast.
func mmDW(off int) {
	loadHalf(off, RSI, X2)
	VBROADCASTSS(X2, Y2)
}

// mmHighBitConsts sets the constants of highBits: Y12 = bit masks, Y11 =
// all ones, Y10 = the shuffle table, Y9 = 0x10 bytes.
func mmHighBitConsts(shuf Mem) {
	broadcastQ(0x7fbfdfeff7fbfdfe, 12)
	VPCMPEQB(Y11, Y11, Y11)
	VMOVDQU(shuf, Y10)
	broadcastQ(0x1010101010101010, 9)
}

// mmActOffset: acc += float(exact lane sums of wx*a) * (Y2 * tab[k]) for
// signed weights wx in Y0 (|wx| <= 16) and Y1 = 128*(pair sums of wx) as
// words: a is offset to unsigned (a+128), so that any int8 a, -128
// included, is exact.
func mmActOffset(a Mem, k int, acc VecPhysical) {
	VMOVDQU(a, Y7)
	VPXOR(Y14, Y7, Y7)
	VPMADDUBSW(Y0, Y7, Y7)
	VPSUBW(Y1, Y7, Y7)
	mmActScale(k, acc)
}

// mmActScale converts the word sums in Y7 and fuses them, times Y2·tab[k],
// into acc.
func mmActScale(k int, acc VecPhysical) {
	VPMADDWD(Y13, Y7, Y7)
	VCVTDQ2PS(Y7, Y7)
	VBROADCASTSS(Mem{Base: RDX, Disp: 4 * k}, Y8)
	VMULPS(Y8, Y2, Y8)
	VFMADD231PS(Y8, Y7, acc)
}

// mmActSign: Q8_0 weights Y0, |w| in Y1: ggml's sign trick, as
// q8_0Q8_0DotAVX2.
func mmActSign(a Mem, k int, acc VecPhysical) {
	VMOVDQU(a, Y7)
	VPSIGNB(Y0, Y7, Y7)
	VPMADDUBSW(Y7, Y1, Y7)
	mmActScale(k, acc)
}

// mmActUnsigned: unsigned weights Y0 (Q4_1, Q5_1) times signed a: exact as
// they are.
func mmActUnsigned(a Mem, k int, acc VecPhysical) {
	VMOVDQU(a, Y7)
	VPMADDUBSW(Y7, Y0, Y7)
	mmActScale(k, acc)
}

// mmActs4 applies act to the four activation rows' blocks at disp(DI).
func mmActs4(act func(Mem, int, VecPhysical), disp int) {
	for k, m := range rows4(RDI, disp) {
		act(m, k, yr(3+k))
	}
}

// mmStep advances SI, DI (and R11 for eight rows) and DX by a block and
// loops to label while blocks are left.
func mmStep(label string, wStride, aStride, tabStride int, eight bool) {
	ADDQ(Imm(uint64(wStride)), RSI)
	ADDQ(Imm(uint64(aStride)), RDI)
	if eight {
		ADDQ(Imm(uint64(aStride)), R11)
	}
	ADDQ(Imm(uint64(tabStride)), RDX)
	DECQ(RCX)
	JNZ(LabelRef(label))
}

// mmStore4 stores hsum_float_8 of Y3..Y6 at out[0..3] (R10 = out).
func mmStore4() {
	Load(Param("out"), R10)
	for k := 0; k < 4; k++ {
		hsumFloat8(3+k, 7, 8)
		VMOVSS(X7, Mem{Base: R10, Disp: 4 * k})
	}
}

func q4_0Dot4() {
	mmDot4Head("q4_0Q8_0Dot4AVX2",
		"q4_0Q8_0Dot4AVX2 is q4_0Q8_0DotAVX2 of one Q4_0 weight row w with four",
		"Q8_0 activation rows (row 0 at a, rows 1..3 at aStride bytes apart), tab",
		"the four fp32(d_a) per block, the four sums stored at out[0..3], each",
		"equal bit for bit to the single-row kernel. It needs LevelAVX2 and nb > 0.")
	mmArgs(4)
	mmConsts()
	broadcastQ(0x0808080808080808, 12)

	Label("q40loop")
	mmDW(0)
	nibbles(2)
	VPSUBB(Y12, Y0, Y0)
	VPMADDUBSW(Y0, Y14, Y1)
	mmActs4(mmActOffset, 2)
	mmStep("q40loop", 18, 34, 16, false)

	mmStore4()
	VZEROUPPER()
	RET()
}

func q5_0Dot4(shuf Mem) {
	mmDot4Head("q5_0Q8_0Dot4AVX2",
		"q5_0Q8_0Dot4AVX2 is q4_0Q8_0Dot4AVX2 for Q5_0 weights (q5_0Q8_0DotAVX2's",
		"sums). It needs LevelAVX2 and nb > 0.")
	mmArgs(4)
	mmConsts()
	mmHighBitConsts(shuf)

	Label("q50loop")
	mmDW(0)
	nibbles(6)
	highBits(2)
	VPSUBB(Y9, Y0, Y0)
	VPMADDUBSW(Y0, Y14, Y1)
	mmActs4(mmActOffset, 2)
	mmStep("q50loop", 22, 34, 16, false)

	mmStore4()
	VZEROUPPER()
	RET()
}

func q8_0Dot4() {
	mmDot4Head("q8_0Q8_0Dot4AVX2",
		"q8_0Q8_0Dot4AVX2 is q4_0Q8_0Dot4AVX2 for Q8_0 weights (q8_0Q8_0DotAVX2's",
		"sums). It needs LevelAVX2 and nb > 0.")
	mmArgs(4)
	mmConsts()

	Label("q80loop")
	mmDW(0)
	VMOVDQU(Mem{Base: RSI, Disp: 2}, Y0)
	VPSIGNB(Y0, Y0, Y1)
	mmActs4(mmActSign, 2)
	mmStep("q80loop", 34, 34, 16, false)

	mmStore4()
	VZEROUPPER()
	RET()
}

// mmMin4 sets xacc (four lanes, one per activation row) = fma(m_w, s_a,
// xacc): the min term of Q4_1/Q5_1, each lane the scalar VFMADD231SS of the
// single-row kernel.
func mmMin4(off int, xacc VecPhysical) {
	loadHalf(off, RSI, X1)
	VBROADCASTSS(X1, X1)
	VFMADD231PS(Mem{Base: RDX, Disp: 16}, X1, xacc)
}

func q4_1Dot4() {
	mmDot4Head("q4_1Q8_1Dot4AVX2",
		"q4_1Q8_1Dot4AVX2 is q4_0Q8_0Dot4AVX2 for Q4_1 weights and Q8_1",
		"activations (q4_1Q8_1DotAVX2's sums): tab holds eight floats per block",
		"(d_a of rows 0..3, then s_a), out[4..7] receives the four min terms,",
		"which the caller adds last. It needs LevelAVX2 and nb > 0.")
	mmArgs(4)
	mmConsts()
	VXORPS(X9, X9, X9)

	Label("q41loop")
	mmDW(0)
	mmMin4(2, X9)
	nibbles(4)
	mmActs4(mmActUnsigned, 4)
	mmStep("q41loop", 20, 36, 32, false)

	mmStore4()
	VMOVUPS(X9, Mem{Base: R10, Disp: 16})
	VZEROUPPER()
	RET()
}

// q5_1Dot4: like q4_1Q8_1Dot4AVX2; the min terms live in X14 (Y9 holds 0x10
// bytes).
func q5_1Dot4(shuf Mem) {
	mmDot4Head("q5_1Q8_1Dot4AVX2",
		"q5_1Q8_1Dot4AVX2 is q4_1Q8_1Dot4AVX2 for Q5_1 weights (q5_1Q8_1DotAVX2's",
		"sums). It needs LevelAVX2 and nb > 0.")
	mmArgs(4)
	mmConsts()
	mmHighBitConsts(shuf)
	VXORPS(X14, X14, X14)

	Label("q51loop")
	mmDW(0)
	mmMin4(2, X14)
	nibbles(8)
	highBits(4)
	mmActs4(mmActUnsigned, 4)
	mmStep("q51loop", 24, 36, 32, false)

	mmStore4()
	VMOVUPS(X14, Mem{Base: R10, Disp: 16})
	VZEROUPPER()
	RET()
}

// Eight-row kernels for Q8_0 and Q4_0 weights: as the four-row ones, with
// activation rows 4..7 starting at R11 = a + 4*aStride, the eight products
// d = fp32(d_w)*fp32(d_a) computed in one VMULPS and broadcast from the
// stack, and accumulators Y3..Y10. tab holds eight fp32(d_a) per block.

// mm8Head starts an eight-row kernel: arguments, accumulators, the stack
// slot and the constants.
func mm8Head(name string, doc ...string) {
	TEXT(name, NOSPLIT, mmSig)
	Pragma("noescape")
	Doc(doc...)
	AllocLocal(64)
	mmArgs(8)
	mm8Slot()
	mmConsts()
}

// mm8Slot sets R12 = a 32-byte aligned slot in the frame (64 bytes) for the
// eight d: a store that crosses a cache line slows the broadcasts from it
// by about a fifth.
func mm8Slot() {
	MOVQ(RSP, R12)
	ADDQ(Imm(31), R12)
	ANDQ(I8(-32), R12)
}

// mm8D stores d[0..7] = fp32(half at 0(SI)) * tab[0..7] at 0(R12).
func mm8D() {
	mmDW(0)
	VMULPS(Mem{Base: RDX}, Y2, Y2)
	VMOVAPS(Y2, Mem{Base: R12})
}

// mm8ActSign: Q8_0 weights Y0, |w| Y1; Y11, Y12 temporaries.
func mm8ActSign(a Mem, k int, acc VecPhysical) {
	VMOVDQU(a, Y11)
	VPSIGNB(Y0, Y11, Y11)
	VPMADDUBSW(Y11, Y1, Y11)
	mm8ActScale(k, acc)
}

// mm8ActOffset: Q4_0: signed weights Y0, Y1 = 128*(pair sums of w) as words.
func mm8ActOffset(a Mem, k int, acc VecPhysical) {
	VMOVDQU(a, Y11)
	VPXOR(Y14, Y11, Y11)
	VPMADDUBSW(Y0, Y11, Y11)
	VPSUBW(Y1, Y11, Y11)
	mm8ActScale(k, acc)
}

// mm8ActScale converts the word sums in Y11 and fuses them, times d[k]
// from the slot, into acc.
func mm8ActScale(k int, acc VecPhysical) {
	VPMADDWD(Y13, Y11, Y11)
	VCVTDQ2PS(Y11, Y11)
	VBROADCASTSS(Mem{Base: R12, Disp: 4 * k}, Y12)
	VFMADD231PS(Y12, Y11, acc)
}

// mmActs8 applies act to the eight activation rows' blocks at disp(DI) and
// disp(R11).
func mmActs8(act func(Mem, int, VecPhysical), disp int) {
	for k, m := range rows4(RDI, disp) {
		act(m, k, yr(3+k))
	}
	for k, m := range rows4(R11, disp) {
		act(m, 4+k, yr(7+k))
	}
}

// mm8Store8 stores hsum_float_8 of Y3..Y10 at out[0..7]. Uses X11, X12.
func mm8Store8() {
	Load(Param("out"), R10)
	for k := 0; k < 8; k++ {
		hsumFloat8(3+k, 11, 12)
		VMOVSS(X11, Mem{Base: R10, Disp: 4 * k})
	}
}

func q8_0Dot8() {
	mm8Head("q8_0Q8_0Dot8AVX2",
		"q8_0Q8_0Dot8AVX2 is the eight-row form of q8_0Q8_0Dot4AVX2: activation",
		"rows 0..7 at aStride, tab eight fp32(d_a) per block, out eight sums.",
		"It needs LevelAVX2 and nb > 0.")

	Label("q80x8loop")
	mm8D()
	VMOVDQU(Mem{Base: RSI, Disp: 2}, Y0)
	VPSIGNB(Y0, Y0, Y1)
	mmActs8(mm8ActSign, 2)
	mmStep("q80x8loop", 34, 34, 32, true)

	mm8Store8()
	VZEROUPPER()
	RET()
}

func q4_0Dot8(eights Mem) {
	mm8Head("q4_0Q8_0Dot8AVX2",
		"q4_0Q8_0Dot8AVX2 is the eight-row form of q4_0Q8_0Dot4AVX2: activation",
		"rows 0..7 at aStride, tab eight fp32(d_a) per block, out eight sums.",
		"It needs LevelAVX2 and nb > 0.")

	Label("q40x8loop")
	mm8D()
	nibbles(2)
	VPSUBB(eights, Y0, Y0)
	VPMADDUBSW(Y0, Y14, Y1)
	mmActs8(mm8ActOffset, 2)
	mmStep("q40x8loop", 18, 34, 32, true)

	mm8Store8()
	VZEROUPPER()
	RET()
}

// mm8HighBits: Q5_0 high bits for the eight-row kernel, constants from
// memory: Y0 |= 0x10 where the bit of the 32-bit word at off(SI) is set.
// Uses Y1.
func mm8HighBits(off int, shuf, mask, ones, sixteens Mem) {
	VPBROADCASTD(Mem{Base: RSI, Disp: off}, Y1)
	VPSHUFB(shuf, Y1, Y1)
	VPOR(mask, Y1, Y1)
	VPCMPEQB(ones, Y1, Y1)
	VPAND(sixteens, Y1, Y1)
	VPOR(Y1, Y0, Y0)
}

func q5_0Dot8(shuf, mask, ones, sixteens Mem) {
	mm8Head("q5_0Q8_0Dot8AVX2",
		"q5_0Q8_0Dot8AVX2 is the eight-row form of q5_0Q8_0Dot4AVX2: activation",
		"rows 0..7 at aStride, tab eight fp32(d_a) per block, out eight sums.",
		"It needs LevelAVX2 and nb > 0.")

	Label("q50x8loop")
	mm8D()
	nibbles(6)
	mm8HighBits(2, shuf, mask, ones, sixteens)
	VPSUBB(sixteens, Y0, Y0)
	VPMADDUBSW(Y0, Y14, Y1)
	mmActs8(mm8ActOffset, 2)
	mmStep("q50x8loop", 22, 34, 32, true)

	mm8Store8()
	VZEROUPPER()
	RET()
}

// Float kernels: one weight row times three float32 activation rows (rows
// 1 and 2 at yStride bytes after row 0), n > 0 a multiple of 32, over one
// chunk of the row: the twelve eight-lane accumulators (four per activation
// row, as dotF32AVX2/dotF16AVX2 in avx2gen_amd64.s keep them) are loaded from
// acc and stored back, so that a row can be walked in chunks that keep the
// activations in L1 with the same sums in the same order. reduceF32x3AVX2
// then reduces them like those kernels: (c0+c2)+(c1+c3), lo+hi, two
// horizontal adds. F16 weights and activations are widened with VCVTPH2PS, as in
// dotF16AVX2.

// mmReduceStore reduces (Y(a)+Y(a+2))+(Y(a+1)+Y(a+3)) into X(a), stored at
// off(R10). Uses X12.
func mmReduceStore(a, off int) {
	VADDPS(yr(a+2), yr(a), yr(a))
	VADDPS(yr(a+3), yr(a+1), yr(a+1))
	VADDPS(yr(a+1), yr(a), yr(a))
	VEXTRACTF128(U8(1), yr(a), X12)
	VADDPS(X12, xr(a), xr(a))
	VHADDPS(xr(a), xr(a), xr(a))
	VHADDPS(xr(a), xr(a), xr(a))
	VMOVSS(xr(a), Mem{Base: R10, Disp: off})
}

// mmReduce3 stores the three rows' reductions at out[0..2] (R10 = out).
func mmReduce3() {
	Load(Param("out"), R10)
	for r := 0; r < 3; r++ {
		mmReduceStore(4*r, 4*r)
	}
}

// mmFLoadAcc loads the twelve accumulators Y0..Y11 from (R10).
func mmFLoadAcc() {
	for i := 0; i < 12; i++ {
		VMOVUPS(Mem{Base: R10, Disp: 32 * i}, yr(i))
	}
}

// mmFStoreAcc stores the twelve accumulators Y0..Y11 at (R10).
func mmFStoreAcc() {
	for i := 0; i < 12; i++ {
		VMOVUPS(yr(i), Mem{Base: R10, Disp: 32 * i})
	}
}

// mmFZeroAcc zeroes the twelve accumulators Y0..Y11.
func mmFZeroAcc() {
	for i := 0; i < 12; i++ {
		VXORPS(yr(i), yr(i), yr(i))
	}
}

// mmFHead starts a float kernel: x, y, yStride, n into SI, DI, R8, CX, and
// with acc R10 = acc and the accumulators loaded, else zeroed.
func mmFHead(name, sig string, acc bool, doc ...string) {
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc...)
	Load(Param("x"), RSI)
	Load(Param("y"), RDI)
	Load(Param("yStride"), R8)
	Load(Param("n"), RCX)
	if acc {
		Load(Param("acc"), R10)
		mmFLoadAcc()
	} else {
		mmFZeroAcc()
	}
}

// mmF32Loop emits the float32 loop: weights in Y12..Y15, FMA'd with the
// three activation rows.
func mmF32Loop(label string) {
	Label(label)
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: RSI, Disp: 32 * i}, yr(12+i))
	}
	ADDQ(Imm(128), RSI)
	for r := 0; r < 3; r++ {
		for i := 0; i < 4; i++ {
			m := Mem{Base: RDI, Disp: 32 * i}
			if r > 0 {
				m.Index, m.Scale = R8, uint8(r)
			}
			VFMADD231PS(m, yr(12+i), yr(4*r+i))
		}
	}
	ADDQ(Imm(128), RDI)
	SUBQ(Imm(32), RCX)
	JNZ(LabelRef(label))
}

// mmF16Pair: Y12, Y13 (weights, eight lanes each) times the eight F16
// activations at a0 and the eight at a1, widened into Y14/Y15, FMA'd into
// acc0/acc1.
func mmF16Pair(a0, a1 Mem, acc0, acc1 VecPhysical) {
	VCVTPH2PS(a0, Y14)
	VFMADD231PS(Y14, Y12, acc0)
	VCVTPH2PS(a1, Y15)
	VFMADD231PS(Y15, Y13, acc1)
}

// mmF16Loop emits the F16 loop, each 32-element step in two halves so that
// the accumulators, two weight vectors and two temporaries fit.
func mmF16Loop(label string) {
	Label(label)
	for h := 0; h < 2; h++ {
		VCVTPH2PS(Mem{Base: RSI, Disp: 32 * h}, Y12)
		VCVTPH2PS(Mem{Base: RSI, Disp: 32*h + 16}, Y13)
		for r := 0; r < 3; r++ {
			a0 := Mem{Base: RDI, Disp: 32 * h}
			a1 := Mem{Base: RDI, Disp: 32*h + 16}
			if r > 0 {
				a0.Index, a0.Scale = R8, uint8(r)
				a1.Index, a1.Scale = R8, uint8(r)
			}
			mmF16Pair(a0, a1, yr(4*r+2*h), yr(4*r+2*h+1))
		}
	}
	ADDQ(Imm(64), RSI)
	ADDQ(Imm(64), RDI)
	SUBQ(Imm(32), RCX)
	JNZ(LabelRef(label))
}

func dotF32x3() {
	mmFHead("dotF32x3AVX2", "func(x, y *float32, yStride, n int, acc *float32)", true,
		"dotF32x3AVX2 adds the products of one weight row chunk (n elements,",
		"n > 0 a multiple of 32) with three float32 activation row chunks (row 0",
		"at y, rows 1 and 2 at yStride bytes apart) into the twelve eight-lane",
		"accumulators at acc (96 floats: four per activation row), exactly as",
		"dotF32AVX2 accumulates. It needs LevelAVX2.")
	mmF32Loop("f32x3loop")
	mmFStoreAcc()
	VZEROUPPER()
	RET()
}

func dotF16x3() {
	mmFHead("dotF16x3AVX2", "func(x, y *uint16, yStride, n int, acc *float32)", true,
		"dotF16x3AVX2 is dotF32x3AVX2 with F16 weights and activations, both",
		"widened with VCVTPH2PS as dotF16AVX2 does. It needs LevelAVX2.")
	mmF16Loop("f16x3loop")
	mmFStoreAcc()
	VZEROUPPER()
	RET()
}

func reduceF32x3() {
	TEXT("reduceF32x3AVX2", NOSPLIT, "func(acc *float32, out *float32)")
	Pragma("noescape")
	Doc("reduceF32x3AVX2 reduces the twelve accumulators at acc of",
		"dotF32x3AVX2/dotF16x3AVX2 into out[0..2] like dotF32AVX2/dotF16AVX2:",
		"(c0+c2)+(c1+c3), lo+hi, two horizontal adds. It needs LevelAVX2.")
	Load(Param("acc"), R10)
	mmFLoadAcc()
	mmReduce3()
	VZEROUPPER()
	RET()
}

func dotF32x3Full() {
	mmFHead("dotF32x3FullAVX2", "func(x, y *float32, yStride, n int, out *float32)", false,
		"dotF32x3FullAVX2 is dotF32x3AVX2 from zero accumulators over whole rows",
		"of n elements (n > 0 a multiple of 32), then reduceF32x3AVX2 into",
		"out[0..2]: the same sums, without keeping the accumulators in memory.",
		"It needs LevelAVX2.")
	mmF32Loop("f32x3floop")
	mmReduce3()
	VZEROUPPER()
	RET()
}

func dotF16x3Full() {
	mmFHead("dotF16x3FullAVX2", "func(x, y *uint16, yStride, n int, out *float32)", false,
		"dotF16x3FullAVX2 is dotF32x3FullAVX2 for dotF16x3AVX2. It needs",
		"LevelAVX2.")
	mmF16Loop("f16x3floop")
	mmReduce3()
	VZEROUPPER()
	RET()
}
