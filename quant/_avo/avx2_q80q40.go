package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 packed and batched Q8_0 / Q4_0 kernels (avx2q80q40_amd64.s,
// AVO_SET=avx2-q80q40): the Q8_0 GEMM over eight packed activation rows
// (once matmul_q80x8_amd64.s), the Q4_0 eight-row kernel with precomputed
// activation pair sums (once matmul_q40c_amd64.s) and the Q4_0 kernels in
// the repacked-GEMM arithmetic (once matmul_q40r_amd64.s).

// avx2Q80Q40 emits every kernel of the set.
func avx2Q80Q40() {
	q80GemmX8()
	q80PairSums8()
	q40Dot8C()
	q80GemmTab()
	q40GemmR4()
}

// paramAddr returns the frame address of the named argument, for
// instructions that read it in place (ADDQ rowBytes+8(FP), R11).
func paramAddr(name string) Mem {
	p, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return p.Addr
}

// hsumStoreX stores hsum_float_8 of Y(acc) at addr with VMOVSS, through
// X11 and X12 (the HSUM macros of the hand-written files).
func hsumStoreX(acc int, addr Mem) {
	hsumFloat8(acc, 11, 12)
	VMOVSS(X11, addr)
}

// q80GemmX8 emits q8_0GemmX8AVX2.
//
// For each of rows weight rows (row r at w + r*rowBytes) and the group of
// eight packed activation rows at ap: per block, d[0..7] = fp32(d_w) *
// fp32(d_a) of the eight activation rows (one VMULPS, stored in an aligned
// slot of the frame and broadcast from there), |w| and the weights' signs
// moved onto the activations (ggml's sign trick), exact int32 lane sums of
// four consecutive products (VPMADDUBSW, VPMADDWD), one fused multiply-add
// per pair into its accumulator Y3..Y10; then hsum_float_8 of each, stored
// at dst[j*ldDst + r] for activation row j: the arithmetic of
// q8_0Q8_0DotAVX2 for every pair.
func q80GemmX8() {
	TEXT("q8_0GemmX8AVX2", NOSPLIT, "func(w *byte, rowBytes, rows int, ap *byte, nb int, dst *float32, ldDst int)")
	Pragma("noescape")
	Doc("q8_0GemmX8AVX2 multiplies rows > 0 Q8_0 weight rows (row r at w +",
		"r*rowBytes, nb > 0 blocks each) with a group of eight packed Q8_0",
		"activation rows (PackQ8_0x8's layout, at ap) and stores the sum of",
		"weight row r and activation row j at dst[j*ldDst+r]. It needs",
		"LevelAVX2.")
	stack := AllocLocal(64)
	Load(Param("w"), R11)
	Load(Param("rows"), R9)
	Load(Param("dst"), R10)
	Load(Param("ldDst"), R8)
	SHLQ(U8(2), R8)                               // row stride of dst in bytes
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, RBX) // 3 * stride
	// R12: a 32-byte aligned slot in the frame for the eight d (a store
	// that crosses a cache line slows the broadcasts from it by a fifth).
	LEAQ(stack.Offset(31), R12)
	ANDQ(I8(-32), R12)
	broadcastQ(0x0001000100010001, 13)

	Label("q80x8row")
	MOVQ(R11, RSI)
	Load(Param("ap"), RDI)
	Load(Param("nb"), RCX)
	for i := 3; i <= 10; i++ {
		VXORPS(yr(i), yr(i), yr(i))
	}

	Label("q80x8loop")
	VPBROADCASTW(Mem{Base: RSI}, X2)
	VCVTPH2PS(X2, Y2)
	VMULPS(Mem{Base: RDI}, Y2, Y2)
	VMOVAPS(Y2, Mem{Base: R12})
	VMOVDQU(Mem{Base: RSI, Disp: 2}, Y0)
	VPSIGNB(Y0, Y0, Y1)
	// The integer part of pair k: t = float32 of the exact int32 lane
	// sums of activation row k's quants at off(DI) times the weights.
	sums := func(off int, t VecPhysical) {
		VMOVDQU(Mem{Base: RDI, Disp: off}, t)
		VPSIGNB(Y0, t, t)
		VPMADDUBSW(t, Y1, t)
		VPMADDWD(Y13, t, t)
		VCVTDQ2PS(t, t)
	}
	// acc += d[k] * t.
	fma := func(k int, t, acc VecPhysical) {
		VBROADCASTSS(Mem{Base: R12, Disp: 4 * k}, Y2)
		VFMADD231PS(Y2, t, acc)
	}
	// Each pair's multiply-add comes two pairs after its integer part
	// (four temporaries in turn), which runs about 3% faster than
	// issuing them together.
	sums(32, Y11)
	sums(64, Y12)
	sums(96, Y14)
	fma(0, Y11, Y3)
	sums(128, Y15)
	fma(1, Y12, Y4)
	sums(160, Y11)
	fma(2, Y14, Y5)
	sums(192, Y12)
	fma(3, Y15, Y6)
	sums(224, Y14)
	fma(4, Y11, Y7)
	sums(256, Y15)
	fma(5, Y12, Y8)
	fma(6, Y14, Y9)
	fma(7, Y15, Y10)
	ADDQ(Imm(34), RSI)
	ADDQ(U32(288), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q80x8loop"))

	LEAQ(Mem{Base: R10, Index: R8, Scale: 4}, RAX) // dst row 4
	hsumStoreX(3, Mem{Base: R10})
	hsumStoreX(4, Mem{Base: R10, Index: R8, Scale: 1})
	hsumStoreX(5, Mem{Base: R10, Index: R8, Scale: 2})
	hsumStoreX(6, Mem{Base: R10, Index: RBX, Scale: 1})
	hsumStoreX(7, Mem{Base: RAX})
	hsumStoreX(8, Mem{Base: RAX, Index: R8, Scale: 1})
	hsumStoreX(9, Mem{Base: RAX, Index: R8, Scale: 2})
	hsumStoreX(10, Mem{Base: RAX, Index: RBX, Scale: 1})
	ADDQ(paramAddr("rowBytes"), R11)
	ADDQ(Imm(4), R10)
	DECQ(R9)
	JNZ(LabelRef("q80x8row"))
	VZEROUPPER()
	RET()
}

// Eight-row Q4_0 kernel with precomputed activation pair sums: the 4-bit
// quants q (0..15) stay unsigned, VPMADDUBSW takes the Q8_0 quants a
// straight from memory, and 8*(a_2i + a_2i+1) is subtracted afterwards, so
// every int16 pair is (q_2i-8)*a_2i + (q_2i+1-8)*a_2i+1, the same integer
// q4_0Q8_0Dot8AVX2 and the row kernel form (no term can saturate), and
// every later step is theirs: bit-identical sums in fewer instructions.

// q80PairSums8 emits q8_0PairSums8AVX2: corr[(b*8+r)*32:][:32] = the 16
// int16 sums 8*(a_2i + a_2i+1) of block b of activation row r (row r at a +
// r*aStride), for b < nb, r < 8.
func q80PairSums8() {
	TEXT("q8_0PairSums8AVX2", NOSPLIT, "func(a *byte, aStride, nb int, corr *byte)")
	Pragma("noescape")
	Doc("q8_0PairSums8AVX2 stores, for blocks b < nb of eight Q8_0 activation rows",
		"(row r at a + r*aStride), the 16 int16 sums 8*(a_2i + a_2i+1) at",
		"corr[(b*8+r)*32:]. It needs LevelAVX2 and nb > 0.")
	Load(Param("a"), RDI)
	Load(Param("aStride"), R8)
	Load(Param("nb"), RCX)
	Load(Param("corr"), RBX)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R9)
	LEAQ(Mem{Base: RDI, Index: R8, Scale: 4}, R11)
	broadcastQ(0x0808080808080808, 15)

	Label("psloop")
	lo, hi := rows4(RDI, 2), rows4(R11, 2)
	for k := 0; k < 4; k++ {
		VPMADDUBSW(lo[k], Y15, yr(k))
	}
	for k := 0; k < 4; k++ {
		VPMADDUBSW(hi[k], Y15, yr(4+k))
	}
	for k := 0; k < 8; k++ {
		VMOVDQU(yr(k), Mem{Base: RBX, Disp: 32 * k})
	}
	ADDQ(Imm(34), RDI)
	ADDQ(Imm(34), R11)
	ADDQ(U32(256), RBX)
	DECQ(RCX)
	JNZ(LabelRef("psloop"))
	VZEROUPPER()
	RET()
}

