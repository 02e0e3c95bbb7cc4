package main

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// TestEmulatedQ4_0x8 runs the interleaved Q4_0 one-token kernels
// (q4_0x8GemvAVX2, q4_0x8GemvVNNI from ../q40x8_amd64.s) and the unpacking
// kernel (q4_0x8PackAVX2) on random groups, nibbles 0 and 15 and
// activations -128 and 127 among them, against a Go model of their
// contract: per block the exact sum Σ (q_w-8)·q_a, converted to float32 and
// added to dst's running value with one fused multiply-add by
// fp32(d_w)·d_a; the unpacked layout holds the quants of vector v's low
// nibbles at 32v, its high nibbles at 128+32v, then the eight d_w as
// float32. So a layout or operand-order mistake shows on machines without
// AVX-512 too.
func TestEmulatedQ4_0x8(t *testing.T) {
	path := "../q40x8_amd64.s"
	if s := os.Getenv("EMU_ASM"); s != "" { // a mutated copy, to see the test fail
		path = s
	}
	p := parseAsm(t, path)
	rng := rand.New(rand.NewPCG(91, 92))
	for _, name := range []string{"q4_0x8GemvAVX2", "q4_0x8GemvVNNI"} {
		fn := p.funcs[name]
		if fn == nil {
			t.Fatalf("%s not in the assembly", name)
		}
		for _, nb := range []int{1, 2, 5, 64} {
			for _, ng := range []int{1, 3} {
				pad := rng.IntN(3) * 16
				gb := nb*144 + pad
				w := make([]byte, ng*gb)
				for i := range w {
					w[i] = byte(rng.IntN(256))
					if rng.IntN(4) == 0 {
						w[i] = []byte{0x00, 0xff}[rng.IntN(2)]
					}
				}
				a := make([]byte, nb*34)
				tab := make([]byte, nb*8)
				for b := 0; b < nb; b++ {
					blk := a[b*34:]
					binary.LittleEndian.PutUint16(blk, randHalf(rng))
					var s int32
					for j := 2; j < 34; j++ {
						blk[j] = byte(rng.IntN(256))
						if rng.IntN(4) == 0 {
							blk[j] = []byte{0x80, 0x7f}[rng.IntN(2)]
						}
						s += int32(int8(blk[j]))
					}
					putf(tab[8*b:], 0, halfToFloat(binary.LittleEndian.Uint16(blk)))
					put32(tab[8*b+4:], 0, uint32(8*s))
				}
				for g := 0; g < ng; g++ {
					for b := 0; b < nb; b++ {
						for j := 0; j < 8; j++ {
							binary.LittleEndian.PutUint16(w[g*gb+b*144+2*j:], randHalf(rng))
						}
					}
				}
				dst0 := make([]byte, 4*8*ng)
				for i := 0; i < 8*ng; i++ {
					putf(dst0, i, float32(rng.NormFloat64()))
				}
				e := newEmu(t, p)
				dst := e.alloc(append([]byte(nil), dst0...))
				e.run(fn, map[string]uint64{"dst": dst, "w": e.alloc(w), "groupBytes": uint64(gb), "ngroups": uint64(ng),
					"a": e.alloc(a), "tab": e.alloc(tab), "nb": uint64(nb)})
				for g := 0; g < ng; g++ {
					for j := 0; j < 8; j++ {
						acc := f32(dst0, 8*g+j)
						for b := 0; b < nb; b++ {
							blk := w[g*gb+b*144:]
							qa := a[b*34+2:]
							var s int32
							for v := 0; v < 4; v++ {
								for k := 0; k < 4; k++ {
									q := blk[16+32*v+4*j+k]
									s += (int32(q&15) - 8) * int32(int8(qa[4*v+k]))
									s += (int32(q>>4) - 8) * int32(int8(qa[16+4*v+k]))
								}
							}
							d := halfToFloat(binary.LittleEndian.Uint16(blk[2*j:])) * halfToFloat(binary.LittleEndian.Uint16(a[b*34:]))
							acc = fma32(float32(s), d, acc)
						}
						got := math.Float32frombits(binary.LittleEndian.Uint32(e.mem[dst+uint64(4*(8*g+j)):]))
						if math.Float32bits(got) != math.Float32bits(acc) {
							t.Fatalf("%s nb=%d groups=%d: group %d row %d: emulated %g, model %g", name, nb, ng, g, j, got, acc)
						}
					}
				}
			}
		}
	}

	fn := p.funcs["q4_0x8PackAVX2"]
	if fn == nil {
		t.Fatal("q4_0x8PackAVX2 not in the assembly")
	}
	for _, nb := range []int{1, 3} {
		w := make([]byte, nb*144)
		for i := range w {
			w[i] = byte(rng.IntN(256))
		}
		for b := 0; b < nb; b++ {
			for j := 0; j < 8; j++ {
				binary.LittleEndian.PutUint16(w[b*144+2*j:], randHalf(rng))
			}
		}
		e := newEmu(t, p)
		pack := e.alloc(make([]byte, nb*288))
		e.run(fn, map[string]uint64{"w": e.alloc(w), "nb": uint64(nb), "pack": pack})
		for b := 0; b < nb; b++ {
			got := e.mem[pack+uint64(288*b):][:288]
			for v := 0; v < 4; v++ {
				for i := 0; i < 32; i++ {
					q := w[b*144+16+32*v+i]
					if got[32*v+i] != q&15 || got[128+32*v+i] != q>>4 {
						t.Fatalf("pack nb=%d block %d vector %d byte %d: %d, %d from %#x", nb, b, v, i, got[32*v+i], got[128+32*v+i], q)
					}
				}
			}
			for j := 0; j < 8; j++ {
				if f32(got[256:], j) != halfToFloat(binary.LittleEndian.Uint16(w[b*144+2*j:])) {
					t.Fatalf("pack nb=%d block %d: d_w of row %d", nb, b, j)
				}
			}
		}
	}
}

