package quant

import (
	"encoding/binary"
	"math"

	"github.com/hearthllm/hearth/gguf"
)

// Packed Q4_K layout of eight weight rows (per super-block, q4krLen
// bytes): 64 quant vectors, 8 scale vectors, 4 min vectors (see
// _avo/avx2_k4r.go), then d and dmin of the rows as float32.
const (
	q4krSC   = 2048
	q4krMN   = 2304
	q4krD    = 2432
	q4krDmin = 2464
	q4krLen  = 2496
)

// q4krPackBlocks is how many super-blocks of eight weight rows GemmQ4K
// unpacks at a time (10 KB, kept in L1 while the activation rows pass).
const q4krPackBlocks = 4

// q4krPanelRows is how many activation rows GemmQ4K carries accumulators
// for at a time (64 bytes each).
const q4krPanelRows = 128

// GemmQ4K sets dst[i*ldDst+r] for weight rows r in [r0, r1) and activation
// rows i in [0, m) to row r of the Q4_K matrix w (row stride rowBytes, cols
// elements a row) times Q8_K activation row i (a holds m rows of
// aRowBytes), summed the way llama.cpp multiplies a batch by repacked Q4_K
// weights (rows % 8 == 0) on AVX2: the first m/4*4 activation rows as
// ggml_gemm_q4_K_8x8_q8_K does, with one fused multiply-add per 64-element
// half of a super-block, acc = fma(float32(sc_a*Σ_a + sc_b*Σ_b), d*d_a,
// acc) and accMin = fma(float32(m_a*bsum_a + m_b*bsum_b), dmin*d_a,
// accMin), result acc - accMin; the rest (and batches under four rows) as
// the one-token GemvQ4K (portable Go at every level). The AVX2 and portable
// paths give the same bits. At LevelAVX512 an AVX-512 kernel takes sixteen
// of the packed weight rows and four activation rows at a time, with the
// same bits. It allocates nothing.
func GemmQ4K(dst []float32, ldDst int, w []byte, rowBytes, cols int, a []byte, aRowBytes, m int, r0, r1 int) {
	gemmQ4KAt(batchLevel(gguf.TypeQ4_K), dst, ldDst, w, rowBytes, cols, a, aRowBytes, m, r0, r1)
}

// gemmQ4KAt is GemmQ4K with the kernels of level lv (the CPU must have it):
// the portable code, the AVX2 kernels, or at LevelAVX512 the AVX2 ones with
// the AVX-512 packed kernel for sixteen weight rows at a time.
func gemmQ4KAt(lv Level, dst []float32, ldDst int, w []byte, rowBytes, cols int, a []byte, aRowBytes, m int, r0, r1 int) {
	if r0 >= r1 || m <= 0 {
		return
	}
	avx2 := lv >= LevelAVX2
	nb := cols / qkK
	m4 := 0
	if m >= 4 {
		m4 = m / 4 * 4
	}
	g8 := r0 // weight rows the packed kernel does
	if avx2 && m4 > 0 && nb > 0 && r1-r0 >= 8 && nb*q4KBytes <= rowBytes && nb*q8KBytes <= aRowBytes {
		g8 = r0 + (r1-r0)/8*8
		k16 := q4K16None
		if lv >= LevelAVX512 {
			k16 = q4K16AVX512
		}
		gemmQ4KPacked(k16, dst, ldDst, w, rowBytes, nb, a, aRowBytes, m4, r0, g8)
	}
	for i := 0; i < m4; i++ {
		ar := a[i*aRowBytes : i*aRowBytes+nb*q8KBytes]
		for r := g8; r < r1; r++ {
			dst[i*ldDst+r] = gemmQ4KRowGo(w[r*rowBytes:r*rowBytes+nb*q4KBytes], ar, nb)
		}
	}
	for i := m4; i < m; i++ {
		GemvQ4K(dst[i*ldDst:], w, rowBytes, cols, a[i*aRowBytes:], r0, r1)
	}
}

// gemmQ4KRowGo is one pair of the portable GemmQ4K (ggml_gemm_q4_K_8x8_q8_K's
// arithmetic).
func gemmQ4KRowGo(row, a []byte, nb int) float32 {
	var acc, accMin float32
	for b := 0; b < nb; b++ {
		acc, accMin = gemmQ4KBlockGo(row[b*q4KBytes:(b+1)*q4KBytes], a[b*q8KBytes:(b+1)*q8KBytes], acc, accMin)
	}
	return acc - accMin
}

// gemmQ4KBlockGo carries gemmQ4KRowGo's two accumulators through the
// super-block wb of a row and its activation block ab.
func gemmQ4KBlockGo(wb, ab []byte, acc, accMin float32) (float32, float32) {
	da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
	sc := wb[4:16]
	qw := wb[16:144]
	d, dmin := f16At(wb)*da, f16At(wb[2:])*da
	for sb := 0; sb < 4; sb++ {
		var isum, imin int32
		for j := 2 * sb; j < 2*sb+2; j++ {
			is, im := q4KSubBlock(j, sc, qw, ab)
			isum += is
			imin += im
		}
		acc = fmaF32(float32(isum), d, acc)
		accMin = fmaF32(float32(imin), dmin, accMin)
	}
	return acc, accMin
}

