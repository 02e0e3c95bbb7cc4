// Command _avo writes quant's AVX-512 kernels (avx512_amd64.s) and their Go
// declarations (avx512_amd64.go) with github.com/mmcloughlin/avo v0.5.0, and
// with AVO_SET=avx2 the AVX2 kernels moved to the generator so far
// (avx2gen_amd64.{s,go}; avx2_float.go). Run it through `go generate
// ./quant` (see quant/avx512.go and quant/avx2gen.go); the outputs are
// committed, and check.sh regenerates them into a temporary directory and
// fails when the committed files differ. It is its own module so that the
// hearth module does not depend on avo.
//
// The kernels are written with physical registers so the output reads like
// hand-written assembly. Two conventions keep the encodings unsurprising:
// registers 0..15 are used by VEX and EVEX instructions alike, registers
// 16..31 only by instructions that have an EVEX form (the assembler picks
// EVEX when a register above 15 appears).
//
// Go operand order is Intel's reversed: for "VPSUBD Z6, Z4, Z6" the result
// is Z6 = Z4 - Z6, and a mask register comes right before the destination.
package main

import (
	"fmt"
	"os"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	switch set := os.Getenv("AVO_SET"); set {
	case "avx2":
		// avx2gen_amd64.s: the float dot products, the Q8_0 activation
		// quantizer (avx2_float.go)
		floatDots()
		q8_0Act()
	case "avx2-kquant":
		// avx2kquant_amd64.s: the AVX2 K-quant dot products (avx2_kquant.go)
		kquantDots()
	case "avx2-legacy":
		// avx2legacy_amd64.s: the Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 kernels
		// (avx2_legacy.go)
		legacyKernels()
	case "avx2-act":
		// avx2act_amd64.s: the Q8_K activation quantizer and the Q6_K
		// row-looping gemv (avx2_act.go)
		avx2Act()
	case "avx2-mmk23":
		// avx2mmk23_amd64.s: the batched Q2_K/Q3_K/Q5_K kernels
		// (avx2_mmk23.go)
		mmk23Kernels()
	case "avx2-mmkquant":
		// avx2mmkquant_amd64.s: the batched Q4_K/Q6_K kernels, one weight
		// row times four or eight Q8_K rows (avx2_mmkquant.go)
		mmkquantDots()
	case "avx2-gemv":
		// avx2gemv_amd64.s: the one-token multi-row F32 GEMV kernels and
		// prefetchRange (avx2_gemv.go)
		avx2Gemv()
	case "avx2-q80q40":
		// avx2q80q40_amd64.s: the packed and batched Q8_0 / Q4_0 kernels
		// (avx2_q80q40.go)
		avx2Q80Q40()
	case "avx2-matmul":
		// avx2matmul_amd64.s: the batched four- and eight-row legacy
		// kernels and the three-row float kernels (avx2_matmul.go)
		matmulKernels()
	case "avx2-k4r":
		// avx2k4r_amd64.s: the row-looping Q2_K/Q3_K gemv, the Q4_K
		// packing and packed GEMM (avx2_k4r.go)
		avx2K4r()
	case "avx2-f16gemm":
		// avx2f16gemm_amd64.s: the register-blocked batched F16 kernel
		// and the activation widening (avx2_f16gemm.go)
		avx2F16Gemm()
	case "q40x8":
		// q40x8_amd64.s: the kernels of Q4_0 weights interleaved eight
		// rows at a time (q40x8.go)
		q40x8()
	case "q4kx8":
		// q4kx8_amd64.s: the kernels of Q4_K weights interleaved eight
		// rows at a time (q4kx8.go)
		q4kx8()
	case "bench":
		// bench/readsum_amd64.s: the read-bandwidth probes (bench_read.go)
		benchRead()
	case "avx2-cpu":
		// engine/cpu/avx2cpu_amd64.s: engine/cpu's softmax and SwiGLU
		// exponentials and F16 attention dot products (avx2_cpu.go)
		avx2CPU()
	case "":
		// avx512_amd64.s
		q8_0Gemv8()
		q6KGemv8()
		q8_0GemmX8()
		q4_0GemmR4x16()
		q4KGemmR4x16()
		f16Gemm4x3(false)
		f16Gemv8(false)
		f16Gemm4x3(true)
		widenF16()
		f16Gemv8(true)
	default:
		fmt.Fprintf(os.Stderr, "_avo: unknown AVO_SET %q\n", set)
		os.Exit(2)
	}
	Generate()
}

// vpdpbusd emits VPDPBUSD signed, unsigned, acc (AVX512_VNNI): each int32
// lane j of acc gets Σ_{k<4} unsigned.byte[4j+k]·signed.byte[4j+k] added,
// the products and sum exact (no saturation). avo v0.5.0's instruction
// table predates VNNI, so the instruction is built by hand; the Go
// assembler knows it.
func vpdpbusd(signed, unsigned, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPBUSD",
		Operands: []Op{signed, unsigned, acc},
		Inputs:   []Op{signed, unsigned, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512_VNNI"},
	})
}

