package quant

import "github.com/hearthllm/hearth/gguf"

// kquantScratch is the scratch the batched K-quant kernels take (bytes).
const kquantScratch = 960

// matMulKQuantAVX2 runs the batched K-quant kernel of weight type t (Q4_K, Q6_K)
// over the activation rows in groups of eight (then one of four) and returns how many rows it
// did, a multiple of four (0 when t has no batched kernel or the rows do not
// fit it). It walks tiles of weight rows that stay in L2 while every group
// passes over them. r0 < r1.
func matMulKQuantAVX2(t gguf.TensorType, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) int {
	var wLen int
	switch t {
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
