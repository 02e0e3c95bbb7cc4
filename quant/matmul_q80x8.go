package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/hearthllm/hearth/gguf"
)

// Batched Q8_0 products on activations packed eight rows at a time.
//
// MatMul's eight-row Q8_0 kernel reads eight activation rows that lie a
// row apart and converts their fp16 scales to float32 again for every tile
// of weight rows; for rows of 5632 elements the eight rows (48 KiB) do not
// fit in L1, and the kernel waits on eight streams from L2. GemmQ8_0 takes the activations in a packed layout instead (per group
// of eight rows and per 32-element block, the eight float32 scales, then
// the eight rows' quants: one sequential stream that the hardware
// prefetcher keeps ahead of the kernel, 64-byte aligned by the caller) and
// runs the weight rows of a tile in one kernel call per group. The
// arithmetic per pair is MatVec's (ggml_vec_dot_q8_0_q8_0 on AVX2 and
// llamafile's tinyBLAS Q8_0 kernel): exact int32 lane sums of four
// consecutive products, d = fp32(d_w)*fp32(d_a), one fused multiply-add
// per block into eight float32 lanes, hsum_float_8 at the end.

// Q8_0x8BlockLen is the size of one packed block of eight Q8_0 activation
// rows: eight float32 scales, then 32 quants of each row.
const Q8_0x8BlockLen = 8*4 + 8*qk8_0

// q80x8TileBytes bounds the weight rows a GemmQ8_0 tile holds, so that the
// tile stays in L2 while every group of activation rows passes over it.
const q80x8TileBytes = 192 << 10

// Q8_0x8Size returns the bytes PackQ8_0x8 writes for m activation rows of n
// elements: m/8 groups (the last m%8 rows are not packed).
func Q8_0x8Size(n, m int) int {
	return m / 8 * (n / qk8_0) * Q8_0x8BlockLen
}

// PackQ8_0x8 packs groups [g0, g1) of eight Q8_0 activation rows of n
// elements (row i at a[i*aRowBytes:]) into dst, the layout GemmQ8_0 takes:
// group g's block b at dst[(g*n/32+b)*Q8_0x8BlockLen:] holds float32(d) of
// rows 8g..8g+7, then their 32 quants. n must be a multiple of 32.
func PackQ8_0x8(dst, a []byte, aRowBytes, n, g0, g1 int) {
	nb := n / qk8_0
	if n%qk8_0 != 0 || nb*blockQ8_0Len > aRowBytes {
		panic(fmt.Sprintf("quant: PackQ8_0x8: %d elements do not fit Q8_0 rows of %d bytes", n, aRowBytes))
	}
	for g := g0; g < g1; g++ {
		out := dst[g*nb*Q8_0x8BlockLen : (g+1)*nb*Q8_0x8BlockLen]
		for j := 0; j < 8; j++ {
			row := a[(8*g+j)*aRowBytes : (8*g+j)*aRowBytes+nb*blockQ8_0Len]
			for b := 0; b < nb; b++ {
				blk := row[b*blockQ8_0Len : (b+1)*blockQ8_0Len]
				o := out[b*Q8_0x8BlockLen : (b+1)*Q8_0x8BlockLen]
				binary.LittleEndian.PutUint32(o[4*j:], math.Float32bits(f16At(blk)))
				copy(o[32+qk8_0*j:32+qk8_0*(j+1)], blk[2:])
			}
		}
	}
}

// GemmQ8_0 is MatMul for Q8_0 weights with the first m/8*8 activation rows
// also given packed: it sets dst[i*ldDst+r] for weight rows r in [r0, r1)
// and activation rows i in [0, m) to row r of w (row stride rowBytes, n
// elements a row) times Q8_0 activation row i (a holds m rows of
// aRowBytes), equal to MatVec bit for bit. packed must hold PackQ8_0x8 of
// a's m/8 groups at LevelAVX2 and LevelAVX512, where those groups go
// through the packed kernel (the AVX-512 one gives the AVX2 one's bits);
// the other rows, and every row at LevelGeneric, go through MatMul. It
// allocates nothing.
func GemmQ8_0(dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, packed []byte, r0, r1 int) {
	gemmQ8_0At(batchLevel(gguf.TypeQ8_0), dst, ldDst, w, rowBytes, n, a, aRowBytes, m, packed, r0, r1)
}

// gemmQ8_0At is GemmQ8_0 with the packed AVX2 kernel at LevelAVX2, the
// packed AVX-512 kernel (and the AVX2 one for a last odd weight row) at
// LevelAVX512 and MatMul's portable code at LevelGeneric; the CPU must
// have lv.
func gemmQ8_0At(lv Level, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, packed []byte, r0, r1 int) {
	if r0 >= r1 || m <= 0 {
		return
	}
	avx2 := lv >= LevelAVX2
	nb := n / qk8_0
	done := 0
	if avx2 && nb > 0 && m >= 8 && nb*blockQ8_0Len <= rowBytes {
		groups := m / 8
		gemmQ8_0Packed(lv >= LevelAVX512, dst, ldDst, w, rowBytes, nb, packed[:groups*nb*Q8_0x8BlockLen], groups, r0, r1)
		done = groups * 8
	}
	if done < m {
		dot := vecDotQ8_0Q8_0Generic
		if avx2 {
			dot = vecDotQ8_0Q8_0
		}
		matMulAt(avx2, dot, &q8_0Traits, dst[done*ldDst:], ldDst, w, rowBytes, n, a[done*aRowBytes:], aRowBytes, m-done, r0, r1)
	}
}

// gemmQ8_0Packed runs the packed kernel for weight rows [r0, r1) and the
// groups of eight activation rows in ap: the AVX-512 one on the rows that
// come in pairs when avx512 is set (the CPU must have LevelAVX512), the
// AVX2 one on the others.
func gemmQ8_0Packed(avx512 bool, dst []float32, ldDst int, w []byte, rowBytes, nb int, ap []byte, groups int, r0, r1 int) {
	// The kernels go through raw pointers: check once that the last
	// weight row, packed group and destination row are in range.
	_ = w[(r1-1)*rowBytes : (r1-1)*rowBytes+nb*blockQ8_0Len]
	_ = ap[:groups*nb*Q8_0x8BlockLen]
	_ = dst[(8*groups-1)*ldDst : (8*groups-1)*ldDst+r1]
	tile := max(8, q80x8TileBytes/rowBytes)
	if avx512 {
		tile &^= 1 // whole pairs for the AVX-512 kernel
	}
	for t0 := r0; t0 < r1; t0 += tile {
		t1 := min(t0+tile, r1)
		for g := 0; g < groups; g++ {
			apg, d := &ap[g*nb*Q8_0x8BlockLen], 8*g*ldDst
			r := t0
			if n2 := (t1 - t0) &^ 1; avx512 && n2 > 0 {
				q8_0GemmX8AVX512(&w[r*rowBytes], rowBytes, n2, apg, nb, &dst[d+r], ldDst)
				r += n2
			}
			if r < t1 {
				q8_0GemmX8AVX2(&w[r*rowBytes], rowBytes, t1-r, apg, nb, &dst[d+r], ldDst)
			}
		}
	}
}

// vecDotQ8_0Q8_0Generic is vecDotQ8_0Q8_0's portable code.
func vecDotQ8_0Q8_0Generic(n int, w, a []byte) float32 {
	return vecDotQ8_0Q8_0At(false, n, w, a)
}
