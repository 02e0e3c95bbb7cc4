package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The row-looping Q2_K/Q3_K one-token kernels (formerly gemv_k23_amd64.s)
// and the Q4_K packing and packed two-row GEMM kernels (formerly
// matmul_q4kr_amd64.s): avx2k4r_amd64.s, AVO_SET=avx2-k4r.
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

// avx2K4r emits q2KGemvAVX2, q3KGemvAVX2, q4KPack8AVX2, q4KGemmR2AVX2 and
// q4KPack8ScalesAVX2.
func avx2K4r() {
	shuf := k23Shuf()
	q2KGemv(shuf)
	q3KGemv()
	q4KPack8()
	q4KGemmR2()
	q4KPack8Scales()
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

	rowLoopNext(7, "q2growloop")

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
//
// A block's eight 32-value chunks (half h, 2-bit field j) are taken a j at
// a time, both halves together, so that one shift of hmask (T_j: its bit
// j at bit 2, and so bit 4+j at bit 6) serves both: chunk (0,j) keeps
// ~T_j & 0x04 (VPANDN) and its 2-bit values at the bottom, as ggml does;
// chunk (1,j) keeps ~T_j & 0x40 and its 2-bit values at bits 4..5, i.e.
// everything 16 times over. Its pair sums 16*(q·a - 4·a·[h clear]) lie in [-16256,
// 16384] and its VPMADDUBSW halves in [-16384, 16384], so nothing
// saturates; the half-1 products go to their own int32 lanes (Y5), which
// are exact multiples of 16 and are shifted back (VPSRAD 4) before they
// join the half-0 lanes (Y8). The int32 lanes are ggml's, so the float
// work that follows gives its bits.
func q3KGemv() {
	// k23Q3Shift: the dword shifts 0, 2, 4, 6 that bring the high bits of
	// Q3_K scales 4k..4k+3 to the bottom of dword k.
	q3shift := GLOBL("k23Q3Shift", RODATA|NOPTR)
	DATA(0, U64(0x0000000200000000))
	DATA(8, U64(0x0000000600000004))
	// k23Q3EvenOdd: the VPSHUFB control that puts the even scale bytes
	// 0, 2, .., 14 before the odd ones 1, 3, .., 15; then 16 bytes 0x0f
	// and 16 bytes 0x20.
	q3eo := GLOBL("k23Q3EvenOdd", RODATA|NOPTR)
	DATA(0, U64(0x0e0c0a0806040200))
	DATA(8, U64(0x0f0d0b0907050301))
	DATA(16, U64(0x0f0f0f0f0f0f0f0f))
	DATA(24, U64(0x0f0f0f0f0f0f0f0f))
	DATA(32, U64(0x2020202020202020))
	DATA(40, U64(0x2020202020202020))
	// k23Q3Word: eight VPSHUFB controls of 32 bytes; the m-th repeats word
	// m of each 128-bit lane over that lane.
	q3word := GLOBL("k23Q3Word", RODATA|NOPTR)
	for m := 0; m < 8; m++ {
		w := uint64(2*m) | uint64(2*m+1)<<8
		for q := 0; q < 4; q++ {
			DATA(32*m+8*q, U64(w*0x0001000100010001))
		}
	}

	TEXT("q3KGemvAVX2", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, a *byte, nb, rows, pf int)")
	Pragma("noescape")
	Doc("q3KGemvAVX2 is q2KGemvAVX2 for Q3_K rows, each row q3KDotAVX2's bits.")
	Load(Param("dst"), R8)
	Load(Param("w"), R9)
	Load(Param("rows"), R14)
	Load(Param("pf"), RDX)
	k23Bcast(0x0303030303030303, 15, false)
	k23Bcast(0x0404040404040404, 14, false)
	k23Bcast(0x4040404040404040, 13, false)
	k23Bcast(0x3030303030303030, 10, false)

	Label("q3growloop")
	MOVQ(R9, RSI)
	Load(Param("a"), RDI)
	Load(Param("nb"), RCX)
	VXORPS(Y7, Y7, Y7)

	// The block's two prefetches are spread: one here, one halfway.
	Label("q3gloop")
	PREFETCHT0(Mem{Base: RSI, Index: RDX, Scale: 1})

	Comment("16 scales - 32 as words (ggml's aux trick, in vector form): the",
		"low nibbles of scale bytes 0..7, then their high nibbles, each with",
		"bits 2k..2k+1 of bytes 8..11 on top for scales 4k..4k+3; then the",
		"even scales in the low lane, the odd ones in the high lane (Y11),",
		"so that sub-blocks 8h+2j and 8h+2j+1 have word 4h+j of each lane.")
	VMOVQ(Mem{Base: RSI, Disp: 96}, X1)
	VPSRLW(U8(4), X1, X2)
	VPUNPCKLQDQ(X2, X1, X1)
	VPAND(q3eo.Offset(16), X1, X1)
	VPBROADCASTD(Mem{Base: RSI, Disp: 104}, X2)
	VPSRLVD(q3shift, X2, X2)
	VPAND(X15, X2, X2)
	VPSLLD(U8(4), X2, X2)
	VPOR(X2, X1, X1)
	VPSUBB(q3eo.Offset(32), X1, X1)
	VPSHUFB(q3eo, X1, X1)
	VPMOVSXBW(X1, Y11)

	Comment("Y6 = hmask; Y0, Y9 = the two halves' 2-bit fields")
	VMOVDQU(Mem{Base: RSI}, Y6)
	VMOVDQU(Mem{Base: RSI, Disp: 32}, Y0)
	VMOVDQU(Mem{Base: RSI, Disp: 64}, Y9)

	for j := 0; j < 4; j++ {
		if j == 2 {
			PREFETCHT0(Mem{Base: RSI, Index: RDX, Scale: 1, Disp: 64})
		}
		Comment("T_j (Y2): bit j of hmask at bit 2, bit 4+j at bit 6")
		t := Y2
		switch j {
		case 0:
			VPSLLW(U8(2), Y6, Y2)
		case 1:
			VPADDB(Y6, Y6, Y2)
		case 2:
			t = Y6
		case 3:
			VPSRLW(U8(1), Y6, Y2)
		}
		// chunk (0,j): (Y0 >> 2j) & 3, minus 4 where T_j bit 2 is clear
		if j == 0 {
			VPAND(Y15, Y0, Y1)
		} else {
			VPSRLW(U8(uint8(2*j)), Y0, Y1)
			VPAND(Y15, Y1, Y1)
		}
		VPANDN(Y14, t, Y3)
		q3gMul(q3word, 4+32*j, 32*j, Y8, j == 0)
		// chunk (1,j), 16 times over: the field at bits 4..5, 64 where
		// T_j bit 6 is clear
		switch {
		case j < 2:
			VPSLLW(U8(uint8(4-2*j)), Y9, Y1)
			VPAND(Y10, Y1, Y1)
		case j == 2:
			VPAND(Y10, Y9, Y1)
		default:
			VPSRLW(U8(2), Y9, Y1)
			VPAND(Y10, Y1, Y1)
		}
		VPANDN(Y13, t, Y3)
		q3gMul(q3word, 4+128+32*j, 32*(4+j), Y5, j == 0)
	}
	VPSRAD(U8(4), Y5, Y5)
	VPADDD(Y5, Y8, Y8)

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

// q3gMul adds one 32-value chunk's products to the int32 lanes of acc
// (sets them when first): the 2-bit values in Y1 and the 4s to subtract
// in Y3 (both possibly scaled alike) times the Q8_K quants pairwise (two
// VPMADDUBSW, subtracted as ggml does), then times the sub-block scales
// of Y11 picked by table row sh (VPMADDWD).
func q3gMul(shuf Mem, q8off, sh int, acc VecPhysical, first bool) {
	VPMADDUBSW(Mem{Base: RDI, Disp: q8off}, Y1, Y1)
	VPMADDUBSW(Mem{Base: RDI, Disp: q8off}, Y3, Y3)
	VPSUBW(Y3, Y1, Y1)
	VPSHUFB(shuf.Offset(sh), Y11, Y4)
	if first {
		VPMADDWD(Y4, Y1, acc)
		return
	}
	VPMADDWD(Y4, Y1, Y1)
	VPADDD(Y1, acc, acc)
}

// Batched Q4_K x Q8_K in the arithmetic of llama.cpp's repacked
// ggml_gemm_q4_K_8x8_q8_K on AVX2 (formerly matmul_q4kr_amd64.s): per pair
// of rows, super-block and 64-element half-pair sb (sub-blocks 2sb, 2sb+1),
// the exact integer sums isum = sc_2sb*Σ_2sb + sc_2sb+1*Σ_2sb+1 and imin =
// m_2sb*bsum_2sb + m_2sb+1*bsum_2sb+1 are converted to float32 and
// accumulated with one fused multiply-add each, acc = fma(isum, d*d_a,
// acc), accMin = fma(imin, dmin*d_a, accMin); the result is acc - accMin.
//
// Packed layout of eight weight rows, 2496 bytes a super-block (see
// matmul_q4kr.go): 64 vectors V[j][c] (sub-block j, chunk c of 4 quants;
// 32-bit lane r = quants 4c..4c+3 of sub-block j of row r, 0..15), then
// 8 vectors SC[j] (lane r = int16 pair sc_j, sc_j), 4 vectors MN[sb]
// (lane r = int16 pair m_2sb, m_2sb+1), then d and dmin of the rows as
// float32.
const (
	q4krV    = 0
	q4krSC   = 2048
	q4krMN   = 2304
	q4krD    = 2432
	q4krDmin = 2464
	q4krLen  = 2496
)

// q4KPack8 emits q4KPack8AVX2.
func q4KPack8() {
	TEXT("q4KPack8AVX2", NOSPLIT, "func(w *byte, rowBytes, nb int, pack *byte)")
	Pragma("noescape")
	Doc("q4KPack8AVX2 writes the unpacked quant vectors (V) of nb > 0",
		"super-blocks of eight Q4_K rows (row r at w + r*rowBytes) into pack,",
		"q4krLen bytes a super-block; q4KPack8ScalesAVX2 fills in the rest.",
		"It needs LevelAVX2.")
	Load(Param("w"), RSI)
	Load(Param("rowBytes"), R8)
	Load(Param("nb"), RCX)
	Load(Param("pack"), RDI)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R9)
	LEAQ(Mem{Base: RSI, Index: R8, Scale: 4}, R11)
	MOVQ(U64(0x0f0f0f0f0f0f0f0f), RAX)
	VMOVQ(RAX, X15)
	VPBROADCASTQ(X15, Y15)

	Label("q4kpackblk")
	for sb := 0; sb < 4; sb++ {
		for h := 0; h < 2; h++ {
			q4krQuarter(16+32*sb+16*h, (2*sb*8+4*h)*32)
		}
	}
	ADDQ(U32(144), RSI)
	ADDQ(U32(144), R11)
	ADDQ(U32(q4krLen), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q4kpackblk"))
	VZEROUPPER()
	RET()
}

// q4krQuarter packs one 16-byte quarter of the quants of rows 0..7 (at
// qoff in each block: 16 + sb*32 + h*16): a 4x4 dword transpose in each
// 128-bit half (rows r | r+4), low nibbles to V[2sb][4h..4h+3] at voff =
// (2sb*8+4h)*32, high nibbles to V[2sb+1][4h..] at voff+256.
func q4krQuarter(qoff, voff int) {
	for r, idx := range []struct {
		i GPPhysical
		s uint8
	}{{nil, 0}, {R8, 1}, {R8, 2}, {R9, 1}} {
		lo := Mem{Base: RSI, Disp: qoff}
		hi := Mem{Base: R11, Disp: qoff}
		if idx.i != nil {
			lo.Index, lo.Scale = idx.i, idx.s
			hi.Index, hi.Scale = idx.i, idx.s
		}
		VMOVDQU(lo, xr(r))
		VINSERTI128(U8(1), hi, yr(r), yr(r))
	}
	transposeDW4x4()
	for i := 0; i < 4; i++ {
		VPAND(Y15, yr(i), yr(4+i))
	}
	for i := 0; i < 4; i++ {
		VMOVDQU(yr(4+i), Mem{Base: RDI, Disp: voff + 32*i})
	}
	for i := 0; i < 4; i++ {
		VPSRLW(U8(4), yr(i), yr(i))
	}
	for i := 0; i < 4; i++ {
		VPAND(Y15, yr(i), yr(i))
	}
	for i := 0; i < 4; i++ {
		VMOVDQU(yr(i), Mem{Base: RDI, Disp: voff + 256 + 32*i})
	}
}

// q4KGemmR2 emits q4KGemmR2AVX2.
func q4KGemmR2() {
	TEXT("q4KGemmR2AVX2", NOSPLIT, "func(pack, a *byte, aStride, nb int, acc *float32)")
	Pragma("noescape")
	Doc("q4KGemmR2AVX2 carries acc[0..7], acc[8..15] (acc and accMin of",
		"activation row 0) and acc[16..31] (row 1) of eight packed weight rows",
		"through nb > 0 super-blocks of the two Q8_K activation rows at a and",
		"a + aStride. It needs LevelAVX2.")
	// 0..127(SP): d*d_a, dmin*d_a of rows 0 and 1; 128..191(SP): the
	// bsums pairs of rows 0 and 1
	sp := AllocLocal(192)
	Load(Param("pack"), RSI)
	Load(Param("a"), RDI)
	Load(Param("aStride"), R8)
	Load(Param("nb"), RCX)
	Load(Param("acc"), RBX)
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: RBX, Disp: 32 * i}, yr(4+i))
	}

	Label("q4kr2loop")
	Comment("scale products d*d_a, dmin*d_a of both rows at 0..127(SP)")
	for r, m := range []Mem{{Base: RDI}, {Base: RDI, Index: R8, Scale: 1}} {
		VBROADCASTSS(m, Y9)
		VMULPS(Mem{Base: RSI, Disp: q4krD}, Y9, Y10)
		VMOVUPS(Y10, sp.Offset(64*r))
		VMULPS(Mem{Base: RSI, Disp: q4krDmin}, Y9, Y10)
		VMOVUPS(Y10, sp.Offset(64*r+32))
	}
	Comment("bsums pairs: int16 (bsum_2sb, bsum_2sb+1) for sb = 0,1 (dwords 0,1)",
		"and 2,3 (dwords 4,5)")
	VMOVDQU(Mem{Base: RDI, Disp: 260}, Y9)
	VPHADDW(Y9, Y9, Y9)
	VMOVDQU(Y9, sp.Offset(128))
	VMOVDQU(Mem{Base: RDI, Index: R8, Scale: 1, Disp: 260}, Y10)
	VPHADDW(Y10, Y10, Y10)
	VMOVDQU(Y10, sp.Offset(160))

	for sb, off := range []int{0, 1, 4, 5} {
		q4krSB(sp, sb, off)
	}

	ADDQ(U32(q4krLen), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q4kr2loop"))

	for i := 0; i < 4; i++ {
		VMOVUPS(yr(4+i), Mem{Base: RBX, Disp: 32 * i})
	}
	VZEROUPPER()
	RET()
}

