package main

import (
	"github.com/mmcloughlin/avo/ir"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The kernels of Q4_K weights interleaved eight rows at a time
// (q4kx8_amd64.s, AVO_SET=q4kx8; the layout is quant/q4_kx8.go's): a
// super-block of eight rows is 1152 bytes: the rows' float16 d (0) and
// dmin (16), their 12 scale bytes as three dword vectors S0, S1, S2 (32,
// 64, 96; lane j = bytes 4k..4k+3 of row j), then 32 quant vectors (128 +
// 32v; lane j = quant bytes 4v..4v+3 of row j). Vector v = 8p + c holds in
// its low nibbles quants 4c..4c+3 of sub-block 2p and in its high nibbles
// those of sub-block 2p+1, so a broadcast activation dword multiplies a
// whole vector, each lane summing its own row, and the scales and mins of
// the eight rows unpack with dword shifts.

// q4kx8Off are the offsets in an interleaved super-block.
const (
	q4kx8D    = 0
	q4kx8Dmin = 16
	q4kx8S0   = 32
	q4kx8Q    = 128
	q4kx8Len  = 1152
)

// q4kx8 emits every kernel of the set.
func q4kx8() {
	q4kx8Gemv(false)
	q4kx8Gemv(true)
	q4kx8Pack()
}

// q4kx8Consts sets the dword masks the scale unpacking uses: Y11 = 63,
// Y10 = 0x0f, Y9 = 0x30 in every dword, and Y15 = 0x0f in every byte.
func q4kx8Consts() {
	broadcastQ(0x0f0f0f0f0f0f0f0f, 15)
	broadcastQ(0x0000003f0000003f, 11)
	broadcastQ(0x0000000f0000000f, 10)
	broadcastQ(0x0000003000000030, 9)
}

// q4kx8Scale leaves in dst the 6-bit scale (min when min is set) of
// sub-block j of the eight rows of the super-block at R11, as dwords
// (q4KScaleMin's values); t is a temporary. The scale dwords are loaded
// each time: VEX shifts take no memory operand, and the AVX2 kernel has
// no registers to spare.
func q4kx8Scale(j int, min bool, dst, t VecPhysical) {
	s0 := Mem{Base: R11, Disp: q4kx8S0}      // bytes 0..3
	s1 := Mem{Base: R11, Disp: q4kx8S0 + 32} // bytes 4..7
	s2 := Mem{Base: R11, Disp: q4kx8S0 + 64} // bytes 8..11
	shift := func(n int, x VecPhysical) {
		if n > 0 {
			VPSRLD(U8(uint8(n)), x, x)
		}
	}
	if j < 4 {
		src := s0
		if min {
			src = s1
		}
		VMOVDQU(src, dst)
		shift(8*j, dst)
		VPAND(Y11, dst, dst)
		return
	}
	k := j - 4
	// scale: low nibble of byte 8+k, bits 6..7 of byte k on top; min: high
	// nibble of byte 8+k, bits 6..7 of byte 4+k on top
	hi, sh := s0, 8*k
	if min {
		hi, sh = s1, 8*k+4
	}
	VMOVDQU(s2, dst)
	shift(sh, dst)
	VPAND(Y10, dst, dst)
	VMOVDQU(hi, t)
	shift(8*k+2, t)
	VPAND(Y9, t, t)
	VPOR(t, dst, dst)
}

// vpdpwssdBcst emits VPDPWSSD.BCST m32, x, acc: vpdpwssd with the other
// operand the dword at m32 broadcast to every lane.
func vpdpwssdBcst(m32 Mem, x, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPWSSD",
		Suffixes: []string{"BCST"},
		Operands: []Op{m32, x, acc},
		Inputs:   []Op{m32, x, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512_VNNI"},
	})
}

