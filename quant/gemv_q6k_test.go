package quant

import (
	"encoding/binary"
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

// TestGemvQ6KExtremes pushes the kernel's integer sums to their bounds:
// blocks whose quants are all 63 or all 0 (the largest products or only
// the -32 offset), scales of -128 and 127 (the correction 32·bsums·scales
// at its largest), against activations all -128, all 127 or alternating
// per block; every row must equal the AVX2 VecDot bit for bit.
func TestGemvQ6KExtremes(t *testing.T) {
	if !useAVX2 {
		t.Skip("!!! SKIPPING: no AVX2 on this CPU or build; the Q6_K gemv kernel is not tested")
	}
	tr := mustFor(t, gguf.TypeQ6_K)
	rng := rand.New(rand.NewPCG(53, 54))
	const rows = 19
	for _, nb := range []int{1, 22} {
		n := nb * qkK
		rowBytes := nb * q6KBytes
		for _, act := range []string{"-128", "127", "mixed"} {
			w := randomKBlocks(rng, gguf.TypeQ6_K, rows*nb)
			for blk := 0; blk < rows*nb; blk++ {
				b := w[blk*q6KBytes : (blk+1)*q6KBytes]
				fill := func(lo, hi int, v func() byte) {
					for i := lo; i < hi; i++ {
						b[i] = v()
					}
				}
				extreme := func() byte { return []byte{0x80, 0x7f}[rng.IntN(2)] }
				switch blk % 4 {
				case 0: // quants all 63, scales -128 or 127
					fill(0, q6KOffScales, func() byte { return 0xff })
					fill(q6KOffScales, q6KOffD, extreme)
				case 1: // quants all 0, scales -128 or 127
					fill(0, q6KOffScales, func() byte { return 0 })
					fill(q6KOffScales, q6KOffD, extreme)
				case 2: // random quants, scales all -128
					fill(q6KOffScales, q6KOffD, func() byte { return 0x80 })
				}
			}
			a := randQ8KRow(rng, n)
			for b := 0; b < nb; b++ {
				v := int8(-128)
				if act == "127" || (act == "mixed" && b%2 == 1) {
					v = 127
				}
				for i := 0; i < qkK; i++ {
					a[b*q8KBytes+q8KOffQS+i] = byte(v)
				}
				for k := 0; k < 16; k++ {
					binary.LittleEndian.PutUint16(a[b*q8KBytes+q8KOffBsums+2*k:], uint16(16*int16(v)))
				}
			}
			t.Run(fmt.Sprintf("nb%d/%s", nb, act), func(t *testing.T) {
				got := make([]float32, rows)
				gemvQ6K(got, w, rowBytes, n, a, 0, rows, gemvQ6KPrefetch)
				for r := 0; r < rows; r++ {
					require.Equal(t, tr.VecDot(n, w[r*rowBytes:(r+1)*rowBytes], a), got[r], "row %d", r)
				}
			})
		}
	}
}
