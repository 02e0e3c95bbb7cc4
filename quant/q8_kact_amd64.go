//go:build !purego

package quant

// quantizeQ8KAVX2 is quantizeQ8K for nb > 0 blocks: 256*nb floats at src
// into nb Q8_K blocks at dst (q8_kact_amd64.s). It needs LevelAVX2.
//
//go:noescape
func quantizeQ8KAVX2(dst *byte, src *float32, nb int)
