package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// skipWithoutAVX512 skips t loudly unless the CPU can run the AVX-512
// kernels (whatever HEARTH_CPU says: the tests call the kernels directly).
func skipWithoutAVX512(t testing.TB) {
	t.Helper()
	if hardwareLevel() < LevelAVX512 {
		t.Skipf("!!! SKIPPING: this CPU (or build) lacks AVX512F/BW/VL + AVX512_VNNI (best level %s): "+
			"the AVX-512 kernels are NOT tested here; run the quant tests on an AVX-512 VNNI machine", hardwareLevel())
	}
}

// skipWithoutAVX2 skips t loudly unless the CPU can run the AVX2 kernels.
func skipWithoutAVX2(t testing.TB) {
	t.Helper()
	if hardwareLevel() < LevelAVX2 {
		t.Skipf("!!! SKIPPING: this CPU (or build) lacks AVX2/FMA/F16C (level %s)", hardwareLevel())
	}
}

// q8_0DotAVX2Order is a float64-free Go model of ggml's AVX2
// ggml_vec_dot_q8_0_q8_0 over nb blocks: eight float32 lanes, lane j of
// block b gets fma(float32(Σ_{k<4} |x|·sign(y, x)), d_w·d_a, lane) with
// VPSIGNB's wrap of -(-128) to -128, then hsum_float_8
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
func q8_0DotAVX2Order(w, a []byte, nb int) float32 {
	var lane [8]float32
	for b := 0; b < nb; b++ {
		bw, ba := w[b*blockQ8_0Len:(b+1)*blockQ8_0Len], a[b*blockQ8_0Len:(b+1)*blockQ8_0Len]
		d := f16At(bw) * f16At(ba)
		for j := 0; j < 8; j++ {
			var s int32
			for k := 4 * j; k < 4*j+4; k++ {
				x, y := int8(bw[2+k]), int8(ba[2+k])
				u := int32(uint8(x)) // |x| as VPSIGNB(x, x) leaves it, read unsigned
				if x < 0 {
					u = int32(uint8(-x))
					y = -y // wraps -128 to -128 like VPSIGNB
				}
				s += u * int32(y)
			}
			lane[j] = fmaF32(float32(s), d, lane[j])
		}
	}
	var h [4]float32
	for i := range h {
		h[i] = lane[4+i] + lane[i]
	}
	h0, h1 := h[0]+h[2], h[1]+h[3]
	return h0 + h1
}

// avx512Case is one random input family of the AVX-512 kernel tests.
type avx512Case struct {
	name string
	// fill sets the quants (not the scales) of a weight or activation
	// buffer of blocks of blockLen bytes whose quants are at +2.
	fill func(rng *rand.Rand, buf []byte, blockLen int)
	// scale returns a block's float32 scale, stored as a half.
	scale func(rng *rand.Rand, block int) float32
}

func fillBytes(v func(rng *rand.Rand) byte) func(rng *rand.Rand, buf []byte, blockLen int) {
	return func(rng *rand.Rand, buf []byte, blockLen int) {
		for b := 0; b+blockLen <= len(buf); b += blockLen {
			for i := b + 2; i < b+blockLen; i++ {
				buf[i] = v(rng)
			}
		}
	}
}

func randScale(rng *rand.Rand, _ int) float32 {
	return float32(rng.NormFloat64()) * float32(math.Ldexp(1, rng.IntN(12)-10))
}

