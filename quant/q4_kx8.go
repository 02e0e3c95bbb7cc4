package quant

import (
	"encoding/binary"
	"fmt"

	"github.com/hearthllm/hearth/gguf"
)

// Q4_K weights interleaved eight rows at a time ("Q4_Kx8"), the layout the
// one-token and batched Q4_K products read, as Q4_0x8 is for Q4_0
// (llama.cpp repacks Q4_K too, into its block_q4_Kx8). A super-block of
// eight rows is q4kx8Len bytes:
//
//	bytes 0..15      the eight rows' float16 d, row j at 2j
//	bytes 16..31     their float16 dmin
//	bytes 32+32k+4j  scale bytes 4k..4k+3 of row j (k < 3): three dword vectors
//	bytes 128+32v+4j quant bytes 4v..4v+3 of row j (v < 32)
//
// Vector v = 8p+c holds in its low nibbles quants 4c..4c+3 of sub-block
// 2p and in its high nibbles those of sub-block 2p+1, so one broadcast
// activation dword multiplies a whole vector and each lane sums its own
// row; the eight rows' 6-bit scales and mins unpack with dword shifts. The
// arithmetic is GemvQ4K's and GemmQ4K's (llama.cpp's repacked Q4_K
// kernels), so the bits are theirs.

// q4kx8Len is the size of one super-block of eight interleaved rows.
const q4kx8Len = 8 * q4KBytes

// Q4Kx8Size returns the size of rows Q4_K rows of cols elements interleaved
// by RepackQ4Kx8 (the size of the row-major tensor).
func Q4Kx8Size(rows, cols int) int { return rows / 8 * (cols / qkK) * q4kx8Len }

// RepackQ4Kx8 writes the Q4_K matrix w (rows rows of cols elements, row
// stride rowBytes) into dst interleaved eight rows at a time (see
// Q4Kx8Size). rows must be a multiple of 8 and cols of 256.
func RepackQ4Kx8(dst, w []byte, rowBytes, rows, cols int) {
	if rows%8 != 0 || cols%qkK != 0 {
		panic(fmt.Sprintf("quant: RepackQ4Kx8: %d x %d is not whole groups of 8 rows and super-blocks of 256", rows, cols))
	}
	nb := cols / qkK
	dst = dst[:Q4Kx8Size(rows, cols)]
	le := binary.LittleEndian
	for g := 0; g < rows/8; g++ {
		for j := 0; j < 8; j++ {
			src := w[(8*g+j)*rowBytes:][:nb*q4KBytes]
			for b := 0; b < nb; b++ {
				s := src[b*q4KBytes:][:q4KBytes]
				o := dst[(g*nb+b)*q4kx8Len:][:q4kx8Len]
				le.PutUint16(o[2*j:], le.Uint16(s))
				le.PutUint16(o[16+2*j:], le.Uint16(s[2:]))
				for k := 0; k < 3; k++ {
					le.PutUint32(o[32+32*k+4*j:], le.Uint32(s[4+4*k:]))
				}
				for v := 0; v < 32; v++ {
					le.PutUint32(o[128+32*v+4*j:], le.Uint32(s[16+4*v:]))
				}
			}
		}
	}
}

// q4kx8Block writes row j's super-block, row-major (144 bytes), from the
// interleaved super-block blk: RepackQ4Kx8 backwards.
func q4kx8Block(blk []byte, j int, out *[q4KBytes]byte) {
	copy(out[0:2], blk[2*j:])
	copy(out[2:4], blk[16+2*j:])
	for k := 0; k < 3; k++ {
		copy(out[4+4*k:8+4*k], blk[32+32*k+4*j:])
	}
	for v := 0; v < 32; v++ {
		copy(out[16+4*v:20+4*v], blk[128+32*v+4*j:])
	}
}

// GemvQ4Kx8 sets dst[r] for r in [r0, r1) (multiples of 8) to row r of the
// interleaved Q4_K matrix wx (RepackQ4Kx8, cols elements a row) times the
// Q8_K activation row a: the bits of GemvQ4K on the row-major matrix. dst
// is indexed by absolute row. At LevelAVX512 it runs AVX512_VNNI on
// 256-bit vectors, at LevelAVX2 VPMADDUBSW. It allocates nothing.
func GemvQ4Kx8(dst []float32, wx []byte, cols int, a []byte, r0, r1 int) {
	gemvQ4Kx8At(batchLevel(gguf.TypeQ4_K), dst, wx, cols, a, r0, r1)
}

