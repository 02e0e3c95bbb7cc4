package quant

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// q4_0x8Levels returns the kernel levels this CPU runs, loudly noting the
// ones it cannot test.
func q4_0x8Levels(t testing.TB) []Level {
	levels := []Level{LevelGeneric}
	for _, lv := range []Level{LevelAVX2, LevelAVX512} {
		if hardwareLevel() >= lv {
			levels = append(levels, lv)
		} else {
			t.Logf("!!! this CPU or build lacks %s: the interleaved Q4_0 kernels of that level are NOT tested here", lv)
		}
	}
	return levels
}

// TestRepackQ4_0x8 checks the interleaved layout byte by byte against its
// definition: row j's d_w at 2j of each block, quant byte 4v+k at
// 16+32v+4j+k.
func TestRepackQ4_0x8(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	const rows, cols = 16, 96
	nb := cols / 32
	rowBytes := nb*blockQ4_0Len + 5 // a row stride past the blocks
	w := make([]byte, rows*rowBytes)
	for i := range w {
		w[i] = byte(rng.IntN(256))
	}
	dst := make([]byte, Q4_0x8Size(rows, cols))
	require.Len(t, dst, rows*nb*blockQ4_0Len)
	RepackQ4_0x8(dst, w, rowBytes, rows, cols)
	for r := 0; r < rows; r++ {
		g, j := r/8, r%8
		for b := 0; b < nb; b++ {
			src := w[r*rowBytes+b*blockQ4_0Len:]
			blk := dst[(g*nb+b)*q40x8BlockLen:]
			require.Equal(t, src[0:2], blk[2*j:2*j+2], "row %d block %d d", r, b)
			for q := 0; q < 16; q++ {
				v, k := q/4, q%4
				require.Equal(t, src[2+q], blk[16+32*v+4*j+k], "row %d block %d quant byte %d", r, b, q)
			}
		}
	}
	require.Panics(t, func() { RepackQ4_0x8(dst, w, rowBytes, 12, cols) })
}

// TestGemvQ4_0x8 requires GemvQ4_0x8 on the interleaved matrix to give, at
// every kernel level, the bits gemvQ4_0Ref (ggml's repacked Q4_0
// arithmetic written from the row-major blocks with exactly rounded fused
// multiply-adds) gives each row, on random and extreme matrices, for row
// ranges inside the matrix, and to write nothing outside its rows. The
// extremes include every nibble 15 (or 0) against activations all -128 or
// all 127 (and alternating), over 1 and 64 blocks, where the AVX2
// kernel's int16 word sums are largest.
func TestGemvQ4_0x8(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	tr := mustFor(t, gguf.TypeQ4_0)
	levels := q4_0x8Levels(t)
	check := func(name string, w, a []byte, rowBytes, rows, n int) {
		t.Helper()
		nb := n / 32
		want := make([]float32, rows)
		for r := range want {
			want[r] = gemvQ4_0Ref(w[r*rowBytes:(r+1)*rowBytes], a, nb)
		}
		wx := make([]byte, Q4_0x8Size(rows, n))
		RepackQ4_0x8(wx, w, rowBytes, rows, n)
		tab := make([]byte, Q4_0x8TabSize(n))
		Q4_0x8Tab(tab, a, n)
		for _, lv := range levels {
			for _, rg := range [][2]int{{0, rows}, {8, rows}, {0, 8}, {8, 8}} {
				dst := make([]float32, rows)
				for i := range dst {
					dst[i] = float32(math.NaN())
				}
				gemvQ4_0x8At(lv, dst, wx, n, a, tab, rg[0], rg[1])
				for r := range dst {
					if r >= rg[0] && r < rg[1] {
						require.Equal(t, math.Float32bits(want[r]), math.Float32bits(dst[r]), "%s %s n=%d rows [%d,%d) row %d: %g, want %g", lv, name, n, rg[0], rg[1], r, dst[r], want[r])
					} else {
						require.True(t, math.IsNaN(float64(dst[r])), "%s %s n=%d rows [%d,%d): wrote row %d", lv, name, n, rg[0], rg[1], r)
					}
				}
			}
		}
	}
	for _, c := range []struct {
		n, rows int
		extreme bool
	}{{32, 8, false}, {64, 16, false}, {2048, 24, false}, {5632, 16, false}, {1056, 8, true}, {2048, 32, true}} {
		if c.extreme {
			w, a := extremeQ4_0Q8_0(rng, c.rows, c.n, 1)
			check("extreme", w, a, c.n/32*blockQ4_0Len, c.rows, c.n)
			continue
		}
		w, a, rowBytes, _ := testMatrix(t, tr, rng, c.rows, c.n, 1)
		check("random", w, a, rowBytes, c.rows, c.n)
	}
	for _, nb := range []int{1, 64} {
		for _, wb := range []byte{0xff, 0x00, 0x0f, 0xf0} {
			for _, qa := range []int{-128, 127, 0x7f80} {
				const rows = 16
				w := make([]byte, rows*nb*blockQ4_0Len)
				for i := 0; i < rows*nb; i++ {
					blk := w[i*blockQ4_0Len : (i+1)*blockQ4_0Len]
					putF16(blk, float32(1+i%3)*0.25)
					for j := 2; j < blockQ4_0Len; j++ {
						blk[j] = wb
					}
				}
				a := make([]byte, nb*blockQ8_0Len)
				for b := 0; b < nb; b++ {
					putF16(a[b*blockQ8_0Len:], 0.5)
					for j := 0; j < 32; j++ {
						v := qa
						if qa == 0x7f80 { // alternate -128 and 127
							v = -128 + 255*(j%2)
						}
						a[b*blockQ8_0Len+2+j] = byte(int8(v))
					}
				}
				check(fmt.Sprintf("uniform w=%#x qa=%d", wb, qa), w, a, nb*blockQ4_0Len, rows, nb*32)
			}
		}
	}
	require.Panics(t, func() { GemvQ4_0x8(make([]float32, 16), nil, 64, nil, nil, 4, 12) })
}

