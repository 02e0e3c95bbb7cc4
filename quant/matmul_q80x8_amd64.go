//go:build !purego

package quant

// q8_0GemmX8AVX2 multiplies rows > 0 Q8_0 weight rows (row r at w +
// r*rowBytes, nb > 0 blocks each) with a group of eight packed Q8_0
// activation rows (PackQ8_0x8's layout, at ap) and stores the sum of
// weight row r and activation row j at dst[j*ldDst+r]
// (matmul_q80x8_amd64.s). It needs LevelAVX2.
//
//go:noescape
func q8_0GemmX8AVX2(w *byte, rowBytes, rows int, ap *byte, nb int, dst *float32, ldDst int)
