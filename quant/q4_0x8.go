package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/hearthllm/hearth/gguf"
)

// Q4_0 weights interleaved eight rows at a time ("Q4_0x8"), the layout the
// one-token and batched Q4_0 products read. llama.cpp's CPU backend
// repacks Q4_0 weights at load too (block_q4_0x8); this is our own layout,
// chosen so that a 256-bit vector holds the same four quant bytes of eight
// rows, one row a 32-bit lane:
//
//	group g (rows 8g..8g+7) = nb blocks of q40x8BlockLen bytes, block b:
//	  bytes 0..15             the eight rows' float16 d_w, row j at 2j
//	  bytes 16+32v+4j+k       quant byte 4v+k of row j (v, k < 4, j < 8)
//
// so the low nibbles of vector v are quants 4v..4v+3 of each row and the
// high nibbles quants 16+4v..16+4v+3. A broadcast activation dword then
// multiplies a whole vector and each lane sums its own row: the eight
// rows' block sums come out in order, with no horizontal adds and the
// eight scales in one load.

// q40x8BlockLen is the size of one block of eight interleaved rows.
const q40x8BlockLen = 8 * blockQ4_0Len

// q8_0TabLen is the size of one block's entry in a Q8_0 activation table
// (float32 d_a, int32 8·Σq_a).
const q8_0TabLen = 8

// q40rPackLen is the size of one block of eight Q4_0 rows unpacked by
// q4_0x8PackAVX2 for the batched kernels: eight vectors whose 32-bit lane
// j holds four quants (0..15) of row j, then the rows' float32 d_w.
const q40rPackLen = 8*32 + 8*4

// q40rPackBlocks is how many blocks of eight weight rows GemmQ4_0x8
// unpacks at a time (q40rPackLen bytes each: the unpacked run stays in L1
// while every group of four activation rows passes over it), and how many
// blocks of a leftover activation row's table it makes at a time.
const q40rPackBlocks = 32

// q40rPanelRows is how many activation rows GemmQ4_0x8 takes per pass over
// the weights (their table for one run of blocks is 32 KiB).
const q40rPanelRows = 128

// Q4_0x8Size returns the size of rows Q4_0 rows of cols elements
// interleaved by RepackQ4_0x8 (the size of the row-major tensor).
func Q4_0x8Size(rows, cols int) int { return rows / 8 * (cols / qk4_0) * q40x8BlockLen }

// RepackQ4_0x8 writes the Q4_0 matrix w (rows rows of cols elements, row
// stride rowBytes) into dst interleaved eight rows at a time (see
// Q4_0x8Size). rows must be a multiple of 8 and cols of 32.
func RepackQ4_0x8(dst, w []byte, rowBytes, rows, cols int) {
	if rows%8 != 0 || cols%qk4_0 != 0 {
		panic(fmt.Sprintf("quant: RepackQ4_0x8: %d x %d is not whole groups of 8 rows and blocks of 32", rows, cols))
	}
	nb := cols / qk4_0
	dst = dst[:Q4_0x8Size(rows, cols)]
	le := binary.LittleEndian
	for g := 0; g < rows/8; g++ {
		for j := 0; j < 8; j++ {
			src := w[(8*g+j)*rowBytes:][:nb*blockQ4_0Len]
			for b := 0; b < nb; b++ {
				s := src[b*blockQ4_0Len:][:blockQ4_0Len]
				o := dst[(g*nb+b)*q40x8BlockLen:][:q40x8BlockLen]
				le.PutUint16(o[2*j:], le.Uint16(s))
				le.PutUint32(o[16+4*j:], le.Uint32(s[2:]))
				le.PutUint32(o[48+4*j:], le.Uint32(s[6:]))
				le.PutUint32(o[80+4*j:], le.Uint32(s[10:]))
				le.PutUint32(o[112+4*j:], le.Uint32(s[14:]))
			}
		}
	}
}

