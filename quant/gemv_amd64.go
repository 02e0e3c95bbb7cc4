//go:build !purego

package quant

// q4KGemvAVX2 is one row of GemvQ4K over nb > 0 super-blocks, with the
// hardware fused multiply-add.
//
//go:noescape
func q4KGemvAVX2(w, a *byte, nb int) float32

// q4_0Q8_0Gemv8AVX2 computes rows 0..7 of GemvQ4_0 for the eight rows
// starting at w (row stride rowBytes) over nb > 0 blocks into dst[0:8].
//
//go:noescape
func q4_0Q8_0Gemv8AVX2(dst *float32, w *byte, rowBytes int, a *byte, nb int)

// prefetchRange asks the CPU to load the cache lines of the n > 0 bytes
// from p; it never faults.
//
//go:noescape
func prefetchRange(p *byte, n int)

// hasPrefetch says whether prefetchRange does anything.
const hasPrefetch = true

// gemvF32AVX2 sets dst[0:rows] to the AVX2 vecDotF32 of rows > 0
// consecutive F32 rows from w (stride rowBytes) with the n floats at x.
//
//go:noescape
func gemvF32AVX2(dst *float32, w *byte, rowBytes int, x *byte, n, rows int)

// q4KGemv8AVX2 computes GemvQ4K for the eight rows starting at w (row
// stride rowBytes) over nb > 0 super-blocks into dst[0:8].
//
//go:noescape
func q4KGemv8AVX2(dst *float32, w *byte, rowBytes int, a *byte, nb int)

// gemvF32x8AVX2 is gemvF32AVX2 for rows a positive multiple of 8, the
// horizontal sums of eight rows done together (same bits).
//
//go:noescape
func gemvF32x8AVX2(dst *float32, w *byte, rowBytes int, x *byte, n, rows int)
