// Package quant implements ggml's tensor element formats: block layouts,
// dequantization, quantization and dot products, bit-compatible with
// llama.cpp.
//
// Each type lives in its own file (f16.go, q4_0.go, q4_k.go, ...) and
// contributes one entry to the immutable table behind For. A weight row of
// type T is multiplied with an activation row that has first been converted
// to T's VecDotType (Q8_0, Q8_1, Q8_K, F16 or F32) with
// Traits.QuantizeActivation.
//
// Numerics follow llama.cpp's x86 CPU build (AVX2):
//
//   - Weights are quantized with ggml's reference quantizers
//     (quantize_row_*_ref), which is what llama-quantize writes.
//   - Activations are quantized the way ggml-cpu's AVX2 quantize_row_q8_0 and
//     quantize_row_q8_1 do it, which differs from the reference in the last
//     bit: the scale is d = amax/127 but the multiplier is 127/amax (not 1/d),
//     and x*id is rounded half to even (not roundf's half away from zero).
//   - fp32 to fp16 conversion rounds to nearest even (F16C), fp32 to bf16
//     rounds to nearest even with NaNs forced quiet.
//   - Dot products: on amd64 with AVX2, FMA and F16C, VecDot reproduces
//     ggml-cpu's AVX2 ggml_vec_dot_* of llama.cpp's haswell build bit for bit
//     (eight float32 lanes, FMA where ggml's compiled code uses it, ggml's
//     reduction tree, GCC's leftover loop for F32); tests compare against that
//     library. Elsewhere (or with -tags purego) the portable Go code sums
//     exact per-block integer dots scaled by d_w*d_a in float32, which
//     differs from ggml only in float rounding order.
//
// Kernel selection: the package picks one kernel level at program start
// (LevelAVX512 where the CPU also has AVX512F/BW/VL and AVX512_VNNI,
// LevelAVX2 where it has AVX2, FMA and F16C, else LevelGeneric), or the one
// the HEARTH_CPU environment variable names (generic, avx2, avx512). An
// unusable request is not silently replaced: KernelLevel and For return an
// error wrapping ErrKernelLevel. On AMD Zen 4 (family 19h), which runs
// 512-bit vectors as two halves, the automatic choice keeps the one-token
// products on their AVX2 kernels (faster there; the interleaved Q4_0 and
// Q4_K products GemvQ4_0x8 and GemvQ4Kx8, whose VNNI kernels have no
// 512-bit vectors, excepted) and the batched products on AVX-512;
// HEARTH_CPU=avx512 runs AVX-512 for both.
//
// LevelAVX512 runs every AVX2 kernel plus AVX-512 kernels for the one-token
// products of Q8_0 weights (Gemv: eight rows per call, two rows per ZMM
// register, each row's eight float32 lanes the AVX2 lanes), Q6_K weights
// (Gemv: likewise, the AVX2 kernel's eight int32 lanes a super-block) and
// Q4_0 and Q4_K weights (GemvQ4_0x8 and GemvQ4Kx8 on rows interleaved eight
// at a time: AVX512_VNNI on 256-bit vectors, one row per lane; GemvQ4K,
// the row-major Q4_K product, is their portable reference at every level).
// Only exact integer work is widened (VPDPBUSD/VPDPWSSD; for Q8_0 with
// ggml's sign trick, which wraps -(-128) like VPSIGNB); the float
// multiply-adds and horizontal sums keep the AVX2 order, so results equal
// LevelAVX2's bit for bit and llama.cpp's haswell build stays the
// reference. The kernels are generated with avo from _avo/main.go into
// avx512_amd64.s, the interleaved Q4_0 and Q4_K ones from _avo/q40x8.go
// and _avo/q4kx8.go into q40x8_amd64.s and q4kx8_amd64.s (go generate
// ./quant; _avo/check.sh verifies the committed files); _avo's emulator
// test runs them instruction by instruction on CPUs without AVX-512, and
// the package's tests compare them all with the AVX2 kernels where the CPU
// has AVX-512.
//
// MatVec multiplies a weight matrix by one activation row (decode), MatMul
// by several (prefill). At LevelAVX2, MatMul's batched kernels decode each
// weight block once for several activation rows; every result equals
// MatVec's bit for bit, so logits do not depend on batching.
package quant