// Q4_0x8TabSize returns the size of the activation table GemvQ4_0x8 reads
// for rows of cols elements.
func Q4_0x8TabSize(cols int) int { return cols / qk4_0 * q8_0TabLen }

// Q4_0x8Tab fills tab (Q4_0x8TabSize(cols) bytes) with what GemvQ4_0x8
// needs of the Q8_0 activation row a of cols elements: per block float32
// d_a and the int32 8·Σq_a. One table serves every product with that row.
func Q4_0x8Tab(tab, a []byte, cols int) {
	nb := cols / qk4_0
	if nb == 0 {
		return
	}
	tab, a = tab[:nb*q8_0TabLen], a[:nb*blockQ8_0Len]
	if useAVX2 {
		q8_0GemmTabAVX2(&a[0], 0, 1, nb, &tab[0])
		return
	}
	for b := 0; b < nb; b++ {
		ab := a[b*blockQ8_0Len:]
		var s int32
		for _, q := range ab[2:blockQ8_0Len] {
			s += int32(int8(q))
		}
		binary.LittleEndian.PutUint32(tab[b*q8_0TabLen:], math.Float32bits(f16At(ab)))
		binary.LittleEndian.PutUint32(tab[b*q8_0TabLen+4:], uint32(8*s))
	}
}

// GemvQ4_0x8 sets dst[r] for r in [r0, r1) (multiples of 8) to row r of the
// interleaved Q4_0 matrix wx (RepackQ4_0x8, cols elements a row) times the
// Q8_0 activation row a, whose Q4_0x8Tab is tab, summed the way llama.cpp's
// repacked one-token kernel ggml_gemv_q4_0_8x8_q8_0 does on AVX2 (which
// llama.cpp uses for Q4_0 weights whose row count is a multiple of 8): one
// float32 accumulator a row, acc = fma(float32(Σ (q_w-8)·q_a), d_w·d_a,
// acc) block after block, the integer sum exact. Every level gives the
// same bits (the portable code rounds the fused multiply-add exactly too,
// see fmaF32). dst is indexed by absolute row. At LevelAVX512 it runs
// AVX512_VNNI on 256-bit vectors (on CPUs that split 512-bit vectors too:
// the kernel has none), at LevelAVX2 VPMADDUBSW. It allocates nothing.
func GemvQ4_0x8(dst []float32, wx []byte, cols int, a, tab []byte, r0, r1 int) {
	gemvQ4_0x8At(batchLevel(gguf.TypeQ4_0), dst, wx, cols, a, tab, r0, r1)
}

// gemvQ4_0x8At is GemvQ4_0x8 with the kernels of level lv (the CPU must
// have it).
func gemvQ4_0x8At(lv Level, dst []float32, wx []byte, cols int, a, tab []byte, r0, r1 int) {
	if r0 >= r1 {
		return
	}
	if r0%8 != 0 || r1%8 != 0 {
		panic(fmt.Sprintf("quant: GemvQ4_0x8: rows [%d, %d) are not whole groups of 8", r0, r1))
	}
	nb := cols / qk4_0
	dst = dst[r0:r1]
	if nb == 0 {
		clear(dst)
		return
	}
	gb := nb * q40x8BlockLen
	wx, a = wx[r0/8*gb:r1/8*gb], a[:nb*blockQ8_0Len]
	if lv < LevelAVX2 {
		gemvQ4_0x8Go(dst, wx, nb, a)
		return
	}
	clear(dst)
	q4_0x8Run(lv, dst, wx, gb, nb, a, tab[:nb*q8_0TabLen])
}

