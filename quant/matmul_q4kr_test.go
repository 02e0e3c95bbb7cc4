package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// gemmQ4KRef is ggml_gemm_q4_K_8x8_q8_K's arithmetic for one pair written
// from the block layouts: per super-block and 64-element half sb the exact
// integer sums sc*Σ q_w*q_a and m*bsum over its two sub-blocks, d*d_a and
// dmin*d_a in float32, exactly rounded fused multiply-adds, acc - accMin.
func gemmQ4KRef(w, a []byte, nb int) float32 {
	var acc, accMin float32
	for b := 0; b < nb; b++ {
		wb, ab := w[b*144:(b+1)*144], a[b*292:(b+1)*292]
		da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
		var sc, mn [8]int32
		q := wb[4:16]
		for j := 0; j < 4; j++ {
			sc[j], mn[j] = int32(q[j]&63), int32(q[j+4]&63)
			sc[j+4] = int32(q[j+8]&15 | (q[j]>>6)<<4)
			mn[j+4] = int32(q[j+8]>>4 | (q[j+4]>>6)<<4)
		}
		for sb := 0; sb < 4; sb++ {
			var isum, imin int64
			for h := 0; h < 2; h++ {
				j := 2*sb + h
				var s, bs int64
				for l := 0; l < 32; l++ {
					qw := int64(wb[16+sb*32+l])
					if h == 1 {
						qw >>= 4
					}
					qa := int64(int8(ab[4+j*32+l]))
					s += (qw & 15) * qa
					bs += qa
				}
				isum += int64(sc[j]) * s
				imin += int64(mn[j]) * bs
			}
			dw := FP16ToFP32(binary.LittleEndian.Uint16(wb))
			dm := FP16ToFP32(binary.LittleEndian.Uint16(wb[2:]))
			acc = exactFMA32(float32(isum), dw*da, acc)
			accMin = exactFMA32(float32(imin), dm*da, accMin)
		}
	}
	return acc - accMin
}

// TestGemmQ4K checks GemmQ4K on both kernel levels, bit for bit, against
// gemmQ4KRef for the first m/4*4 activation rows and against the
// one-token GemvQ4K for the rest (llama.cpp runs ggml_gemv_q4_K_8x8_q8_K
// on a batch's last m%4 rows), on shapes with several packed runs, two
// activation panels, leftover weight rows, scrambled quants and scales,
// and row ranges; it also checks that nothing outside the rows is written
// and nothing is allocated.
func TestGemmQ4K(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	tr := mustFor(t, gguf.TypeQ4_K)
	levels := []Level{LevelGeneric}
	for _, lv := range []Level{LevelAVX2, LevelAVX512} {
		if hardwareLevel() >= lv {
			levels = append(levels, lv)
		}
	}
	if hardwareLevel() < LevelAVX512 {
		t.Logf("!!! this CPU lacks AVX-512 VNNI: GemmQ4K's AVX-512 kernel is NOT tested here")
	}
	cases := []struct {
		n, m, rows int
		scrambled  bool
	}{
		{256, 4, 8, false},
		{512, 6, 19, false},
		{2304, 7, 16, false}, // 9 super-blocks: three packed runs
		{1024, 9, 16, true},
		{256, 133, 9, false}, // two panels
		{256, 3, 16, false},  // too few activation rows for the GEMM order
		{1280, 12, 40, true}, // sixteen-row steps and an eight-row one (AVX-512)
		{512, 133, 35, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n%d_m%d_rows%d_scrambled%v", c.n, c.m, c.rows, c.scrambled), func(t *testing.T) {
			w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, c.rows, c.n, c.m)
			if c.scrambled {
				scrambleQuants(rng, w, q4KBytes, 0, 2)
				scrambleQ8K(rng, a)
				// keep the bsums consistent with the quants, as Q8_K's are
				for off := 0; off+q8KBytes <= len(a); off += q8KBytes {
					for g := 0; g < 16; g++ {
						var s int16
						for l := 0; l < 16; l++ {
							s += int16(int8(a[off+4+16*g+l]))
						}
						binary.LittleEndian.PutUint16(a[off+4+qkK+2*g:], uint16(s))
					}
				}
			}
			nb := c.n / qkK
			m4 := 0
			if c.m >= 4 {
				m4 = c.m / 4 * 4
			}
			want := make([]float32, c.m*c.rows)
			for i := 0; i < c.m; i++ {
				ar := a[i*aRowBytes : (i+1)*aRowBytes]
				for r := 0; r < c.rows; r++ {
					wr := w[r*rowBytes : (r+1)*rowBytes]
					if i < m4 {
						want[i*c.rows+r] = gemmQ4KRef(wr, ar, nb)
					} else {
						want[i*c.rows+r] = gemvQ4KRowGo(wr, ar, nb)
					}
				}
			}
			ld := c.rows + 3
			for _, lv := range levels {
				for _, rg := range [][2]int{{0, c.rows}, {1, c.rows}, {0, 8}, {c.rows - 1, c.rows}} {
					dst := nanFloats(c.m * ld)
					gemmQ4KAt(lv, dst, ld, w, rowBytes, c.n, a, aRowBytes, c.m, rg[0], rg[1])
					requireGemmRows(t, lv, dst, want, c.m, c.rows, ld, rg)
				}
			}
		})
	}
	w, a, rowBytes, aRowBytes := testMatrix(t, tr, rng, 16, 2048, 8)
	dst := make([]float32, 8*16)
	allocs := testing.AllocsPerRun(5, func() { GemmQ4K(dst, 16, w, rowBytes, 2048, a, aRowBytes, 8, 0, 16) })
	require.Zero(t, allocs)
}