// q4kScaleMin is q4KScaleMin: the j-th 6-bit scale and min of a Q4_K
// scales field.
func q4kScaleMin(j int, q []byte) (s, m int32) {
	if j < 4 {
		return int32(q[j] & 63), int32(q[j+4] & 63)
	}
	return int32(q[j+4]&0xf | (q[j-4]>>6)<<4), int32(q[j+4]>>4 | (q[j]>>6)<<4)
}

// TestEmulatedQ4Kx8 runs the interleaved Q4_K kernels (q4Kx8GemvAVX2,
// q4Kx8GemvVNNI, q4Kx8PackAVX2 from ../q4kx8_amd64.s) on random groups,
// scale bytes 0xff and nibbles 0/15 and activations -128/127 among them,
// against a Go model of their contract: per super-block and row the exact
// isum = Σ_j sc_j·(Σ q_w·q_a) and imin = Σ_j m_j·(bsum_2j + bsum_2j+1),
// acc = fma(float(isum), d·d_a, acc), accMin likewise with dmin, the row
// acc - accMin; the pack: the low and high nibbles of quant vector 8p+c at
// V[2p][c] and V[2p+1][c], (sc_j, sc_j) and (m_2s, m_2s+1) word pairs, d
// and dmin as float32.
func TestEmulatedQ4Kx8(t *testing.T) {
	path := "../q4kx8_amd64.s"
	if s := os.Getenv("EMU_ASM"); s != "" {
		path = s
	}
	p := parseAsm(t, path)
	rng := rand.New(rand.NewPCG(93, 94))
	const blk = 1152
	scales := func(w []byte, j int) []byte {
		var sc []byte
		for k := 0; k < 3; k++ {
			sc = append(sc, w[32+32*k+4*j:32+32*k+4*j+4]...)
		}
		return sc
	}
	for _, name := range []string{"q4Kx8GemvAVX2", "q4Kx8GemvVNNI"} {
		fn := p.funcs[name]
		if fn == nil {
			t.Fatalf("%s not in the assembly", name)
		}
		for _, nb := range []int{1, 3} {
			for _, ng := range []int{1, 2} {
				pad := rng.IntN(3) * 32
				gb := nb*blk + pad
				w := make([]byte, ng*gb)
				for i := range w {
					w[i] = []byte{0x00, 0xff, byte(rng.IntN(256))}[rng.IntN(3)]
				}
				for g := 0; g < ng; g++ {
					for b := 0; b < nb; b++ {
						for j := 0; j < 16; j++ { // d and dmin
							binary.LittleEndian.PutUint16(w[g*gb+b*blk+2*j:], randHalf(rng))
						}
					}
				}
				a := make([]byte, nb*292)
				for b := 0; b < nb; b++ {
					ab := a[b*292:]
					putf(ab, 0, float32(rng.NormFloat64()))
					for i := 0; i < 256; i++ {
						ab[4+i] = []byte{0x80, 0x7f, byte(rng.IntN(256))}[rng.IntN(3)]
					}
					for k := 0; k < 16; k++ {
						var s int16
						for i := 0; i < 16; i++ {
							s += int16(int8(ab[4+16*k+i]))
						}
						binary.LittleEndian.PutUint16(ab[260+2*k:], uint16(s))
					}
				}
				e := newEmu(t, p)
				dst := e.alloc(make([]byte, 4*8*ng))
				e.run(fn, map[string]uint64{"dst": dst, "w": e.alloc(w), "groupBytes": uint64(gb), "ngroups": uint64(ng),
					"a": e.alloc(a), "nb": uint64(nb)})
				for g := 0; g < ng; g++ {
					for j := 0; j < 8; j++ {
						var acc, accMin float32
						for b := 0; b < nb; b++ {
							bw := w[g*gb+b*blk:]
							ab := a[b*292:]
							sc := scales(bw, j)
							var isum, imin int32
							for s := 0; s < 8; s++ {
								sv, m := q4kScaleMin(s, sc)
								var sub int32
								for c := 0; c < 8; c++ {
									for k := 0; k < 4; k++ {
										q := bw[128+32*(8*(s/2)+c)+4*j+k]
										sub += int32((q>>(4*(s%2)))&15) * int32(int8(ab[4+32*s+4*c+k]))
									}
								}
								isum += sv * sub
								bs := int32(int16(binary.LittleEndian.Uint16(ab[260+4*s:]))) + int32(int16(binary.LittleEndian.Uint16(ab[262+4*s:])))
								imin += m * bs
							}
							da := f32(ab, 0)
							acc = fma32(float32(isum), halfToFloat(binary.LittleEndian.Uint16(bw[2*j:]))*da, acc)
							accMin = fma32(float32(imin), halfToFloat(binary.LittleEndian.Uint16(bw[16+2*j:]))*da, accMin)
						}
						want := acc - accMin
						got := math.Float32frombits(binary.LittleEndian.Uint32(e.mem[dst+uint64(4*(8*g+j)):]))
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s nb=%d groups=%d: group %d row %d: emulated %g, model %g", name, nb, ng, g, j, got, want)
						}
					}
				}
			}
		}
	}

	fn := p.funcs["q4Kx8PackAVX2"]
	if fn == nil {
		t.Fatal("q4Kx8PackAVX2 not in the assembly")
	}
	for _, nb := range []int{1, 2} {
		w := make([]byte, nb*blk)
		for i := range w {
			w[i] = byte(rng.IntN(256))
		}
		for b := 0; b < nb; b++ {
			for j := 0; j < 16; j++ {
				binary.LittleEndian.PutUint16(w[b*blk+2*j:], randHalf(rng))
			}
		}
		e := newEmu(t, p)
		pack := e.alloc(make([]byte, nb*2496))
		e.run(fn, map[string]uint64{"w": e.alloc(w), "nb": uint64(nb), "pack": pack})
		for b := 0; b < nb; b++ {
			got, bw := e.mem[pack+uint64(2496*b):][:2496], w[b*blk:]
			for v := 0; v < 32; v++ {
				pp, c := v/8, v%8
				for i := 0; i < 32; i++ {
					q := bw[128+32*v+i]
					if got[32*(16*pp+c)+i] != q&15 || got[32*(16*pp+8+c)+i] != q>>4 {
						t.Fatalf("pack nb=%d block %d vector %d byte %d", nb, b, v, i)
					}
				}
			}
			for j := 0; j < 8; j++ {
				sc := scales(bw, j)
				for s := 0; s < 8; s++ {
					sv, _ := q4kScaleMin(s, sc)
					if u32(got[2048+32*s:], j) != uint32(sv)*0x10001 {
						t.Fatalf("pack nb=%d block %d: SC[%d] of row %d", nb, b, s, j)
					}
				}
				for s := 0; s < 4; s++ {
					_, m0 := q4kScaleMin(2*s, sc)
					_, m1 := q4kScaleMin(2*s+1, sc)
					if u32(got[2304+32*s:], j) != uint32(m0)|uint32(m1)<<16 {
						t.Fatalf("pack nb=%d block %d: MN[%d] of row %d", nb, b, s, j)
					}
				}
				if f32(got[2432:], j) != halfToFloat(binary.LittleEndian.Uint16(bw[2*j:])) || f32(got[2464:], j) != halfToFloat(binary.LittleEndian.Uint16(bw[16+2*j:])) {
					t.Fatalf("pack nb=%d block %d: d or dmin of row %d", nb, b, j)
				}
			}
		}
	}
}