var avx512Cases = []avx512Case{
	{"random", fillBytes(func(rng *rand.Rand) byte { return byte(rng.Uint32()) }), randScale},
	{"extremes", fillBytes(func(rng *rand.Rand) byte { return [...]byte{0x80, 0x7f, 0x81, 0, 0xff, 0x01}[rng.IntN(6)] }), randScale},
	{"all-128", fillBytes(func(*rand.Rand) byte { return 0x80 }), randScale},
	{"all127", fillBytes(func(*rand.Rand) byte { return 0x7f }), randScale},
	{"zero-scales", fillBytes(func(rng *rand.Rand) byte { return byte(rng.Uint32()) }), func(*rand.Rand, int) float32 { return 0 }},
	{"some-zero-scales", fillBytes(func(rng *rand.Rand) byte { return byte(rng.Uint32()) }), func(rng *rand.Rand, b int) float32 {
		if b%3 == 1 {
			return float32(math.Copysign(0, rng.NormFloat64()))
		}
		return randScale(rng, b)
	}},
	{"cancelling", fillBytes(func(rng *rand.Rand) byte { return byte(rng.IntN(7) - 3) }), func(rng *rand.Rand, b int) float32 {
		return float32(1-2*(b%2)) * (1 + float32(rng.IntN(4))/1024)
	}},
}

// avx512Input returns rows rows of nb blocks (row stride rowBytes, padded
// with junk past the blocks) and an activation row of nb Q8_0 blocks.
func avx512Input(rng *rand.Rand, c avx512Case, blockLen, rows, nb, pad int) (w, a []byte, rowBytes int) {
	rowBytes = nb*blockLen + pad
	w = make([]byte, rows*rowBytes)
	for i := range w {
		w[i] = byte(rng.Uint32()) // padding junk
	}
	for r := 0; r < rows; r++ {
		row := w[r*rowBytes : r*rowBytes+nb*blockLen]
		c.fill(rng, row, blockLen)
		for b := 0; b < nb; b++ {
			putF16(row[b*blockLen:], c.scale(rng, b))
		}
	}
	a = make([]byte, nb*blockQ8_0Len)
	c.fill(rng, a, blockQ8_0Len)
	for b := 0; b < nb; b++ {
		putF16(a[b*blockQ8_0Len:], c.scale(rng, b))
	}
	return w, a, rowBytes
}

var avx512BlockCounts = []int{1, 2, 3, 7, 8, 9, 31, 64, 65, 176}

// TestQ8_0DotAVX2OrderModel checks the Go model of the AVX2 Q8_0 dot
// (the reference of the AVX-512 test) against the AVX2 kernel itself.
func TestQ8_0DotAVX2OrderModel(t *testing.T) {
	skipWithoutAVX2(t)
	rng := rand.New(rand.NewPCG(51, 52))
	for _, c := range avx512Cases {
		for _, nb := range avx512BlockCounts {
			w, a, _ := avx512Input(rng, c, blockQ8_0Len, 3, nb, 0)
			for r := 0; r < 3; r++ {
				row := w[r*nb*blockQ8_0Len : (r+1)*nb*blockQ8_0Len]
				want := q8_0DotAVX2Order(row, a, nb)
				got := q8_0Q8_0DotAVX2(&row[0], &a[0], nb)
				require.Equal(t, math.Float32bits(want), math.Float32bits(got), "%s nb=%d row %d: model %g, AVX2 %g", c.name, nb, r, want, got)
			}
		}
	}
}

// TestQ8_0Gemv8AVX512 checks that every row of the AVX-512 Q8_0 kernel
// equals the AVX2 kernel and the Go model of its order bit for bit.
func TestQ8_0Gemv8AVX512(t *testing.T) {
	skipWithoutAVX512(t)
	rng := rand.New(rand.NewPCG(53, 54))
	for _, c := range avx512Cases {
		for _, nb := range avx512BlockCounts {
			for _, shape := range []struct{ rows, r0, r1, pad int }{{8, 0, 8, 0}, {27, 3, 27, 6}, {40, 0, 37, 1}} {
				t.Run(fmt.Sprintf("%s/nb%d/rows%d-%d", c.name, nb, shape.r0, shape.r1), func(t *testing.T) {
					w, a, rowBytes := avx512Input(rng, c, blockQ8_0Len, shape.rows, nb, shape.pad)
					dst := make([]float32, shape.rows)
					nan := math.Float32frombits(0x7fc0dead)
					for i := range dst {
						dst[i] = nan
					}
					next := gemvQ8_0AVX512(dst, w, rowBytes, nb*qk8_0, a, shape.r0, shape.r1)
					require.Equal(t, shape.r0+(shape.r1-shape.r0)/8*8, next)
					for r := range dst {
						if r < shape.r0 || r >= next {
							require.Equal(t, math.Float32bits(nan), math.Float32bits(dst[r]), "row %d written", r)
							continue
						}
						row := w[r*rowBytes : r*rowBytes+nb*blockQ8_0Len]
						avx2 := q8_0Q8_0DotAVX2(&row[0], &a[0], nb)
						model := q8_0DotAVX2Order(row, a, nb)
						require.Equal(t, math.Float32bits(model), math.Float32bits(avx2), "row %d: AVX2 %g, model %g", r, avx2, model)
						require.Equal(t, math.Float32bits(avx2), math.Float32bits(dst[r]), "row %d: AVX-512 %g, AVX2 %g", r, dst[r], avx2)
					}
				})
			}
		}
	}
}

