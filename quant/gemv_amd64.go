//go:build !purego

package quant

// The one-token multi-row GEMV kernels (prefetchRange, gemvF32AVX2,
// gemvF32x8AVX2) are generated with avo: avx2gemv_amd64.{s,go}
// (_avo/avx2_gemv.go, see avx2gen.go); the row-looping Q2_K/Q3_K ones
// (q2KGemvAVX2, q3KGemvAVX2) in avx2k4r_amd64.{s,go}, the interleaved Q4_0
// ones (q4_0x8GemvAVX2, q4_0x8GemvVNNI) in q40x8_amd64.{s,go} and the
// interleaved Q4_K ones (q4Kx8GemvAVX2, q4Kx8GemvVNNI) in
// q4kx8_amd64.{s,go}.

// hasPrefetch says whether prefetchRange does anything.
const hasPrefetch = true