// q4krSB emits half-pair sb: isum into the accumulators, then the min sums
// (the int16 pairs of bsums for sb of row 0 at 128+4*off(SP), row 1 at
// 160+4*off(SP)).
func q4krSB(sp Mem, sb, off int) {
	q4krSub(2*sb, Y2, Y3)
	q4krSub(2*sb+1, Y0, Y1)
	VPADDD(Y0, Y2, Y2)
	VPADDD(Y1, Y3, Y3)
	VCVTDQ2PS(Y2, Y2)
	VCVTDQ2PS(Y3, Y3)
	VFMADD231PS(sp, Y2, Y4)
	VFMADD231PS(sp.Offset(64), Y3, Y6)
	VPBROADCASTD(sp.Offset(128+4*off), Y9)
	VPBROADCASTD(sp.Offset(160+4*off), Y10)
	VPMADDWD(Mem{Base: RSI, Disp: q4krMN + sb*32}, Y9, Y9)
	VPMADDWD(Mem{Base: RSI, Disp: q4krMN + sb*32}, Y10, Y10)
	VCVTDQ2PS(Y9, Y9)
	VCVTDQ2PS(Y10, Y10)
	VFMADD231PS(sp.Offset(32), Y9, Y5)
	VFMADD231PS(sp.Offset(96), Y10, Y7)
}