// q4KInput returns rows Q4_K rows of nb super-blocks (stride rowBytes,
// junk padding) whose quants and packed scales come from c.fill, and a Q8_K
// activation row with consistent bsums (as quantize_row_q8_K writes them).
func q4KInput(rng *rand.Rand, c avx512Case, rows, nb, pad int) (w, a []byte, rowBytes int) {
	rowBytes = nb*q4KBytes + pad
	w = make([]byte, rows*rowBytes)
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	for r := 0; r < rows; r++ {
		row := w[r*rowBytes : r*rowBytes+nb*q4KBytes]
		c.fill(rng, row, q4KBytes) // scales and quants (bytes 2..143)
		for b := 0; b < nb; b++ {
			putF16(row[b*q4KBytes:], c.scale(rng, b))
			putF16(row[b*q4KBytes+2:], c.scale(rng, b+1))
		}
	}
	a = make([]byte, nb*q8KBytes)
	for b := 0; b < nb; b++ {
		ab := a[b*q8KBytes : (b+1)*q8KBytes]
		binary.LittleEndian.PutUint32(ab, math.Float32bits(c.scale(rng, b)))
		c.fill(rng, ab[2:4+qkK], 2+qkK) // quants at 4..259 (and 2 junk bytes)
		for g := 0; g < qkK/16; g++ {
			var sum int16
			for _, q := range ab[4+16*g : 4+16*g+16] {
				sum += int16(int8(q))
			}
			binary.LittleEndian.PutUint16(ab[4+qkK+2*g:], uint16(sum))
		}
	}
	return w, a, rowBytes
}

// q6KDotAVX2Order is a Go model of ggml's AVX2 ggml_vec_dot_q6_K_q8_K over
// nb super-blocks: per super-block eight int32 lanes, lane j of chunk k
// (values 32k..32k+31) gets s_{2k+[e≥16]}·q·a for the values e = 4j..4j+3
// of the chunk, minus 32·(s_2j·bsum_2j + s_2j+1·bsum_2j+1); then
// lane = fma(float32(lane), d_w·d_a, lane) in eight float32 lanes and
// hsum_float_8.
func q6KDotAVX2Order(w, a []byte, nb int) float32 {
	var facc [8]float32
	for b := 0; b < nb; b++ {
		wb, ab := w[b*q6KBytes:(b+1)*q6KBytes], a[b*q8KBytes:(b+1)*q8KBytes]
		ql, qh := wb[:128], wb[128:192]
		var lane [8]int32
		for k := 0; k < 8; k++ {
			h, i := k/4, k%4
			for e := 0; e < 32; e++ {
				var q byte
				switch i {
				case 0:
					q = ql[64*h+e]&0xf | (qh[32*h+e]&3)<<4
				case 1:
					q = ql[64*h+32+e]&0xf | (qh[32*h+e]&0xc)<<2
				case 2:
					q = ql[64*h+e]>>4 | qh[32*h+e]&0x30
				case 3:
					q = ql[64*h+32+e]>>4 | (qh[32*h+e]&0xc0)>>2
				}
				sc := int32(int8(wb[192+2*k+e/16]))
				lane[e/4] += sc * int32(q) * int32(int8(ab[4+32*k+e]))
			}
		}
		bs := func(g int) int32 { return int32(int16(binary.LittleEndian.Uint16(ab[4+qkK+2*g:]))) }
		d := f16At(wb[208:]) * math.Float32frombits(binary.LittleEndian.Uint32(ab))
		for j := range lane {
			lane[j] -= 32 * (int32(int8(wb[192+2*j]))*bs(2*j) + int32(int8(wb[193+2*j]))*bs(2*j+1))
			facc[j] = fmaF32(float32(lane[j]), d, facc[j])
		}
	}
	var h [4]float32
	for i := range h {
		h[i] = facc[4+i] + facc[i]
	}
	return (h[0] + h[2]) + (h[1] + h[3])
}

