//go:build !purego

package quant

// Batched Q4_K kernels in the repacked-GEMM arithmetic
// (matmul_q4kr_amd64.s). They need LevelAVX2 and nb > 0.

// q4KPack8AVX2 writes the unpacked quant vectors of nb super-blocks of
// eight Q4_K rows (row r at w + r*rowBytes) into pack, q4krLen bytes a
// super-block; q4KPack8ScalesAVX2 fills in the rest.
//
//go:noescape
func q4KPack8AVX2(w *byte, rowBytes, nb int, pack *byte)

// q4KGemmR2AVX2 carries acc[0..15] (acc, accMin of activation row 0) and
// acc[16..31] (row 1, at a + aStride) with eight packed weight rows
// through nb super-blocks.
//
//go:noescape
func q4KGemmR2AVX2(pack, a *byte, aStride, nb int, acc *float32)

// q4KPack8ScalesAVX2 fills the scale, min and d/dmin parts of nb > 0
// packed super-blocks of eight Q4_K rows (row r at w + r*rowBytes):
// q4KScaleMin's values of every sub-block and d, dmin as float32 (F16C,
// which quiets a signalling NaN). TestQ4KPack8ScalesAVX2 compares it with
// a portable twin.
//
//go:noescape
func q4KPack8ScalesAVX2(w *byte, rowBytes, nb int, pack *byte)