// TestQ4_0x8Tab checks the activation table against its definition at the
// package's level: float32 d_a and 8·Σq_a per block.
func TestQ4_0x8Tab(t *testing.T) {
	rng := rand.New(rand.NewPCG(75, 76))
	_, a := extremeQ4_0Q8_0(rng, 8, 320, 1)
	tab := make([]byte, Q4_0x8TabSize(320))
	Q4_0x8Tab(tab, a, 320)
	for b := 0; b < 10; b++ {
		ab := a[b*blockQ8_0Len:]
		var s int32
		for _, q := range ab[2:blockQ8_0Len] {
			s += int32(int8(q))
		}
		require.Equal(t, math.Float32bits(f16At(ab)), leU32(tab[8*b:]), "block %d d_a", b)
		require.Equal(t, uint32(8*s), leU32(tab[8*b+4:]), "block %d 8·Σq_a", b)
	}
}

func leU32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// TestGemmQ4_0x8 requires GemmQ4_0x8 on the interleaved matrix to give
// every pair gemvQ4_0Ref's bits at every level, over shapes that exercise
// the packed runs, the activation panels, the leftover activation rows
// (and their runs of tables past q40rPackBlocks blocks) and the sixteen-
// and eight-row steps, and to write nothing outside its rows.
func TestGemmQ4_0x8(t *testing.T) {
	rng := rand.New(rand.NewPCG(77, 78))
	tr := mustFor(t, gguf.TypeQ4_0)
	levels := q4_0x8Levels(t)
	cases := []struct {
		n, m, rows int
		extreme    bool
	}{
		{32, 4, 8, false},
		{64, 5, 16, false},
		{1056, 7, 24, false}, // 33 blocks: two packed runs, two table runs for the leftovers
		{2048, 8, 16, false},
		{256, 133, 16, false}, // two panels, a leftover activation row
		{1024, 9, 16, true},
		{64, 3, 16, false},    // too few activation rows for the packed kernel
		{1056, 12, 40, false}, // sixteen-row steps and an eight-row one (AVX-512)
		{512, 6, 32, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n%d_m%d_rows%d_extreme%v", c.n, c.m, c.rows, c.extreme), func(t *testing.T) {
			var w, a []byte
			var rowBytes, aRowBytes int
			if c.extreme {
				w, a = extremeQ4_0Q8_0(rng, c.rows, c.n, c.m)
				rowBytes, aRowBytes = c.n/32*blockQ4_0Len, c.n/32*blockQ8_0Len
			} else {
				w, a, rowBytes, aRowBytes = testMatrix(t, tr, rng, c.rows, c.n, c.m)
			}
			want := make([]float32, c.m*c.rows)
			for i := 0; i < c.m; i++ {
				for r := 0; r < c.rows; r++ {
					want[i*c.rows+r] = gemvQ4_0Ref(w[r*rowBytes:(r+1)*rowBytes], a[i*aRowBytes:(i+1)*aRowBytes], c.n/32)
				}
			}
			wx := make([]byte, Q4_0x8Size(c.rows, c.n))
			RepackQ4_0x8(wx, w, rowBytes, c.rows, c.n)
			ld := c.rows + 3
			for _, lv := range levels {
				for _, rg := range [][2]int{{0, c.rows}, {8, c.rows}, {0, 8}, {8, 8}} {
					dst := nanFloats(c.m * ld)
					gemmQ4_0x8At(lv, dst, ld, wx, c.n, a, aRowBytes, c.m, rg[0], rg[1])
					requireGemmRows(t, lv, dst, want, c.m, c.rows, ld, rg)
				}
			}
		})
	}
	w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, 64, 2048, 8)
	wx := make([]byte, Q4_0x8Size(64, 2048))
	RepackQ4_0x8(wx, w, rowBytes, 64, 2048)
	dst := make([]float32, 8*64)
	tab := make([]byte, Q4_0x8TabSize(2048))
	Q4_0x8Tab(tab, a, 2048)
	require.Zero(t, testing.AllocsPerRun(5, func() { GemmQ4_0x8(dst, 64, wx, 2048, a, aRowBytes, 7, 0, 64) }))
	require.Zero(t, testing.AllocsPerRun(5, func() { GemvQ4_0x8(dst, wx, 2048, a, tab, 0, 64) }))
}

