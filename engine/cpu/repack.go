package cpu

import (
	"github.com/hearthllm/hearth/gguf"
)

// llama.cpp's CPU backend (ggml-cpu "repack" extra buffer type) stores Q4_0
// and Q4_K weights whose row count is a multiple of 8 interleaved eight rows
// at a time on x86 with AVX2 (q4_0_8x8 and q4_K_8x8), and multiplies them
// with ggml_gemv_q4_0_8x8_q8_0 / ggml_gemv_q4_K_8x8_q8_K when one token is
// evaluated. Those kernels round differently from the ordinary vec_dot
// kernels: every block's integer dot product is converted to float32 whole
// and accumulated with one fused multiply-add per block, in block order.
// We interleave those weights at load too, eight rows at a time in our own
// layouts (quant.RepackQ4_0x8, quant.RepackQ4Kx8; Backend.repack), and
// multiply them with quant.GemvQ4_0x8 / GemvQ4Kx8 (one token) and
// quant.GemmQ4_0x8 / GemmQ4Kx8 (batches), in those kernels' arithmetic (the
// interleaving only changes the memory layout). Batches of four or more
// tokens go through ggml_gemm_q4_0_8x8_q8_0 (Q4_0), whose arithmetic per
// pair of rows is the gemv's, and ggml_gemm_q4_K_8x8_q8_K (Q4_K), which
// rounds once per 64-element half of a super-block.

// repackKind says which ggml repack kernel llama.cpp uses for a weight.
type repackKind uint8

const (
	repackNone repackKind = iota
	repackQ4_0
	repackQ4K
)

// repackFor returns the repack kernel llama.cpp picks for a weight of type
// t with rows rows (ggml_repack_get_optimal_repack_type on AVX2).
func repackFor(t gguf.TensorType, rows int) repackKind {
	if rows%8 != 0 {
		return repackNone
	}
	switch t {
	case gguf.TypeQ4_0:
		return repackQ4_0
	case gguf.TypeQ4_K:
		return repackQ4K
	}
	return repackNone
}