// q4K16Kernel names the kernel gemmQ4KPacked runs on sixteen weight rows
// at a time: none (eight at a time with the AVX2 kernel),
// q4KGemmR4x16AVX512, or its Go model q4KGemmR4x16Go (for tests on CPUs
// without AVX-512). A name, not a func value, so the calls stay direct and
// the scratch buffers on the stack.
type q4K16Kernel uint8

const (
	q4K16None q4K16Kernel = iota
	q4K16AVX512
	q4K16Go
)

// gemmQ4KPacked runs the packed AVX2 kernel for weight rows [r0, r1)
// (r1-r0 a positive multiple of 8) and activation rows [0, m) (m a positive
// multiple of 4 — the kernel takes them two at a time); unless k16 is
// q4K16None (q4K16AVX512 needs LevelAVX512) that kernel takes the rows
// sixteen and the activation rows four at a time, the AVX2 kernel the last
// eight weight rows if any.
func gemmQ4KPacked(k16 q4K16Kernel, dst []float32, ldDst int, w []byte, rowBytes, nb int, a []byte, aRowBytes, m int, r0, r1 int) {
	// The kernels go through raw pointers: check once that the last
	// weight row is in range.
	_ = w[(r1-1)*rowBytes : (r1-1)*rowBytes+nb*q4KBytes]
	gemmQ4KPackedFrom(k16, dst, ldDst, q4KSource{w: w, rowBytes: rowBytes}, nb, a, aRowBytes, m, r0, r1)
}

// q4KSource is where gemmQ4KPackedFrom packs weight rows from: the
// row-major matrix w (row stride rowBytes), or when wx is set the
// interleaved one (RepackQ4Kx8, gb bytes a group).
type q4KSource struct {
	w        []byte
	rowBytes int
	wx       []byte
	gb       int
}

// pack8 packs kb super-blocks from b0 of the eight weight rows from r into
// pk (the caller has checked that the reads are in range).
func (s q4KSource) pack8(r, b0, kb int, pk *byte) {
	if s.wx != nil {
		q4Kx8PackAVX2(&s.wx[r/8*s.gb+b0*q4kx8Len], kb, pk)
		return
	}
	wr := s.w[r*s.rowBytes+b0*q4KBytes:]
	q4KPack8AVX2(&wr[0], s.rowBytes, kb, pk)
	q4KPack8ScalesAVX2(&wr[0], s.rowBytes, kb, pk)
}

// gemmQ4KPackedFrom is gemmQ4KPacked with the weight rows packed from src.
func gemmQ4KPackedFrom(k16 q4K16Kernel, dst []float32, ldDst int, src q4KSource, nb int, a []byte, aRowBytes, m int, r0, r1 int) {
	_ = a[(m-1)*aRowBytes : (m-1)*aRowBytes+nb*q8KBytes]
	_ = dst[(m-1)*ldDst : (m-1)*ldDst+r1]
	var pack [2 * q4krPackBlocks * q4krLen]byte // two runs of eight rows
	var acc [q4krPanelRows * 32]float32         // per activation row: acc, accMin of g rows
	for p0 := 0; p0 < m; p0 += q4krPanelRows {
		p1 := min(p0+q4krPanelRows, m)
		for r := r0; r < r1; {
			g := 8 // weight rows this step
			if k16 != q4K16None && r+16 <= r1 {
				g = 16
			}
			clear(acc[:(p1-p0)*2*g])
			for b0 := 0; b0 < nb; b0 += q4krPackBlocks {
				kb := min(q4krPackBlocks, nb-b0)
				for h := 0; h < g; h += 8 {
					src.pack8(r+h, b0, kb, &pack[h/8*kb*q4krLen])
				}
				if g == 16 {
					for i := p0; i < p1; i += 4 {
						ai, ci := &a[i*aRowBytes+b0*q8KBytes], &acc[(i-p0)*32]
						if k16 == q4K16AVX512 {
							q4KGemmR4x16AVX512(&pack[0], kb*q4krLen, ai, aRowBytes, kb, ci)
						} else {
							q4KGemmR4x16Go(&pack[0], kb*q4krLen, ai, aRowBytes, kb, ci)
						}
					}
					continue
				}
				for i := p0; i < p1; i += 2 {
					q4KGemmR2AVX2(&pack[0], &a[i*aRowBytes+b0*q8KBytes], aRowBytes, kb, &acc[(i-p0)*16])
				}
			}
			for i := p0; i < p1; i++ {
				d := dst[i*ldDst+r : i*ldDst+r+g]
				s := acc[(i-p0)*2*g : (i-p0)*2*g+2*g]
				for k := range d {
					d[k] = s[k] - s[g+k]
				}
			}
			r += g
		}
	}
}
