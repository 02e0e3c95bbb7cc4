package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 K-quant dot products (avx2kquant_amd64.s): ggml-cpu's haswell
// ggml_vec_dot_q{2,3,4,5,6}_K_q8_K for one weight row against one Q8_K
// activation row of nb blocks, step for step, so each result is bit for bit
// llama.cpp's. Every kernel keeps x in SI, y in DI and the block count in
// CX; a Q8_K block is 292 bytes (d at 0, qs at 4, bsums at 260).

// kquantDots emits q4KDotAVX2, q6KDotAVX2, q5KDotAVX2, q2KDotAVX2 and
// q3KDotAVX2.
func kquantDots() {
	q4KDot()
	q6KDot()
	q5KDot()
	q2KDot()
	q3KDot()
}

// kDotHead starts a K-quant dot kernel: x, y and nb into SI, DI and CX.
func kDotHead(name string, doc ...string) {
	TEXT(name, NOSPLIT, "func(x, y *byte, nb int) float32")
	Pragma("noescape")
	Doc(doc...)
	Load(Param("x"), RSI)
	Load(Param("y"), RDI)
	Load(Param("nb"), RCX)
}

// kDotEnter skips the block loop when nb is 0.
func kDotEnter(done string) {
	TESTQ(RCX, RCX)
	JEQ(LabelRef(done))
}

// kDotNext advances x by the weight block size and y by one Q8_K block and
// loops to label while blocks are left.
func kDotNext(label string, xBlock int) {
	ADDQ(U32(xBlock), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef(label))
}

