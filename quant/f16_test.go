package quant

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// halfValue decodes IEEE binary16 bits with float64 arithmetic, straight
// from the definition.
func halfValue(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	case 0:
		return sign * m * math.Pow(2, -24)
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}

func TestFP16ToFP32AllValues(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		want := halfValue(uint16(h))
		got := float64(FP16ToFP32(uint16(h)))
		if math.IsNaN(want) {
			require.True(t, math.IsNaN(got), "half %#04x", h)
			continue
		}
		require.Equal(t, want, got, "half %#04x", h)
		require.Equal(t, math.Signbit(want), math.Signbit(got), "half %#04x", h)
	}
}

// nearestHalf rounds v to binary16 by searching the sorted finite halves:
// nearest value, ties to the even encoding, overflow to infinity at 65520
// (the midpoint between 65504 and 2^16).
func nearestHalf(v float64, pos []float64) uint16 {
	sign := uint16(0)
	if math.Signbit(v) {
		sign = 0x8000
		v = -v
	}
	if v >= 65520 {
		return sign | 0x7c00
	}
	i := sort.SearchFloat64s(pos, v) // pos[i] >= v
	if pos[i] == v {
		return sign | uint16(i)
	}
	lo, hi := i-1, i
	dlo, dhi := v-pos[lo], pos[hi]-v
	switch {
	case dlo < dhi:
		return sign | uint16(lo)
	case dhi < dlo:
		return sign | uint16(hi)
	case lo%2 == 0:
		return sign | uint16(lo)
	}
	return sign | uint16(hi)
}

func TestFP32ToFP16RoundsToNearestEven(t *testing.T) {
	// Every finite non-negative half in order, then 2^16 where rounding
	// up from 65504 lands (encoded as infinity, 0x7c00).
	pos := make([]float64, 0x7c01)
	for h := range pos {
		pos[h] = halfValue(uint16(h))
	}
	pos[0x7c00] = 65536
	var cases []float32
	for h := 0; h < 0x7bff; h++ { // every half, every midpoint, and their neighbours
		v := float32(pos[h])
		mid := float32((pos[h] + pos[h+1]) / 2)
		cases = append(cases, v, mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		f := math.Float32frombits(rng.Uint32())
		if !math.IsNaN(float64(f)) {
			cases = append(cases, f)
		}
		cases = append(cases, float32(rng.NormFloat64()*0.1))
	}
	cases = append(cases, 0, float32(math.Copysign(0, -1)), 65504, 65519.996, 65520, 1e10,
		float32(math.Inf(1)), float32(math.Inf(-1)), 0x1p-25, 0x1p-26, 3*0x1p-26)
	for _, f := range cases {
		for _, v := range []float32{f, -f} {
			require.Equal(t, nearestHalf(float64(v), pos), FP32ToFP16(v), "fp32 %g (%#08x)", v, math.Float32bits(v))
		}
	}
	nan := FP32ToFP16(float32(math.NaN()))
	require.True(t, math.IsNaN(float64(FP16ToFP32(nan))), "NaN stays NaN: %#04x", nan)
}

func TestFP32ToBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	check := func(f float32) {
		if math.IsNaN(float64(f)) {
			require.True(t, math.IsNaN(float64(BF16ToFP32(FP32ToBF16(f)))), "%#08x", math.Float32bits(f))
			require.NotZero(t, FP32ToBF16(f)&0x40, "NaN forced quiet")
			return
		}
		// The two bfloat16 neighbours of f, compared in float64.
		lo := uint16(math.Float32bits(f) >> 16)
		hi := lo + 1
		v := float64(f)
		dlo := math.Abs(v - float64(BF16ToFP32(lo)))
		dhi := math.Abs(float64(BF16ToFP32(hi)) - v)
		if math.IsInf(v, 0) {
			dhi = math.Inf(1)
		} else if lo&0x7fff == 0x7f7f { // above the largest finite bfloat16: hi is infinity
			dhi = math.Abs(0x1p128 - math.Abs(v))
		}
		want := lo
		if dhi < dlo || (dhi == dlo && lo&1 == 1) {
			want = hi
		}
		require.Equal(t, want, FP32ToBF16(f), "fp32 %g (%#08x)", f, math.Float32bits(f))
	}
	for range 300000 {
		check(math.Float32frombits(rng.Uint32()))
		check(float32(rng.NormFloat64()))
	}
	for _, b := range []uint32{0, 0x80000000, 0x00008000, 0x00018000, 0x3f808000, 0x3f818000, 0x7f7fffff, 0x7f800000, 0xff800000, 0x7f800001, 0x00000001} {
		check(math.Float32frombits(b))
	}
	for h := 0; h < 1<<16; h++ {
		require.Equal(t, math.Float32bits(BF16ToFP32(uint16(h))), uint32(h)<<16)
	}
}
