package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 one-token multi-row GEMV kernels (avx2gemv_amd64.s,
// AVO_SET=avx2-gemv), formerly the hand-written gemv_amd64.s.

// avx2Gemv emits q4KGemvAVX2, prefetchRange, gemvF32AVX2, q4KGemv8AVX2
// and gemvF32x8AVX2.
func avx2Gemv() {
	gemvQ4K()
	gemvPrefetchRange()
	gemvF32()
	gemvQ4Kx8()
	gemvF32x8()
}

// gemvBcastQ emits MOVQ $v, AX; VMOVQ AX, X(n); VPBROADCASTQ X(n), Y(n).
func gemvBcastQ(v uint64, n int) {
	MOVQ(U64(v), RAX)
	VMOVQ(RAX, xr(n))
	VPBROADCASTQ(xr(n), yr(n))
}

// gemvQ4K emits q4KGemvAVX2: one row of GemvQ4K
// (ggml_gemv_q4_K_8x8_q8_K's arithmetic): per super-block the integer sums
// isum = Σ_j sc_j·(Σ q_w·q_a) and imin = Σ_j m_j·(bsum_2j + bsum_2j+1) are
// computed exactly in int32 (|isum| < 2^25), converted to float32 and
// accumulated with VFMADD231SS by d·d_a into X8 and by dmin·d_a into X7;
// the result is X8 - X7.
func gemvQ4K() {
	TEXT("q4KGemvAVX2", NOSPLIT, "func(w, a *byte, nb int) float32")
	Pragma("noescape")
	Doc("q4KGemvAVX2 is one row of GemvQ4K over nb > 0 super-blocks, with the",
		"hardware fused multiply-add.")
	Load(Param("w"), RSI)
	Load(Param("a"), RDI)
	Load(Param("nb"), RCX)
	gemvBcastQ(0x0f0f0f0f0f0f0f0f, 15)
	gemvBcastQ(0x0202020202020202, 13)
	gemvBcastQ(0x0100010001000100, 12)
	VXORPS(X8, X8, X8)
	VXORPS(X7, X7, X7)

	Label("q4kgloop")
	Comment("The weights stream: fetch the lines of the super-block 2 KiB ahead.")
	PREFETCHT0(Mem{Base: RSI, Disp: 2048})
	PREFETCHT0(Mem{Base: RSI, Disp: 2112})
	PREFETCHT0(Mem{Base: RSI, Disp: 2176})

	Comment("X14 = d*d_a, X6 = dmin*d_a (float32, rounded once each)")
	VMOVD(Mem{Base: RSI}, X0)
	VCVTPH2PS(X0, X0)
	VMOVSS(Mem{Base: RDI}, X1)
	VMULSS(X1, X0, X14)
	VMOVSHDUP(X0, X6)
	VMULSS(X1, X6, X6)

	Comment("scales (AX, R13) and mins (R12, R10) as bytes, ggml's utmp trick")
	kScalesMins()

	Comment("X5 = 4 int32 partial sums of mins . pairwise bsums")
	VMOVQ(R12, X5)
	VPINSRD(U8(1), R10L, X5, X5)
	VPMOVZXBW(X5, X5)
	VMOVDQU(Mem{Base: RDI, Disp: 260}, X3)
	VPHADDW(Mem{Base: RDI, Disp: 276}, X3, X3)
	VPMADDWD(X3, X5, X5)

	Comment("scales as words in both 128-bit lanes")
	VMOVQ(RAX, X4)
	VPINSRD(U8(1), R13L, X4, X4)
	VPMOVZXBW(X4, X4)
	VINSERTI128(U8(1), X4, Y4, Y11)
	VMOVDQU(Y12, Y10)
	VPXOR(Y9, Y9, Y9)

	gemvQ4KChunk(16, 4, 36)
	gemvQ4KChunk(48, 68, 100)
	gemvQ4KChunk(80, 132, 164)
	gemvQ4KChunk(112, 196, 228)

	Comment("X9 lanes 0..3 = isum partials, X5 = imin partials; reduce both:",
		"after two VPHADDD, lane 0 = isum and lane 1 = imin.")
	VEXTRACTI128(U8(1), Y9, X0)
	VPADDD(X0, X9, X9)
	VPHADDD(X5, X9, X9)
	VPHADDD(X9, X9, X9)
	VCVTDQ2PS(X9, X9)
	VFMADD231SS(X14, X9, X8)
	VMOVSHDUP(X9, X9)
	VFMADD231SS(X6, X9, X7)

	ADDQ(U8(144), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q4kgloop"))

	VSUBSS(X7, X8, X8)
	VZEROUPPER()
	Store(X8, ReturnIndex(0))
	RET()
}

// gemvQ4KChunk is one 64-element chunk of q4KGemvAVX2: the 32 weight bytes
// at qoff(SI) against the activations at q8lo/q8hi(DI), the scale words
// broadcast by the running shuffle control Y10 (+2 per sub-block), added
// to Y9.
func gemvQ4KChunk(qoff, q8lo, q8hi int) {
	VMOVDQU(Mem{Base: RSI, Disp: qoff}, Y0)
	VPSRLW(U8(4), Y0, Y1)
	VPAND(Y15, Y0, Y0)
	VPAND(Y15, Y1, Y1)
	VPMADDUBSW(Mem{Base: RDI, Disp: q8lo}, Y0, Y0)
	VPMADDUBSW(Mem{Base: RDI, Disp: q8hi}, Y1, Y1)
	VPSHUFB(Y10, Y11, Y2)
	VPADDB(Y13, Y10, Y10)
	VPSHUFB(Y10, Y11, Y3)
	VPADDB(Y13, Y10, Y10)
	VPMADDWD(Y2, Y0, Y0)
	VPMADDWD(Y3, Y1, Y1)
	VPADDD(Y1, Y0, Y0)
	VPADDD(Y0, Y9, Y9)
}

// gemvPrefetchRange emits prefetchRange: asks for the cache lines of the
// n bytes from p (PREFETCHT0, no faults).
func gemvPrefetchRange() {
	TEXT("prefetchRange", NOSPLIT, "func(p *byte, n int)")
	Pragma("noescape")
	Doc("prefetchRange asks the CPU to load the cache lines of the n > 0 bytes",
		"from p; it never faults.")
	Load(Param("p"), RSI)
	Load(Param("n"), RCX)
	LEAQ(Mem{Base: RSI, Index: RCX, Scale: 1}, RDX)

	Label("pfloop")
	PREFETCHT0(Mem{Base: RSI})
	ADDQ(U8(64), RSI)
	CMPQ(RSI, RDX)
	JB(LabelRef("pfloop"))
	RET()
}

// gemvF32Reduce is GGML_F32x8_REDUCE of Y(a)..Y(a+3) into X(a) (temp
// X(a+1)), as in dotF32AVX2: (Ya+Ya+2)+(Ya+1+Ya+3), then lo+hi lanes,
// then two horizontal adds.
func gemvF32Reduce(a int) {
	VADDPS(yr(a+2), yr(a), yr(a))
	VADDPS(yr(a+3), yr(a+1), yr(a+1))
	VADDPS(yr(a+1), yr(a), yr(a))
	VEXTRACTF128(U8(1), yr(a), xr(a+1))
	VADDPS(xr(a+1), xr(a), xr(a))
	VHADDPS(xr(a), xr(a), xr(a))
	VHADDPS(xr(a), xr(a), xr(a))
}

// gemvF32Head loads the gemvF32AVX2/gemvF32x8AVX2 arguments (dst DX, w R8,
// rowBytes R9, x R10, n SI, rows R12; with shr, rows >>= 3) and the byte
// offsets R13 = 4·np, BX = 4·(np + (n-np)&^3), SI = 4·n.
func gemvF32Head(shr bool) {
	Load(Param("dst"), RDX)
	Load(Param("w"), R8)
	Load(Param("rowBytes"), R9)
	Load(Param("x"), R10)
	Load(Param("n"), RSI)
	Load(Param("rows"), R12)
	if shr {
		SHRQ(U8(3), R12)
	}
	Comment("byte offsets: R13 = 4·np, BX = 4·(np + (n-np)&^3), SI = 4·n")
	MOVQ(RSI, R13)
	ANDQ(I8(-32), R13)
	MOVQ(RSI, RBX)
	ANDQ(I8(-4), RBX)
	SHLQ(U8(2), R13)
	SHLQ(U8(2), RBX)
	SHLQ(U8(2), RSI)
}

// gemvF32Main emits the zeroed accumulators Y0..Y7 and the main loop of
// two rows (A at a, B at R11) over the first np elements, the activations
// loaded once into Y12..Y15; it jumps to done when np is 0.
func gemvF32Main(a GPPhysical, loop, done string) {
	for i := 0; i < 8; i++ {
		VXORPS(yr(i), yr(i), yr(i))
	}
	XORQ(RAX, RAX)
	CMPQ(RAX, R13)
	JGE(LabelRef(done))

	Label(loop)
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: R10, Index: RAX, Scale: 1, Disp: 32 * i}, yr(12+i))
	}
	for i := 0; i < 4; i++ {
		VFMADD231PS(Mem{Base: a, Index: RAX, Scale: 1, Disp: 32 * i}, yr(12+i), yr(i))
	}
	for i := 0; i < 4; i++ {
		VFMADD231PS(Mem{Base: R11, Index: RAX, Scale: 1, Disp: 32 * i}, yr(12+i), yr(4+i))
	}
	ADDQ(U8(128), RAX)
	CMPQ(RAX, R13)
	JLT(LabelRef(loop))
}