// kDotReturn returns X0 as the result.
func kDotReturn() {
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

// bcastQ sets every quadword of Y(n) to v (through AX and X(n)).
func bcastQ(v uint64, n int) {
	MOVQ(U64(v), RAX)
	VMOVQ(RAX, xr(n))
	VPBROADCASTQ(xr(n), yr(n))
}

// kDmin loads d = y.d * x.d into X(d) and dmin = y.d * x.dmin into X(m) for
// a super-block whose fp16 pair d, dmin is at off(SI) (X0 and X1 scratch).
func kDmin(off, d, m int) {
	VMOVD(Mem{Base: RSI, Disp: off}, X0)
	VCVTPH2PS(X0, X0)
	VMOVSS(Mem{Base: RDI}, X1)
	VMULSS(X1, X0, xr(d))
	VMOVSHDUP(X0, xr(m))
	VMULSS(X1, xr(m), xr(m))
}

// q6Consts loads the Q6_K kernels' constants: the masks 0x0f, 0x03, 0x0c,
// 0x30 and 0xc0 in every byte of Y15, Y13, Y12, Y11 and Y10, the scale
// shuffle (bytes 0 x8, 1 x8; advanced by 2 per 32 values) in X9 and its
// step in X8.
func q6Consts() {
	bcastQ(0x0f0f0f0f0f0f0f0f, 15)
	bcastQ(0x0303030303030303, 13)
	bcastQ(0x0c0c0c0c0c0c0c0c, 12)
	bcastQ(0x3030303030303030, 11)
	bcastQ(0xc0c0c0c0c0c0c0c0, 10)
	MOVQ(U64(0x0101010101010101), RAX)
	VPXOR(X9, X9, X9)
	VPINSRQ(U8(1), RAX, X9, X9)
	MOVQ(U64(0x0202020202020202), RAX)
	VMOVQ(RAX, X8)
	VPBROADCASTQ(X8, X8)
}

// q6BlockTail ends a Q6_K block of the one-row kernels: sumi (Y6) -=
// 32 * (bsums . scales) per lane pair (scales in X7, Q8_K bsums at
// 260(DI)), then acc (Y5) += d * sumi with d = y.d * x.d.
func q6BlockTail() {
	// sumi -= 32 * (bsums . scales) per lane pair
	VPMOVSXBW(X7, Y4)
	VPMADDWD(Mem{Base: RDI, Disp: 260}, Y4, Y4)
	VPSLLD(U8(5), Y4, Y4)
	VPSUBD(Y4, Y6, Y6)

	// acc += d * sumi, d = y.d * x.d
	MOVWLZX(Mem{Base: RSI, Disp: 208}, EAX)
	VMOVD(EAX, X3)
	VCVTPH2PS(X3, X3)
	VMULSS(Mem{Base: RDI}, X3, X3)
	VBROADCASTSS(X3, Y3)
	VCVTDQ2PS(Y6, Y6)
	VFMADD231PS(Y6, Y3, Y5)
}

// kScalesMins unpacks the twelve 6-bit scale/min bytes at 4(SI) of a Q4_K
// or Q5_K block with ggml's utmp trick: scales 0..3 in AX, 4..7 in R13,
// mins 0..3 in R12, 4..7 in R10 (BX, DX and R11 scratch).
func kScalesMins() {
	MOVL(Mem{Base: RSI, Disp: 4}, EAX)
	MOVL(Mem{Base: RSI, Disp: 8}, EBX)
	MOVL(Mem{Base: RSI, Disp: 12}, EDX)
	MOVL(EDX, R10L)
	SHRL(U8(4), R10L)
	ANDL(U32(0x0f0f0f0f), R10L)
	MOVL(EBX, R11L)
	SHRL(U8(6), R11L)
	ANDL(U32(0x03030303), R11L)
	SHLL(U8(4), R11L)
	ORL(R11L, R10L)
	MOVL(EBX, R12L)
	ANDL(U32(0x3f3f3f3f), R12L)
	MOVL(EDX, R13L)
	ANDL(U32(0x0f0f0f0f), R13L)
	MOVL(EAX, R11L)
	SHRL(U8(6), R11L)
	ANDL(U32(0x03030303), R11L)
	SHLL(U8(4), R11L)
	ORL(R11L, R13L)
	ANDL(U32(0x3f3f3f3f), EAX)
}

// kMinsDot sets X5 to the four int32 lanes of mins . pairwise bsums: the
// eight mins (R12, R10) as words times the sums of bsums[2j], bsums[2j+1]
// (X6 scratch).
func kMinsDot() {
	VMOVQ(R12, X5)
	VPINSRD(U8(1), R10L, X5, X5)
	VPMOVZXBW(X5, X5)
	VMOVDQU(Mem{Base: RDI, Disp: 260}, X6)
	VPHADDW(Mem{Base: RDI, Disp: 276}, X6, X6)
	VPMADDWD(X6, X5, X5)
}

// kScaleWords puts the eight scales (AX, R13) as words in both 128-bit
// lanes of Y11 (through X(t)), resets the scale shuffle Y10 to Y12 and
// zeroes the int32 accumulator Y9.
func kScaleWords(t int) {
	VMOVQ(RAX, xr(t))
	VPINSRD(U8(1), R13L, xr(t), xr(t))
	VPMOVZXBW(xr(t), xr(t))
	VINSERTI128(U8(1), xr(t), yr(t), Y11)
	VMOVDQU(Y12, Y10)
	VPXOR(Y9, Y9, Y9)
}

// kScaleMul multiplies the pair sums in Y0 (first 32 values) and Y1 (next
// 32) by their sub-block scales, picked from the words of Y11 by the
// shuffle Y10 (advanced by Y13 each time), and adds both to Y9.
func kScaleMul() {
	VPSHUFB(Y10, Y11, Y2)
	VPADDB(Y13, Y10, Y10)
	VPSHUFB(Y10, Y11, Y3)
	VPADDB(Y13, Y10, Y10)
	VPMADDWD(Y2, Y0, Y0)
	VPMADDWD(Y3, Y1, Y1)
	VPADDD(Y1, Y0, Y0)
	VPADDD(Y0, Y9, Y9)
}

// q4KDot emits q4KDotAVX2: ggml_vec_dot_q4_K_q8_K's AVX2 kernel, step for
// step: per block the scales are applied to 8 int32 lanes with VPMADDWD,
// the lanes are converted and FMA-accumulated with d = d_a*d_w across
// blocks, the mins go to a 4-lane accumulator with dmin, and both are
// reduced as ggml does, so the result is bit-identical to llama.cpp's
// haswell build.
func q4KDot() {
	kDotHead("q4KDotAVX2",
		"q4KDotAVX2 is ggml_vec_dot_q4_K_q8_K's AVX2 kernel over nb blocks,",
		"bit-identical to llama.cpp's haswell build.")
	bcastQ(0x0f0f0f0f0f0f0f0f, 15)
	bcastQ(0x0202020202020202, 13)
	bcastQ(0x0100010001000100, 12)
	VXORPS(Y8, Y8, Y8)
	VXORPS(X7, X7, X7)
	kDotEnter("q4xdone")

	Label("q4xloop")
	// d = y.d * x.d and dmin = y.d * x.dmin (subtracted below)
	kDmin(0, 14, 3)
	// scales (AX, R13) and mins (R12, R10), ggml's utmp trick
	kScalesMins()
	// acc_m -= dmin * (mins . pairwise bsums)
	kMinsDot()
	VCVTDQ2PS(X5, X5)
	VBROADCASTSS(X3, X3)
	VFNMADD231PS(X5, X3, X7)
	// scales as words in both 128-bit lanes
	kScaleWords(4)
	for i, q8 := range []int{4, 68, 132, 196} {
		// 64 values: low nibbles against q8lo, high ones against q8hi
		VMOVDQU(Mem{Base: RSI, Disp: 16 + 32*i}, Y0)
		VPSRLW(U8(4), Y0, Y1)
		VPAND(Y15, Y0, Y0)
		VPAND(Y15, Y1, Y1)
		VPMADDUBSW(Mem{Base: RDI, Disp: q8}, Y0, Y0)
		VPMADDUBSW(Mem{Base: RDI, Disp: q8 + 32}, Y1, Y1)
		kScaleMul()
	}
	VBROADCASTSS(X14, Y4)
	VCVTDQ2PS(Y9, Y9)
	VFMADD231PS(Y9, Y4, Y8)
	kDotNext("q4xloop", 144)

	Label("q4xdone")
	VMOVHLPS(X7, X7, X0)
	VADDPS(X0, X7, X7)
	VMOVSHDUP(X7, X0)
	VADDSS(X0, X7, X7)
	hsumFloat8(8, 0, 1)
	VADDSS(X7, X0, X0)
	kDotReturn()
}

// q6KDot emits q6KDotAVX2: ggml_vec_dot_q6_K_q8_K's AVX2 kernel, step for
// step (bit-identical to llama.cpp's haswell build).
func q6KDot() {
	kDotHead("q6KDotAVX2",
		"q6KDotAVX2 is ggml_vec_dot_q6_K_q8_K's AVX2 kernel over nb blocks,",
		"bit-identical to llama.cpp's haswell build.")
	q6Consts()
	VXORPS(Y5, Y5, Y5)
	kDotEnter("q6xdone")

	Label("q6xloop")
	VMOVDQU(Mem{Base: RSI, Disp: 192}, X7)
	VMOVDQU(X9, X14)
	VPXOR(Y6, Y6, Y6)
	// chunk adds the 32 6-bit values in Y3 (offset by 32) times the Q8_K
	// quants at q8off(DI), scaled by the next two scale bytes, to Y6.
	chunk := func(q8off int) {
		VPMADDUBSW(Mem{Base: RDI, Disp: q8off}, Y3, Y3)
		VPSHUFB(X14, X7, X4)
		VPADDB(X8, X14, X14)
		VPMOVSXBW(X4, Y4)
		VPMADDWD(Y4, Y3, Y3)
		VPADDD(Y3, Y6, Y6)
	}
	// half does 128 values: low bits at qloff(SI), high bits at qhoff(SI).
	half := func(qloff, qhoff int, q8 [4]int) {
		VMOVDQU(Mem{Base: RSI, Disp: qloff}, Y0)
		VMOVDQU(Mem{Base: RSI, Disp: qloff + 32}, Y1)
		VMOVDQU(Mem{Base: RSI, Disp: qhoff}, Y2)
		VPAND(Y15, Y0, Y3)
		VPAND(Y13, Y2, Y4)
		VPSLLW(U8(4), Y4, Y4)
		VPOR(Y4, Y3, Y3)
		chunk(q8[0])
		VPAND(Y15, Y1, Y3)
		VPAND(Y12, Y2, Y4)
		VPSLLW(U8(2), Y4, Y4)
		VPOR(Y4, Y3, Y3)
		chunk(q8[1])
		VPSRLW(U8(4), Y0, Y3)
		VPAND(Y15, Y3, Y3)
		VPAND(Y11, Y2, Y4)
		VPOR(Y4, Y3, Y3)
		chunk(q8[2])
		VPSRLW(U8(4), Y1, Y3)
		VPAND(Y15, Y3, Y3)
		VPAND(Y10, Y2, Y4)
		VPSRLW(U8(2), Y4, Y4)
		VPOR(Y4, Y3, Y3)
		chunk(q8[3])
	}
	half(0, 128, [4]int{4, 36, 68, 100})
	half(64, 160, [4]int{132, 164, 196, 228})

	q6BlockTail()
	kDotNext("q6xloop", 210)

	Label("q6xdone")
	hsumFloat8(5, 0, 1)
	kDotReturn()
}

// q5KDot emits q5KDotAVX2: ggml_vec_dot_q5_K_q8_K's AVX2 kernel, step for
// step (bit-identical to llama.cpp's haswell build, whose compiled code
// fuses summs += dmin*hsum into an FMA).
func q5KDot() {
	kDotHead("q5KDotAVX2",
		"q5KDotAVX2 is ggml_vec_dot_q5_K_q8_K's AVX2 kernel over nb blocks,",
		"bit-identical to llama.cpp's haswell build.")
	bcastQ(0x0f0f0f0f0f0f0f0f, 15)
	bcastQ(0x0202020202020202, 13)
	bcastQ(0x0100010001000100, 12)
	bcastQ(0x1010101010101010, 4)
	VXORPS(Y8, Y8, Y8)
	VXORPS(X7, X7, X7)
	kDotEnter("q5xdone")

	Label("q5xloop")
	kDmin(0, 14, 3)
	kScalesMins()
	// summs -= dmin * sum_j m_j*(bsums[2j]+bsums[2j+1]) (one FMA)
	kMinsDot()
	VPSHUFD(U8(0x4e), X5, X6)
	VPADDD(X6, X5, X5)
	VPSHUFD(U8(0xb1), X5, X6)
	VPADDD(X6, X5, X5)
	VMOVD(X5, R11L)
	VCVTSI2SSL(R11L, X5, X5)
	VFNMADD231SS(X5, X3, X7)

	kScaleWords(0)
	VMOVDQU(Mem{Base: RSI, Disp: 16}, Y6) // qh
	VPSRLW(U8(4), Y4, Y5)                 // qh bit mask, 0x01 bytes, doubled per 32 values
	for i, q8 := range []int{4, 68, 132, 196} {
		// 64 values: nibbles plus 16 where their qh bit is set
		VMOVDQU(Mem{Base: RSI, Disp: 48 + 32*i}, Y0)
		VPSRLW(U8(4), Y0, Y1)
		VPAND(Y15, Y0, Y0)
		VPAND(Y15, Y1, Y1)
		for _, q := range []VecPhysical{Y0, Y1} {
			VPAND(Y5, Y6, Y2)
			VPCMPEQB(Y5, Y2, Y2)
			VPAND(Y4, Y2, Y2)
			VPOR(Y2, q, q)
			VPADDB(Y5, Y5, Y5)
		}
		VPMADDUBSW(Mem{Base: RDI, Disp: q8}, Y0, Y0)
		VPMADDUBSW(Mem{Base: RDI, Disp: q8 + 32}, Y1, Y1)
		kScaleMul()
	}
	VBROADCASTSS(X14, Y0)
	VCVTDQ2PS(Y9, Y9)
	VFMADD231PS(Y9, Y0, Y8)
	kDotNext("q5xloop", 176)

	Label("q5xdone")
	hsumFloat8(8, 0, 1)
	VADDSS(X7, X0, X0)
	kDotReturn()
}

// k23Consts loads the constants shared by the Q2_K and Q3_K kernels:
// Y15 = 0x03 bytes, Y13 = 0x04 bytes (shuffle step), Y12 = the first
// get_scale_shuffle_q3k row (words 0 | 1), Y7 = 0 (float accumulator).
func k23Consts() {
	bcastQ(0x0303030303030303, 15)
	bcastQ(0x0404040404040404, 13)
	MOVQ(U64(0x0100010001000100), RAX)
	VMOVQ(RAX, X12)
	VPBROADCASTQ(X12, X12)
	MOVQ(U64(0x0302030203020302), RAX)
	VMOVQ(RAX, X0)
	VPBROADCASTQ(X0, X0)
	VINSERTI128(U8(1), X0, Y12, Y12)
	VXORPS(Y7, Y7, Y7)
}

// k23Half adds the 128 values of one Q2_K/Q3_K half to Y8: the 2-bit quants
// at qoff(SI), four 32-value chunks (shifts 0, 2, 4, 6) against the Q8_K
// quants from q8off(DI), scaled by the words of sc (step emits a chunk).
func k23Half(qoff, q8off int, sc VecPhysical, step func(q8off, shift int, sc VecPhysical)) {
	VMOVDQU(Mem{Base: RSI, Disp: qoff}, Y0)
	VMOVDQU(Y12, Y10)
	for j := 0; j < 4; j++ {
		step(q8off+32*j, 2*j, sc)
	}
}

// q2xStep and q3xStep add one 32-value chunk of a Q2_K/Q3_K half to the
// int32 lanes of Y8 as ggml does: the 2-bit values (Y0 >> shift) & 3, for
// Q3_K minus 4 where the hmask bit (Y6 under byte mask Y5) is clear, are
// multiplied pairwise with the Q8_K quants (VPMADDUBSW) and then with the
// sub-block scales picked from the words of sc by the shuffle mask Y10
// (VPMADDWD).
func q2xStep(q8off, shift int, sc VecPhysical) {
	VPSRLW(U8(uint8(shift)), Y0, Y1)
	VPAND(Y15, Y1, Y1)
	VPMADDUBSW(Mem{Base: RDI, Disp: q8off}, Y1, Y1)
	VPSHUFB(Y10, sc, Y3)
	VPADDB(Y13, Y10, Y10)
	VPMADDWD(Y3, Y1, Y1)
	VPADDD(Y1, Y8, Y8)
}

func q3xStep(q8off, shift int, sc VecPhysical) {
	VPSRLW(U8(uint8(shift)), Y0, Y1)
	VPAND(Y15, Y1, Y1)
	VPANDN(Y5, Y6, Y2)
	VPCMPEQB(Y5, Y2, Y2)
	VPAND(Y14, Y2, Y2)
	VPADDB(Y5, Y5, Y5)
	VPMADDUBSW(Mem{Base: RDI, Disp: q8off}, Y1, Y1)
	VPMADDUBSW(Mem{Base: RDI, Disp: q8off}, Y2, Y2)
	VPSUBW(Y2, Y1, Y1)
	VPSHUFB(Y10, sc, Y3)
	VPADDB(Y13, Y10, Y10)
	VPMADDWD(Y3, Y1, Y1)
	VPADDD(Y1, Y8, Y8)
}

// q2KDot emits q2KDotAVX2: ggml_vec_dot_q2_K_q8_K's AVX2 kernel, step for
// step (bit-identical to llama.cpp's haswell build).
func q2KDot() {
	kDotHead("q2KDotAVX2",
		"q2KDotAVX2 is ggml_vec_dot_q2_K_q8_K's AVX2 kernel over nb blocks,",
		"bit-identical to llama.cpp's haswell build.")
	k23Consts()
	bcastQ(0x0f0f0f0f0f0f0f0f, 14)
	kDotEnter("q2xdone")

	Label("q2xloop")
	// d = y.d*x.d (X4), dmin = y.d*x.dmin (X5), both broadcast
	kDmin(80, 4, 5)
	VBROADCASTSS(X4, Y4)
	VBROADCASTSS(X5, Y5)

	// acc -= dmin * (mins . bsums), per lane pair
	VMOVDQU(Mem{Base: RSI}, X0)
	VPSRLW(U8(4), X0, X2)
	VPAND(X14, X2, X2)
	VPMOVZXBW(X2, Y2)
	VPMADDWD(Mem{Base: RDI, Disp: 260}, Y2, Y2)
	VCVTDQ2PS(Y2, Y2)
	VFNMADD231PS(Y2, Y5, Y7)

	// scales as words: Y11 = groups 0..7 twice, Y9 = groups 8..15 twice
	VPAND(X14, X0, X1)
	VPMOVZXBW(X1, Y1)
	VPERM2I128(U8(0x00), Y1, Y1, Y11)
	VPERM2I128(U8(0x11), Y1, Y1, Y9)
	VPXOR(Y8, Y8, Y8)

	k23Half(16, 4, Y11, q2xStep)
	k23Half(48, 132, Y9, q2xStep)

	VCVTDQ2PS(Y8, Y8)
	VFMADD231PS(Y8, Y4, Y7)
	kDotNext("q2xloop", 84)

	Label("q2xdone")
	hsumFloat8(7, 0, 1)
	kDotReturn()
}

// q3KDot emits q3KDotAVX2: ggml_vec_dot_q3_K_q8_K's AVX2 kernel, step for
// step (bit-identical to llama.cpp's haswell build).
func q3KDot() {
	kDotHead("q3KDotAVX2",
		"q3KDotAVX2 is ggml_vec_dot_q3_K_q8_K's AVX2 kernel over nb blocks,",
		"bit-identical to llama.cpp's haswell build.")
	k23Consts()
	bcastQ(0x0404040404040404, 14)
	kDotEnter("q3xdone")

	Label("q3xloop")
	// 16 scales - 32 as words (ggml's aux trick): scale bytes 4k..4k+3 in
	// R10..R13, low nibbles of AX/BX (then high ones) with two bits of DX
	MOVL(Mem{Base: RSI, Disp: 96}, EAX)
	MOVL(Mem{Base: RSI, Disp: 100}, EBX)
	MOVL(Mem{Base: RSI, Disp: 104}, EDX)
	for k, r := range []GPPhysical{R10L, R11L, R12L, R13L} {
		src := []GPPhysical{EAX, EBX}[k%2]
		MOVL(src, r)
		if k >= 2 {
			SHRL(U8(4), r)
		}
		ANDL(U32(0x0f0f0f0f), r)
		MOVL(EDX, R8L)
		if k > 0 {
			SHRL(U8(uint8(2*k)), R8L)
		}
		ANDL(U32(0x03030303), R8L)
		SHLL(U8(4), R8L)
		ORL(R8L, r)
	}
	VMOVD(R10L, X1)
	VPINSRD(U8(1), R11L, X1, X1)
	VPINSRD(U8(2), R12L, X1, X1)
	VPINSRD(U8(3), R13L, X1, X1)
	MOVQ(U64(0x2020202020202020), RAX)
	VMOVQ(RAX, X2)
	VPBROADCASTQ(X2, X2)
	VPSUBB(X2, X1, X1)
	VPMOVSXBW(X1, Y1)
	VPERM2I128(U8(0x00), Y1, Y1, Y11)
	VPERM2I128(U8(0x11), Y1, Y1, Y9)

	VMOVDQU(Mem{Base: RSI}, Y6) // hmask
	VPSRLW(U8(2), Y14, Y5)      // hmask bit, 0x01 bytes, doubled per 32 values
	VPXOR(Y8, Y8, Y8)

	k23Half(32, 4, Y11, q3xStep)
	k23Half(64, 132, Y9, q3xStep)

	// acc += d * sumi, d = y.d * x.d
	MOVWLZX(Mem{Base: RSI, Disp: 108}, EAX)
	VMOVD(EAX, X4)
	VCVTPH2PS(X4, X4)
	VMULSS(Mem{Base: RDI}, X4, X4)
	VBROADCASTSS(X4, Y4)
	VCVTDQ2PS(Y8, Y8)
	VFMADD231PS(Y8, Y4, Y7)
	kDotNext("q3xloop", 110)

	Label("q3xdone")
	hsumFloat8(7, 0, 1)
	kDotReturn()
}
