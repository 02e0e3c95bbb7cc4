//go:build !purego

package cpu

// AVX2+FMA+F16C attention kernels (attention_amd64.s), bit for bit equal to
// their Go twins in attention.go (tinyDotRowsF16, ggmlDotRowsF16, roundF16s).
// Callers check the bounds: rows rows of n elements, stride elements apart,
// from x; n elements of y; rows results at out.

// tinyDotRowsF16AVX2 sets out[r] = tinyDotF16(x[r*stride:][:n], y[:n]) *
// scale for r < rows, n > 0; it reads x's rows up to n rounded up to 8.
//
//go:noescape
func tinyDotRowsF16AVX2(x *uint16, stride, rows int, y *float32, n int, scale float32, out *float32)

// ggmlDotRowsF16AVX2 sets out[r] = ggmlDotF16(x[r*stride:][:n], y[:n]) for
// r < rows; n > 0.
//
//go:noescape
func ggmlDotRowsF16AVX2(x *uint16, stride, rows int, y *float32, n int, out *float32)

// roundF16AVX2 sets dst[i] = roundF16(src[i]) for i < n, n > 0 a multiple
// of 8.
//
//go:noescape
func roundF16AVX2(dst, src *float32, n int)

// ggmlDotRowsF16ShortAVX2 is ggmlDotRowsF16AVX2 for n < 32 and rows and n
// multiples of 8 (eight rows at a time); it reads exactly n elements a row.
//
//go:noescape
func ggmlDotRowsF16ShortAVX2(x *uint16, stride, rows int, y *float32, n int, out *float32)

// ggmlDotRowsF16x8AVX2 is ggmlDotRowsF16AVX2 for n and rows positive
// multiples of 32 and 8: eight rows' horizontal sums done together.
//
//go:noescape
func ggmlDotRowsF16x8AVX2(x *uint16, stride, rows int, y *float32, n int, out *float32)
