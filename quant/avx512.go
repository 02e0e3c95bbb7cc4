package quant

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/hearthllm/hearth/gguf"
)

// The AVX-512 kernels (LevelAVX512) are generated with avo from _avo/main.go
// into avx512_amd64.s and avx512_amd64.go; regenerate them with
// `go generate ./quant` (needs the Go module proxy once for avo v0.5.0) and
// commit both. `make avx512-check` regenerates into a temporary directory
// and fails when the committed files differ.
//
//go:generate sh -c "cd _avo && go run . -out ../avx512_amd64.s -stubs ../avx512_amd64.go -pkg quant"

// hasAVX512Kernels says whether products of weights of type t have
// AVX-512 kernels: the one-token products of Q8_0, Q6_K and F16 weights
// (the dispatch in gemv.go), the interleaved GemvQ4_0x8 and GemvQ4Kx8,
// and the batched GemmQ8_0, GemmQ4_0x8, GemmQ4Kx8, GemmQ4K and F16 MatMul
// (through batchLevel). At LevelAVX512 those run them, every other type
// keeps its AVX2 kernels (which give the same bits either way), so taking
// a type out here (say one whose AVX-512 kernel measures slower) sends it
// back to AVX2.
func hasAVX512Kernels(t gguf.TensorType) bool {
	switch t {
	case gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K, gguf.TypeF16:
		return true
	}
	return false
}

// batchLevel is the level whose kernels the batched products of weights
// of type t (GemmQ8_0, GemmQ4_0x8, GemmQ4Kx8, GemmQ4K, MatMul) and the
// interleaved one-token products GemvQ4_0x8 and GemvQ4Kx8 run:
// LevelAVX512 where t has AVX-512 kernels, else LevelAVX2 or
// LevelGeneric. GemvQ4_0x8 and GemvQ4Kx8 ask it rather than useAVX512Gemv
// because their VNNI kernels have no 512-bit vectors, so CPUs that split
// them (AMD Zen 4) run those at full speed too.
func batchLevel(t gguf.TensorType) Level {
	switch {
	case useAVX512 && hasAVX512Kernels(t):
		return LevelAVX512
	case useAVX2:
		return LevelAVX2
	}
	return LevelGeneric
}

// groupKernel is the signature of the generated one-token kernels: dst[0:g]
// gets the dot products of g weight rows from w, rowBytes apart, with a (nb
// blocks each).
type groupKernel func(dst *float32, w *byte, rowBytes int, a *byte, nb int)

// gemvGroups runs kern on the rows r in [r0, r1) that come in whole groups
// of g from r0 and returns the first row it left for the caller. wBlock and
// aBlock are the weight and activation block sizes in bytes. The CPU must
// have LevelAVX512.
func gemvGroups(kern groupKernel, g int, dst []float32, w []byte, rowBytes, nb, wBlock int, a []byte, aBlock, r0, r1 int) int {
	if nb == 0 {
		return r0
	}
	a = a[:nb*aBlock]
	for ; r0+g <= r1; r0 += g {
		_ = dst[r0+g-1]
		_ = w[(r0+g-1)*rowBytes+nb*wBlock-1]
		kern(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], nb)
	}
	return r0
}

// gemvQ8_0AVX512 sets dst[r] = W[r,:]·a for the rows r in [r0, r1) that
// come in whole groups of eight from r0 with the AVX-512 kernel (bit for
// bit q8_0Q8_0DotAVX2, i.e. vecDotQ8_0Q8_0 at LevelAVX2) and returns the
// first row it left for the caller. The CPU must have LevelAVX512.
func gemvQ8_0AVX512(dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) int {
	return gemvGroups(q8_0Q8_0Gemv8AVX512, 8, dst, w, rowBytes, n/qk8_0, blockQ8_0Len, a, blockQ8_0Len, r0, r1)
}

// gemvF16AVX512 sets dst[r] = W[r,:]·a for the F16 rows r in [r0, r1)
// that come in whole groups of eight from r0 with the AVX-512 kernel over
// the first n&^31 elements and f16TailAVX2 for the rest (bit for bit
// vecDotF16 at LevelAVX2) and returns the first row it left for the
// caller (r0 when n < 32). The CPU must have LevelAVX512.
func gemvF16AVX512(dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) int {
	return gemvF16AVX512At(gemvF16Prefetch, dst, w, rowBytes, n, a, r0, r1)
}