// vpdpbusdBcst emits VPDPBUSD.BCST m32, unsigned, acc: vpdpbusd with the
// signed operand the dword at m32 broadcast to every lane.
func vpdpbusdBcst(m32 Mem, unsigned, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPBUSD",
		Suffixes: []string{"BCST"},
		Operands: []Op{m32, unsigned, acc},
		Inputs:   []Op{m32, unsigned, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512_VNNI"},
	})
}

// vpdpwssd emits VPDPWSSD x, y, acc (AVX512_VNNI): each int32 lane j of
// acc gets y.word[2j]·x.word[2j] + y.word[2j+1]·x.word[2j+1] added (signed
// words, exact products, wrapping sum). Built by hand like vpdpbusd.
func vpdpwssd(x, y, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPWSSD",
		Operands: []Op{x, y, acc},
		Inputs:   []Op{x, y, acc},
		Outputs:  []Op{acc},
		ISA:      []string{"AVX512_VNNI"},
	})
}

// zr returns the ZMM register n, yr the YMM and xr the XMM view of it.
func zr(n int) VecPhysical {
	return [...]VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[n]
}
func yr(n int) VecPhysical {
	return [...]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15, Y16, Y17, Y18, Y19, Y20, Y21, Y22, Y23, Y24, Y25, Y26, Y27, Y28, Y29, Y30, Y31}[n]
}
func xr(n int) VecPhysical {
	return [...]VecPhysical{X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15, X16, X17, X18, X19, X20, X21, X22, X23, X24, X25, X26, X27, X28, X29, X30, X31}[n]
}

// rows4 addresses the blocks of four consecutive rows from base (row
// stride R8, R9 = 3·R8): row k of the four is at rows4(base)[k].
func rows4(base GPPhysical, disp int) [4]Mem {
	return [4]Mem{
		{Base: base, Disp: disp},
		{Base: base, Index: R8, Scale: 1, Disp: disp},
		{Base: base, Index: R8, Scale: 2, Disp: disp},
		{Base: base, Index: R9, Scale: 1, Disp: disp},
	}
}

// hsumFloat8 emits ggml's hsum_float_8 of the eight floats in Y(src) into
// X(t0) (scratch X(t1)), exactly the AVX2 kernels' HSUM_FLOAT8 steps:
// hi128+lo128, then + movehl, then + movehdup. All registers below 16.
func hsumFloat8(src, t0, t1 int) {
	VEXTRACTF128(U8(1), yr(src), xr(t0))
	VADDPS(xr(src), xr(t0), xr(t0))
	VMOVHLPS(xr(t0), xr(t0), xr(t1))
	VADDPS(xr(t1), xr(t0), xr(t0))
	VMOVSHDUP(xr(t0), xr(t1))
	VADDSS(xr(t1), xr(t0), xr(t0))
}

