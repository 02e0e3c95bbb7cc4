package quant

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBlockSumKernels checks the integer block kernels (AVX2 where built and
// supported) against the portable Go ones on arbitrary bytes, including
// -128 activations and every high-bit pattern.
func TestBlockSumKernels(t *testing.T) {
	kernels := []struct {
		name       string
		wLen, aLen int
		fast, ref  func(out []int32, w, a []byte)
	}{
		{"Q4_0xQ8_0", blockQ4_0Len, blockQ8_0Len, q4_0Q8_0Sums, q4_0Q8_0SumsGo},
		{"Q4_1xQ8_1", blockQ4_1Len, blockQ8_1Len, q4_1Q8_1Sums, q4_1Q8_1SumsGo},
		{"Q5_0xQ8_0", blockQ5_0Len, blockQ8_0Len, q5_0Q8_0Sums, q5_0Q8_0SumsGo},
		{"Q5_1xQ8_1", blockQ5_1Len, blockQ8_1Len, q5_1Q8_1Sums, q5_1Q8_1SumsGo},
		{"Q8_0xQ8_0", blockQ8_0Len, blockQ8_0Len, q8_0Q8_0Sums, q8_0Q8_0SumsGo},
	}
	rng := rand.New(rand.NewPCG(31, 32))
	if !useAVX2 {
		t.Log("!!! AVX2 kernels not available here: comparing the portable kernels with themselves")
	}
	for _, k := range kernels {
		for _, nb := range []int{1, 2, 7, 64} {
			t.Run(fmt.Sprintf("%s/%d", k.name, nb), func(t *testing.T) {
				for trial := 0; trial < 50; trial++ {
					w := make([]byte, nb*k.wLen)
					a := make([]byte, nb*k.aLen)
					for i := range w {
						w[i] = byte(rng.Uint32())
					}
					for i := range a {
						a[i] = byte(rng.Uint32())
						if trial%5 == 0 {
							a[i] = 0x80 // -128 everywhere: the extreme products
						}
					}
					got := make([]int32, nb)
					want := make([]int32, nb)
					k.fast(got, w, a)
					k.ref(want, w, a)
					require.Equal(t, want, got)
				}
			})
		}
	}
}
