//go:build !purego

package quant

// q4KGemvAVX2 is one row of GemvQ4K over nb > 0 super-blocks, with the
// hardware fused multiply-add.
//
//go:noescape
func q4KGemvAVX2(w, a *byte, nb int) float32