// q6KInput is q4KInput for Q6_K weights (d at byte 208 of each block).
func q6KInput(rng *rand.Rand, c avx512Case, rows, nb, pad int) (w, a []byte, rowBytes int) {
	w, a, rowBytes = q4KInput(rng, c, 0, nb, 0) // the activation row
	rowBytes = nb*q6KBytes + pad
	w = make([]byte, rows*rowBytes)
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	for r := 0; r < rows; r++ {
		row := w[r*rowBytes : r*rowBytes+nb*q6KBytes]
		c.fill(rng, row, q6KBytes) // bytes 2..209, then the quants 0,1 and d
		for b := 0; b < nb; b++ {
			blk := row[b*q6KBytes:]
			tmp := make([]byte, 4)
			c.fill(rng, tmp, 4)
			copy(blk[:2], tmp[2:])
			putF16(blk[208:], c.scale(rng, b))
		}
	}
	return w, a, rowBytes
}

// TestQ6KDotAVX2OrderModel checks the Go model of the AVX2 Q6_K dot (the
// reference of the AVX-512 test and of quant/_avo's emulator) against the
// AVX2 kernel itself.
func TestQ6KDotAVX2OrderModel(t *testing.T) {
	skipWithoutAVX2(t)
	rng := rand.New(rand.NewPCG(67, 68))
	for _, c := range avx512Cases {
		for _, nb := range []int{1, 2, 5} {
			w, a, rowBytes := q6KInput(rng, c, 3, nb, 0)
			for r := 0; r < 3; r++ {
				row := w[r*rowBytes : r*rowBytes+nb*q6KBytes]
				want := q6KDotAVX2Order(row, a, nb)
				got := q6KDotAVX2(&row[0], &a[0], nb)
				require.Equal(t, math.Float32bits(want), math.Float32bits(got), "%s nb=%d row %d: model %g, AVX2 %g", c.name, nb, r, want, got)
			}
		}
	}
}

// TestQ6KGemv8AVX512 checks that every row of the AVX-512 Q6_K kernel
// equals the AVX2 kernel and the Go model of its order bit for bit.
func TestQ6KGemv8AVX512(t *testing.T) {
	skipWithoutAVX512(t)
	rng := rand.New(rand.NewPCG(69, 70))
	for _, c := range avx512Cases {
		for _, nb := range []int{1, 2, 3, 8, 11} {
			for _, shape := range []struct{ rows, r0, r1, pad int }{{8, 0, 8, 0}, {27, 3, 27, 6}, {40, 0, 37, 1}} {
				t.Run(fmt.Sprintf("%s/nb%d/rows%d-%d", c.name, nb, shape.r0, shape.r1), func(t *testing.T) {
					w, a, rowBytes := q6KInput(rng, c, shape.rows, nb, shape.pad)
					nan := math.Float32frombits(0x7fc0dead)
					dst := make([]float32, shape.rows)
					for i := range dst {
						dst[i] = nan
					}
					next := gemvQ6KAVX512(dst, w, rowBytes, nb*qkK, a, shape.r0, shape.r1)
					require.Equal(t, shape.r0+(shape.r1-shape.r0)/8*8, next)
					for r := range dst {
						if r < shape.r0 || r >= next {
							require.Equal(t, math.Float32bits(nan), math.Float32bits(dst[r]), "row %d written", r)
							continue
						}
						row := w[r*rowBytes : r*rowBytes+nb*q6KBytes]
						avx2 := q6KDotAVX2(&row[0], &a[0], nb)
						model := q6KDotAVX2Order(row, a, nb)
						require.Equal(t, math.Float32bits(model), math.Float32bits(avx2), "row %d: AVX2 %g, model %g", r, avx2, model)
						require.Equal(t, math.Float32bits(avx2), math.Float32bits(dst[r]), "row %d: AVX-512 %g, AVX2 %g", r, dst[r], avx2)
					}
				})
			}
		}
	}
}

