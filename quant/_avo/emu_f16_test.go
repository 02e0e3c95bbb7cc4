package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// The AVX-512 F16 kernels (avx512_f16.go) in the emulator, against Go
// models of the AVX2 kernels' arithmetic (dotF16x3AVX2's accumulators,
// dotF16AVX2's sum), bit for bit.

// f16Modes are the half-precision input families: typical magnitudes,
// every finite half (subnormals, zeros of both signs, ±65504), and a few
// values that cancel exactly.
var f16Modes = []string{"typical", "extremes", "cancelling"}

// randF16 returns a finite half of family mode.
func randF16(rng *rand.Rand, mode int) uint16 {
	sign := uint16(rng.IntN(2)) << 15
	switch mode {
	case 1:
		return sign | uint16(rng.IntN(31))<<10 | uint16(rng.IntN(1024))
	case 2:
		return [...]uint16{0x3c00, 0xbc00, 0x0000, 0x8000, 0x0001, 0x8001, 0x7bff, 0xfbff, 0x3c01}[rng.IntN(9)]
	}
	return sign | uint16(10+rng.IntN(11))<<10 | uint16(rng.IntN(1024))
}

// f16Rows returns rows rows of n halves, stride bytes apart (stride ≥ 2n,
// the padding junk halves), as bytes and as halves.
func f16Rows(rng *rand.Rand, mode, rows, n, stride int) ([]byte, [][]uint16) {
	b := make([]byte, (rows-1)*stride+2*n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	h := make([][]uint16, rows)
	for r := range h {
		h[r] = make([]uint16, n)
		for i := range h[r] {
			h[r][i] = randF16(rng, mode)
			binary.LittleEndian.PutUint16(b[r*stride+2*i:], h[r][i])
		}
	}
	return b, h
}

// f16AccModel carries dotF16x3AVX2's 32 accumulators of one pair (acc j
// lane l at index 8j+l) over x·y: index l of step i gets fma(x[32i+l],
// y[32i+l], acc[l]).
func f16AccModel(acc []float32, x, y []uint16) {
	for i := 0; i+32 <= len(x); i += 32 {
		for l := 0; l < 32; l++ {
			acc[l] = fma32(halfToFloat(x[i+l]), halfToFloat(y[i+l]), acc[l])
		}
	}
}

// f16ReduceModel is GGML_F32x8_REDUCE of the 32 accumulators as
// dotF16AVX2 does it: (acc0+acc2)+(acc1+acc3) per lane, then lo+hi, then
// two horizontal adds.
func f16ReduceModel(acc []float32) float32 {
	var s [8]float32
	for l := range s {
		s[l] = (acc[l] + acc[16+l]) + (acc[8+l] + acc[24+l])
	}
	var t [4]float32
	for l := range t {
		t[l] = s[l] + s[4+l]
	}
	return (t[0] + t[1]) + (t[2] + t[3])
}

func emuAsmPath() string {
	if s := os.Getenv("EMU_ASM"); s != "" { // a mutated copy, to see the test fail
		return s
	}
	return "../avx512_amd64.s"
}

// widenRows returns rows of halves widened to float32, stride bytes apart
// (stride ≥ 4n, the padding junk).
func widenRows(rng *rand.Rand, h [][]uint16, stride int) []byte {
	n := len(h[0])
	b := make([]byte, (len(h)-1)*stride+4*n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for r, row := range h {
		for i, v := range row {
			putf(b[r*stride:], i, halfToFloat(v))
		}
	}
	return b
}

// TestEmulatedF16Gemm runs dotF16x4x3AVX512 and dotF16x4x3WAVX512 (its
// activations given widened to float32) on four weight rows and three
// activation rows (padded strides, the buffers ending right after the last
// rows' chunks) from random accumulators and checks all 384 of them
// against dotF16x3AVX2's arithmetic, bit for bit.
func TestEmulatedF16Gemm(t *testing.T) {
	for _, name := range []string{"dotF16x4x3AVX512", "dotF16x4x3WAVX512"} {
		t.Run(name, func(t *testing.T) { testEmulatedF16Gemm(t, name, name == "dotF16x4x3WAVX512") })
	}
}

func testEmulatedF16Gemm(t *testing.T, kernel string, wide bool) {
	p := parseAsm(t, emuAsmPath())
	fn := p.funcs[kernel]
	if fn == nil {
		t.Fatalf("%s not in the assembly", kernel)
	}
	rng := rand.New(rand.NewPCG(71, 72))
	for _, n := range []int{32, 64, 96, 512, 4128} {
		for mode, name := range f16Modes {
			t.Run(fmt.Sprintf("n%d/%s", n, name), func(t *testing.T) {
				xStride, yStride := 2*n+2*rng.IntN(9), 2*n+2*rng.IntN(9)
				xb, x := f16Rows(rng, mode, 4, n, xStride)
				yb, y := f16Rows(rng, mode, 3, n, yStride)
				if wide {
					yStride = 4*n + 4*rng.IntN(9)
					yb = widenRows(rng, y, yStride)
				}
				acc := make([]float32, 4*96)
				accb := make([]byte, 4*len(acc))
				for i := range acc {
					switch {
					case mode == 2 && i%3 == 0:
						acc[i] = float32(math.Copysign(0, float64(rng.IntN(2))-0.5))
					default:
						acc[i] = float32(rng.NormFloat64()) * float32(math.Ldexp(1, rng.IntN(20)-10))
					}
					putf(accb, i, acc[i])
				}
				e := newEmu(t, p)
				dst := e.alloc(accb)
				e.run(fn, map[string]uint64{"x": e.alloc(xb), "xStride": uint64(xStride), "y": e.alloc(yb),
					"yStride": uint64(yStride), "n": uint64(n), "acc": dst})
				for k := 0; k < 4; k++ {
					for c := 0; c < 3; c++ {
						want := append([]float32(nil), acc[96*k+32*c:96*k+32*c+32]...)
						f16AccModel(want, x[k], y[c])
						for l, v := range want {
							i := 96*k + 32*c + l
							got := math.Float32frombits(binary.LittleEndian.Uint32(e.mem[dst+uint64(4*i):]))
							if math.Float32bits(got) != math.Float32bits(v) {
								t.Fatalf("weight row %d, activation row %d, accumulator %d: emulated %g, model %g", k, c, l, got, v)
							}
						}
					}
				}
			})
		}
	}
}

// TestEmulatedF16Gemv runs gemvF16x8AVX512 and gemvF16x8PAVX512 on eight
// padded weight rows and checks each row's sum against dotF16AVX2's
// arithmetic, bit for bit.
func TestEmulatedF16Gemv(t *testing.T) {
	for _, name := range []string{"gemvF16x8AVX512", "gemvF16x8PAVX512"} {
		t.Run(name, func(t *testing.T) { testEmulatedF16Gemv(t, name) })
	}
}

func testEmulatedF16Gemv(t *testing.T, kernel string) {
	p := parseAsm(t, emuAsmPath())
	fn := p.funcs[kernel]
	if fn == nil {
		t.Fatalf("%s not in the assembly", kernel)
	}
	rng := rand.New(rand.NewPCG(73, 74))
	for _, nb := range []int{1, 2, 3, 16, 129} {
		for mode, name := range f16Modes {
			t.Run(fmt.Sprintf("nb%d/%s", nb, name), func(t *testing.T) {
				n := 32 * nb
				rowBytes := 2*n + 2*rng.IntN(9)
				wb, w := f16Rows(rng, mode, 8, n, rowBytes)
				ab, a := f16Rows(rng, mode, 1, n, 2*n)
				e := newEmu(t, p)
				dst := e.alloc(make([]byte, 32))
				e.run(fn, map[string]uint64{"dst": dst, "w": e.alloc(wb), "rowBytes": uint64(rowBytes), "a": e.alloc(ab), "nb": uint64(nb)})
				for r := 0; r < 8; r++ {
					acc := make([]float32, 32)
					f16AccModel(acc, w[r], a[0])
					want := f16ReduceModel(acc)
					got := math.Float32frombits(binary.LittleEndian.Uint32(e.mem[dst+uint64(4*r):]))
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("row %d: emulated %g, model %g", r, got, want)
					}
				}
			})
		}
	}
}

// TestEmulatedWidenF16 runs widenF16AVX512 and checks every float32 it
// writes (and that it writes nothing past n).
func TestEmulatedWidenF16(t *testing.T) {
	p := parseAsm(t, emuAsmPath())
	fn := p.funcs["widenF16AVX512"]
	if fn == nil {
		t.Fatal("widenF16AVX512 not in the assembly")
	}
	rng := rand.New(rand.NewPCG(75, 76))
	for _, n := range []int{32, 64, 512} {
		for mode, name := range f16Modes {
			t.Run(fmt.Sprintf("n%d/%s", n, name), func(t *testing.T) {
				src, h := f16Rows(rng, mode, 1, n, 2*n)
				e := newEmu(t, p)
				dst := e.alloc(make([]byte, 4*n))
				e.run(fn, map[string]uint64{"dst": dst, "src": e.alloc(src), "n": uint64(n)})
				for i, v := range h[0] {
					got := binary.LittleEndian.Uint32(e.mem[dst+uint64(4*i):])
					if want := math.Float32bits(halfToFloat(v)); got != want {
						t.Fatalf("element %d (half %#04x): emulated %#08x, want %#08x", i, v, got, want)
					}
				}
			})
		}
	}
}
