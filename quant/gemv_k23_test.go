package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// extremeKBlocks returns nb blocks of typ with every quant and scale bit
// set (the largest products and, for Q3_K, no hmask bit, so every value is
// 3 and nothing is subtracted) and finite d/dmin.
func extremeKBlocks(typ gguf.TensorType, nb int, hmask byte) []byte {
	tr, _ := For(typ)
	b := make([]byte, nb*tr.TypeSize)
	for i := range b {
		b[i] = 0xff
	}
	for i := 0; i < nb; i++ {
		blk := b[i*tr.TypeSize : (i+1)*tr.TypeSize]
		switch typ {
		case gguf.TypeQ2_K:
			putF16(blk[q2KOffD:], 0.5)
			putF16(blk[q2KOffDmin:], -0.25)
		case gguf.TypeQ3_K:
			for j := 0; j < 32; j++ {
				blk[j] = hmask
			}
			putF16(blk[q3KOffD:], 0.5)
		}
	}
	return b
}

// extremeQ8K returns nb Q8_K blocks whose quants are all q (bsums to
// match) with scale 1.
func extremeQ8K(nb int, q int8) []byte {
	a := make([]byte, nb*q8KBytes)
	for i := 0; i < nb; i++ {
		y := a[i*q8KBytes : (i+1)*q8KBytes]
		binary.LittleEndian.PutUint32(y, math.Float32bits(1))
		for j := 0; j < qkK; j++ {
			y[q8KOffQS+j] = byte(q)
		}
		for g := 0; g < qkK/16; g++ {
			binary.LittleEndian.PutUint16(y[q8KOffBsums+2*g:], uint16(int16(16*int(q))))
		}
	}
	return a
}

// TestGemvK23MatchesVecDot requires every row of the Q2_K and Q3_K
// one-token kernels to equal the type's AVX2 VecDot (llama.cpp's
// ggml_vec_dot_q2_K_q8_K / ggml_vec_dot_q3_K_q8_K, which the ggml tests
// compare with llama.cpp) bit for bit, over row ranges that start and end
// anywhere, several prefetch distances, random and extreme blocks, and to
// write nothing outside the range.
func TestGemvK23MatchesVecDot(t *testing.T) {
	if !useAVX2 {
		t.Skip("!!! SKIPPING: no AVX2 on this CPU or build; the Q2_K/Q3_K gemv kernels are not tested")
	}
	const rows = 37
	nan := float32(math.NaN())
	type input struct {
		name string
		w, a func(r *rand.Rand, typ gguf.TensorType, nb int) []byte
	}
	inputs := []input{
		{"random",
			func(r *rand.Rand, typ gguf.TensorType, nb int) []byte { return randomKBlocks(r, typ, rows*nb) },
			func(r *rand.Rand, _ gguf.TensorType, nb int) []byte { return randomQ8K(r, nb) }},
		{"max+127",
			func(_ *rand.Rand, typ gguf.TensorType, nb int) []byte { return extremeKBlocks(typ, rows*nb, 0xff) },
			func(_ *rand.Rand, _ gguf.TensorType, nb int) []byte { return extremeQ8K(nb, 127) }},
		{"nohmask-128",
			func(_ *rand.Rand, typ gguf.TensorType, nb int) []byte { return extremeKBlocks(typ, rows*nb, 0) },
			func(_ *rand.Rand, _ gguf.TensorType, nb int) []byte { return extremeQ8K(nb, -128) }},
		{"nohmask-127",
			func(_ *rand.Rand, typ gguf.TensorType, nb int) []byte { return extremeKBlocks(typ, rows*nb, 0x5a) },
			func(_ *rand.Rand, _ gguf.TensorType, nb int) []byte { return extremeQ8K(nb, -127) }},
	}
	for _, typ := range []gguf.TensorType{gguf.TypeQ2_K, gguf.TypeQ3_K} {
		tr := mustFor(t, typ)
		for _, in := range inputs {
			r := rand.New(rand.NewPCG(43, uint64(typ)))
			for _, nb := range []int{1, 2, 3, 8, 22} {
				n := nb * qkK
				w := in.w(r, typ, nb)
				a := in.a(r, typ, nb)
				rowBytes := nb * tr.TypeSize
				for _, rg := range [][2]int{{0, rows}, {3, 17}, {1, 8}, {36, 37}, {0, 1}, {5, 5}} {
					for _, pf := range []int{gemvK23Prefetch, 64, 4096} {
						t.Run(fmt.Sprintf("%s/%s/nb%d/%d-%d/pf%d", typ, in.name, nb, rg[0], rg[1], pf), func(t *testing.T) {
							got := make([]float32, rows+1)
							for i := range got {
								got[i] = nan
							}
							gemvK23(typ, got, w, rowBytes, n, a, rg[0], rg[1], pf)
							for i := range got {
								if i < rg[0] || i >= rg[1] {
									require.True(t, math.IsNaN(float64(got[i])), "row %d outside [%d,%d) was written", i, rg[0], rg[1])
									continue
								}
								want := tr.VecDot(n, w[i*rowBytes:(i+1)*rowBytes], a)
								require.Equal(t, math.Float32bits(want), math.Float32bits(got[i]), "row %d: want %v got %v", i, want, got[i])
							}
						})
					}
				}
			}
		}
	}
}