// q4krSub emits sub-block j's integer sums for activation rows 0 (DI) and
// 1 (DI+R8): Σ_c VPMADDUBSW(V[j][c], broadcast quants) into int16 t0/t1,
// then VPMADDWD with SC[j]: int32 lanes sc_j*Σ_j in t0, t1.
func q4krSub(j int, t0, t1 VecPhysical) {
	for c := 0; c < 8; c++ {
		VMOVDQU(Mem{Base: RSI, Disp: q4krV + (j*8+c)*32}, Y8)
		VPBROADCASTD(Mem{Base: RDI, Disp: 4 + 32*j + 4*c}, Y9)
		VPBROADCASTD(Mem{Base: RDI, Index: R8, Scale: 1, Disp: 4 + 32*j + 4*c}, Y10)
		if c == 0 {
			VPMADDUBSW(Y9, Y8, t0)
			VPMADDUBSW(Y10, Y8, t1)
			continue
		}
		VPMADDUBSW(Y9, Y8, Y9)
		VPMADDUBSW(Y10, Y8, Y10)
		VPADDW(Y9, t0, t0)
		VPADDW(Y10, t1, t1)
	}
	VPMADDWD(Mem{Base: RSI, Disp: q4krSC + j*32}, t0, t0)
	VPMADDWD(Mem{Base: RSI, Disp: q4krSC + j*32}, t1, t1)
}

