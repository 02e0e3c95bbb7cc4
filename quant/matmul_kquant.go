package quant

import "github.com/hearthllm/hearth/gguf"

// kquantScratch is the scratch the batched K-quant kernels take (bytes).
const kquantScratch = 960

// matMulKQuantAVX2 runs the batched K-quant kernel of weight type t (Q4_K,
// Q6_K: in groups of eight, then one of four; Q2_K, Q3_K, Q5_K: in groups of
// up to eight) over the activation rows and returns how many rows it did (0 when
// t has no batched kernel or the rows do not fit it). It walks tiles of
// weight rows that stay in L2 while every group passes over them. r0 < r1.
func matMulKQuantAVX2(t gguf.TensorType, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) int {
	var wLen int
	switch t {
	case gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ5_K:
		return matMulK23AVX2(t, dst, ldDst, w, rowBytes, n, a, aRowBytes, m, r0, r1)
	case gguf.TypeQ4_K:
		wLen = q4KBytes
	case gguf.TypeQ6_K:
		wLen = q6KBytes
	default:
		return 0
	}
	nb := n / qkK
	if m < batchRows || nb == 0 || nb*wLen > rowBytes || nb*q8KBytes > aRowBytes {
		return 0
	}
	done := m / batchRows * batchRows
	// The kernels read nb blocks of each row through raw pointers: check
	// once that the last weight row and activation row are in range.
	_ = w[(r1-1)*rowBytes : (r1-1)*rowBytes+nb*wLen]
	_ = a[(done-1)*aRowBytes : (done-1)*aRowBytes+nb*q8KBytes]
	var tmp [kquantScratch]byte
	var out [2 * batchRows]float32
	tile := max(batchRows, matMulTileBytes/rowBytes)
	for t0 := r0; t0 < r1; t0 += tile {
		t1 := min(t0+tile, r1)
		for i0 := 0; i0 < done; {
			g := batchRows // activation rows in this group
			if done-i0 >= 2*batchRows {
				g = 2 * batchRows
			}
			for r := t0; r < t1; r++ {
				wr, ar := &w[r*rowBytes], &a[i0*aRowBytes]
				switch {
				case g == 2*batchRows && t == gguf.TypeQ4_K:
					q4KQ8KDot8AVX2(wr, ar, aRowBytes, &tmp[0], nb, &out[0])
				case g == 2*batchRows:
					q6KQ8KDot8AVX2(wr, ar, aRowBytes, &tmp[0], nb, &out[0])
				case t == gguf.TypeQ4_K:
					q4KQ8KDot4AVX2(wr, ar, aRowBytes, &tmp[0], nb, &out[0])
				default:
					q6KQ8KDot4AVX2(wr, ar, aRowBytes, &tmp[0], nb, &out[0])
				}
				for j, v := range out[:g] {
					dst[(i0+j)*ldDst+r] = v
				}
			}
			i0 += g
		}
	}
	return done
}

// matMulK23AVX2 is matMulKQuantAVX2 for Q2_K, Q3_K and Q5_K, whose kernels take
// any group of up to eight activation rows: it does all m rows (0 when the
// rows do not fit the kernels).
func matMulK23AVX2(t gguf.TensorType, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) int {
	wLen := q2KBytes
	switch t {
	case gguf.TypeQ3_K:
		wLen = q3KBytes
	case gguf.TypeQ5_K:
		wLen = q5KBytes
	}
	nb := n / qkK
	if nb == 0 || nb*wLen > rowBytes || nb*q8KBytes > aRowBytes {
		return 0
	}
	_ = w[(r1-1)*rowBytes : (r1-1)*rowBytes+nb*wLen]
	_ = a[(m-1)*aRowBytes : (m-1)*aRowBytes+nb*q8KBytes]
	var tmp [kquantScratch]byte
	var out [2 * batchRows]float32
	tile := max(batchRows, matMulTileBytes/rowBytes)
	for t0 := r0; t0 < r1; t0 += tile {
		t1 := min(t0+tile, r1)
		for i0 := 0; i0 < m; i0 += len(out) {
			g := min(len(out), m-i0)
			for r := t0; r < t1; r++ {
				wr, ar := &w[r*rowBytes], &a[i0*aRowBytes]
				switch t {
				case gguf.TypeQ2_K:
					q2KQ8KDotNAVX2(wr, ar, aRowBytes, &tmp[0], nb, g, &out[0])
				case gguf.TypeQ3_K:
					q3KQ8KDotNAVX2(wr, ar, aRowBytes, &tmp[0], nb, g, &out[0])
				default:
					q5KQ8KDotNAVX2(wr, ar, aRowBytes, &tmp[0], nb, g, &out[0])
				}
				for j, v := range out[:g] {
					dst[(i0+j)*ldDst+r] = v
				}
			}
		}
	}
	return m
}