// gemvF32 emits gemvF32AVX2: rows consecutive rows of ggml_vec_dot_f32 on
// the haswell build (the arithmetic of vecDotF32At's AVX2 path) without a
// call per row: the first np = n&^31 products in four accumulators of
// eight lanes reduced by gemvF32Reduce (all zero when np is 0), then the
// tail's first (n-np)&^3 products rounded and added one at a time and its
// last (n-np)&3 fused. Rows go two at a time (A in Y0..Y3, B in Y4..Y7,
// the activations loaded once into Y12..Y15), so the two rows' serial
// tails overlap; a last odd row runs as A and B alike and stores once.
func gemvF32() {
	TEXT("gemvF32AVX2", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, x *byte, n, rows int)")
	Pragma("noescape")
	Doc("gemvF32AVX2 sets dst[0:rows] to the AVX2 vecDotF32 of rows > 0",
		"consecutive F32 rows from w (stride rowBytes) with the n floats at x.")
	gemvF32Head(false)

	Label("gf32pair")
	LEAQ(Mem{Base: R8, Index: R9, Scale: 1}, R11)
	CMPQ(R12, Imm(1))
	JNE(LabelRef("gf32two"))
	MOVQ(R8, R11)

	Label("gf32two")
	gemvF32Main(R8, "gf32loop", "gf32reduce")

	Label("gf32reduce")
	gemvF32Reduce(0)
	gemvF32Reduce(4)

	Label("gf32mul")
	CMPQ(RAX, RBX)
	JGE(LabelRef("gf32fma"))
	VMOVSS(Mem{Base: R8, Index: RAX, Scale: 1}, X8)
	VMULSS(Mem{Base: R10, Index: RAX, Scale: 1}, X8, X8)
	VADDSS(X8, X0, X0)
	VMOVSS(Mem{Base: R11, Index: RAX, Scale: 1}, X9)
	VMULSS(Mem{Base: R10, Index: RAX, Scale: 1}, X9, X9)
	VADDSS(X9, X4, X4)
	ADDQ(U8(4), RAX)
	JMP(LabelRef("gf32mul"))

	Label("gf32fma")
	CMPQ(RAX, RSI)
	JGE(LabelRef("gf32store"))
	VMOVSS(Mem{Base: R8, Index: RAX, Scale: 1}, X8)
	VFMADD231SS(Mem{Base: R10, Index: RAX, Scale: 1}, X8, X0)
	VMOVSS(Mem{Base: R11, Index: RAX, Scale: 1}, X9)
	VFMADD231SS(Mem{Base: R10, Index: RAX, Scale: 1}, X9, X4)
	ADDQ(U8(4), RAX)
	JMP(LabelRef("gf32fma"))

	Label("gf32store")
	VMOVSS(X0, Mem{Base: RDX})
	CMPQ(R12, Imm(1))
	JEQ(LabelRef("gf32done"))
	VMOVSS(X4, Mem{Base: RDX, Disp: 4})
	ADDQ(U8(8), RDX)
	LEAQ(Mem{Base: R8, Index: R9, Scale: 2}, R8)
	SUBQ(U8(2), R12)
	JNZ(LabelRef("gf32pair"))

	Label("gf32done")
	VZEROUPPER()
	RET()
}