// q4KPack8Scales emits q4KPack8ScalesAVX2.
func q4KPack8Scales() {
	TEXT("q4KPack8ScalesAVX2", NOSPLIT, "func(w *byte, rowBytes, nb int, pack *byte)")
	Pragma("noescape")
	Doc("q4KPack8ScalesAVX2 fills the scale, min and d/dmin parts of nb > 0",
		"packed super-blocks of eight Q4_K rows (row r at w + r*rowBytes):",
		"q4KScaleMin's values of every sub-block and d, dmin as float32 (F16C,",
		"which quiets a signalling NaN). TestQ4KPack8ScalesAVX2 compares it with",
		"a portable twin. It needs LevelAVX2.")
	Load(Param("w"), RSI)
	Load(Param("rowBytes"), R13)
	Load(Param("nb"), RCX)
	Load(Param("pack"), RDI)
	LEAQ(Mem{Base: R13, Index: R13, Scale: 2}, R15) // 3*rowBytes

	Label("q4krscblock")
	LEAQ(Mem{Base: RSI, Index: R13, Scale: 4}, R14) // row 4
	for r := 0; r < 8; r++ {
		base := []GPPhysical{RSI, R14}[r/4]
		m := Mem{Base: base}
		switch r % 4 {
		case 1:
			m.Index, m.Scale = R13, 1
		case 2:
			m.Index, m.Scale = R13, 2
		case 3:
			m.Index, m.Scale = R15, 1
		}
		q4krScalesRow(m, 4*r)
	}
	ADDQ(U32(144), RSI)
	ADDQ(U32(q4krLen), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q4krscblock"))
	RET()
}

// q4krScalesRow emits one row of q4KPack8ScalesAVX2: the row's super-block
// at addr (R12 holds it), its pack column at roff(DI). The scales and mins
// are unpacked from the three scale words as q4KScaleMin does for all
// eight sub-blocks (ggml's kmask steps): s0 = scales 0-3, s1 = scales 4-7,
// m0 = mins 0-3, m1 = mins 4-7, one byte each.
func q4krScalesRow(addr Mem, roff int) {
	LEAQ(addr, R12)
	LEAQ(Mem{Base: RDI, Disp: roff}, R10)
	MOVL(Mem{Base: R12, Disp: 4}, EAX)
	MOVL(Mem{Base: R12, Disp: 8}, EBX)
	MOVL(Mem{Base: R12, Disp: 12}, EDX)
	MOVL(EAX, R8L)
	ANDL(U32(0x3f3f3f3f), R8L)
	MOVL(EDX, R9L)
	ANDL(U32(0x0f0f0f0f), R9L)
	SHRL(U8(6), EAX)
	ANDL(U32(0x03030303), EAX)
	SHLL(U8(4), EAX)
	ORL(EAX, R9L)
	MOVL(EBX, R11L)
	ANDL(U32(0x3f3f3f3f), R11L)
	SHRL(U8(4), EDX)
	ANDL(U32(0x0f0f0f0f), EDX)
	SHRL(U8(6), EBX)
	ANDL(U32(0x03030303), EBX)
	SHLL(U8(4), EBX)
	ORL(EBX, EDX)
	for k := 0; k < 4; k++ {
		q4krSc(R8L, R8B, q4krSC+32*k)
	}
	for k := 0; k < 4; k++ {
		q4krSc(R9L, R9B, q4krSC+128+32*k)
	}
	q4krMn(R11L, R11B, q4krMN)
	q4krMn(R11L, R11B, q4krMN+32)
	q4krMn(EDX, DL, q4krMN+64)
	q4krMn(EDX, DL, q4krMN+96)
	for _, c := range []struct{ src, dst int }{{0, q4krD}, {2, q4krDmin}} {
		MOVWLZX(Mem{Base: R12, Disp: c.src}, EAX)
		VMOVD(EAX, X0)
		VCVTPH2PS(X0, X0)
		VMOVSS(X0, Mem{Base: R10, Disp: c.dst})
	}
}

// q4krSc stores the low byte of reg as the 16-bit pair (s, s) at off(R10)
// and shifts reg to the next byte (low is reg's low byte).
func q4krSc(reg, low GPPhysical, off int) {
	MOVBLZX(low, EAX)
	IMUL3L(U32(0x10001), EAX, EAX)
	MOVL(EAX, Mem{Base: R10, Disp: off})
	SHRL(U8(8), reg)
}

// q4krMn stores the low two bytes of reg as the 16-bit pair (m, m') at
// off(R10) and shifts reg to the next two (low is reg's low byte).
func q4krMn(reg, low GPPhysical, off int) {
	MOVBLZX(low, EAX)
	MOVL(reg, EBX)
	SHRL(U8(8), EBX)
	ANDL(U32(0xff), EBX)
	SHLL(U8(16), EBX)
	ORL(EBX, EAX)
	MOVL(EAX, Mem{Base: R10, Disp: off})
	SHRL(U8(16), reg)
}