// q4kx8Gemv emits q4Kx8GemvAVX2 (vnni false) or q4Kx8GemvVNNI: ngroups
// groups of eight interleaved rows (group g at w + g*groupBytes) times one
// Q8_K activation row over nb super-blocks, stored to dst[8g:8g+8]. Per
// super-block and row the exact int32 sums isum = Σ_j sc_j·(Σ q_w·q_a)
// and imin = Σ_j m_j·(bsum_2j + bsum_2j+1) go into acc = fma(float(isum),
// d·d_a, acc) and accMin = fma(float(imin), dmin·d_a, accMin); the row is
// acc - accMin (GemvQ4K's arithmetic). The sub-block sums: AVX2 sums eight
// VPMADDUBSW word vectors (at most 8·2·15·128 = 30720 a word) and one
// VPMADDWD by ones; VNNI chains eight VPDPBUSD with the activation dword
// broadcast from memory. Scale times sum is a VPMULLD (|sum| < 2^16, scale
// < 64); mins: the min doubled into both words of a dword against the
// bsum pair (VPMADDWD, or VPDPWSSD from memory).
func q4kx8Gemv(vnni bool) {
	name, label := "q4Kx8GemvAVX2", "q4kx8a"
	if vnni {
		name, label = "q4Kx8GemvVNNI", "q4kx8v"
	}
	TEXT(name, NOSPLIT, "func(dst *float32, w *byte, groupBytes, ngroups int, a *byte, nb int)")
	Pragma("noescape")
	if vnni {
		Doc(name+" is q4Kx8GemvAVX2 with AVX512_VNNI on 256-bit vectors (the",
			"same bits). It needs LevelAVX512.")
	} else {
		Doc(name+" stores to dst[8g:8g+8], for g < ngroups > 0, the eight rows of",
			"interleaved Q4_K group g (at w + g*groupBytes) times the Q8_K",
			"activation row a over nb > 0 super-blocks. It needs LevelAVX2.")
	}
	Load(Param("dst"), RDX)
	Load(Param("w"), RSI)
	Load(Param("groupBytes"), R8)
	Load(Param("ngroups"), R9)
	Load(Param("a"), RDI)
	Load(Param("nb"), R10)
	q4kx8Consts()
	if !vnni {
		broadcastQ(0x0001000100010001, 12)
	}

	Label(label + "grp")
	VXORPS(Y14, Y14, Y14) // acc
	VXORPS(Y13, Y13, Y13) // accMin
	MOVQ(RSI, R11)
	MOVQ(RDI, R12)
	MOVQ(R10, RCX)

	Label(label + "blk")
	VPXOR(Y8, Y8, Y8) // isum
	VPXOR(Y7, Y7, Y7) // imin
	for p := 0; p < 4; p++ {
		// Y4, Y5: the sums of sub-blocks 2p (low nibbles) and 2p+1
		for c := 0; c < 8; c++ {
			q := Mem{Base: R11, Disp: q4kx8Q + 32*(8*p+c)}
			alo := Mem{Base: R12, Disp: 4 + 64*p + 4*c}
			ahi := Mem{Base: R12, Disp: 4 + 64*p + 32 + 4*c}
			splitNibbles(q, Y0, Y1)
			if vnni {
				if c == 0 {
					VPXOR(Y4, Y4, Y4)
					VPXOR(Y5, Y5, Y5)
				}
				vpdpbusdBcst(alo, Y0, Y4)
				vpdpbusdBcst(ahi, Y1, Y5)
				continue
			}
			VPBROADCASTD(alo, Y2)
			VPBROADCASTD(ahi, Y3)
			if c == 0 {
				VPMADDUBSW(Y2, Y0, Y4)
				VPMADDUBSW(Y3, Y1, Y5)
				continue
			}
			VPMADDUBSW(Y2, Y0, Y0)
			VPMADDUBSW(Y3, Y1, Y1)
			VPADDW(Y0, Y4, Y4)
			VPADDW(Y1, Y5, Y5)
		}
		if !vnni {
			VPMADDWD(Y12, Y4, Y4)
			VPMADDWD(Y12, Y5, Y5)
		}
		for h, s := range []VecPhysical{Y4, Y5} {
			j := 2*p + h
			q4kx8Scale(j, false, Y2, Y3)
			VPMULLD(Y2, s, s)
			VPADDD(s, Y8, Y8)
			// the min in both words of each dword, against bsum_2j, bsum_2j+1
			q4kx8Scale(j, true, Y2, Y3)
			VPSLLD(U8(16), Y2, Y3)
			VPOR(Y3, Y2, Y2)
			bs := Mem{Base: R12, Disp: 4 + 256 + 4*j}
			if vnni {
				vpdpwssdBcst(bs, Y2, Y7)
				continue
			}
			VPBROADCASTD(bs, Y3)
			VPMADDWD(Y3, Y2, Y2)
			VPADDD(Y2, Y7, Y7)
		}
	}
	Comment("acc += isum·(d·d_a), accMin += imin·(dmin·d_a), per row")
	VBROADCASTSS(Mem{Base: R12}, Y3)
	VCVTPH2PS(Mem{Base: R11, Disp: q4kx8D}, Y2)
	VMULPS(Y3, Y2, Y2)
	VCVTDQ2PS(Y8, Y8)
	VFMADD231PS(Y2, Y8, Y14)
	VCVTPH2PS(Mem{Base: R11, Disp: q4kx8Dmin}, Y2)
	VMULPS(Y3, Y2, Y2)
	VCVTDQ2PS(Y7, Y7)
	VFMADD231PS(Y2, Y7, Y13)
	ADDQ(U32(q4kx8Len), R11)
	ADDQ(U32(292), R12)
	DECQ(RCX)
	JNZ(LabelRef(label + "blk"))

	VSUBPS(Y13, Y14, Y14)
	groupLoopEnd(label + "grp")
}

