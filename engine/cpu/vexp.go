package cpu

import "github.com/hearthllm/hearth/quant"

// haveAVX2 says whether quant's kernel level is LevelAVX2 or above, so this
// package's AVX2 kernels may run. It is set once at start-up.
var haveAVX2 = func() bool {
	lvl, _ := quant.KernelLevel()
	return lvl >= quant.LevelAVX2
}()

// expSumBlocks is softmax's block loop: for the whole blocks of 8 of x it
// sets x[i] = vExpf(x[i]-mx) and sums each block in float32 in the order of
// the AVX2 horizontal add, ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), the
// block sums accumulated in float64 in order. It returns that sum and the
// number of elements done (len(x) rounded down to 8).
func expSumBlocks(avx2 bool, x []float32, mx float32) (float64, int) {
	var sum float64
	n8 := len(x) &^ 7
	i := 0
	for i < n8 {
		if avx2 {
			i += expSumBlocksAVX2(&x[i], n8-i, mx, &sum)
			if i == n8 {
				break
			}
		}
		b := x[i : i+8 : i+8]
		for j := range b {
			b[j] = vExpf(b[j] - mx)
		}
		sum += float64(((b[0] + b[4]) + (b[2] + b[6])) + ((b[1] + b[5]) + (b[3] + b[7])))
		i += 8
	}
	return sum, n8
}

// swiGLUBlocks is swiGLU's block loop: gate[i] = silu(gate[i])*up[i] with
// vExpf for the whole blocks of 8 of gate. It returns the number of
// elements done (len(gate) rounded down to 8).
func swiGLUBlocks(avx2 bool, gate, up []float32) int {
	n8 := len(gate) &^ 7
	up = up[:len(gate)]
	i := 0
	for i < n8 {
		if avx2 {
			i += swiGLUBlocksAVX2(&gate[i], &up[i], n8-i)
			if i == n8 {
				break
			}
		}
		for j := i; j < i+8; j++ {
			g := gate[j]
			gate[j] = g / (1 + vExpf(0-g)) * up[j]
		}
		i += 8
	}
	return n8
}
