package quant

import (
	"encoding/binary"
	"math"

	"github.com/hearthllm/hearth/gguf"
)

// GemvQ4K sets dst[r] for r in [r0, r1) to row r of the Q4_K matrix w (row
// stride rowBytes, cols elements a row) times the Q8_K activation row a,
// summed the way llama.cpp's repacked one-token kernel
// ggml_gemv_q4_K_8x8_q8_K does on AVX2 (which llama.cpp uses for Q4_K
// weights whose row count is a multiple of 8). Per super-block the exact
// integer sums isum = Σ_j sc_j·(Σ q_w·q_a) and imin = Σ_j m_j·bsum_j are
// converted to float32 and accumulated with one fused multiply-add each,
// acc = fma(float32(isum), d·d_a, acc) and accMin = fma(float32(imin),
// dmin·d_a, accMin), and dst[r] = acc - accMin. dst is indexed by absolute
// row.
//
// GemvQ4K is portable Go at every kernel level. It is the reference of
// GemvQ4Kx8, which gives its bits with AVX2 and VNNI kernels on the rows
// interleaved by RepackQ4Kx8 and is the one-token Q4_K product to run.
func GemvQ4K(dst []float32, w []byte, rowBytes, cols int, a []byte, r0, r1 int) {
	nb := cols / qkK
	dst = dst[:r1]
	if nb == 0 {
		for r := r0; r < r1; r++ {
			dst[r] = 0
		}
		return
	}
	a = a[:nb*q8KBytes]
	for r := r0; r < r1; r++ {
		dst[r] = gemvQ4KRowGo(w[r*rowBytes:r*rowBytes+nb*q4KBytes], a, nb)
	}
}

// gemvQ4KRowGo is one row of GemvQ4K.
func gemvQ4KRowGo(row, a []byte, nb int) float32 {
	var acc, accMin float32
	for b := 0; b < nb; b++ {
		acc, accMin = gemvQ4KBlockGo(row[b*q4KBytes:(b+1)*q4KBytes], a[b*q8KBytes:(b+1)*q8KBytes], acc, accMin)
	}
	return acc - accMin
}

// gemvQ4KBlockGo carries gemvQ4KRowGo's two accumulators through the
// super-block wb of a row and its activation block ab.
func gemvQ4KBlockGo(wb, ab []byte, acc, accMin float32) (float32, float32) {
	da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
	sc := wb[4:16]
	qw := wb[16:144]
	var isum, imin int32
	for j := 0; j < 8; j++ {
		is, im := q4KSubBlock(j, sc, qw, ab)
		isum += is
		imin += im
	}
	acc = fmaF32(float32(isum), f16At(wb)*da, acc)
	accMin = fmaF32(float32(imin), f16At(wb[2:])*da, accMin)
	return acc, accMin
}

// q4KSubBlock returns sub-block j's exact parts of a Q4_K super-block's
// sums against a Q8_K block ab: sc_j·(Σ q_w·q_a) and m_j·(bsum_2j +
// bsum_2j+1), from the scales field sc and the quants qw.
func q4KSubBlock(j int, sc, qw, ab []byte) (isum, imin int32) {
	s, m := q4KScaleMin(j, sc)
	c := qw[(j/2)*32 : (j/2)*32+32]
	x := ab[4+j*32 : 4+j*32+32]
	shift := uint(4 * (j % 2))
	var sub int32
	for l, v := range c {
		sub += int32((v>>shift)&15) * int32(int8(x[l]))
	}
	bs := int32(int16(binary.LittleEndian.Uint16(ab[4+qkK+4*j:]))) +
		int32(int16(binary.LittleEndian.Uint16(ab[4+qkK+4*j+2:])))
	return int32(s) * sub, int32(m) * bs
}

