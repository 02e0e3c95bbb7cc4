//go:build !purego

package quant

// q8_0GemmX8AVX2 multiplies nb blocks of one Q8_0 weight row (at w) with
// a group of eight packed Q8_0 activation rows (PackQ8_0x8's layout, at
// ap), carrying the eight pairs' eight-lane accumulators at acc (64
// floats): it starts from them when load != 0 and from zero otherwise, and
// stores them back when out is nil, or else stores the eight pairs'
// hsum_float_8 at out[0..7] (matmul_q80x8_amd64.s). It needs LevelAVX2 and
// nb > 0.
//
//go:noescape
func q8_0GemmX8AVX2(w, ap *byte, nb int, acc, out *float32, load int)