// gemvQ4Kx8RowMem is byte disp of row r (0..7) of q4KGemv8AVX2's current
// super-block: rows 0..3 from SI, rows 4..7 from BX = SI + 4·rowBytes,
// with R8 = rowBytes and R11 = 3·rowBytes.
func gemvQ4Kx8RowMem(r, disp int) Mem {
	base := RSI
	if r >= 4 {
		base = RBX
	}
	switch r % 4 {
	case 1:
		return Mem{Base: base, Index: R8, Scale: 1, Disp: disp}
	case 2:
		return Mem{Base: base, Index: R8, Scale: 2, Disp: disp}
	case 3:
		return Mem{Base: base, Index: R11, Scale: 1, Disp: disp}
	}
	return Mem{Base: base, Disp: disp}
}

// gemvQ4Kx8Tree leaves in dst the eight int32 partial sums of row r's isum
// for the current super-block: the 64-element chunks' VPMADDUBSW words
// (one sub-block's 16 words a vector, |word| <= 2·15·128 = 3840) are
// summed pairwise by three levels of VPHADDW into one vector whose lane l
// holds, for every sub-block j, the sum of its 16 elements of lane l
// (|sum| <= 8·3840 = 30720, no int16 overflow), in order j = 0..7; one
// VPMADDWD by the scale words (Y11, the same in both lanes) then gives
// sc_j·t_j + sc_j+1·t_j+1 in int32. mid emits between the second and
// third chunks (a prefetch). Uses Y0..Y3.
func gemvQ4Kx8Tree(r int, dst VecPhysical, mid func()) {
	chunk := func(j int, lo, hi VecPhysical) {
		VMOVDQU(gemvQ4Kx8RowMem(r, 16+32*j), lo)
		VPSRLW(U8(4), lo, hi)
		VPAND(Y15, lo, lo)
		VPAND(Y15, hi, hi)
		VPMADDUBSW(Mem{Base: RDI, Disp: 4 + 64*j}, lo, lo)
		VPMADDUBSW(Mem{Base: RDI, Disp: 36 + 64*j}, hi, hi)
		Comment("per lane: [sub-block 2j x4, 2j+1 x4]")
		VPHADDW(hi, lo, lo)
	}
	chunk(0, Y0, Y1)
	chunk(1, Y2, Y3)
	mid()
	Comment("per lane: [0 0 1 1 2 2 3 3]")
	VPHADDW(Y2, Y0, Y0)
	chunk(2, Y1, Y2)
	chunk(3, Y2, Y3)
	Comment("per lane: [4 4 5 5 6 6 7 7], then [0 1 2 3 4 5 6 7]")
	VPHADDW(Y2, Y1, Y1)
	VPHADDW(Y1, Y0, Y0)
	VPMADDWD(Y11, Y0, dst)
}

