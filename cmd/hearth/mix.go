package main

import "github.com/hearthllm/hearth/gguf"

// newTypeChooser returns the per-tensor type choice for ft: which type each
// weight matrix (name, dims) gets. nLayer and all are the model's block
// count and tensor list, which llama.cpp's mixes consult.
//
// Placeholder until quant/mix.go lands: every matrix gets ft.base, except
// output.weight, which gets Q6_K for quantized targets as llama.cpp does.
func newTypeChooser(ft ftype, nLayer int, all []gguf.TensorInfo) func(name string, dims []uint64) gguf.TensorType {
	return func(name string, dims []uint64) gguf.TensorType {
		switch ft.base {
		case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16:
			return ft.base
		}
		if name == "output.weight" {
			return gguf.TypeQ6_K
		}
		return ft.base
	}
}
