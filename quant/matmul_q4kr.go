package quant

import (
	"encoding/binary"
	"math"
)

// Packed Q4_K layout of eight weight rows (per super-block, q4krLen
// bytes): 64 quant vectors, 8 scale vectors, 4 min vectors (see
// matmul_q4kr_amd64.s), then d and dmin of the rows as float32.
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
// the one-token kernel, GemvQ4K. The AVX2 and portable paths give the same
// bits. It allocates nothing.
func GemmQ4K(dst []float32, ldDst int, w []byte, rowBytes, cols int, a []byte, aRowBytes, m int, r0, r1 int) {
	gemmQ4KAt(useAVX2, dst, ldDst, w, rowBytes, cols, a, aRowBytes, m, r0, r1)
}

// gemmQ4KAt is GemmQ4K with the AVX2 kernels when avx2 is set (the CPU must
// have them) and the portable code otherwise.
func gemmQ4KAt(avx2 bool, dst []float32, ldDst int, w []byte, rowBytes, cols int, a []byte, aRowBytes, m int, r0, r1 int) {
	if r0 >= r1 || m <= 0 {
		return
	}
	nb := cols / qkK
	m4 := 0
	if m >= 4 {
		m4 = m / 4 * 4
	}
	g8 := r0 // weight rows the packed kernel does
	if avx2 && m4 > 0 && nb > 0 && r1-r0 >= 8 && nb*q4KBytes <= rowBytes && nb*q8KBytes <= aRowBytes {
		g8 = r0 + (r1-r0)/8*8
		gemmQ4KPacked(dst, ldDst, w, rowBytes, nb, a, aRowBytes, m4, r0, g8)
	}
	for i := 0; i < m4; i++ {
		ar := a[i*aRowBytes : i*aRowBytes+nb*q8KBytes]
		for r := g8; r < r1; r++ {
			dst[i*ldDst+r] = gemmQ4KRowGo(w[r*rowBytes:r*rowBytes+nb*q4KBytes], ar, nb)
		}
	}
	for i := m4; i < m; i++ {
		gemvQ4KAt(avx2, dst[i*ldDst:], w, rowBytes, cols, a[i*aRowBytes:], r0, r1)
	}
}

// gemmQ4KRowGo is one pair of the portable GemmQ4K (ggml_gemm_q4_K_8x8_q8_K's
// arithmetic).
func gemmQ4KRowGo(row, a []byte, nb int) float32 {
	var acc, accMin float32
	for b := 0; b < nb; b++ {
		wb := row[b*q4KBytes : (b+1)*q4KBytes]
		ab := a[b*q8KBytes : (b+1)*q8KBytes]
		da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
		qa := ab[4 : 4+qkK]
		sc := wb[4:16]
		qw := wb[16:144]
		d, dmin := f16At(wb)*da, f16At(wb[2:])*da
		for sb := 0; sb < 4; sb++ {
			var isum, imin int32
			for j := 2 * sb; j < 2*sb+2; j++ {
				s, mn := q4KScaleMin(j, sc)
				c := qw[sb*32 : sb*32+32]
				x := qa[j*32 : j*32+32]
				shift := uint(4 * (j % 2))
				var sub int32
				for l, v := range c {
					sub += int32((v>>shift)&15) * int32(int8(x[l]))
				}
				isum += int32(s) * sub
				bs := int32(int16(binary.LittleEndian.Uint16(ab[4+qkK+4*j:]))) +
					int32(int16(binary.LittleEndian.Uint16(ab[4+qkK+4*j+2:])))
				imin += int32(mn) * bs
			}
			acc = fmaF32(float32(isum), d, acc)
			accMin = fmaF32(float32(imin), dmin, accMin)
		}
	}
	return acc - accMin
}

// gemmQ4KPacked runs the packed AVX2 kernel for weight rows [r0, r1)
// (r1-r0 a positive multiple of 8) and activation rows [0, m) (m a positive
// multiple of 4 — the kernel takes them two at a time).
func gemmQ4KPacked(dst []float32, ldDst int, w []byte, rowBytes, nb int, a []byte, aRowBytes, m int, r0, r1 int) {
	// The kernels go through raw pointers: check once that the last
	// weight row, activation row and destination row are in range.
	_ = w[(r1-1)*rowBytes : (r1-1)*rowBytes+nb*q4KBytes]
	_ = a[(m-1)*aRowBytes : (m-1)*aRowBytes+nb*q8KBytes]
	_ = dst[(m-1)*ldDst : (m-1)*ldDst+r1]
	var pack [q4krPackBlocks * q4krLen]byte
	var acc [q4krPanelRows * 16]float32
	for p0 := 0; p0 < m; p0 += q4krPanelRows {
		p1 := min(p0+q4krPanelRows, m)
		for r := r0; r < r1; r += 8 {
			clear(acc[:(p1-p0)*16])
			for b0 := 0; b0 < nb; b0 += q4krPackBlocks {
				kb := min(q4krPackBlocks, nb-b0)
				wr := w[r*rowBytes+b0*q4KBytes:]
				q4KPack8AVX2(&wr[0], rowBytes, kb, &pack[0])
				q4KPack8ScalesAVX2(&wr[0], rowBytes, kb, &pack[0])
				for i := p0; i < p1; i += 2 {
					q4KGemmR2AVX2(&pack[0], &a[i*aRowBytes+b0*q8KBytes], aRowBytes, kb, &acc[(i-p0)*16])
				}
			}
			for i := p0; i < p1; i++ {
				d := dst[i*ldDst+r : i*ldDst+r+8]
				s := acc[(i-p0)*16 : (i-p0)*16+16]
				for k := range d {
					d[k] = s[k] - s[8+k]
				}
			}
		}
	}
}