// q4KScaleMin unpacks the j-th 6-bit scale and min of a Q4_K scales field.
func q4KScaleMin(j int, q []byte) (s, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// Gemv is MatVec for one-token evaluation: dst[r] = W[r,:]·a for r in
// [r0, r1) with tr.VecDot, the same arithmetic, while the next row's
// weights are prefetched (up to gemvPrefetch bytes of it) so the stream
// from memory overlaps the dot products. Only the K-quant dots want that
// (Q5_K only for rows up to gemvQ5KPrefetchMax bytes): the legacy ones
// prefetch by themselves, and F16 gained nothing from it.
// On AVX2, Q6_K, Q2_K and Q3_K rows go through kernels that loop over the
// rows themselves and prefetch ahead of each block (gemvQ6K, gemvK23), with
// each row's bits those of tr.VecDot.
func Gemv(tr *Traits, dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) {
	if useAVX512Gemv && tr.Type == gguf.TypeQ6_K && hasAVX512Kernels(gguf.TypeQ6_K) {
		r0 = gemvQ6KAVX512(dst, w, rowBytes, n, a, r0, r1)
	}
	if useAVX2 && tr.Type == gguf.TypeQ6_K {
		gemvQ6K(dst, w, rowBytes, n, a, r0, r1, gemvQ6KPrefetch)
		return
	}
	if useAVX2 && (tr.Type == gguf.TypeQ2_K || tr.Type == gguf.TypeQ3_K) {
		gemvK23(tr.Type, dst, w, rowBytes, n, a, r0, r1, gemvK23Prefetch)
		return
	}
	if useAVX512Gemv && tr.Type == gguf.TypeQ8_0 && hasAVX512Kernels(gguf.TypeQ8_0) {
		r0 = gemvQ8_0AVX512(dst, w, rowBytes, n, a, r0, r1)
	}
	if useAVX512Gemv && tr.Type == gguf.TypeF16 && hasAVX512Kernels(gguf.TypeF16) {
		r0 = gemvF16AVX512(dst, w, rowBytes, n, a, r0, r1)
	}
	gemvRows(tr, dst, w, rowBytes, n, a, r0, r1)
}

// gemvRows is Gemv's row loop for the types without a kernel of their own:
// one tr.VecDot a row, with the next row prefetched where that pays.
func gemvRows(tr *Traits, dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) {
	dot := tr.VecDot
	dst = dst[:r1]
	pf := 0
	if hasPrefetch && gemvPrefetches(tr.Type, rowBytes) {
		pf = min(rowBytes, gemvPrefetch)
	}
	for r := r0; r < r1; r++ {
		off := r * rowBytes
		if pf > 0 && r+1 < r1 {
			prefetchRange(&w[off+rowBytes], pf)
		}
		dst[r] = dot(n, w[off:off+rowBytes], a)
	}
}

// gemvPrefetch is how many bytes of the next row Gemv prefetches.
const gemvPrefetch = 4096

// gemvQ5KPrefetchMax is the longest Q5_K row (in bytes) whose successor
// gemvRows prefetches. Longer rows stream better on the hardware prefetcher
// alone: out of DRAM on two threads, rows of 5632 columns (3872 bytes) ran
// 1.11-1.21x faster without the prefetch, while rows of 2048 columns (1408
// bytes) ran 0.90-0.98x as fast without it; in TinyLlama Q5_K_M decode,
// where the Q5_K ffn_down rows are the long ones, that is about 1.5 %.
const gemvQ5KPrefetchMax = 2048

// gemvPrefetches says whether Gemv prefetches rows of type t that are
// rowBytes long.
func gemvPrefetches(t gguf.TensorType, rowBytes int) bool {
	switch t {
	case gguf.TypeQ5_K:
		return rowBytes <= gemvQ5KPrefetchMax
	case gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ6_K:
		return true
	}
	return false
}

// GemvF32 is Gemv for F32 weights (a holds n float32s): the bits of
// ggml_vec_dot_f32 per row, like Traits.VecDot, with the AVX2 kernel
// looping over the rows itself, which matters when rows are short (tiny
// models spend most of a matvec on per-row overhead otherwise).
func GemvF32(dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) {
	gemvF32At(useAVX2, dst, w, rowBytes, n, a, r0, r1)
}

// gemvF32At is GemvF32 with the AVX2 kernel when avx2 is set (the CPU must
// have it) and the portable code otherwise.
func gemvF32At(avx2 bool, dst []float32, w []byte, rowBytes, n int, a []byte, r0, r1 int) {
	dst = dst[:r1]
	if r0 >= r1 {
		return
	}
	if n == 0 {
		for r := r0; r < r1; r++ {
			dst[r] = 0
		}
		return
	}
	a = a[:4*n]
	_ = w[(r1-1)*rowBytes+4*n-1]
	if avx2 {
		// Eight rows at a time pays where the rows have no tail: with one,
		// the rows' serial tails overlap better two at a time.
		if r8 := (r1 - r0) &^ 7; r8 > 0 && n%32 == 0 {
			gemvF32x8AVX2(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], n, r8)
			r0 += r8
			if r0 == r1 {
				return
			}
		}
		gemvF32AVX2(&dst[r0], &w[r0*rowBytes], rowBytes, &a[0], n, r1-r0)
		return
	}
	for r := r0; r < r1; r++ {
		dst[r] = vecDotF32At(false, n, w[r*rowBytes:r*rowBytes+4*n], a)
	}
}