// gemvQ4Kx8Decode turns the 16 header bytes (d, dmin, scales[12]) of a row
// in each lane of h into the bytes [sc_0..sc_7, m_0..m_7] (ggml's
// get_scale_min_k4), with the controls and masks at dec: sc_0..3 =
// s_0..3&63, m_0..3 = s_4..7&63, sc_4..7 = s_8..11&15 | (s_0..3>>6)<<4,
// m_4..7 = s_8..11>>4 | (s_4..7>>6)<<4. Uses Y4 and Y5.
func gemvQ4Kx8Decode(dec Mem, h VecPhysical) {
	VPSHUFB(dec.Offset(0), h, Y4)
	VPSHUFB(dec.Offset(32), h, h)
	VPSRLW(U8(4), Y4, Y5)
	VPAND(dec.Offset(64), Y4, Y4)
	VPAND(dec.Offset(96), Y5, Y5)
	VPOR(Y5, Y4, Y4)
	VPSRLW(U8(2), h, h)
	VPAND(dec.Offset(128), h, h)
	VPOR(Y4, h, h)
}

// gemvQ4Kx8 emits q4KGemv8AVX2: eight consecutive rows of GemvQ4K, one row
// per lane like ggml_gemv_q4_K_8x8_q8_K: each row's integer sums isum and
// imin are exact (computed in another order than q4KGemvAVX2's, which
// changes nothing), and per super-block the eight isum (imin) are
// converted to float32 together and accumulated with VFMADD231PS by d·d_a
// (dmin·d_a), so every lane rounds exactly like the one-row kernel. The
// eight rows' headers are read two rows a vector (rows k and k+4) and
// their scales and mins decoded together; the mins' dot products with the
// pairwise bsums are done for all rows at once. The next eight rows
// (8·rowBytes contiguous bytes) are prefetched as these are read, one
// line at a time spread over the loop body.
func gemvQ4Kx8() {
	// q4k8Dec: gemvQ4Kx8Decode's shuffle controls and masks (the same in
	// both lanes), then the control that gathers d (words 0..3) and dmin
	// (words 4..7) from four d|dmin dwords.
	dec := GLOBL("q4k8Dec", RODATA|NOPTR)
	const z = 0x80
	tables := [][16]byte{
		{4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15},
		{z, z, z, z, 4, 5, 6, 7, z, z, z, z, 8, 9, 10, 11},
		{63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0},
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15},
		{0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30},
		{0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15},
	}
	for t, b := range tables {
		for i := 0; i < 32; i++ {
			DATA(32*t+i, U8(b[i%16]))
		}
	}
	TEXT("q4KGemv8AVX2", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, a *byte, nb int)")
	Pragma("noescape")
	Doc("q4KGemv8AVX2 computes GemvQ4K for the eight rows starting at w (row",
		"stride rowBytes) over nb > 0 super-blocks into dst[0:8].")
	stack := AllocLocal(128)
	Load(Param("w"), RSI)
	Load(Param("rowBytes"), R8)
	Load(Param("a"), RDI)
	Load(Param("nb"), RCX)
	LEAQ(Mem{Base: RSI, Index: R8, Scale: 8}, R9)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R11)
	gemvBcastQ(0x0f0f0f0f0f0f0f0f, 15)
	VPXOR(Y7, Y7, Y7)
	VXORPS(Y8, Y8, Y8)
	VXORPS(Y14, Y14, Y14)

	Label("q4kg8loop")
	LEAQ(Mem{Base: RSI, Index: R8, Scale: 4}, RBX)
	Comment("R9 runs over the next eight rows (8·rowBytes contiguous bytes from",
		"w + 8·rowBytes), 1152 bytes a super-block: its 18 cache lines are",
		"prefetched one at a time through the loop body (bunched at the top",
		"they read the memory markedly slower).")
	pf := &linePrefetcher{base: R9}
	Comment("Y0..Y3 = the 16 header bytes of rows [k | k+4], k = 0..3")
	for k := 0; k < 4; k++ {
		VMOVDQU(gemvQ4Kx8RowMem(k, 0), xr(k))
		VINSERTI128(U8(1), gemvQ4Kx8RowMem(k+4, 0), yr(k), yr(k))
	}
	Comment("Y10 = d·d_a, Y13 = dmin·d_a of rows 0..7")
	VPUNPCKLDQ(Y1, Y0, Y4)
	VPUNPCKLDQ(Y3, Y2, Y5)
	VPUNPCKLQDQ(Y5, Y4, Y4)
	VPSHUFB(dec.Offset(160), Y4, Y4)
	VPERMQ(U8(0xd8), Y4, Y4)
	VCVTPH2PS(X4, Y5)
	VEXTRACTI128(U8(1), Y4, X4)
	VCVTPH2PS(X4, Y4)
	VBROADCASTSS(Mem{Base: RDI}, Y13)
	VMULPS(Y13, Y5, Y10)
	VMULPS(Y13, Y4, Y13)

	Comment("Y6 = the pairwise bsums bsum_2j + bsum_2j+1 (j = 0..7) in both lanes")
	VBROADCASTI128(Mem{Base: RDI, Disp: 260}, Y6)
	VBROADCASTI128(Mem{Base: RDI, Disp: 276}, Y12)
	VPHADDW(Y12, Y6, Y6)

	Comment("decode the scales and mins; scale words of rows [k | k+4] to 32k(SP);",
		"mins . pairwise bsums as four int32 a row")
	for k := 0; k < 4; k++ {
		h := yr(k)
		gemvQ4Kx8Decode(dec, h)
		VPUNPCKHBW(Y7, h, Y4)
		VPMADDWD(Y6, Y4, Y4)
		switch k {
		case 0:
			VMOVDQA(Y4, Y9)
		case 1:
			VPHADDD(Y4, Y9, Y9)
		case 2:
			VMOVDQA(Y4, Y12)
		case 3:
			VPHADDD(Y4, Y12, Y12)
		}
		VPUNPCKLBW(Y7, h, h)
		VMOVDQU(h, stack.Offset(32*k))
		if k%2 == 1 {
			pf.next()
		}
	}
	Comment("imin of rows 0..7 as float32, accumulated by dmin·d_a")
	VPHADDD(Y12, Y9, Y9)
	VCVTDQ2PS(Y9, Y9)
	VFMADD231PS(Y13, Y9, Y14)

	Comment("isum partials row by row; rows 0,1 -> Y12, 2,3 -> Y5, 4,5 -> Y13, 6,7 -> Y5")
	for r := 0; r < 8; r++ {
		pf.next()
		VBROADCASTI128(stack.Offset(32*(r%4)+16*(r/4)), Y11)
		dst := Y4
		if r%2 == 1 {
			dst = Y9
		}
		gemvQ4Kx8Tree(r, dst, pf.next)
		if r%2 == 0 {
			continue
		}
		switch r {
		case 1:
			VPHADDD(Y9, Y4, Y12)
		case 5:
			VPHADDD(Y9, Y4, Y13)
		case 3:
			VPHADDD(Y9, Y4, Y5)
			VPHADDD(Y5, Y12, Y12)
		case 7:
			VPHADDD(Y9, Y4, Y5)
			VPHADDD(Y5, Y13, Y13)
		}
	}
	Comment("Y12 = [rows 0..3 lane 0 | lane 1], Y13 the same for rows 4..7:",
		"add the lanes; isum of rows 0..7 as float32, accumulated by d·d_a")
	VPERM2I128(U8(0x20), Y13, Y12, Y0)
	VPERM2I128(U8(0x31), Y13, Y12, Y1)
	VPADDD(Y1, Y0, Y0)
	VCVTDQ2PS(Y0, Y0)
	VFMADD231PS(Y10, Y0, Y8)

	pf.check("q4KGemv8AVX2", 1152) // one super-block of eight rows
	ADDQ(U32(1152), R9)
	ADDQ(U8(144), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q4kg8loop"))

	VSUBPS(Y14, Y8, Y8)
	Load(Param("dst"), RDX)
	VMOVUPS(Y8, Mem{Base: RDX})
	VZEROUPPER()
	RET()
}

