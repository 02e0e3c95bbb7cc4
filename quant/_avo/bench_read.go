package main

import (
	"strconv"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The bench package's read-bandwidth probes (bench/readsum_amd64.s): the
// decode floor is the weight bytes a token over the memory bandwidth, and a
// plain Go loop (8-byte loads) does not reach the bandwidth on every CPU
// (on the device host's Xeon it read 11-14 GB/s on two threads where
// llama.cpp's F16 decode read 27.5 GB/s), so the probes read with the
// widest loads the CPU has, four independent accumulators deep.

// benchRead emits every kernel of the bench set.
func benchRead() {
	readSum("readSumAVX2", false)
	readSum("readSumAVX512", true)
}

// readSum emits name(p *byte, n int) uint64: the sum of the n/8 uint64
// words at p (wrapping), n a positive multiple of four vectors, with VPADDQ
// into four accumulators (ymm, or zmm when z) and one pass over the memory.
func readSum(name string, z bool) {
	width := 32
	if z {
		width = 64
	}
	TEXT(name, NOSPLIT, "func(p *byte, n int) uint64")
	Pragma("noescape")
	isa := "AVX2"
	if z {
		isa = "AVX512F"
	}
	Doc(
		name+" returns the wrapping sum of the n/8 uint64 words at p, read with",
		"4 independent "+isa+" accumulators; n must be a positive multiple of",
		strconv.Itoa(4*width)+". A memory-bandwidth probe (bench's BenchmarkReadBandwidth).",
	)
	Load(Param("p"), RSI)
	Load(Param("n"), RCX)
	var acc [4]VecPhysical
	for i := range acc {
		if z {
			acc[i] = [...]VecPhysical{Z0, Z1, Z2, Z3}[i]
			VPXORQ(acc[i], acc[i], acc[i])
		} else {
			acc[i] = [...]VecPhysical{Y0, Y1, Y2, Y3}[i]
			VPXOR(acc[i], acc[i], acc[i])
		}
	}
	Label(name + "_loop")
	for i := range acc {
		VPADDQ(Mem{Base: RSI, Disp: i * width}, acc[i], acc[i])
	}
	ADDQ(U32(4*width), RSI)
	SUBQ(U32(4*width), RCX)
	JNZ(LabelRef(name + "_loop"))
	if z {
		VPADDQ(Z1, Z0, Z0)
		VPADDQ(Z3, Z2, Z2)
		VPADDQ(Z2, Z0, Z0)
		VEXTRACTI64X4(U8(1), Z0, Y1)
		VPADDQ(Y1, Y0, Y0)
	} else {
		VPADDQ(Y1, Y0, Y0)
		VPADDQ(Y3, Y2, Y2)
		VPADDQ(Y2, Y0, Y0)
	}
	VEXTRACTI128(U8(1), Y0, X1)
	VPADDQ(X1, X0, X0)
	VPSHUFD(U8(0x4e), X0, X1)
	VPADDQ(X1, X0, X0)
	VMOVQ(X0, RAX)
	VZEROUPPER()
	Store(RAX, ReturnIndex(0))
	RET()
}