// BenchmarkGemvQ4_0x8 times the interleaved one-token kernels, AVX2 and
// (where the CPU has it) VNNI, on a matrix in L2 (256x2048) and one far
// past the caches (65536x2048, 72 MiB), on one goroutine or two (pieces of
// 16 rows, as decode hands them out). MB/s is weight bytes a second.
func BenchmarkGemvQ4_0x8(b *testing.B) {
	if !useAVX2 {
		b.Skip("no AVX2")
	}
	tr := mustFor(b, gguf.TypeQ4_0)
	for _, c := range []struct{ rows, threads int }{{256, 1}, {65536, 1}, {65536, 2}} {
		const n = 2048
		w, a, rowBytes, _ := testMatrix(b, tr, rand.New(rand.NewPCG(79, 80)), c.rows, n, 1)
		wx := make([]byte, Q4_0x8Size(c.rows, n))
		RepackQ4_0x8(wx, w, rowBytes, c.rows, n)
		tab := make([]byte, Q4_0x8TabSize(n))
		Q4_0x8Tab(tab, a, n)
		dst := make([]float32, c.rows)
		run := func(name string, f func(r0, r1 int)) {
			b.Run(fmt.Sprintf("%s/%dx%d/%dthreads", name, c.rows, n, c.threads), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					splitRows(c.rows, c.threads, 16, f)
				}
			})
		}
		run("x8-avx2", func(r0, r1 int) { gemvQ4_0x8At(LevelAVX2, dst, wx, n, a, tab, r0, r1) })
		if hardwareLevel() >= LevelAVX512 {
			run("x8-vnni", func(r0, r1 int) { gemvQ4_0x8At(LevelAVX512, dst, wx, n, a, tab, r0, r1) })
		}
	}
}

// BenchmarkRepackQ4_0x8 times the load-time repacking of a TinyLlama-sized
// ffn matrix (5632x2048).
func BenchmarkRepackQ4_0x8(b *testing.B) {
	const rows, n = 5632, 2048
	w := make([]byte, rows*n/32*blockQ4_0Len)
	dst := make([]byte, Q4_0x8Size(rows, n))
	b.SetBytes(int64(len(w)))
	for b.Loop() {
		RepackQ4_0x8(dst, w, n/32*blockQ4_0Len, rows, n)
	}
}

// exactFMA32 is x*y+z computed exactly with math/big and rounded once to
// float32 (nearest even): the independent truth for fused multiply-adds.
func exactFMA32(x, y, z float32) float32 {
	bx := new(big.Float).SetPrec(200).SetFloat64(float64(x))
	by := new(big.Float).SetPrec(200).SetFloat64(float64(y))
	bz := new(big.Float).SetPrec(200).SetFloat64(float64(z))
	r := new(big.Float).SetPrec(200).Mul(bx, by)
	r.Add(r, bz)
	f, _ := r.Float32()
	return f
}