// q40Dot8C emits q4_0Q8_0Dot8CAVX2: q4_0Q8_0Dot8AVX2 with corr from
// q8_0PairSums8AVX2 for the same eight activation rows and nb blocks.
func q40Dot8C() {
	TEXT("q4_0Q8_0Dot8CAVX2", NOSPLIT, "func(w, a *byte, aStride int, tab *float32, corr *byte, nb int, out *float32)")
	Pragma("noescape")
	Doc("q4_0Q8_0Dot8CAVX2 is q4_0Q8_0Dot8AVX2 (same sums bit for bit) with the",
		"pair sums q8_0PairSums8AVX2 computed for the same activation rows.")
	stack := AllocLocal(32)
	Load(Param("w"), RSI)
	Load(Param("a"), RDI)
	Load(Param("aStride"), R8)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R9)
	LEAQ(Mem{Base: RDI, Index: R8, Scale: 4}, R11)
	Load(Param("tab"), RDX)
	Load(Param("corr"), RBX)
	Load(Param("nb"), RCX)
	broadcastQ(0x0f0f0f0f0f0f0f0f, 15)
	broadcastQ(0x0001000100010001, 13)
	for i := 3; i <= 10; i++ {
		VXORPS(yr(i), yr(i), yr(i))
	}

	Label("q40cloop")
	// d[0..7] = fp32(d_w) * tab[0..7] on the stack
	MOVWLZX(Mem{Base: RSI}, EAX)
	VMOVD(EAX, X2)
	VCVTPH2PS(X2, X2)
	VBROADCASTSS(X2, Y2)
	VMULPS(Mem{Base: RDX}, Y2, Y2)
	VMOVUPS(Y2, stack)
	// quants 0..15 low nibbles, 16..31 high nibbles
	VMOVDQU(Mem{Base: RSI, Disp: 2}, X0)
	VPSRLW(U8(4), X0, X1)
	VINSERTI128(U8(1), X1, Y0, Y0)
	VPAND(Y15, Y0, Y0)
	// One activation row k of the block: unsigned quants Y0 times the
	// Q8_0 quants of row k, minus the pair sums at 32k(BX), then as
	// MM8_ACT_OFFSET.
	lo, hi := rows4(RDI, 2), rows4(R11, 2)
	rows := append(lo[:], hi[:]...)
	for k, aaddr := range rows {
		VPMADDUBSW(aaddr, Y0, Y11)
		VPSUBW(Mem{Base: RBX, Disp: 32 * k}, Y11, Y11)
		VPMADDWD(Y13, Y11, Y11)
		VCVTDQ2PS(Y11, Y11)
		VBROADCASTSS(stack.Offset(4*k), Y12)
		VFMADD231PS(Y12, Y11, yr(3+k))
	}
	ADDQ(Imm(18), RSI)
	ADDQ(Imm(34), RDI)
	ADDQ(Imm(34), R11)
	ADDQ(Imm(32), RDX)
	ADDQ(U32(256), RBX)
	DECQ(RCX)
	JNZ(LabelRef("q40cloop"))

	Load(Param("out"), R10)
	for k := 0; k < 8; k++ {
		hsumStoreX(3+k, Mem{Base: R10, Disp: 4 * k})
	}
	VZEROUPPER()
	RET()
}