// q8_0Gemv8 writes q8_0Q8_0Gemv8AVX512: eight rows of Q8_0 weights times
// one Q8_0 activation row, each row's result bit for bit the AVX2 kernel
// q8_0Q8_0DotAVX2 (ggml_vec_dot_q8_0_q8_0's AVX2 order).
//
// The AVX2 kernel keeps, per row, eight float32 lanes; lane j of block b
// gets fma(float32(Σ_{k<4} x[4j+k]·y[4j+k]), d_w·d_a, lane j), where the
// integer sum uses ggml's sign trick (|x| times y with x's sign, VPSIGNB,
// which turns -(-128) into -128). Here two rows share a ZMM register, row
// 2p in lanes 0..7 and row 2p+1 in lanes 8..15 of accumulator Z(p), so each
// lane sees exactly the same chain of fused multiply-adds; the integer
// sums come from one VPDPBUSD of |x| (VPABSB) and the sign-adjusted y
// (VPBLENDMB of y and 0-y, wrapping -128 like VPSIGNB), exact like the
// AVX2 VPMADDUBSW+VPMADDWD pair (whose int16 pair sums cannot saturate
// with these operands: |x| ≤ 128, y' ∈ [-128, 127]). At the end each row's
// eight lanes get hsum_float_8.
func q8_0Gemv8() {
	TEXT("q8_0Q8_0Gemv8AVX512", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, a *byte, nb int)")
	Pragma("noescape")
	Doc(
		"q8_0Q8_0Gemv8AVX512 sets dst[0:8] to the Q8_0·Q8_0 dot products of the",
		"eight rows from w (row stride rowBytes) with a over nb > 0 blocks, each",
		"equal bit for bit to q8_0Q8_0DotAVX2 on that row. It needs LevelAVX512.",
	)
	idx := GLOBL("q80PairIdx", RODATA|NOPTR)
	for p := 0; p < 4; p++ {
		for l := 0; l < 16; l++ {
			DATA(64*p+4*l, U32(2*p+l/8))
		}
	}

	Load(Param("dst"), RDX)
	Load(Param("w"), RSI)
	Load(Param("rowBytes"), R8)
	Load(Param("a"), RDI)
	Load(Param("nb"), RCX)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R9)   // 3·rowBytes
	LEAQ(Mem{Base: RSI, Index: R8, Scale: 4}, R11) // rows 4..7
	LEAQ(Mem{Base: R11, Index: R8, Scale: 4}, R10) // the next eight rows, prefetched

	Comment("Z0..Z3: accumulators of rows (0,1), (2,3), (4,5), (6,7); Z6 = 0;",
		"Z8..Z11: VPERMPS indices spreading d of rows (2p, 2p+1) over 8+8 lanes.")
	for p := 0; p < 4; p++ {
		VPXORD(zr(p), zr(p), zr(p))
		VMOVDQU32(idx.Offset(64*p), zr(8+p))
	}
	VPXORD(Z6, Z6, Z6)

	Label("q80g8loop")
	Comment("The next eight rows are 8·rowBytes contiguous bytes from R10:",
		"prefetch 272 of them (8 blocks' worth) per block.")
	for off := 0; off < 320; off += 64 {
		PREFETCHT0(Mem{Base: R10, Disp: off})
	}
	ADDQ(U32(272), R10)

	Comment("Z4 = the activation quants in both halves, Z5 = 0 - Z4 (wrapping).")
	VBROADCASTI64X4(Mem{Base: RDI, Disp: 2}, Z4)
	VPSUBB(Z4, Z6, Z5)

	Comment("Y7 = d_w·d_a of the eight rows (one float32 product each, as VMULSS).")
	lo, hi := rows4(RSI, 0), rows4(R11, 0)
	MOVWLZX(lo[0], EAX)
	VMOVD(EAX, X7)
	for k := 1; k < 8; k++ {
		m := lo[k%4]
		if k >= 4 {
			m = hi[k%4]
		}
		VPINSRW(U8(k), m, X7, X7)
	}
	VCVTPH2PS(X7, Y7)
	MOVWLZX(Mem{Base: RDI}, EAX)
	VMOVD(EAX, X12)
	VCVTPH2PS(X12, X12)
	VBROADCASTSS(X12, Y12)
	VMULPS(Y12, Y7, Y7)

	lo, hi = rows4(RSI, 2), rows4(R11, 2)
	for p := 0; p < 4; p++ {
		r := lo
		if p >= 2 {
			r = hi
		}
		m0, m1 := r[(2*p)%4], r[(2*p)%4+1]
		w, u, s, i := 16+4*p, 17+4*p, 18+4*p, 19+4*p
		k := [...]OpmaskPhysical{K1, K2, K3, K4}[p]
		Comment(fmt.Sprintf("rows %d and %d", 2*p, 2*p+1))
		VMOVDQU64(m0, yr(w))
		VINSERTI64X4(U8(1), m1, zr(w), zr(w))
		VPABSB(zr(w), zr(u))
		VPMOVB2M(zr(w), k)
		VPBLENDMB(Z5, Z4, k, zr(s)) // s = x < 0 ? -y : y
		VPXORD(zr(i), zr(i), zr(i))
		vpdpbusd(zr(s), zr(u), zr(i))
		VCVTDQ2PS(zr(i), zr(i))
		VPERMPS(Z7, zr(8+p), zr(w))
		VFMADD231PS(zr(w), zr(i), zr(p))
	}

	ADDQ(U8(34), RSI)
	ADDQ(U8(34), R11)
	ADDQ(U8(34), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q80g8loop"))

	Comment("hsum_float_8 of each row's eight lanes.")
	for p := 0; p < 4; p++ {
		VEXTRACTF64X4(U8(1), zr(p), Y4)
		hsumFloat8(p, 5, 6)
		VMOVSS(X5, Mem{Base: RDX, Disp: 8 * p})
		hsumFloat8(4, 5, 6)
		VMOVSS(X5, Mem{Base: RDX, Disp: 8*p + 4})
	}
	VZEROUPPER()
	RET()
}