// q4_0x8Run adds to dst the products of the groups of wx (gb bytes apart,
// len(dst)/8 of them) with the first nb blocks of a and its table, with
// the AVX2 or (lv LevelAVX512) the VNNI kernel.
func q4_0x8Run(lv Level, dst []float32, wx []byte, gb, nb int, a, tab []byte) {
	ng := len(dst) / 8
	_ = wx[(ng-1)*gb+nb*q40x8BlockLen-1]
	_ = a[nb*blockQ8_0Len-1]
	_ = tab[nb*q8_0TabLen-1]
	if lv >= LevelAVX512 {
		q4_0x8GemvVNNI(&dst[0], &wx[0], gb, ng, &a[0], &tab[0], nb)
		return
	}
	q4_0x8GemvAVX2(&dst[0], &wx[0], gb, ng, &a[0], &tab[0], nb)
}

// gemvQ4_0x8Go is GemvQ4_0x8's portable code for the groups of wx (nb
// blocks each) into dst (eight entries a group), set, not added.
func gemvQ4_0x8Go(dst []float32, wx []byte, nb int, a []byte) {
	for g := 0; g < len(dst)/8; g++ {
		var acc [8]float32
		for b := 0; b < nb; b++ {
			blk := wx[(g*nb+b)*q40x8BlockLen:][:q40x8BlockLen]
			ab := a[b*blockQ8_0Len:][:blockQ8_0Len]
			da := f16At(ab)
			qa := ab[2:]
			for j := 0; j < 8; j++ {
				var s int32
				for v := 0; v < 4; v++ {
					for k := 0; k < 4; k++ {
						q := blk[16+32*v+4*j+k]
						s += (int32(q&15) - 8) * int32(int8(qa[4*v+k]))
						s += (int32(q>>4) - 8) * int32(int8(qa[16+4*v+k]))
					}
				}
				acc[j] = fmaF32(float32(s), f16At(blk[2*j:])*da, acc[j])
			}
		}
		copy(dst[8*g:8*g+8], acc[:])
	}
}

// GemmQ4_0x8 is GemvQ4_0x8 for m activation rows: it sets dst[i*ldDst+r]
// for weight rows r in [r0, r1) (multiples of 8) and activation rows i in
// [0, m) (aRowBytes apart) to the sum GemvQ4_0x8 gives that pair. That is
// the arithmetic of llama.cpp's repacked batch kernel
// ggml_gemm_q4_0_8x8_q8_0 too, so a batch gives the bits its tokens give
// one at a time, and llama.cpp's. At LevelAVX2 it unpacks a run of blocks of eight weight rows and multiplies
// it with four activation rows at a time (one fused multiply-add per block
// for eight pairs); at LevelAVX512 an AVX-512 kernel takes sixteen of the
// unpacked rows at a time, with the same bits. The last m%4 activation
// rows go through GemvQ4_0x8's kernels. It allocates nothing.
func GemmQ4_0x8(dst []float32, ldDst int, wx []byte, cols int, a []byte, aRowBytes, m int, r0, r1 int) {
	gemmQ4_0x8At(batchLevel(gguf.TypeQ4_0), dst, ldDst, wx, cols, a, aRowBytes, m, r0, r1)
}

// gemmQ4_0x8At is GemmQ4_0x8 with the kernels of level lv (the CPU must
// have it).
func gemmQ4_0x8At(lv Level, dst []float32, ldDst int, wx []byte, cols int, a []byte, aRowBytes, m int, r0, r1 int) {
	if r0 >= r1 || m <= 0 {
		return
	}
	if r0%8 != 0 || r1%8 != 0 {
		panic(fmt.Sprintf("quant: GemmQ4_0x8: rows [%d, %d) are not whole groups of 8", r0, r1))
	}
	nb := cols / qk4_0
	m4 := 0
	if lv >= LevelAVX2 && nb > 0 && m >= 4 {
		m4 = m / 4 * 4
		gemmQ4_0x8Packed(lv >= LevelAVX512, dst, ldDst, wx, nb, a, aRowBytes, m4, r0, r1)
	}
	// The activation rows left, through the one-token kernels with their
	// tables made a run of blocks at a time (block order kept).
	gb := nb * q40x8BlockLen
	var tab [q40rPackBlocks * q8_0TabLen]byte
	for i := m4; i < m; i++ {
		d := dst[i*ldDst+r0 : i*ldDst+r1]
		if lv < LevelAVX2 || nb == 0 {
			gemvQ4_0x8At(LevelGeneric, dst[i*ldDst:], wx, cols, a[i*aRowBytes:], nil, r0, r1)
			continue
		}
		clear(d)
		for b0 := 0; b0 < nb; b0 += q40rPackBlocks {
			kb := min(q40rPackBlocks, nb-b0)
			ai := a[i*aRowBytes+b0*blockQ8_0Len:][:kb*blockQ8_0Len]
			q8_0GemmTabAVX2(&ai[0], 0, 1, kb, &tab[0])
			q4_0x8Run(lv, d, wx[r0/8*gb+b0*q40x8BlockLen:], gb, kb, ai, tab[:])
		}
	}
}

