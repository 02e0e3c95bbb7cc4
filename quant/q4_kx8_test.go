package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// extremeQ4K returns rows Q4_K rows of n elements whose quant bytes are
// mostly 0x00 or 0xff (nibbles 0 and 15) and whose scale bytes are mostly
// 0xff (every 6-bit scale and min 63), with random finite d and dmin: the
// largest sums the kernels' word and dword lanes see.
func extremeQ4K(rng *rand.Rand, rows, n int) []byte {
	w := randQ4KMatrix(rng, rows, n)
	for b := 0; b < len(w); b += q4KBytes {
		for i := 4; i < q4KBytes; i++ {
			switch rng.IntN(4) {
			case 0:
				w[b+i] = 0x00
			case 1, 2:
				w[b+i] = 0xff
			}
		}
	}
	return w
}

// extremeQ8KRow returns a Q8_K row of n elements of mostly -128 and 127, with
// consistent block sums.
func extremeQ8KRow(rng *rand.Rand, n int) []byte {
	a := randQ8KRow(rng, n)
	for b := 0; b < len(a); b += q8KBytes {
		for i := 0; i < qkK; i++ {
			switch rng.IntN(3) {
			case 0:
				a[b+4+i] = 0x80
			case 1:
				a[b+4+i] = 0x7f
			}
		}
		for k := 0; k < 16; k++ {
			var s int16
			for i := 0; i < 16; i++ {
				s += int16(int8(a[b+4+16*k+i]))
			}
			a[b+4+qkK+2*k] = byte(s)
			a[b+4+qkK+2*k+1] = byte(uint16(s) >> 8)
		}
	}
	return a
}

// TestRepackQ4Kx8 checks the interleaved layout against its definition,
// through q4kx8Block (RepackQ4Kx8 backwards) and byte by byte for one row.
func TestRepackQ4Kx8(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	const rows, cols = 16, 512
	nb := cols / qkK
	rowBytes := nb*q4KBytes + 3
	w := make([]byte, rows*rowBytes)
	for i := range w {
		w[i] = byte(rng.IntN(256))
	}
	wx := make([]byte, Q4Kx8Size(rows, cols))
	require.Len(t, wx, rows*nb*q4KBytes)
	RepackQ4Kx8(wx, w, rowBytes, rows, cols)
	var out [q4KBytes]byte
	for r := 0; r < rows; r++ {
		for b := 0; b < nb; b++ {
			blk := wx[(r/8*nb+b)*q4kx8Len:]
			q4kx8Block(blk, r%8, &out)
			require.Equal(t, w[r*rowBytes+b*q4KBytes:][:q4KBytes], out[:], "row %d super-block %d", r, b)
		}
	}
	// row 11 (group 1, lane 3), super-block 1 by the layout's definition
	src, blk := w[11*rowBytes+q4KBytes:], wx[(1*nb+1)*q4kx8Len:]
	require.Equal(t, src[0:2], blk[6:8])
	require.Equal(t, src[2:4], blk[22:24])
	require.Equal(t, src[8:12], blk[32+32+12:32+32+16])
	require.Equal(t, src[16+4*9:16+4*10], blk[128+32*9+12:128+32*9+16])
	require.Panics(t, func() { RepackQ4Kx8(wx, w, rowBytes, 12, cols) })
}

// TestGemvQ4Kx8 requires GemvQ4Kx8 on the interleaved matrix to give, at
// every kernel level, the bits the portable GemvQ4K gives each row of the
// row-major matrix, on random and extreme matrices and activations, for
// row ranges inside the matrix, writing nothing outside its rows.
func TestGemvQ4Kx8(t *testing.T) {
	rng := rand.New(rand.NewPCG(83, 84))
	levels := q4_0x8Levels(t)
	for _, c := range []struct {
		n, rows int
		extreme bool
	}{{256, 8, false}, {512, 16, false}, {2048, 24, false}, {5632, 16, false}, {256, 8, true}, {2048, 32, true}} {
		var w, a []byte
		if c.extreme {
			w, a = extremeQ4K(rng, c.rows, c.n), extremeQ8KRow(rng, c.n)
		} else {
			w, a = randQ4KMatrix(rng, c.rows, c.n), randQ8KRow(rng, c.n)
		}
		rowBytes := c.n / qkK * q4KBytes
		want := make([]float32, c.rows)
		GemvQ4K(want, w, rowBytes, c.n, a, 0, c.rows)
		wx := make([]byte, Q4Kx8Size(c.rows, c.n))
		RepackQ4Kx8(wx, w, rowBytes, c.rows, c.n)
		for _, lv := range levels {
			for _, rg := range [][2]int{{0, c.rows}, {8, c.rows}, {0, 8}, {8, 8}} {
				dst := nanFloats(c.rows)
				gemvQ4Kx8At(lv, dst, wx, c.n, a, rg[0], rg[1])
				for r := range dst {
					if r >= rg[0] && r < rg[1] {
						require.Equal(t, math.Float32bits(want[r]), math.Float32bits(dst[r]), "%s n=%d extreme=%v rows [%d,%d) row %d: %g, want %g", lv, c.n, c.extreme, rg[0], rg[1], r, dst[r], want[r])
					} else {
						require.True(t, math.IsNaN(float64(dst[r])), "%s n=%d rows [%d,%d): wrote row %d", lv, c.n, rg[0], rg[1], r)
					}
				}
			}
		}
	}
	require.Panics(t, func() { GemvQ4Kx8(make([]float32, 16), nil, 256, nil, 4, 12) })
}