// Batched Q4_0 x Q8_0 in the arithmetic of llama.cpp's repacked
// ggml_gemm_q4_0_8x8_q8_0 (and ggml_gemv_q4_0_8x8_q8_0): per pair of a
// weight row and an activation row, the exact integer sum of each
// 32-element block is converted to float32 and accumulated with one fused
// multiply-add, acc = fma(float32(isum), d_w*d_a, acc), block after block.
//
// The weights of eight rows are first unpacked ("packed", by q40x8.go's
// q4_0x8PackAVX2 from the interleaved layout) for a run of blocks: per
// block eight vectors W_k (k = 0..7) whose 32-bit lane j holds the four
// unsigned 4-bit quants 4k..4k+3 (0..15) of row j, then the eight rows'
// d_w as float32 (288 bytes a block). The kernel then takes four
// activation rows at a time: VPMADDUBSW of W_k with the broadcast quants
// 4k..4k+3 of an activation row gives, per lane, two int16 pair sums of
// q_w*q_a (|each| <= 2*15*128); their sum over the eight k fits int16
// (<= 30720), VPMADDWD adds the pairs, and subtracting 8*Σq_a turns
// Σq_w*q_a into Σ(q_w-8)*q_a: the same exact integer the ggml kernels form.

// q80GemmTab emits q8_0GemmTabAVX2: tab[(i*nb+b)*8:] = float32(d_a), int32
// 8*Σq_a of block b of Q8_0 activation row i (row i at a + i*aStride), for
// i < rows, b < nb.
func q80GemmTab() {
	TEXT("q8_0GemmTabAVX2", NOSPLIT, "func(a *byte, aStride, rows, nb int, tab *byte)")
	Pragma("noescape")
	Doc("q8_0GemmTabAVX2 stores float32(d_a) and the int32 8*Σq_a of block b of",
		"Q8_0 activation row i (at a + i*aStride) at tab[(i*nb+b)*8:], for i <",
		"rows > 0 and b < nb (nb > 0). It needs LevelAVX2.")
	Load(Param("a"), RSI)
	Load(Param("aStride"), R8)
	Load(Param("rows"), R9)
	Load(Param("nb"), R10)
	Load(Param("tab"), RDI)
	broadcastQ(0x0808080808080808, 15)
	broadcastQ(0x0001000100010001, 14)

	Label("q80tabrow")
	MOVQ(RSI, R11)
	MOVQ(R10, RCX)

	Label("q80tabblk")
	VPMADDUBSW(Mem{Base: R11, Disp: 2}, Y15, Y0)
	VPMADDWD(Y14, Y0, Y0)
	VEXTRACTI128(U8(1), Y0, X1)
	VPADDD(X1, X0, X0)
	VPSHUFD(U8(0x4e), X0, X1)
	VPADDD(X1, X0, X0)
	VPSHUFD(U8(0xb1), X0, X1)
	VPADDD(X1, X0, X0)
	VMOVD(X0, Mem{Base: RDI, Disp: 4})
	MOVWLZX(Mem{Base: R11}, EAX)
	VMOVD(EAX, X2)
	VCVTPH2PS(X2, X2)
	VMOVSS(X2, Mem{Base: RDI})
	ADDQ(Imm(34), R11)
	ADDQ(Imm(8), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q80tabblk"))
	ADDQ(R8, RSI)
	DECQ(R9)
	JNZ(LabelRef("q80tabrow"))
	VZEROUPPER()
	RET()
}

// q40GemmR4 emits q4_0GemmR4AVX2: for nb packed blocks of eight weight
// rows (q4_0x8PackAVX2) and the same nb blocks of four Q8_0 activation rows
// (row i at a + i*aStride, their q8_0GemmTabAVX2 entries at tab +
// i*tabStride, 8 bytes a block), carries the eight accumulators of each
// activation row i, dst[i*ldDst+0..7], through the blocks.
func q40GemmR4() {
	TEXT("q4_0GemmR4AVX2", NOSPLIT, "func(pack, a *byte, aStride int, tab *byte, tabStride, nb int, dst *float32, ldDst int)")
	Pragma("noescape")
	Doc("q4_0GemmR4AVX2 carries the accumulators dst[i*ldDst+0..7] of activation",
		"rows i = 0..3 (at a + i*aStride, table entries at tab + i*tabStride)",
		"with the eight packed weight rows through nb > 0 blocks. It needs",
		"LevelAVX2.")
	Load(Param("pack"), RSI)
	Load(Param("a"), RDI)
	Load(Param("aStride"), R8)
	Load(Param("tab"), RDX)
	Load(Param("tabStride"), R10)
	Load(Param("nb"), RCX)
	Load(Param("dst"), RBX)
	Load(Param("ldDst"), R13)
	SHLQ(U8(2), R13)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R9)
	LEAQ(Mem{Base: R10, Index: R10, Scale: 2}, R12)
	LEAQ(Mem{Base: R13, Index: R13, Scale: 2}, R14)
	broadcastQ(0x0001000100010001, 15)
	dst := [4]Mem{
		{Base: RBX},
		{Base: RBX, Index: R13, Scale: 1},
		{Base: RBX, Index: R13, Scale: 2},
		{Base: RBX, Index: R14, Scale: 1},
	}
	for i := 0; i < 4; i++ {
		VMOVUPS(dst[i], yr(4+i))
	}

	Label("q40r4loop")
	// Quant chunk k: W_k times the broadcast quants 4k..4k+3 of the four
	// activation rows, into (k = 0) or added to (k > 0) the int16 sums
	// Y0..Y3.
	for k := 0; k < 8; k++ {
		VMOVDQU(Mem{Base: RSI, Disp: 32 * k}, Y8)
		for i, m := range rows4(RDI, 2+4*k) {
			VPBROADCASTD(m, yr(9+i))
		}
		for i := 0; i < 4; i++ {
			if k == 0 {
				VPMADDUBSW(yr(9+i), Y8, yr(i))
			} else {
				VPMADDUBSW(yr(9+i), Y8, yr(9+i))
			}
		}
		if k > 0 {
			for i := 0; i < 4; i++ {
				VPADDW(yr(9+i), yr(i), yr(i))
			}
		}
	}
	// The block's end for each activation row: int32 sums minus 8*Σq_a
	// (tab entry: d_a, then 8*Σq_a), to float32, times d_w*d_a, added to
	// the accumulator.
	tab := [4]Mem{
		{Base: RDX},
		{Base: RDX, Index: R10, Scale: 1},
		{Base: RDX, Index: R10, Scale: 2},
		{Base: RDX, Index: R12, Scale: 1},
	}
	for i := 0; i < 4; i++ {
		sums := yr(i)
		VPMADDWD(Y15, sums, sums)
		VPBROADCASTD(tab[i].Offset(4), Y13)
		VPSUBD(Y13, sums, sums)
		VCVTDQ2PS(sums, sums)
		VBROADCASTSS(tab[i], Y14)
		VMULPS(Mem{Base: RSI, Disp: 256}, Y14, Y14)
		VFMADD231PS(Y14, sums, yr(4+i))
	}
	ADDQ(U32(288), RSI)
	ADDQ(Imm(34), RDI)
	ADDQ(Imm(8), RDX)
	DECQ(RCX)
	JNZ(LabelRef("q40r4loop"))

	for i := 0; i < 4; i++ {
		VMOVUPS(yr(4+i), dst[i])
	}
	VZEROUPPER()
	RET()
}

// transposeDW4x4 transposes the dwords of Y0..Y3 in each 128-bit half
// (Y4..Y7 scratch): afterwards lane j of Y(m) is dword m of row j.
func transposeDW4x4() {
	VPUNPCKLDQ(Y1, Y0, Y4)
	VPUNPCKHDQ(Y1, Y0, Y5)
	VPUNPCKLDQ(Y3, Y2, Y6)
	VPUNPCKHDQ(Y3, Y2, Y7)
	VPUNPCKLQDQ(Y6, Y4, Y0)
	VPUNPCKHQDQ(Y6, Y4, Y1)
	VPUNPCKLQDQ(Y7, Y5, Y2)
	VPUNPCKHQDQ(Y7, Y5, Y3)
}