// q6KGemv8 writes q6KQ8KGemv8AVX512: eight rows of Q6_K weights times one
// Q8_K activation row, each row's result bit for bit q6KDotAVX2 (ggml's
// AVX2 ggml_vec_dot_q6_K_q8_K) on that row.
//
// The AVX2 kernel keeps eight int32 lanes a super-block: for every 32-value
// chunk k, lane j gets s_{2k}·(pair sums of values 4j..4j+3) for j < 4 and
// s_{2k+1}·(...) for j ≥ 4 (VPMADDUBSW of the 6-bit quants with the
// activation quants, VPMADDWD with the sign-extended scales), then
// 32·(s_{2j}·bsum_{2j} + s_{2j+1}·bsum_{2j+1}) is subtracted from lane j;
// the lanes are converted to float32 and fused-multiply-added by
// d_w·d_a into eight float lanes, which get hsum_float_8 at the end. Here
// two rows share a ZMM register (row 2p in lanes 0..7, row 2p+1 in 8..15):
// the same integer lanes (exact, so VPDPWSSD may fold the multiply and the
// add), the same float chain per lane.
func q6KGemv8() {
	TEXT("q6KQ8KGemv8AVX512", NOSPLIT, "func(dst *float32, w *byte, rowBytes int, a *byte, nb int)")
	Pragma("noescape")
	Doc(
		"q6KQ8KGemv8AVX512 sets dst[0:8] to the Q6_K·Q8_K dot products of the",
		"eight rows from w (row stride rowBytes) with a over nb > 0 super-blocks,",
		"each equal bit for bit to q6KDotAVX2 on that row. It needs LevelAVX512.",
	)
	// VPERMW indices of chunk 0 into [s_A(16 words) | s_B(16 words)]: words
	// 0..7 take s_A[0], 8..15 s_A[1], 16..23 s_B[0], 24..31 s_B[1]; chunk
	// k adds 2k.
	idx := GLOBL("q6kScaleIdx", RODATA|NOPTR)
	for w := 0; w < 32; w++ {
		DATA(2*w, U16(16*(w/16)+(w%16)/8))
	}
	didx := GLOBL("q6kPairIdx", RODATA|NOPTR)
	for l := 0; l < 16; l++ {
		DATA(4*l, U32(l/8))
	}

	Load(Param("dst"), RDX)
	Load(Param("w"), RSI)
	Load(Param("rowBytes"), R8)
	Load(Param("a"), RDI)
	Load(Param("nb"), RCX)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R9)   // 3·rowBytes
	LEAQ(Mem{Base: RSI, Index: R8, Scale: 4}, R11) // rows 4..7
	LEAQ(Mem{Base: R11, Index: R8, Scale: 4}, R10) // the next eight rows, prefetched

	Comment("Z0..Z3: float lanes of rows (0,1), (2,3), (4,5), (6,7); Z4..Z8 = bytes",
		"0x0f, 0x03, 0x0c, 0x30, 0xc0; Z9 = chunk 0's scale-word indices;",
		"Z10 = words of 2; Z11 = VPERMPS indices [0 x8, 1 x8].")
	for p := 0; p < 4; p++ {
		VPXORD(zr(p), zr(p), zr(p))
	}
	for i, c := range []uint32{0x0f0f0f0f, 0x03030303, 0x0c0c0c0c, 0x30303030, 0xc0c0c0c0} {
		MOVL(U32(c), EAX)
		VPBROADCASTD(EAX, zr(4+i))
	}
	VMOVDQU32(idx, Z9)
	MOVL(U32(0x00020002), EAX)
	VPBROADCASTD(EAX, Z10)
	VMOVDQU32(didx, Z11)

	Label("q6kg8loop")
	Comment("The next eight rows are 8·rowBytes contiguous bytes from R10:",
		"prefetch 1680 of them (8 super-blocks' worth) per super-block.")
	for off := 0; off < 1680; off += 64 {
		PREFETCHT0(Mem{Base: R10, Disp: off})
	}
	ADDQ(U32(1680), R10)
	VBROADCASTSS(Mem{Base: RDI}, X13) // d_a
	VBROADCASTI64X4(Mem{Base: RDI, Disp: 4 + 256}, Z26)

	lo, hi := rows4(RSI, 0), rows4(R11, 0)
	for p := 0; p < 4; p++ {
		r := lo
		if p >= 2 {
			r = hi
		}
		rowA, rowB := r[(2*p)%4], r[(2*p)%4+1]
		at := func(m Mem, d int) Mem { m.Disp += d; return m }
		pair := func(d int, dst VecPhysical, y VecPhysical) { // [row A | row B] 32 bytes each at +d
			VMOVDQU64(at(rowA, d), y)
			VINSERTI64X4(U8(1), at(rowB, d), dst, dst)
		}
		Comment(fmt.Sprintf("rows %d and %d: Z14 = their sign-extended scales [A | B] (words)", 2*p, 2*p+1))
		VMOVDQU(at(rowA, 192), X15)
		VINSERTI128(U8(1), at(rowB, 192), Y15, Y15)
		VPMOVSXBW(Y15, Z14)
		VPXORD(Z16, Z16, Z16)
		VMOVDQA64(Z9, Z25)
		for h := 0; h < 2; h++ {
			pair(64*h, Z17, Y17)
			pair(64*h+32, Z18, Y18)
			pair(128+32*h, Z19, Y19)
			for i := 0; i < 4; i++ {
				k := 4*h + i
				Comment(fmt.Sprintf("chunk %d: values %d..%d", k, 32*k, 32*k+31))
				switch i {
				case 0: // (ql0 & 0x0f) | (qh & 0x03) << 4
					VPANDD(Z4, Z17, Z20)
					VPANDD(Z5, Z19, Z21)
					VPSLLQ(U8(4), Z21, Z21)
				case 1: // (ql1 & 0x0f) | (qh & 0x0c) << 2
					VPANDD(Z4, Z18, Z20)
					VPANDD(Z6, Z19, Z21)
					VPSLLQ(U8(2), Z21, Z21)
				case 2: // (ql0 >> 4 & 0x0f) | (qh & 0x30)
					VPSRLQ(U8(4), Z17, Z20)
					VPANDD(Z4, Z20, Z20)
					VPANDD(Z7, Z19, Z21)
				case 3: // (ql1 >> 4 & 0x0f) | (qh & 0xc0) >> 2
					VPSRLQ(U8(4), Z18, Z20)
					VPANDD(Z4, Z20, Z20)
					VPANDD(Z8, Z19, Z21)
					VPSRLQ(U8(2), Z21, Z21)
				}
				VPORD(Z21, Z20, Z20)
				VBROADCASTI64X4(Mem{Base: RDI, Disp: 4 + 32*k}, Z22)
				VPMADDUBSW(Z22, Z20, Z23)
				if k > 0 {
					VPADDW(Z10, Z25, Z25)
				}
				VPERMW(Z14, Z25, Z24)
				vpdpwssd(Z24, Z23, Z16)
			}
		}
		Comment("minus 32·(s_2j·bsum_2j + s_2j+1·bsum_2j+1) in lane j")
		VPMADDWD(Z26, Z14, Z27)
		VPSLLD(U8(5), Z27, Z27)
		VPSUBD(Z27, Z16, Z16)
		VCVTDQ2PS(Z16, Z16)
		Comment("Z29 = d_w·d_a of row A in lanes 0..7, of row B in 8..15")
		MOVWLZX(at(rowA, 208), EAX)
		VMOVD(EAX, X12)
		VPINSRW(U8(1), at(rowB, 208), X12, X12)
		VCVTPH2PS(X12, X12)
		VMULPS(X13, X12, X12)
		VPERMPS(Z12, Z11, Z29)
		VFMADD231PS(Z29, Z16, zr(p))
	}

	ADDQ(U32(210), RSI)
	ADDQ(U32(210), R11)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q6kg8loop"))

	Comment("hsum_float_8 of each row's eight lanes.")
	for p := 0; p < 4; p++ {
		VEXTRACTF64X4(U8(1), zr(p), Y4)
		hsumFloat8(p, 5, 6)
		VMOVSS(X5, Mem{Base: RDX, Disp: 8 * p})
		hsumFloat8(4, 5, 6)
		VMOVSS(X5, Mem{Base: RDX, Disp: 8*p + 4})
	}
	VZEROUPPER()
	RET()
}