// gemvF32x8 emits gemvF32x8AVX2: gemvF32AVX2 for rows a positive multiple
// of 8, eight rows at a time: each row's four accumulators are summed
// lane-wise as GGML_F32x8_REDUCE does ((a0+a2)+(a1+a3)) and kept on the
// stack; then the horizontal steps of the eight rows (hi+lo, then the two
// VHADDPS) run together, two rows a vector, which adds the same pairs in
// the same order as the one-row reduction. The tail (n%32 elements)
// follows per row as in gemvF32AVX2.
func gemvF32x8() {
	// gf32x8Perm: VPERMPS indices that put rows [0 2 4 6 | 1 3 5 7] back
	// in order.
	perm := GLOBL("gf32x8Perm", RODATA|NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
	TEXT("gemvF32x8AVX2", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, x *byte, n, rows int)")
	Pragma("noescape")
	Doc("gemvF32x8AVX2 is gemvF32AVX2 for rows a positive multiple of 8, the",
		"horizontal sums of eight rows done together (same bits).")
	stack := AllocLocal(256)
	gemvF32Head(true)

	Label("g8group")
	MOVQ(R8, RCX)  // row A of the pair
	XORQ(RDI, RDI) // stack offset of the pair

	Label("g8pair")
	LEAQ(Mem{Base: RCX, Index: R9, Scale: 1}, R11) // row B
	gemvF32Main(RCX, "g8loop", "g8vsum")

	Label("g8vsum")
	VADDPS(Y2, Y0, Y0)
	VADDPS(Y3, Y1, Y1)
	VADDPS(Y1, Y0, Y0)
	VADDPS(Y6, Y4, Y4)
	VADDPS(Y7, Y5, Y5)
	VADDPS(Y5, Y4, Y4)
	VMOVUPS(Y0, Mem{Base: RSP, Index: RDI, Scale: 1})
	VMOVUPS(Y4, Mem{Base: RSP, Index: RDI, Scale: 1, Disp: 32})
	LEAQ(Mem{Base: RCX, Index: R9, Scale: 2}, RCX)
	ADDQ(U8(64), RDI)
	CMPQ(RDI, U32(256))
	JLT(LabelRef("g8pair"))

	Comment("t_r = lo(v_r)+hi(v_r), two rows a vector: T01, T23, T45, T67")
	for i, t := range []VecPhysical{Y8, Y10, Y11, Y12} {
		VMOVUPS(stack.Offset(64*i), Y0)
		VMOVUPS(stack.Offset(64*i+32), Y1)
		VPERM2F128(U8(0x20), Y1, Y0, t)
		VPERM2F128(U8(0x31), Y1, Y0, Y9)
		VADDPS(Y9, t, t)
	}
	Comment("(t[0]+t[1]), (t[2]+t[3]), then their sum, for all eight rows")
	VHADDPS(Y10, Y8, Y8)
	VHADDPS(Y12, Y11, Y11)
	VHADDPS(Y11, Y8, Y8)
	VMOVUPS(perm, Y13)
	VPERMPS(Y8, Y13, Y8)
	VMOVUPS(Y8, Mem{Base: RDX})

	Comment("the tail, row by row")
	CMPQ(R13, RSI)
	JGE(LabelRef("g8next"))
	MOVQ(R8, RCX)
	XORQ(RDI, RDI)

	Label("g8trow")
	VMOVSS(Mem{Base: RDX, Index: RDI, Scale: 4}, X0)
	MOVQ(R13, RAX)

	Label("g8tmul")
	CMPQ(RAX, RBX)
	JGE(LabelRef("g8tfma"))
	VMOVSS(Mem{Base: RCX, Index: RAX, Scale: 1}, X8)
	VMULSS(Mem{Base: R10, Index: RAX, Scale: 1}, X8, X8)
	VADDSS(X8, X0, X0)
	ADDQ(U8(4), RAX)
	JMP(LabelRef("g8tmul"))

	Label("g8tfma")
	CMPQ(RAX, RSI)
	JGE(LabelRef("g8tstore"))
	VMOVSS(Mem{Base: RCX, Index: RAX, Scale: 1}, X8)
	VFMADD231SS(Mem{Base: R10, Index: RAX, Scale: 1}, X8, X0)
	ADDQ(U8(4), RAX)
	JMP(LabelRef("g8tfma"))

	Label("g8tstore")
	VMOVSS(X0, Mem{Base: RDX, Index: RDI, Scale: 4})
	ADDQ(R9, RCX)
	INCQ(RDI)
	CMPQ(RDI, U8(8))
	JLT(LabelRef("g8trow"))

	Label("g8next")
	ADDQ(U8(32), RDX)
	LEAQ(Mem{Base: R8, Index: R9, Scale: 8}, R8)
	DECQ(R12)
	JNZ(LabelRef("g8group"))

	VZEROUPPER()
	RET()
}

// linePrefetcher emits PREFETCHT0 of successive cache lines from base, one
// line a call of next, so that a loop body can spread its prefetches (the
// one-token kernels read the memory markedly slower with them bunched).
type linePrefetcher struct {
	base GPPhysical
	n    int
}

// next prefetches the next line.
func (p *linePrefetcher) next() {
	PREFETCHT0(Mem{Base: p.base, Disp: 64 * p.n})
	p.n++
}

// check panics unless the lines prefetched cover exactly bytes, what
// kernel's loop advances base by.
func (p *linePrefetcher) check(kernel string, bytes int) {
	if 64*p.n != bytes {
		panic(fmt.Sprintf("%s: %d bytes prefetched a loop, want %d", kernel, 64*p.n, bytes))
	}
}