// gemvQ4Kx8At is GemvQ4Kx8 with the kernels of level lv (the CPU must
// have it).
func gemvQ4Kx8At(lv Level, dst []float32, wx []byte, cols int, a []byte, r0, r1 int) {
	if r0 >= r1 {
		return
	}
	if r0%8 != 0 || r1%8 != 0 {
		panic(fmt.Sprintf("quant: GemvQ4Kx8: rows [%d, %d) are not whole groups of 8", r0, r1))
	}
	nb := cols / qkK
	dst = dst[r0:r1]
	if nb == 0 {
		clear(dst)
		return
	}
	gb := nb * q4kx8Len
	wx, a = wx[r0/8*gb:r1/8*gb], a[:nb*q8KBytes]
	switch {
	case lv >= LevelAVX512:
		q4Kx8GemvVNNI(&dst[0], &wx[0], gb, len(dst)/8, &a[0], nb)
	case lv >= LevelAVX2:
		q4Kx8GemvAVX2(&dst[0], &wx[0], gb, len(dst)/8, &a[0], nb)
	default:
		gemvQ4Kx8Go(dst, wx, nb, a)
	}
}

// gemvQ4Kx8Go is GemvQ4Kx8's portable code for the groups of wx (nb
// super-blocks each) into dst (eight entries a group): GemvQ4K's per
// super-block, on each row taken back out of the interleaving.
func gemvQ4Kx8Go(dst []float32, wx []byte, nb int, a []byte) {
	var wb [q4KBytes]byte
	for g := 0; g < len(dst)/8; g++ {
		for j := 0; j < 8; j++ {
			var acc, accMin float32
			for b := 0; b < nb; b++ {
				q4kx8Block(wx[(g*nb+b)*q4kx8Len:][:q4kx8Len], j, &wb)
				acc, accMin = gemvQ4KBlockGo(wb[:], a[b*q8KBytes:(b+1)*q8KBytes], acc, accMin)
			}
			dst[8*g+j] = acc - accMin
		}
	}
}

// GemmQ4Kx8 is GemmQ4K on the interleaved matrix wx (RepackQ4Kx8): it sets
// dst[i*ldDst+r] for weight rows r in [r0, r1) (multiples of 8) and
// activation rows i in [0, m) (aRowBytes apart) to GemmQ4K's sum for that
// pair: the first m/4*4 activation rows in ggml_gemm_q4_K_8x8_q8_K's
// arithmetic through GemmQ4K's packed kernels (packed from the interleaved
// super-blocks), the rest as GemvQ4Kx8. It allocates nothing.
func GemmQ4Kx8(dst []float32, ldDst int, wx []byte, cols int, a []byte, aRowBytes, m int, r0, r1 int) {
	gemmQ4Kx8At(batchLevel(gguf.TypeQ4_K), dst, ldDst, wx, cols, a, aRowBytes, m, r0, r1)
}

// gemmQ4Kx8At is GemmQ4Kx8 with the kernels of level lv (the CPU must have
// it).
func gemmQ4Kx8At(lv Level, dst []float32, ldDst int, wx []byte, cols int, a []byte, aRowBytes, m int, r0, r1 int) {
	if r0 >= r1 || m <= 0 {
		return
	}
	if r0%8 != 0 || r1%8 != 0 {
		panic(fmt.Sprintf("quant: GemmQ4Kx8: rows [%d, %d) are not whole groups of 8", r0, r1))
	}
	nb := cols / qkK
	gb := nb * q4kx8Len
	m4 := 0
	if lv >= LevelAVX2 && nb > 0 && m >= 4 {
		m4 = m / 4 * 4
		k16 := q4K16None
		if lv >= LevelAVX512 {
			k16 = q4K16AVX512
		}
		_ = wx[r1/8*gb-1]
		gemmQ4KPackedFrom(k16, dst, ldDst, q4KSource{wx: wx, gb: gb}, nb, a, aRowBytes, m4, r0, r1)
	} else if lv < LevelAVX2 && nb > 0 && m >= 4 {
		// The portable twin of the packed arithmetic, a row at a time.
		m4 = m / 4 * 4
		for i := 0; i < m4; i++ {
			for r := r0; r < r1; r++ {
				dst[i*ldDst+r] = gemmQ4Kx8RowGo(wx[r/8*gb:], r%8, a[i*aRowBytes:], nb)
			}
		}
	}
	for i := m4; i < m; i++ {
		gemvQ4Kx8At(lv, dst[i*ldDst:], wx, cols, a[i*aRowBytes:], r0, r1)
	}
}

// gemmQ4Kx8RowGo is gemmQ4KRowGo (the packed batch arithmetic) for row j
// of the interleaved group at grp.
func gemmQ4Kx8RowGo(grp []byte, j int, a []byte, nb int) float32 {
	var wb [q4KBytes]byte
	var acc, accMin float32
	for b := 0; b < nb; b++ {
		q4kx8Block(grp[b*q4kx8Len:][:q4kx8Len], j, &wb)
		acc, accMin = gemmQ4KBlockGo(wb[:], a[b*q8KBytes:(b+1)*q8KBytes], acc, accMin)
	}
	return acc - accMin
}
