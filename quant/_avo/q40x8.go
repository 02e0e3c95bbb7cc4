package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The kernels of Q4_0 weights interleaved eight rows at a time
// (q40x8_amd64.s, AVO_SET=q40x8; the layout is quant/q4_0x8.go's): a
// block of eight rows is 144 bytes, the rows' eight float16 d_w, then four
// 32-byte vectors, vector v holding in 32-bit lane j the quant bytes
// 4v..4v+3 of row j. Low nibbles of vector v are quants 4v..4v+3 of each
// row, high nibbles quants 16+4v..16+4v+3, so one broadcast activation
// dword multiplies a whole vector and each lane sums its own row: the
// eight rows' block sums come out in order with no horizontal adds and no
// gathered scales.

// splitNibbles loads the 32 bytes at m into lo and leaves their low nibbles
// there and their high nibbles in hi (Y15 = 0x0f bytes).
func splitNibbles(m Mem, lo, hi VecPhysical) {
	VMOVDQU(m, lo)
	VPSRLW(U8(4), lo, hi)
	VPAND(Y15, lo, lo)
	VPAND(Y15, hi, hi)
}

// groupLoopEnd stores the eight results in Y14 to DX, moves DX, the group
// pointer SI (by R8 bytes) and the count R9 on, and loops to label while
// groups remain; then it returns.
func groupLoopEnd(label string) {
	VMOVUPS(Y14, Mem{Base: RDX})
	ADDQ(U8(32), RDX)
	ADDQ(R8, RSI)
	DECQ(R9)
	JNZ(LabelRef(label))
	VZEROUPPER()
	RET()
}

// q40x8 emits every kernel of the set.
func q40x8() {
	q40x8Gemv(false)
	q40x8Gemv(true)
	q40x8Pack()
}

// q40x8Gemv emits q4_0x8GemvAVX2 (vnni false) or q4_0x8GemvVNNI: ngroups
// groups of eight interleaved rows (group g at w + g*groupBytes) times one
// Q8_0 activation row over nb blocks, accumulated onto dst[8g:8g+8]. Per
// block the eight exact int32 sums Σ q_w·q_a - 8·Σ q_a (the table's
// second word) are converted to float32 and added with one VFMADD231PS by
// fp32(d_w)·d_a, as ggml_gemv_q4_0_8x8_q8_0 does per row.
//
// AVX2: per vector two VPMADDUBSW with the broadcast activation dwords
// (pair sums of at most 2·15·128 = 3840) summed as words (eight of them at
// most 30720: no wrap), one VPMADDWD by ones to int32. VNNI: per vector two
// VPDPBUSD with the activation dword broadcast from memory, into two int32
// chains of four.
func q40x8Gemv(vnni bool) {
	name, label := "q4_0x8GemvAVX2", "q40x8a"
	if vnni {
		name, label = "q4_0x8GemvVNNI", "q40x8v"
	}
	TEXT(name, NOSPLIT, "func(dst *float32, w *byte, groupBytes, ngroups int, a, tab *byte, nb int)")
	Pragma("noescape")
	if vnni {
		Doc(name+" is q4_0x8GemvAVX2 with AVX512_VNNI on 256-bit vectors (the",
			"same bits). It needs LevelAVX512.")
	} else {
		Doc(name+" adds to dst[8g:8g+8], for g < ngroups > 0, the eight rows of",
			"interleaved Q4_0 group g (at w + g*groupBytes) times the Q8_0",
			"activation row a over nb > 0 blocks, block b's float32 d_a and int32",
			"8·Σq_a at tab[8b:] (q8_0GemmTabAVX2). It needs LevelAVX2.")
	}
	Load(Param("dst"), RDX)
	Load(Param("w"), RSI)
	Load(Param("groupBytes"), R8)
	Load(Param("ngroups"), R9)
	Load(Param("a"), RDI)
	Load(Param("tab"), RBX)
	Load(Param("nb"), R10)
	broadcastQ(0x0f0f0f0f0f0f0f0f, 15)
	if !vnni {
		broadcastQ(0x0001000100010001, 13)
	}

	Label(label + "grp")
	VMOVUPS(Mem{Base: RDX}, Y14)
	MOVQ(RSI, R11)
	MOVQ(RDI, R12)
	MOVQ(RBX, R13)
	MOVQ(R10, RCX)

	Label(label + "blk")
	if vnni {
		// Y0..Y3 low nibbles of vectors 0..3, Y4..Y7 their high nibbles
		for v := 0; v < 4; v++ {
			VMOVDQU(Mem{Base: R11, Disp: 16 + 32*v}, yr(v))
		}
		for v := 0; v < 4; v++ {
			VPSRLW(U8(4), yr(v), yr(4+v))
		}
		for v := 0; v < 8; v++ {
			VPAND(Y15, yr(v), yr(v))
		}
		VPXOR(Y8, Y8, Y8)
		VPXOR(Y9, Y9, Y9)
		for v := 0; v < 4; v++ {
			vpdpbusdBcst(Mem{Base: R12, Disp: 2 + 4*v}, yr(v), Y8)
			vpdpbusdBcst(Mem{Base: R12, Disp: 18 + 4*v}, yr(4+v), Y9)
		}
		VPADDD(Y9, Y8, Y8)
	} else {
		// per vector v: Y(2v) low nibbles, Y(2v+1) high, times the
		// broadcast activation dwords 4v and 16+4v (Y8, Y9); words summed
		// into Y0
		for v := 0; v < 4; v++ {
			lo, hi := yr(2*v), yr(2*v+1)
			splitNibbles(Mem{Base: R11, Disp: 16 + 32*v}, lo, hi)
			VPBROADCASTD(Mem{Base: R12, Disp: 2 + 4*v}, Y8)
			VPBROADCASTD(Mem{Base: R12, Disp: 18 + 4*v}, Y9)
			VPMADDUBSW(Y8, lo, lo)
			VPMADDUBSW(Y9, hi, hi)
		}
		VPADDW(Y1, Y0, Y0)
		VPADDW(Y3, Y2, Y2)
		VPADDW(Y5, Y4, Y4)
		VPADDW(Y7, Y6, Y6)
		VPADDW(Y2, Y0, Y0)
		VPADDW(Y6, Y4, Y4)
		VPADDW(Y4, Y0, Y0)
		VPMADDWD(Y13, Y0, Y8)
	}
	Comment("Y8 = the eight rows' Σ q_w·q_a - 8·Σ q_a, as float32")
	VPBROADCASTD(Mem{Base: R13, Disp: 4}, Y10)
	VPSUBD(Y10, Y8, Y8)
	VCVTDQ2PS(Y8, Y8)
	Comment("Y11 = fp32(d_w)·d_a of the eight rows")
	VCVTPH2PS(Mem{Base: R11}, Y11)
	VBROADCASTSS(Mem{Base: R13}, Y12)
	VMULPS(Y12, Y11, Y11)
	VFMADD231PS(Y11, Y8, Y14)
	ADDQ(U8(144), R11)
	ADDQ(U8(34), R12)
	ADDQ(U8(8), R13)
	DECQ(RCX)
	JNZ(LabelRef(label + "blk"))

	groupLoopEnd(label + "grp")
}

