package quant

import (
	"errors"
	"fmt"

	"github.com/hearthllm/hearth/gguf"
)

// ErrUnsupported is returned by For for tensor types this package cannot
// compute with.
var ErrUnsupported = errors.New("unsupported tensor type")

// Traits describes one tensor type, like ggml's type_traits plus
// type_traits_cpu. Values returned by For are shared: callers must not modify
// them.
type Traits struct {
	// Type is the tensor type described.
	Type gguf.TensorType
	// BlockSize is the number of elements in one block.
	BlockSize int
	// TypeSize is the number of bytes in one block.
	TypeSize int
	// Dequantize expands src into dst; len(dst) is a multiple of BlockSize
	// and src holds len(dst)/BlockSize blocks.
	Dequantize func(dst []float32, src []byte)
	// Quantize packs src into dst the way llama.cpp's reference quantizer
	// (what llama-quantize writes without an importance matrix) does;
	// len(src) is a multiple of BlockSize and dst holds RowSize(len(src))
	// bytes. Nil where not supported.
	Quantize func(dst []byte, src []float32)
	// VecDotType is the type activations are converted to before VecDot:
	// Q8_0, Q8_1, Q8_K, F16 or F32.
	VecDotType gguf.TensorType
	// VecDot returns the dot product of one weight row of n elements (w, in
	// Type; n a multiple of BlockSize) with one activation row (a, in
	// VecDotType). It allocates nothing. It is nil for
	// activation-only types (Q8_1, Q8_K), which never hold weights.
	VecDot func(n int, w []byte, a []byte) float32
	// QuantizeActivation converts one activation row src into dst in
	// VecDotType, the way ggml-cpu's from_float does it on x86 (for Q8_0 and
	// Q8_1 this is the AVX2 rounding, not the reference quantizer). dst must
	// hold VecDotType's row size for len(src) elements.
	QuantizeActivation func(dst []byte, src []float32)
}

// RowSize returns the bytes taken by n elements of this type. n must be a
// multiple of BlockSize.
func (tr *Traits) RowSize(n int) int { return n / tr.BlockSize * tr.TypeSize }

// For returns the traits of tensor type t, or an error wrapping
// ErrUnsupported. When HEARTH_CPU asked for a kernel level this CPU or build
// cannot run, it returns KernelLevel's error (wrapping ErrKernelLevel) for
// every type.
func For(t gguf.TensorType) (*Traits, error) {
	if kernel.err != nil {
		return nil, kernel.err
	}
	if tr := lookup(t); tr != nil {
		return tr, nil
	}
	return nil, fmt.Errorf("quant: %s: %w", t, ErrUnsupported)
}

// lookup is the type table. Each entry is a package-level Traits defined in
// the type's own file and never written after initialization.
func lookup(t gguf.TensorType) *Traits {
	switch t {
	case gguf.TypeF32:
		return &f32Traits
	case gguf.TypeF16:
		return &f16Traits
	case gguf.TypeBF16:
		return &bf16Traits
	case gguf.TypeQ4_0:
		return &q4_0Traits
	case gguf.TypeQ4_1:
		return &q4_1Traits
	case gguf.TypeQ5_0:
		return &q5_0Traits
	case gguf.TypeQ5_1:
		return &q5_1Traits
	case gguf.TypeQ8_0:
		return &q8_0Traits
	case gguf.TypeQ8_1:
		return &q8_1Traits
	case gguf.TypeQ2_K:
		return &q2_KTraits
	case gguf.TypeQ3_K:
		return &q3_KTraits
	case gguf.TypeQ4_K:
		return &q4_KTraits
	case gguf.TypeQ5_K:
		return &q5_KTraits
	case gguf.TypeQ6_K:
		return &q6_KTraits
	case gguf.TypeQ8_K:
		return &q8_KTraits
	}
	return nil
}