// TestGemvQ4Kx8Extremes requires GemvQ4Kx8 at every kernel level to give
// gemvQ4KRef's bits at the edges of the kernels' integer ranges: nibbles
// all 15 against activations all -128 (the largest VPMADDUBSW words, and
// sums of eight of them, that the AVX2 kernel adds in int16), scale and
// min bytes all 0xff (every 6-bit scale and min 63), and mixes of those
// with random super-blocks, for one super-block and for 22, over three
// groups of eight rows.
func TestGemvQ4Kx8Extremes(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	levels := q4_0x8Levels(t)
	const rows = 24
	for _, nb := range []int{1, 22} {
		n := nb * qkK
		rowBytes := nb * q4KBytes
		for _, act := range []string{"-128", "127", "mixed"} {
			w := randQ4KMatrix(rng, rows, n)
			for r := 0; r < rows; r++ {
				for b := 0; b < nb; b++ {
					blk := w[r*rowBytes+b*q4KBytes : r*rowBytes+(b+1)*q4KBytes]
					switch (r + b) % 4 {
					case 0: // all 15, every scale and min 63
						for i := 4; i < q4KBytes; i++ {
							blk[i] = 0xff
						}
					case 1: // scales and mins 63, random nibbles
						for i := 4; i < 16; i++ {
							blk[i] = 0xff
						}
					case 2: // all 15, random scales
						for i := 16; i < q4KBytes; i++ {
							blk[i] = 0xff
						}
					}
				}
			}
			a := randQ8KRow(rng, n)
			for b := 0; b < nb; b++ {
				v := byte(0x80)
				if act == "127" || act == "mixed" && b%2 == 1 {
					v = 0x7f
				}
				for i := 0; i < qkK; i++ {
					a[b*q8KBytes+4+i] = v
				}
				for k := 0; k < 16; k++ {
					binary.LittleEndian.PutUint16(a[b*q8KBytes+4+qkK+2*k:], uint16(16*int16(int8(v))))
				}
			}
			wx := make([]byte, Q4Kx8Size(rows, n))
			RepackQ4Kx8(wx, w, rowBytes, rows, n)
			for _, lv := range levels {
				dst := make([]float32, rows)
				gemvQ4Kx8At(lv, dst, wx, n, a, 0, rows)
				for r := range dst {
					want := gemvQ4KRef(w[r*rowBytes:(r+1)*rowBytes], a, nb)
					require.Equal(t, math.Float32bits(want), math.Float32bits(dst[r]), "%s nb=%d act=%s row %d: got %g want %g", lv, nb, act, r, dst[r], want)
				}
			}
		}
	}
}

// TestGemvQ4Kx8Cases requires GemvQ4Kx8 at every kernel level to give the
// portable GemvQ4K's bits on avx512Cases' input families (signed and
// zero d and dmin, quant and scale bytes at their extremes, cancelling
// sums; q4KInput), padded rows repacked, over super-block counts past the
// packed batch runs.
func TestGemvQ4Kx8Cases(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	levels := q4_0x8Levels(t)
	const rows = 24
	for _, c := range avx512Cases {
		for _, nb := range []int{1, 2, 3, 8, 11} {
			w, a, rowBytes := q4KInput(rng, c, rows, nb, 4)
			n := nb * qkK
			want := make([]float32, rows)
			GemvQ4K(want, w, rowBytes, n, a, 0, rows)
			wx := make([]byte, Q4Kx8Size(rows, n))
			RepackQ4Kx8(wx, w, rowBytes, rows, n)
			for _, lv := range levels {
				dst := make([]float32, rows)
				gemvQ4Kx8At(lv, dst, wx, n, a, 0, rows)
				for r := range dst {
					require.Equal(t, math.Float32bits(want[r]), math.Float32bits(dst[r]), "%s %s nb=%d row %d: got %g want %g", c.name, lv, nb, r, dst[r], want[r])
				}
			}
		}
	}
}

