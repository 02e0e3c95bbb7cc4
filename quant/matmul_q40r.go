package quant

import "github.com/hearthllm/hearth/gguf"

// q40rPackBlocks is how many 32-element blocks of eight weight rows
// GemmQ4_0 unpacks at a time (288 bytes each: the unpacked run stays in
// L1 while every group of four activation rows passes over it).
const q40rPackBlocks = 32

// q40rPanelRows is how many activation rows GemmQ4_0 takes per pass over
// the weights (their table for one run of blocks is 32 KiB).
const q40rPanelRows = 128

// q40rPackLen is the size of one unpacked block of eight Q4_0 rows.
const q40rPackLen = 8*32 + 8*4

// GemmQ4_0 is GemvQ4_0 for m activation rows: it sets dst[i*ldDst+r] for
// weight rows r in [r0, r1) and activation rows i in [0, m) to row r of the
// Q4_0 matrix w (row stride rowBytes, n elements a row) times Q8_0
// activation row i (a holds m rows of aRowBytes), each pair summed exactly
// as GemvQ4_0 sums it. That is the arithmetic of llama.cpp's repacked
// batch kernel ggml_gemm_q4_0_8x8_q8_0 too (the same per pair as its
// one-token ggml_gemv_q4_0_8x8_q8_0), so a batch gives the bits its tokens
// give one at a time, and llama.cpp's. At LevelAVX2 it unpacks eight
// weight rows at a time for a run of blocks and multiplies them with four
// activation rows at a time (one fused multiply-add per block for eight
// pairs); the rows left over go through GemvQ4_0's kernels. At
// LevelAVX512 an AVX-512 kernel takes sixteen of the unpacked weight rows
// at a time, with the same bits. It allocates nothing.
func GemmQ4_0(dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) {
	gemmQ4_0At(batchLevel(gguf.TypeQ4_0), dst, ldDst, w, rowBytes, n, a, aRowBytes, m, r0, r1)
}

// gemmQ4_0At is GemmQ4_0 with the kernels of level lv (the CPU must have
// it): the portable code, the AVX2 kernels, or at LevelAVX512 the AVX2
// ones with the AVX-512 packed kernel for sixteen weight rows at a time.
func gemmQ4_0At(lv Level, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) {
	if r0 >= r1 || m <= 0 {
		return
	}
	avx2 := lv >= LevelAVX2
	nb := n / qk4_0
	m4, g8 := 0, r0 // activation rows and weight rows the packed kernel does
	if avx2 && nb > 0 && m >= 4 && r1-r0 >= 8 && nb*blockQ4_0Len <= rowBytes && nb*blockQ8_0Len <= aRowBytes {
		m4 = m / 4 * 4
		g8 = r0 + (r1-r0)/8*8
		gemmQ4_0Packed(lv >= LevelAVX512, dst, ldDst, w, rowBytes, nb, a, aRowBytes, m4, r0, g8)
	}
	for i := 0; i < m; i++ {
		lo := r0
		if i < m4 {
			lo = g8
		}
		if lo < r1 {
			gemvQ4_0At(avx2, dst[i*ldDst:], w, rowBytes, n, a[i*aRowBytes:], lo, r1)
		}
	}
}

// gemmQ4_0Packed runs the packed AVX2 kernel for weight rows [r0, r1)
// (r1-r0 a positive multiple of 8) and activation rows [0, m) (m a positive
// multiple of 4); when avx512 is set (the CPU must have LevelAVX512) the
// AVX-512 kernel takes the rows sixteen at a time, the AVX2 one the last
// eight if any.
func gemmQ4_0Packed(avx512 bool, dst []float32, ldDst int, w []byte, rowBytes, nb int, a []byte, aRowBytes, m int, r0, r1 int) {
	// The kernels go through raw pointers: check once that the last
	// weight row, activation row and destination row are in range.
	_ = w[(r1-1)*rowBytes : (r1-1)*rowBytes+nb*blockQ4_0Len]
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
					q4_0Pack8AVX2(&w[(r+h)*rowBytes+b0*blockQ4_0Len], rowBytes, kb, &pack[h/8*kb*q40rPackLen])
				}
				// Ask for the next step's run while this one is multiplied.
				for j := r + g; j < min(r+2*g, r1); j++ {
					prefetchRange(&w[j*rowBytes+b0*blockQ4_0Len], kb*blockQ4_0Len)
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