// gemmQ4_0x8Packed runs the packed kernels for weight rows [r0, r1) (whole
// groups) and activation rows [0, m) (m a positive multiple of 4): per
// panel of q40rPanelRows activation rows and run of q40rPackBlocks blocks
// it unpacks the groups with q4_0x8PackAVX2 and multiplies them with
// q4_0GemmR4AVX2, or, when avx512 is set (the CPU must have LevelAVX512),
// sixteen rows at a time with q4_0GemmR4x16AVX512 and the last eight, if
// any, with q4_0GemmR4AVX2.
func gemmQ4_0x8Packed(avx512 bool, dst []float32, ldDst int, wx []byte, nb int, a []byte, aRowBytes, m int, r0, r1 int) {
	gb := nb * q40x8BlockLen
	_ = wx[r1/8*gb-1]
	_ = a[(m-1)*aRowBytes : (m-1)*aRowBytes+nb*blockQ8_0Len]
	_ = dst[(m-1)*ldDst : (m-1)*ldDst+r1]
	var pack [2 * q40rPackBlocks * q40rPackLen]byte // two runs of eight rows
	var tab [q40rPanelRows * q40rPackBlocks * 8]byte
	for p0 := 0; p0 < m; p0 += q40rPanelRows {
		p1 := min(p0+q40rPanelRows, m)
		for b0 := 0; b0 < nb; b0 += q40rPackBlocks {
			kb := min(q40rPackBlocks, nb-b0)
			q8_0GemmTabAVX2(&a[p0*aRowBytes+b0*blockQ8_0Len], aRowBytes, p1-p0, kb, &tab[0])
			for r := r0; r < r1; {
				g := 8 // weight rows this step
				if avx512 && r+16 <= r1 {
					g = 16
				}
				for h := 0; h < g; h += 8 {
					q4_0x8PackAVX2(&wx[(r+h)/8*gb+b0*q40x8BlockLen], kb, &pack[h/8*kb*q40rPackLen])
				}
				// Ask for the next step's run while this one is multiplied.
				for j := r + g; j < min(r+2*g, r1); j += 8 {
					prefetchRange(&wx[j/8*gb+b0*q40x8BlockLen], kb*q40x8BlockLen)
				}
				for i := p0; i < p1; i += 4 {
					if b0 == 0 {
						for j := i; j < i+4; j++ {
							clear(dst[j*ldDst+r : j*ldDst+r+g])
						}
					}
					ai, ti := &a[i*aRowBytes+b0*blockQ8_0Len], &tab[(i-p0)*kb*8]
					if g == 16 {
						q4_0GemmR4x16AVX512(&pack[0], kb*q40rPackLen, ai, aRowBytes, ti, kb*8, kb, &dst[i*ldDst+r], ldDst)
						continue
					}
					q4_0GemmR4AVX2(&pack[0], ai, aRowBytes, ti, kb*8, kb, &dst[i*ldDst+r], ldDst)
				}
				r += g
			}
		}
	}
}
