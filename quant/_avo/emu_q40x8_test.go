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