// TestAVX512Dispatch checks the package entry points at the level this
// process runs: GemvQ4_0x8, GemvQ4Kx8 and Gemv (Q8_0, Q6_K) give the AVX2
// (portable for the interleaved products) bits for every row range (Q4_0
// and Q4_K: its whole groups of eight rows), whichever kernels serve the
// rows.
func TestAVX512Dispatch(t *testing.T) {
	skipWithoutAVX2(t)
	if kernel.level < LevelAVX2 {
		t.Skipf("SKIP LOUDLY: kernel level %s (HEARTH_CPU): the public products run the generic code here, which this AVX2/AVX-512 dispatch check does not cover", kernel.level)
	}
	if !useAVX512 {
		t.Logf("!!! kernel level %s: the AVX-512 kernels are not in the dispatch here, this checks the AVX2 path only", kernel.level)
	}
	rng := rand.New(rand.NewPCG(57, 58))
	const rows, n = 83, 512
	for _, typ := range []gguf.TensorType{gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		tr := mustFor(t, typ)
		w, a, rowBytes, _ := testMatrix(t, tr, rng, rows, n, 1)
		var wx, tab []byte
		switch typ {
		case gguf.TypeQ4_0:
			wx = make([]byte, Q4_0x8Size(rows/8*8, n))
			RepackQ4_0x8(wx, w, rowBytes, rows/8*8, n)
			tab = make([]byte, Q4_0x8TabSize(n))
			Q4_0x8Tab(tab, a, n)
		case gguf.TypeQ4_K:
			wx = make([]byte, Q4Kx8Size(rows/8*8, n))
			RepackQ4Kx8(wx, w, rowBytes, rows/8*8, n)
		}
		for _, rg := range [][2]int{{0, rows}, {3, 80}, {16, 32}, {5, 5}, {70, 83}} {
			t.Run(fmt.Sprintf("%s/%d-%d", typ, rg[0], rg[1]), func(t *testing.T) {
				got := make([]float32, rows)
				want := make([]float32, rows)
				switch typ {
				case gguf.TypeQ4_0: // the whole groups of eight inside rg
					if r0, r1 := (rg[0]+7)/8*8, rg[1]/8*8; r0 < r1 {
						GemvQ4_0x8(got, wx, n, a, tab, r0, r1)
						gemvQ4_0x8At(LevelGeneric, want, wx, n, a, tab, r0, r1)
					}
				case gguf.TypeQ4_K: // likewise
					if r0, r1 := (rg[0]+7)/8*8, rg[1]/8*8; r0 < r1 {
						GemvQ4Kx8(got, wx, n, a, r0, r1)
						gemvQ4Kx8At(LevelGeneric, want, wx, n, a, r0, r1)
					}
				case gguf.TypeQ6_K:
					Gemv(tr, got, w, rowBytes, n, a, rg[0], rg[1])
					for r := rg[0]; r < rg[1]; r++ {
						want[r] = q6KDotAVX2(&w[r*rowBytes], &a[0], n/qkK)
					}
				default:
					Gemv(tr, got, w, rowBytes, n, a, rg[0], rg[1])
					for r := rg[0]; r < rg[1]; r++ {
						want[r] = vecDotQ8_0Q8_0At(true, n, w[r*rowBytes:(r+1)*rowBytes], a)
					}
				}
				for r := range got {
					require.Equal(t, math.Float32bits(want[r]), math.Float32bits(got[r]), "row %d", r)
				}
			})
		}
	}
}