// q40x8Pack emits q4_0x8PackAVX2: nb blocks of one interleaved group into
// the unpacked layout the batched kernels read (q4_0GemmR4AVX2 in
// avx2_q80q40.go, q4_0GemmR4x16AVX512; 288 bytes a block: eight vectors of
// quant bytes, vector m's lane j quants 4m..4m+3 of row j, then the eight
// float32 d_w), which is the group's vectors v masked (m = v) and shifted
// (m = 4+v).
func q40x8Pack() {
	TEXT("q4_0x8PackAVX2", NOSPLIT, "func(w *byte, nb int, pack *byte)")
	Pragma("noescape")
	Doc("q4_0x8PackAVX2 unpacks nb > 0 blocks of an interleaved Q4_0 group (at",
		"w) into pack in the layout q4_0GemmR4AVX2 reads: 288 bytes a block,",
		"eight vectors of 4-bit quants, 32-bit lane j holding four quants of",
		"row j, then the rows' float32 d_w. It needs LevelAVX2.")
	Load(Param("w"), RSI)
	Load(Param("nb"), RCX)
	Load(Param("pack"), RDI)
	broadcastQ(0x0f0f0f0f0f0f0f0f, 15)

	Label("q40x8packloop")
	for v := 0; v < 4; v++ {
		VMOVDQU(Mem{Base: RSI, Disp: 16 + 32*v}, yr(v))
	}
	for v := 0; v < 4; v++ {
		VPSRLW(U8(4), yr(v), yr(4+v))
	}
	for v := 0; v < 8; v++ {
		VPAND(Y15, yr(v), yr(v))
	}
	for v := 0; v < 8; v++ {
		VMOVDQU(yr(v), Mem{Base: RDI, Disp: 32 * v})
	}
	VCVTPH2PS(Mem{Base: RSI}, Y8)
	VMOVUPS(Y8, Mem{Base: RDI, Disp: 256})
	ADDQ(U8(144), RSI)
	ADDQ(U32(288), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q40x8packloop"))
	VZEROUPPER()
	RET()
}