// TestFMAF32 requires fmaF32 (and, with AVX2, the hardware fused
// multiply-add) to give exactFMA32's bits, on double-rounding traps and
// random operands.
func TestFMAF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	// (1+2^-23)(1-2^-23)2^-24 = 2^-24 - 2^-70: added to z = 1+2^-23 the
	// float64 sum rounds onto the float32 midpoint 1+2^-23+2^-24, whose
	// nearest-even rounding (up) is wrong; the exact result rounds down.
	cases := [][3]float32{
		{1 + 0x1p-23, (1 - 0x1p-23) * 0x1p-24, 1 + 0x1p-23},
		{-(1 + 0x1p-23), (1 - 0x1p-23) * 0x1p-24, -(1 + 0x1p-23)},
		{1 + 0x1p-23, (1 - 0x1p-23) * 0x1p-24, 1},
		{3, 5, -15},
	}
	for range 200000 {
		x := float32(rng.NormFloat64())
		y := float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(40)-20))
		z := float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(40)-20))
		cases = append(cases, [3]float32{x, y, z})
	}
	for _, c := range cases {
		want := exactFMA32(c[0], c[1], c[2])
		require.Equal(t, math.Float32bits(want), math.Float32bits(fmaF32(c[0], c[1], c[2])), "fma(%g, %g, %g)", c[0], c[1], c[2])
		if useAVX2 {
			require.Equal(t, math.Float32bits(want), math.Float32bits(fmaF32AVX2(c[0], c[1], c[2])), "hardware fma(%g, %g, %g)", c[0], c[1], c[2])
		}
	}
}

// gemvQ4_0Ref is ggml_gemv_q4_0_8x8_q8_0's arithmetic for one row written
// from the block layouts alone: exact integer block sums, d_w*d_a in
// float32, exactly rounded fused multiply-add.
func gemvQ4_0Ref(w, a []byte, nb int) float32 {
	var acc float32
	for b := 0; b < nb; b++ {
		bw, ba := w[b*18:(b+1)*18], a[b*34:(b+1)*34]
		var s int32
		for j := 0; j < 16; j++ {
			s += (int32(bw[2+j]&15) - 8) * int32(int8(ba[2+j]))
			s += (int32(bw[2+j]>>4) - 8) * int32(int8(ba[18+j]))
		}
		dw := FP16ToFP32(uint16(bw[0]) | uint16(bw[1])<<8)
		da := FP16ToFP32(uint16(ba[0]) | uint16(ba[1])<<8)
		acc = exactFMA32(float32(s), dw*da, acc)
	}
	return acc
}

// extremeQ4_0Q8_0 returns rows Q4_0 rows and m Q8_0 rows of n elements whose
// quants sit at the ends of their ranges (nibbles 0 or 15, activations
// ±127 and -128), the sums that come closest to int16 overflow in the
// kernels, with random fp16 scales.
func extremeQ4_0Q8_0(rng *rand.Rand, rows, n, m int) (w, a []byte) {
	nb := n / 32
	w = make([]byte, rows*nb*blockQ4_0Len)
	a = make([]byte, m*nb*blockQ8_0Len)
	scale := func(b []byte) {
		h := FP32ToFP16(float32(rng.NormFloat64() * 0.01))
		b[0], b[1] = byte(h), byte(h>>8)
	}
	for b := 0; b < rows*nb; b++ {
		blk := w[b*blockQ4_0Len : (b+1)*blockQ4_0Len]
		scale(blk)
		for j := 2; j < len(blk); j++ {
			blk[j] = []byte{0x00, 0xff, 0x0f, 0xf0}[rng.IntN(4)]
		}
	}
	for b := 0; b < m*nb; b++ {
		blk := a[b*blockQ8_0Len : (b+1)*blockQ8_0Len]
		scale(blk)
		sign := []byte{127, 0x81, 0x80}[rng.IntN(3)] // 127, -127, -128
		for j := 2; j < len(blk); j++ {
			blk[j] = sign
			if rng.IntN(8) == 0 {
				blk[j] = byte(rng.IntN(256))
			}
		}
	}
	return w, a
}