// TestGemvK23Wired checks that Gemv sends Q2_K and Q3_K rows with a padded
// row stride (rowBytes larger than the blocks) through a path that gives
// the VecDot bits, and that n below one block gives zeros.
func TestGemvK23Wired(t *testing.T) {
	for _, typ := range []gguf.TensorType{gguf.TypeQ2_K, gguf.TypeQ3_K} {
		tr := mustFor(t, typ)
		r := rand.New(rand.NewPCG(45, 46))
		const rows, nb, pad = 19, 4, 13
		n := nb * qkK
		rowBytes := nb*tr.TypeSize + pad
		w := make([]byte, rows*rowBytes)
		for i := 0; i < rows; i++ {
			copy(w[i*rowBytes:], randomKBlocks(r, typ, nb))
		}
		a := randomQ8K(r, nb)
		got := make([]float32, rows)
		Gemv(tr, got, w, rowBytes, n, a, 2, rows)
		for i := 2; i < rows; i++ {
			want := tr.VecDot(n, w[i*rowBytes:i*rowBytes+nb*tr.TypeSize], a)
			require.Equal(t, math.Float32bits(want), math.Float32bits(got[i]), "%s row %d", typ, i)
		}
		allocs := testing.AllocsPerRun(10, func() { Gemv(tr, got, w, rowBytes, n, a, 0, rows) })
		require.Zero(t, allocs, "%s", typ)
	}
}

// BenchmarkGemvK23 times the Q2_K and Q3_K one-token matvec on
// TinyLlama-sized matrices (rows x cols): "rows" is the per-row VecDot
// loop (gemvRows, what Gemv did before the kernels), "gemv" is Gemv. MB/s
// is weight bytes a second, cpu-us/op CPU time.
func BenchmarkGemvK23(b *testing.B) {
	for _, typ := range []gguf.TensorType{gguf.TypeQ2_K, gguf.TypeQ3_K} {
		tr := mustFor(b, typ)
		for _, sh := range [][2]int{{2048, 2048}, {5632, 2048}, {2048, 5632}} {
			rows, n := sh[0], sh[1]
			w, a, rowBytes, _ := testMatrix(b, tr, rand.New(rand.NewPCG(47, 48)), rows, n, 1)
			dst := make([]float32, rows)
			for _, k := range []struct {
				name string
				f    func()
			}{
				{"rows", func() { gemvRows(tr, dst, w, rowBytes, n, a, 0, rows) }},
				{"gemv", func() { Gemv(tr, dst, w, rowBytes, n, a, 0, rows) }},
			} {
				b.Run(fmt.Sprintf("%s/%dx%d/%s", typ, rows, n, k.name), func(b *testing.B) {
					b.SetBytes(int64(len(w)))
					c0 := processCPUSeconds()
					for b.Loop() {
						k.f()
					}
					b.ReportMetric(1e6*(processCPUSeconds()-c0)/float64(b.N), "cpu-us/op")
				})
			}
		}
	}
}

// BenchmarkGemvQ3K times the Q3_K one-token kernel (gemvK23) on random
// Q3_K rows (finite d) in L2 (256x2048, 220 KiB: the kernel's own speed,
// ns/rowSB a row-super-block of 110 bytes) and out of DRAM (30720x5632,
// 71 MiB, and 81920x2048, 69 MiB, more than the L3), on the calling goroutine and
// split in halves on two goroutines (like decode's two threads), in
// pieces of at most 256 rows. MB/s is weight bytes a second; cpu-ns/rowSB
// is the process's CPU time a row-super-block, best-ns/rowSB the fastest
// single pass (both steadier than the mean wall time when other work
// shares the cores).
func BenchmarkGemvQ3K(b *testing.B) {
	if !useAVX2 {
		b.Skip("no AVX2")
	}
	tr := mustFor(b, gguf.TypeQ3_K)
	for _, sh := range [][2]int{{256, 2048}, {30720, 5632}, {81920, 2048}} {
		rows, n := sh[0], sh[1]
		nb := n / qkK
		r := rand.New(rand.NewPCG(49, 50))
		w := randomKBlocks(r, gguf.TypeQ3_K, rows*nb)
		for i := 0; i < rows*nb; i++ {
			putF16(w[i*tr.TypeSize+q3KOffD:], 0.001*float32(1+i%7))
		}
		a := randomQ8K(r, nb)
		rowBytes := nb * tr.TypeSize
		dst := make([]float32, rows)
		gemv := func(r0, r1 int) { gemvK23(gguf.TypeQ3_K, dst, w, rowBytes, n, a, r0, r1, gemvK23Prefetch) }
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%d/%dthreads", rows, n, threads), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				c0 := processCPUSeconds()
				best := time.Duration(math.MaxInt64)
				for b.Loop() {
					t0 := time.Now()
					splitRows(rows, threads, 256, gemv)
					best = min(best, time.Since(t0))
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*nb)*float64(threads), "ns/rowSB")
				b.ReportMetric(1e9*(processCPUSeconds()-c0)/float64(b.N)/float64(rows*nb), "cpu-ns/rowSB")
				b.ReportMetric(float64(best.Nanoseconds())/float64(rows*nb)*float64(threads), "best-ns/rowSB")
			})
		}
	}
}