// BenchmarkGemvAVX512 compares the AVX2 and AVX-512 one-token products on
// TinyLlama's FFN up/gate shape (5632 rows of 2048), single thread; MB/s is
// weight bytes a second. Q4_0's and Q4_K's interleaved kernels have
// BenchmarkGemvQ4_0x8 and BenchmarkGemvQ4Kx8.
func BenchmarkGemvAVX512(b *testing.B) {
	const rows, n = 5632, 2048
	for _, typ := range []gguf.TensorType{gguf.TypeQ8_0, gguf.TypeQ6_K} {
		tr := mustFor(b, typ)
		w, a, rowBytes, _ := testMatrix(b, tr, rand.New(rand.NewPCG(59, 60)), rows, n, 1)
		dst := make([]float32, rows)
		name := fmt.Sprintf("%s/%dx%d", typ, rows, n)
		b.Run(name+"/avx2", func(b *testing.B) {
			skipWithoutAVX2(b)
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				if typ == gguf.TypeQ6_K {
					gemvQ6K(dst, w, rowBytes, n, a, 0, rows, gemvQ6KPrefetch)
					continue
				}
				for r := 0; r < rows; r++ {
					dst[r] = vecDotQ8_0Q8_0At(true, n, w[r*rowBytes:(r+1)*rowBytes], a)
				}
			}
		})
		b.Run(name+"/avx512", func(b *testing.B) {
			skipWithoutAVX512(b)
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				if typ == gguf.TypeQ6_K {
					r := gemvQ6KAVX512(dst, w, rowBytes, n, a, 0, rows)
					gemvQ6K(dst, w, rowBytes, n, a, r, rows, gemvQ6KPrefetch)
					continue
				}
				r := gemvQ8_0AVX512(dst, w, rowBytes, n, a, 0, rows)
				for ; r < rows; r++ {
					dst[r] = vecDotQ8_0Q8_0At(true, n, w[r*rowBytes:(r+1)*rowBytes], a)
				}
			}
		})
	}
}

// TestGemvGroups checks the AVX-512 kernels' row-group loop on any CPU with
// a Go kernel in their place: whole groups of g from r0 are handed over (in
// order, each with its rows' weights and the whole activation), the first
// row left is returned, and a zero block count leaves everything to the
// caller.
func TestGemvGroups(t *testing.T) {
	const rowBytes, wBlock, aBlock = 40, 20, 34
	tests := []struct {
		name         string
		g, nb        int
		r0, r1, want int
		wantCalls    []int // first row of each call
	}{
		{"groups of 8", 8, 2, 3, 30, 27, []int{3, 11, 19}},
		{"groups of 16, exact", 16, 2, 0, 32, 32, []int{0, 16}},
		{"too few rows", 16, 2, 5, 20, 5, nil},
		{"no blocks", 8, 0, 0, 32, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := tt.r1 + 1
			w := make([]byte, rows*rowBytes)
			for i := range w {
				w[i] = byte(i)
			}
			a := make([]byte, tt.nb*aBlock+7)
			dst := make([]float32, rows)
			var calls []int
			kern := func(d *float32, wp *byte, rb int, ap *byte, n int) {
				r := int(uintptr(unsafe.Pointer(d))-uintptr(unsafe.Pointer(&dst[0]))) / 4
				calls = append(calls, r)
				require.Equal(t, rowBytes, rb)
				require.Equal(t, tt.nb, n)
				require.Equal(t, &w[r*rb], wp)
				require.Equal(t, &a[0], ap)
			}
			got := gemvGroups(kern, tt.g, dst, w, rowBytes, tt.nb, wBlock, a, aBlock, tt.r0, tt.r1)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantCalls, calls)
		})
	}
}