// q4KPack8ScalesRef fills the scale, min and d/dmin parts of nb packed
// super-blocks of eight Q4_K rows (row r at w[r*rowBytes:]) from
// q4KScaleMin, one sub-block at a time: what q4KPack8ScalesAVX2 must write.
func q4KPack8ScalesRef(w []byte, rowBytes, nb int, pack []byte) {
	for b := 0; b < nb; b++ {
		p := pack[b*q4krLen : (b+1)*q4krLen]
		for r := 0; r < 8; r++ {
			wb := w[r*rowBytes+b*q4KBytes : r*rowBytes+(b+1)*q4KBytes]
			sc := wb[4:16]
			var mins [8]uint8
			for j := 0; j < 8; j++ {
				s, mn := q4KScaleMin(j, sc)
				mins[j] = mn
				o := q4krSC + j*32 + r*4
				p[o], p[o+1], p[o+2], p[o+3] = s, 0, s, 0
			}
			for sb := 0; sb < 4; sb++ {
				o := q4krMN + sb*32 + r*4
				p[o], p[o+1], p[o+2], p[o+3] = mins[2*sb], 0, mins[2*sb+1], 0
			}
			binary.LittleEndian.PutUint32(p[q4krD+4*r:], math.Float32bits(f16At(wb)))
			binary.LittleEndian.PutUint32(p[q4krDmin+4*r:], math.Float32bits(f16At(wb[2:])))
		}
	}
}

// TestQ4KPack8ScalesAVX2 checks the assembly scale packing against
// q4KPack8ScalesRef on random super-blocks (every scale byte random, so
// all 6-bit scale and min combinations occur), rows apart by a stride
// wider than a super-block.
func TestQ4KPack8ScalesAVX2(t *testing.T) {
	if !useAVX2 {
		t.Skip("SKIPPING: no AVX2 kernels here")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, nb := range []int{1, 3, 4} {
		rowBytes := (nb + 2) * q4KBytes
		w := make([]byte, 8*rowBytes)
		for it := 0; it < 50; it++ {
			for i := range w {
				w[i] = byte(rng.Uint32())
			}
			// finite d and dmin (F16C quiets a signalling NaN that the
			// table keeps): the top exponent bit of each half cleared
			for r := 0; r < 8; r++ {
				for b := 0; b < nb; b++ {
					w[r*rowBytes+b*q4KBytes+1] &= 0xbf
					w[r*rowBytes+b*q4KBytes+3] &= 0xbf
				}
			}
			want := make([]byte, nb*q4krLen)
			got := make([]byte, nb*q4krLen)
			q4KPack8ScalesRef(w, rowBytes, nb, want)
			q4KPack8ScalesAVX2(&w[0], rowBytes, nb, &got[0])
			require.Equal(t, want[q4krSC:], got[q4krSC:], "nb %d", nb)
		}
	}
}