// gemvF16Prefetch says whether gemvF16AVX512 runs the kernel variant that
// prefetches each row ahead (gemvF16x8PAVX512). Off: on the device host's
// Xeon (BenchmarkF16Levels, 2 threads) it ran 19.0-21.0 GMAC/s against
// the plain kernel's 20.5-21.2.
const gemvF16Prefetch = false

// gemvF16AVX512At is gemvF16AVX512 with gemvF16x8PAVX512 when pf is set.
func gemvF16AVX512At(pf bool, dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) int {
	np := n &^ 31
	kern := gemvF16x8AVX512
	if pf {
		kern = gemvF16x8PAVX512
	}
	end := gemvGroups(kern, 8, dst, w, rowBytes, n/32, 64, a, 64, r0, r1)
	if np < n {
		y := asU16(a[:2*n])
		for r := r0; r < end; r++ {
			dst[r] = f16TailAVX2(dst[r], asU16(w[r*rowBytes:r*rowBytes+2*n]), y, np)
		}
	}
	return end
}

// gemvQ6KAVX512 sets dst[r] = W[r,:]·a for the Q6_K rows r in [r0, r1)
// that come in whole groups of eight from r0 with the AVX-512 kernel (bit
// for bit q6KDotAVX2, i.e. Gemv at LevelAVX2) and returns the first row it
// left for the caller. The CPU must have LevelAVX512.
func gemvQ6KAVX512(dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) int {
	return gemvGroups(q6KQ8KGemv8AVX512, 8, dst, w, rowBytes, n/qkK, q6KBytes, a, q8KBytes, r0, r1)
}

// q4KGemmR4x16Go is q4KGemmR4x16AVX512's contract in Go, read from the
// packed layout (V, SC, MN, d, dmin of two runs of eight rows, packB bytes
// apart) in q4KGemmR2AVX2's arithmetic. gemmQ4KPacked runs it in tests
// only (q4K16Go), so its sixteen-row path can be checked on CPUs without
// AVX-512; TestQ4KGemmR4x16AVX512 checks it against the kernel.
func q4KGemmR4x16Go(pack *byte, packB int, a *byte, aStride int, nb int, acc *float32) {
	pk := unsafe.Slice(pack, packB+nb*q4krLen)
	as := unsafe.Slice(a, 3*aStride+nb*q8KBytes)
	ac := unsafe.Slice(acc, 128)
	for i := 0; i < 4; i++ {
		for r := 0; r < 16; r++ {
			p, lane := pk[r/8*packB:], r%8
			sum, sumMin := ac[32*i+r], ac[32*i+16+r]
			for b := 0; b < nb; b++ {
				blk, ab := p[b*q4krLen:], as[i*aStride+b*q8KBytes:]
				da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
				d := da * math.Float32frombits(binary.LittleEndian.Uint32(blk[q4krD+4*lane:]))
				dmin := da * math.Float32frombits(binary.LittleEndian.Uint32(blk[q4krDmin+4*lane:]))
				for sb := 0; sb < 4; sb++ {
					var isum, imin int32
					for h := 0; h < 2; h++ {
						j := 2*sb + h
						var sub int32
						for l := 0; l < 32; l++ {
							sub += int32(blk[32*(8*j+l/4)+4*lane+l%4]) * int32(int8(ab[4+32*j+l]))
						}
						isum += int32(binary.LittleEndian.Uint16(blk[q4krSC+32*j+4*lane:])) * sub
						bs := int32(int16(binary.LittleEndian.Uint16(ab[4+qkK+4*j:]))) + int32(int16(binary.LittleEndian.Uint16(ab[4+qkK+4*j+2:])))
						imin += int32(binary.LittleEndian.Uint16(blk[q4krMN+32*sb+4*lane+2*h:])) * bs
					}
					sum = fmaF32(float32(isum), d, sum)
					sumMin = fmaF32(float32(imin), dmin, sumMin)
				}
			}
			ac[32*i+r], ac[32*i+16+r] = sum, sumMin
		}
	}
}
