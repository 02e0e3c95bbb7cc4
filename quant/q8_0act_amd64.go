//go:build !purego

package quant

// quantizeActQ8_0AVX2 is quantizeActQ8_0 for nb > 0 blocks: 32*nb floats
// at src into nb Q8_0 blocks at dst (q8_0act_amd64.s). It needs
// LevelAVX2.
//
//go:noescape
func quantizeActQ8_0AVX2(dst *byte, src *float32, nb int)