// q8_0GemmX8 writes q8_0GemmX8AVX512, the AVX-512 form of q8_0GemmX8AVX2
// (avx2q80q40_amd64.s): weight rows times a group of eight packed Q8_0
// activation rows (PackQ8_0x8's layout), every pair's result bit for bit
// the AVX2 kernel's, i.e. q8_0Q8_0DotAVX2's arithmetic.
//
// The AVX2 kernel keeps eight float32 lanes per (weight row, activation
// row) pair; lane j of block b gets fma(float32(Σ_{k<4} |x|·sign(y, x)),
// fp32(d_w)·d_a, lane j), then hsum_float_8. Here two weight rows are done
// at once, and each ZMM accumulator holds two pairs of one weight row:
// activation row 2p in lanes 0..7 and 2p+1 in lanes 8..15 (the packed
// layout has those rows' quants as 64 contiguous bytes), so every lane sees
// the AVX2 lane's chain of fused multiply-adds. The integer sums come from
// one VPDPBUSD of |x| (VPABSB of the weights, broadcast to both halves) and
// the sign-adjusted activations (VPBLENDMB of y and 0-y under the weights'
// sign mask, wrapping -128 like VPSIGNB), exact like the AVX2
// VPMADDUBSW+VPMADDWD pair; d = d_w·d_a is one float32 product per lane
// as VMULPS, with d_w first like the AVX2 kernel's.
func q8_0GemmX8() {
	TEXT("q8_0GemmX8AVX512", NOSPLIT, "func(w *byte, rowBytes, rows int, ap *byte, nb int, dst *float32, ldDst int)")
	Pragma("noescape")
	Doc(
		"q8_0GemmX8AVX512 is q8_0GemmX8AVX2 for an even rows > 0: the sum of",
		"weight row r (at w + r*rowBytes, nb > 0 Q8_0 blocks) and packed",
		"activation row j goes to dst[j*ldDst+r], bit for bit the AVX2 kernel's.",
		"It needs LevelAVX512.",
	)
	Load(Param("w"), R11)
	Load(Param("rowBytes"), R8)
	Load(Param("rows"), R9)
	Load(Param("dst"), R10)
	Load(Param("ldDst"), RBX)
	SHLQ(U8(2), RBX)                                // row stride of dst in bytes
	LEAQ(Mem{Base: RBX, Index: RBX, Scale: 2}, R12) // 3 strides

	Comment("Z30 = 0; K3 selects lanes 8..15.")
	VPXORD(Z30, Z30, Z30)
	MOVL(U32(0xff00), EAX)
	KMOVW(EAX, K3)

	Label("q80x8r2")
	Comment("Z0..Z3: rows r's accumulators of activation rows (0,1), (2,3), (4,5), (6,7);",
		"Z4..Z7: row r+1's.")
	MOVQ(R11, RSI)
	Load(Param("ap"), RDI)
	Load(Param("nb"), RCX)
	for i := 0; i < 8; i++ {
		VPXORD(zr(i), zr(i), zr(i))
	}

	Label("q80x8b")
	Comment("Z8..Z11 = activation rows (2p, 2p+1)'s quants, Z12..Z15 = 0 minus them",
		"(wrapping); Z16..Z19 = [d_a(2p) x8 | d_a(2p+1) x8].")
	for p := 0; p < 4; p++ {
		VMOVDQU64(Mem{Base: RDI, Disp: 32 + 64*p}, zr(8+p))
		VPSUBB(zr(8+p), Z30, zr(12+p))
		VBROADCASTSS(Mem{Base: RDI, Disp: 8 * p}, zr(16+p))
		VBROADCASTSS(Mem{Base: RDI, Disp: 8*p + 4}, K3, zr(16+p))
	}
	rows := [2]Mem{{Base: RSI}, {Base: RSI, Index: R8, Scale: 1}}
	for h, m := range rows {
		k := [...]OpmaskPhysical{K1, K2}[h]
		Comment(fmt.Sprintf("row r+%d: K%d = its quants' signs, Z%d = |quants| in both halves,", h, 1+h, 20+h),
			fmt.Sprintf("Z%d = fp32(d_w) x16.", 22+h))
		q := m
		q.Disp += 2
		VBROADCASTI64X4(q, zr(20+h))
		VPMOVB2M(zr(20+h), k)
		VPABSB(zr(20+h), zr(20+h))
		VPBROADCASTW(m, yr(22+h))
		VCVTPH2PS(yr(22+h), zr(22+h))
	}
	for p := 0; p < 4; p++ {
		for h := 0; h < 2; h++ {
			k := [...]OpmaskPhysical{K1, K2}[h]
			s, i, d := 24+3*h, 25+3*h, 26+3*h
			Comment(fmt.Sprintf("row r+%d, activation rows %d and %d", h, 2*p, 2*p+1))
			VPBLENDMB(zr(12+p), zr(8+p), k, zr(s)) // x < 0 ? -y : y
			VPXORD(zr(i), zr(i), zr(i))
			vpdpbusd(zr(s), zr(20+h), zr(i))
			VCVTDQ2PS(zr(i), zr(i))
			VMULPS(zr(16+p), zr(22+h), zr(d))
			VFMADD231PS(zr(d), zr(i), zr(4*h+p))
		}
	}
	ADDQ(U8(34), RSI)
	ADDQ(U32(288), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q80x8b"))

	Comment("hsum_float_8 of each pair, stored at dst[j*ldDst + r + h].")
	LEAQ(Mem{Base: R10, Index: RBX, Scale: 4}, R13) // dst row 4
	out := func(j, h int) Mem {
		base := R10
		if j >= 4 {
			base = R13
		}
		switch j % 4 {
		case 0:
			return Mem{Base: base, Disp: 4 * h}
		case 1:
			return Mem{Base: base, Index: RBX, Scale: 1, Disp: 4 * h}
		case 2:
			return Mem{Base: base, Index: RBX, Scale: 2, Disp: 4 * h}
		}
		return Mem{Base: base, Index: R12, Scale: 1, Disp: 4 * h}
	}
	for h := 0; h < 2; h++ {
		for p := 0; p < 4; p++ {
			acc := 4*h + p
			VEXTRACTF64X4(U8(1), zr(acc), Y8)
			hsumFloat8(acc, 9, 10)
			VMOVSS(X9, out(2*p, h))
			hsumFloat8(8, 9, 10)
			VMOVSS(X9, out(2*p+1, h))
		}
	}
	LEAQ(Mem{Base: R11, Index: R8, Scale: 2}, R11)
	ADDQ(U8(8), R10)
	SUBQ(U8(2), R9)
	JNZ(LabelRef("q80x8r2"))
	VZEROUPPER()
	RET()
}

// q4_0GemmR4x16 writes q4_0GemmR4x16AVX512, the AVX-512 form of
// q4_0GemmR4AVX2 (avx2q80q40_amd64.s) for sixteen weight rows: the same
// exact integer per pair and block, Σ q_w·q_a - 8·Σ q_a, converted to
// float32 and accumulated with one fused multiply-add by d_a·d_w (d_a
// first, as the AVX2 kernel multiplies), so every pair gets the AVX2
// kernel's bits, i.e. GemvQ4_0x8's.
//
// The sixteen rows come as two runs of q4_0x8PackAVX2's unpacked blocks
// (rows 0..7 at pack, rows 8..15 at pack+packB): W_k of both runs side by
// side in one ZMM gives the unsigned quants 4k..4k+3 of row j in lane j,
// and one VPDPBUSD per k with the activation row's quants 4k..4k+3
// broadcast from memory adds their products to lane j, exactly (the AVX2
// kernel's VPMADDUBSW/VPADDW/VPMADDWD steps form the same integer).
func q4_0GemmR4x16() {
	TEXT("q4_0GemmR4x16AVX512", NOSPLIT, "func(pack *byte, packB int, a *byte, aStride int, tab *byte, tabStride, nb int, dst *float32, ldDst int)")
	Pragma("noescape")
	Doc(
		"q4_0GemmR4x16AVX512 is q4_0GemmR4AVX2 for sixteen weight rows: rows",
		"0..7 unpacked at pack, rows 8..15 at pack+packB (q4_0x8PackAVX2's",
		"layout, nb > 0 blocks each), activation rows i = 0..3 at a + i*aStride",
		"with their q8_0GemmTabAVX2 entries at tab + i*tabStride; it carries",
		"dst[i*ldDst+0..15] through the blocks, bit for bit as q4_0GemmR4AVX2",
		"carries each half. It needs LevelAVX512.",
	)
	Load(Param("pack"), RSI)
	Load(Param("packB"), R11)
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
	row4 := func(base, stride, stride3 GPPhysical, disp int) [4]Mem {
		return [4]Mem{
			{Base: base, Disp: disp},
			{Base: base, Index: stride, Scale: 1, Disp: disp},
			{Base: base, Index: stride, Scale: 2, Disp: disp},
			{Base: base, Index: stride3, Scale: 1, Disp: disp},
		}
	}
	Comment("Z0..Z3: the float accumulators of activation rows 0..3, sixteen weight rows each.")
	for i, m := range row4(RBX, R13, R14, 0) {
		VMOVUPS(m, zr(i))
	}

	Label("q40r4x16")
	Comment("Z8..Z15 = W_0..W_7 of rows 0..7 | rows 8..15; Z16 = their d_w.")
	for k := 0; k < 8; k++ {
		VMOVDQU64(Mem{Base: RSI, Disp: 32 * k}, yr(8+k))
		VINSERTI64X4(U8(1), Mem{Base: RSI, Index: R11, Scale: 1, Disp: 32 * k}, zr(8+k), zr(8+k))
	}
	VMOVUPS(Mem{Base: RSI, Disp: 256}, Y16)
	VINSERTF64X4(U8(1), Mem{Base: RSI, Index: R11, Scale: 1, Disp: 256}, Z16, Z16)
	for i := 0; i < 4; i++ {
		acc, d := 20+i, 24+i
		Comment(fmt.Sprintf("activation row %d: Z%d = Σ q_w·q_a - 8·Σ q_a; Z%d = d_a·d_w", i, acc, d))
		VPXORD(zr(acc), zr(acc), zr(acc))
		for k := 0; k < 8; k++ {
			vpdpbusdBcst(row4(RDI, R8, R9, 2+4*k)[i], zr(8+k), zr(acc))
		}
		t := row4(RDX, R10, R12, 0)[i]
		VPSUBD_BCST(Mem{Base: t.Base, Index: t.Index, Scale: t.Scale, Disp: 4}, zr(acc), zr(acc))
		VCVTDQ2PS(zr(acc), zr(acc))
		VBROADCASTSS(t, zr(d))
		VMULPS(Z16, zr(d), zr(d))
		VFMADD231PS(zr(d), zr(acc), zr(i))
	}
	ADDQ(U32(288), RSI)
	ADDQ(U8(34), RDI)
	ADDQ(U8(8), RDX)
	DECQ(RCX)
	JNZ(LabelRef("q40r4x16"))

	for i, m := range row4(RBX, R13, R14, 0) {
		VMOVUPS(zr(i), m)
	}
	VZEROUPPER()
	RET()
}

// q4KGemmR4x16 writes q4KGemmR4x16AVX512, the AVX-512 form of
// q4KGemmR2AVX2 (avx2k4r_amd64.s) for sixteen weight rows and four
// activation rows: per row pair, super-block and 64-element half sb the
// same exact integers isum = sc_2sb·Σ_2sb + sc_2sb+1·Σ_2sb+1 and imin =
// m_2sb·bsum_2sb + m_2sb+1·bsum_2sb+1, converted to float32 and accumulated
// with one fused multiply-add each by d·d_a and dmin·d_a (d_a broadcast
// times the rows' d, as the AVX2 kernel multiplies), so every pair gets the
// AVX2 kernel's bits.
//
// The sixteen rows come as two runs of the eight-row packed layout (rows
// 0..7 at pack, rows 8..15 at pack+packB): V[j][c] of both runs side by
// side in one ZMM gives quants 4c..4c+3 of sub-block j of row r in lane r,
// and one VPDPBUSD per chunk with the activation row's quants 4c..4c+3 of
// sub-block j broadcast from memory adds their products to lane r; eight
// chunks give Σ_j exactly (|Σ_j| ≤ 32·15·128, where the AVX2 kernel's int16
// VPMADDUBSW/VPADDW sums cannot saturate either). The scale multiply is
// VPMULLD by sc_j (the high word of the packed (sc_j, sc_j) pair), exact;
// the min sums use the packed (m, m') pairs and VPHADDW's bsum pairs with
// VPMADDWD, exactly as the AVX2 kernel does.
func q4KGemmR4x16() {
	TEXT("q4KGemmR4x16AVX512", NOSPLIT, "func(pack *byte, packB int, a *byte, aStride int, nb int, acc *float32)")
	Pragma("noescape")
	Doc(
		"q4KGemmR4x16AVX512 is q4KGemmR2AVX2 for sixteen packed weight rows",
		"(rows 0..7 at pack, rows 8..15 at pack+packB, nb > 0 super-blocks of",
		"q4KPack8AVX2/q4KPack8ScalesAVX2's layout each) and four Q8_K activation",
		"rows i at a + i*aStride: it carries acc[32i+0..15] (acc of rows",
		"0..15) and acc[32i+16..31] (their accMin) through the super-blocks,",
		"bit for bit as q4KGemmR2AVX2 carries each half. It needs LevelAVX512.",
	)
	stack := AllocLocal(128) // bsum pairs of activation rows 0..3, 32 bytes each
	Load(Param("pack"), RSI)
	Load(Param("packB"), R11)
	Load(Param("a"), RDI)
	Load(Param("aStride"), R8)
	Load(Param("nb"), RCX)
	Load(Param("acc"), RBX)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R9) // 3·aStride
	both := func(disp int, y, z VecPhysical) {
		VMOVDQU64(Mem{Base: RSI, Disp: disp}, y)
		VINSERTI64X4(U8(1), Mem{Base: RSI, Index: R11, Scale: 1, Disp: disp}, z, z)
	}
	Comment("Z0..Z3: acc of activation rows 0..3, Z4..Z7: their accMin (sixteen weight rows each).")
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: RBX, Disp: 128 * i}, zr(i))
		VMOVUPS(Mem{Base: RBX, Disp: 128*i + 64}, zr(4+i))
	}

	Label("q4kr4x16")
	Comment("bsum pairs of each activation row: int16 (bsum_2sb, bsum_2sb+1) for",
		"sb = 0,1 (dwords 0,1) and 2,3 (dwords 4,5), as q4KGemmR2AVX2 forms them.")
	for i, m := range rows4(RDI, 260) {
		VMOVDQU(m, Y8)
		VPHADDW(Y8, Y8, Y8)
		VMOVDQU(Y8, stack.Offset(32*i))
	}
	Comment("Z16, Z17 = d, dmin of the sixteen rows; Z8..Z11 = d_a·d, Z12..Z15 = d_a·dmin",
		"of activation rows 0..3.")
	VMOVUPS(Mem{Base: RSI, Disp: 2432}, Y16)
	VINSERTF64X4(U8(1), Mem{Base: RSI, Index: R11, Scale: 1, Disp: 2432}, Z16, Z16)
	VMOVUPS(Mem{Base: RSI, Disp: 2464}, Y17)
	VINSERTF64X4(U8(1), Mem{Base: RSI, Index: R11, Scale: 1, Disp: 2464}, Z17, Z17)
	for i, m := range rows4(RDI, 0) {
		VBROADCASTSS(m, Z18)
		VMULPS(Z16, Z18, zr(8+i))
		VMULPS(Z17, Z18, zr(12+i))
	}
	for sb := 0; sb < 4; sb++ {
		Comment(fmt.Sprintf("half-pair %d: Z26, Z27 = sc_%d, sc_%d (dwords); Z28 = (m_%d, m_%d) pairs", sb, 2*sb, 2*sb+1, 2*sb, 2*sb+1))
		for h := 0; h < 2; h++ {
			both(2048+32*(2*sb+h), yr(26+h), zr(26+h))
			VPSRLD(U8(16), zr(26+h), zr(26+h))
		}
		both(2304+32*sb, Y28, Z28)
		Comment("Z16+2i+h = Σ of sub-block 2sb+h, activation row i, sixteen weight rows.")
		for t := 16; t < 24; t++ {
			VPXORD(zr(t), zr(t), zr(t))
		}
		for c := 0; c < 8; c++ {
			for h := 0; h < 2; h++ {
				both(32*((2*sb+h)*8+c), yr(24+h), zr(24+h))
			}
			for i := 0; i < 4; i++ {
				for h := 0; h < 2; h++ {
					vpdpbusdBcst(rows4(RDI, 4+32*(2*sb+h)+4*c)[i], zr(24+h), zr(16+2*i+h))
				}
			}
		}
		off := [...]int{0, 1, 4, 5}[sb]
		for i := 0; i < 4; i++ {
			ta, tb := zr(16+2*i), zr(17+2*i)
			VPMULLD(Z26, ta, ta)
			VPMULLD(Z27, tb, tb)
			VPADDD(tb, ta, ta)
			VCVTDQ2PS(ta, ta)
			VFMADD231PS(zr(8+i), ta, zr(i))
			VPBROADCASTD(stack.Offset(32*i+4*off), Z29)
			VPMADDWD(Z28, Z29, Z29)
			VCVTDQ2PS(Z29, Z29)
			VFMADD231PS(zr(12+i), Z29, zr(4+i))
		}
	}
	ADDQ(U32(2496), RSI)
	ADDQ(U32(292), RDI)
	DECQ(RCX)
	JNZ(LabelRef("q4kr4x16"))

	for i := 0; i < 4; i++ {
		VMOVUPS(zr(i), Mem{Base: RBX, Disp: 128 * i})
		VMOVUPS(zr(4+i), Mem{Base: RBX, Disp: 128*i + 64})
	}
	VZEROUPPER()
	RET()
}
