package quant

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// TestGemvQ6KMatchesVecDot requires every row of the Q6_K one-token kernel
// to equal the AVX2 VecDot (llama.cpp's ggml_vec_dot_q6_K_q8_K) bit for
// bit, over row ranges that start and end anywhere.
func TestGemvQ6KMatchesVecDot(t *testing.T) {
	if !useAVX2 {
		t.Skip("!!! SKIPPING: no AVX2 on this CPU or build; the Q6_K gemv kernel is not tested")
	}
	tr := mustFor(t, gguf.TypeQ6_K)
	r := rand.New(rand.NewPCG(41, 42))
	for _, nb := range []int{1, 2, 8, 22} {
		const rows = 37
		n := nb * qkK
		w := randomKBlocks(r, gguf.TypeQ6_K, rows*nb)
		a := randomQ8K(r, nb)
		rowBytes := nb * q6KBytes
		for _, rg := range [][2]int{{0, rows}, {3, 17}, {36, 37}, {5, 5}} {
			for _, pf := range []int{gemvQ6KPrefetch, 64} {
				t.Run(fmt.Sprintf("nb%d/%d-%d/pf%d", nb, rg[0], rg[1], pf), func(t *testing.T) {
					got := make([]float32, rows+1)
					gemvQ6K(got, w, rowBytes, n, a, rg[0], rg[1], pf)
					for i := rg[0]; i < rg[1]; i++ {
						want := tr.VecDot(n, w[i*rowBytes:(i+1)*rowBytes], a)
						require.Equal(t, want, got[i], "row %d", i)
					}
					require.Zero(t, got[rows], "past r1")
				})
			}
		}
	}
}