// q4kx8Pack emits q4Kx8PackAVX2: nb super-blocks of one interleaved group
// into q4KPack8AVX2 + q4KPack8ScalesAVX2's packed layout (q4krLen = 2496
// bytes a super-block): V[j][c] at 32(8j+c) = the low (j even) or high
// nibbles of quant vector 8(j/2)+c, SC[j] at 2048+32j = (sc_j, sc_j) as
// word pairs, MN[s] at 2304+32s = (m_2s, m_2s+1), then d and dmin of the
// rows as float32 (2432, 2464).
func q4kx8Pack() {
	TEXT("q4Kx8PackAVX2", NOSPLIT, "func(w *byte, nb int, pack *byte)")
	Pragma("noescape")
	Doc("q4Kx8PackAVX2 unpacks nb > 0 super-blocks of an interleaved Q4_K group",
		"(at w) into pack in q4KPack8AVX2's layout, scales, mins, d and dmin",
		"included. It needs LevelAVX2.")
	Load(Param("w"), R11)
	Load(Param("nb"), RCX)
	Load(Param("pack"), RDI)
	q4kx8Consts()

	Label("q4kx8packloop")
	for v := 0; v < 32; v++ {
		p, c := v/8, v%8
		splitNibbles(Mem{Base: R11, Disp: q4kx8Q + 32*v}, Y0, Y1)
		VMOVDQU(Y0, Mem{Base: RDI, Disp: 32 * (8*(2*p) + c)})
		VMOVDQU(Y1, Mem{Base: RDI, Disp: 32 * (8*(2*p+1) + c)})
	}
	for j := 0; j < 8; j++ {
		q4kx8Scale(j, false, Y2, Y3)
		VPSLLD(U8(16), Y2, Y3)
		VPOR(Y3, Y2, Y2)
		VMOVDQU(Y2, Mem{Base: RDI, Disp: 2048 + 32*j})
	}
	for s := 0; s < 4; s++ {
		q4kx8Scale(2*s, true, Y2, Y3)
		q4kx8Scale(2*s+1, true, Y4, Y3)
		VPSLLD(U8(16), Y4, Y4)
		VPOR(Y4, Y2, Y2)
		VMOVDQU(Y2, Mem{Base: RDI, Disp: 2304 + 32*s})
	}
	VCVTPH2PS(Mem{Base: R11, Disp: q4kx8D}, Y2)
	VMOVUPS(Y2, Mem{Base: RDI, Disp: 2432})
	VCVTPH2PS(Mem{Base: R11, Disp: q4kx8Dmin}, Y2)
	VMOVUPS(Y2, Mem{Base: RDI, Disp: 2464})
	ADDQ(U32(q4kx8Len), R11)
	ADDQ(U32(2496), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q4kx8packloop"))
	VZEROUPPER()
	RET()
}