// TestGemmQ4Kx8 requires GemmQ4Kx8 on the interleaved matrix to give every
// pair the portable GemmQ4K's bits on the row-major one, at every level,
// over shapes that exercise the packed runs (past q4krPackBlocks
// super-blocks), the activation panels, the leftover activation rows and
// the sixteen- and eight-row steps, and to write nothing outside its rows.
func TestGemmQ4Kx8(t *testing.T) {
	rng := rand.New(rand.NewPCG(85, 86))
	levels := q4_0x8Levels(t)
	for _, c := range []struct {
		n, m, rows int
		extreme    bool
	}{
		{256, 4, 8, false},
		{512, 5, 16, false},
		{1536, 7, 24, false}, // 6 super-blocks: two packed runs
		{2048, 8, 16, true},
		{256, 133, 16, false}, // two panels, a leftover activation row
		{512, 3, 16, false},   // too few activation rows for the packed kernels
		{1280, 12, 40, true},  // sixteen-row steps and an eight-row one (AVX-512)
	} {
		t.Run(fmt.Sprintf("n%d_m%d_rows%d_extreme%v", c.n, c.m, c.rows, c.extreme), func(t *testing.T) {
			var w []byte
			a := make([]byte, 0, c.m*c.n/qkK*q8KBytes)
			if c.extreme {
				w = extremeQ4K(rng, c.rows, c.n)
			} else {
				w = randQ4KMatrix(rng, c.rows, c.n)
			}
			for i := 0; i < c.m; i++ {
				if c.extreme {
					a = append(a, extremeQ8KRow(rng, c.n)...)
				} else {
					a = append(a, randQ8KRow(rng, c.n)...)
				}
			}
			rowBytes, aRowBytes := c.n/qkK*q4KBytes, c.n/qkK*q8KBytes
			want := make([]float32, c.m*c.rows)
			gemmQ4KAt(LevelGeneric, want, c.rows, w, rowBytes, c.n, a, aRowBytes, c.m, 0, c.rows)
			wx := make([]byte, Q4Kx8Size(c.rows, c.n))
			RepackQ4Kx8(wx, w, rowBytes, c.rows, c.n)
			ld := c.rows + 3
			for _, lv := range levels {
				for _, rg := range [][2]int{{0, c.rows}, {8, c.rows}, {0, 8}, {8, 8}} {
					dst := nanFloats(c.m * ld)
					gemmQ4Kx8At(lv, dst, ld, wx, c.n, a, aRowBytes, c.m, rg[0], rg[1])
					requireGemmRows(t, lv, dst, want, c.m, c.rows, ld, rg)
				}
			}
		})
	}
	w, a := randQ4KMatrix(rng, 64, 2048), randQ8KRow(rng, 2048)
	for i := 0; i < 7; i++ {
		a = append(a, randQ8KRow(rng, 2048)...)
	}
	wx := make([]byte, Q4Kx8Size(64, 2048))
	RepackQ4Kx8(wx, w, 2048/qkK*q4KBytes, 64, 2048)
	dst := make([]float32, 8*64)
	require.Zero(t, testing.AllocsPerRun(5, func() { GemmQ4Kx8(dst, 64, wx, 2048, a, 2048/qkK*q8KBytes, 7, 0, 64) }))
	require.Zero(t, testing.AllocsPerRun(5, func() { GemvQ4Kx8(dst, wx, 2048, a, 0, 64) }))
}

// BenchmarkGemvQ4Kx8 times the interleaved one-token kernels, AVX2 and
// VNNI, on a matrix in L2 (256x2048) and ones past the caches
// (32768x2048, 12288x5632), on one goroutine or two (pieces of 16 rows, as
// decode hands them out). MB/s is weight bytes a second.
func BenchmarkGemvQ4Kx8(b *testing.B) {
	if !useAVX2 {
		b.Skip("no AVX2")
	}
	for _, c := range []struct{ rows, n, threads int }{{256, 2048, 1}, {32768, 2048, 1}, {32768, 2048, 2}, {12288, 5632, 1}, {12288, 5632, 2}} {
		rng := rand.New(rand.NewPCG(87, 88))
		w, a := randQ4KMatrix(rng, c.rows, c.n), randQ8KRow(rng, c.n)
		rowBytes := c.n / qkK * q4KBytes
		wx := make([]byte, Q4Kx8Size(c.rows, c.n))
		RepackQ4Kx8(wx, w, rowBytes, c.rows, c.n)
		dst := make([]float32, c.rows)
		run := func(name string, f func(r0, r1 int)) {
			b.Run(fmt.Sprintf("%s/%dx%d/%dthreads", name, c.rows, c.n, c.threads), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					splitRows(c.rows, c.threads, 16, f)
				}
			})
		}
		run("x8-avx2", func(r0, r1 int) { gemvQ4Kx8At(LevelAVX2, dst, wx, c.n, a, r0, r1) })
		if hardwareLevel() >= LevelAVX512 {
			run("x8-vnni", func(r0, r1 int) { gemvQ4Kx8At(LevelAVX512, dst, wx, c.n, a, r0, r1) })
		}
	}
}
