package quant

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hearthllm/hearth/gguf"
)

// FileType is llama.cpp's llama_ftype: the quantization mix of a model file,
// stored in the GGUF key general.file_type. The numbers are llama.h's
// LLAMA_FTYPE_* values and appear on disk.
type FileType uint32

// The file types llama.cpp's llama-quantize writes that this package can
// produce. Gaps are types Hearth does not implement (IQ*, TQ*, MXFP4) or ids
// llama.cpp retired.
const (
	FileTypeAllF32  FileType = 0  // LLAMA_FTYPE_ALL_F32
	FileTypeF16     FileType = 1  // LLAMA_FTYPE_MOSTLY_F16
	FileTypeQ4_0    FileType = 2  // LLAMA_FTYPE_MOSTLY_Q4_0
	FileTypeQ4_1    FileType = 3  // LLAMA_FTYPE_MOSTLY_Q4_1
	FileTypeQ8_0    FileType = 7  // LLAMA_FTYPE_MOSTLY_Q8_0
	FileTypeQ5_0    FileType = 8  // LLAMA_FTYPE_MOSTLY_Q5_0
	FileTypeQ5_1    FileType = 9  // LLAMA_FTYPE_MOSTLY_Q5_1
	FileTypeQ2_K    FileType = 10 // LLAMA_FTYPE_MOSTLY_Q2_K
	FileTypeQ3_K_S  FileType = 11 // LLAMA_FTYPE_MOSTLY_Q3_K_S
	FileTypeQ3_K_M  FileType = 12 // LLAMA_FTYPE_MOSTLY_Q3_K_M
	FileTypeQ3_K_L  FileType = 13 // LLAMA_FTYPE_MOSTLY_Q3_K_L
	FileTypeQ4_K_S  FileType = 14 // LLAMA_FTYPE_MOSTLY_Q4_K_S
	FileTypeQ4_K_M  FileType = 15 // LLAMA_FTYPE_MOSTLY_Q4_K_M
	FileTypeQ5_K_S  FileType = 16 // LLAMA_FTYPE_MOSTLY_Q5_K_S
	FileTypeQ5_K_M  FileType = 17 // LLAMA_FTYPE_MOSTLY_Q5_K_M
	FileTypeQ6_K    FileType = 18 // LLAMA_FTYPE_MOSTLY_Q6_K
	FileTypeBF16    FileType = 32 // LLAMA_FTYPE_MOSTLY_BF16
	FileTypeGuessed FileType = 1024
)

// fileTypeInfo is one supported file type: llama-quantize's name for it and
// its default tensor type (llama_ftype_get_default_type).
type fileTypeInfo struct {
	name string
	def  gguf.TensorType
}

// fileTypes is the fixed table of supported file types.
var fileTypes = map[FileType]fileTypeInfo{
	FileTypeAllF32: {"F32", gguf.TypeF32},
	FileTypeF16:    {"F16", gguf.TypeF16},
	FileTypeBF16:   {"BF16", gguf.TypeBF16},
	FileTypeQ4_0:   {"Q4_0", gguf.TypeQ4_0},
	FileTypeQ4_1:   {"Q4_1", gguf.TypeQ4_1},
	FileTypeQ5_0:   {"Q5_0", gguf.TypeQ5_0},
	FileTypeQ5_1:   {"Q5_1", gguf.TypeQ5_1},
	FileTypeQ8_0:   {"Q8_0", gguf.TypeQ8_0},
	FileTypeQ2_K:   {"Q2_K", gguf.TypeQ2_K},
	FileTypeQ3_K_S: {"Q3_K_S", gguf.TypeQ3_K},
	FileTypeQ3_K_M: {"Q3_K_M", gguf.TypeQ3_K},
	FileTypeQ3_K_L: {"Q3_K_L", gguf.TypeQ3_K},
	FileTypeQ4_K_S: {"Q4_K_S", gguf.TypeQ4_K},
	FileTypeQ4_K_M: {"Q4_K_M", gguf.TypeQ4_K},
	FileTypeQ5_K_S: {"Q5_K_S", gguf.TypeQ5_K},
	FileTypeQ5_K_M: {"Q5_K_M", gguf.TypeQ5_K},
	FileTypeQ6_K:   {"Q6_K", gguf.TypeQ6_K},
}

// fileTypeAliases are llama-quantize's extra names: Q3_K, Q4_K and Q5_K mean
// their _M variants.
var fileTypeAliases = map[string]FileType{
	"Q3_K": FileTypeQ3_K_M,
	"Q4_K": FileTypeQ4_K_M,
	"Q5_K": FileTypeQ5_K_M,
}

// String returns llama-quantize's name for ft, such as "Q4_K_M".
func (ft FileType) String() string {
	if fi, ok := fileTypes[ft]; ok {
		return fi.name
	}
	return fmt.Sprintf("FileType(%d)", uint32(ft))
}

// DefaultType returns the tensor type most weights of ft get
// (llama_ftype_get_default_type); ok is false for unsupported file types.
func (ft FileType) DefaultType() (t gguf.TensorType, ok bool) {
	fi, ok := fileTypes[ft]
	return fi.def, ok
}

// ParseFileType parses a file type the way llama-quantize's command line
// does: a name such as "Q4_K_M" (case-insensitive; Q3_K, Q4_K, Q5_K are the
// _M variants) or its number, such as "15".
func ParseFileType(s string) (FileType, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if ft, ok := fileTypeAliases[u]; ok {
		return ft, nil
	}
	for ft, fi := range fileTypes {
		if fi.name == u {
			return ft, nil
		}
	}
	if n, err := strconv.ParseUint(u, 10, 32); err == nil {
		if _, ok := fileTypes[FileType(n)]; ok {
			return FileType(n), nil
		}
	}
	return 0, fmt.Errorf("quant: unknown or unsupported file type %q", s)
}

// MixParams describes the model whose tensors TensorTypeFor places, as
// llama.cpp's quantize_state_impl sees it.
type MixParams struct {
	// NLayer is the number of transformer blocks (llama.block_count).
	NLayer int
	// NHead and NHeadKV are the attention head counts; n_gqa = NHead/NHeadKV.
	NHead, NHeadKV int
	// NExpert is the number of MoE experts (0 or 1 for dense models).
	NExpert int
	// TiedOutput is true when the file has no output.weight, so token_embd
	// also serves as the output projection and is treated like output.weight.
	TiedOutput bool
	// Is70B marks llama.cpp's LLM_TYPE_70B (80 layers with grouped-query
	// attention), which gets more bits in attn_v.
	Is70B bool
	// Pure disables the mix (llama-quantize --pure): every quantizable tensor
	// gets the file type's default type, subject only to the shape fallback.
	Pure bool
}

func (p MixParams) nGQA() int {
	if p.NHeadKV == 0 {
		return 0
	}
	return p.NHead / p.NHeadKV
}

// tensorCategory is llama.cpp's tensor_category: a broad role deduced from
// the tensor name.
type tensorCategory int

const (
	catOther tensorCategory = iota
	catTokenEmbd
	catAttnQ
	catAttnV
	catAttnK
	catAttnQKV
	catAttnKVB
	catAttnOutput
	catFFNUp
	catFFNGate
	catFFNDown
	catOutput
)

// categoryOf is tensor_get_category (src/llama-quant.cpp): exact names for
// output and token embeddings, substrings for the rest, tested in this order.
func categoryOf(name string) tensorCategory {
	switch {
	case name == "output.weight":
		return catOutput
	case name == "token_embd.weight" || name == "per_layer_token_embd.weight":
		return catTokenEmbd
	case strings.Contains(name, "attn_qkv.weight"):
		return catAttnQKV
	case strings.Contains(name, "attn_kv_b.weight"):
		return catAttnKVB
	case strings.Contains(name, "attn_v.weight"):
		return catAttnV
	case strings.Contains(name, "attn_k.weight"):
		return catAttnK
	case strings.Contains(name, "attn_q.weight"):
		return catAttnQ
	case strings.Contains(name, "attn_output.weight"):
		return catAttnOutput
	case strings.Contains(name, "ffn_up"):
		return catFFNUp
	case strings.Contains(name, "ffn_gate"):
		return catFFNGate
	case strings.Contains(name, "ffn_down"):
		return catFFNDown
	}
	return catOther
}

// allowsQuantization is tensor_allows_quantization for the tensor kinds a
// llama-family model has: only tensors of 2 or more dimensions (trailing 1s
// ignored, like ggml_n_dims) whose name ends in "weight", except norms and
// MoE router weights.
func allowsQuantization(name string, dims []uint64) bool {
	nd := len(dims)
	for nd > 1 && dims[nd-1] == 1 {
		nd--
	}
	if nd < 2 || !strings.HasSuffix(name, "weight") {
		return false
	}
	for _, s := range []string{"_norm.weight", "ffn_gate_inp.weight", "attn_rel_b.weight", "ssm_conv1d"} {
		if strings.Contains(name, s) {
			return false
		}
	}
	return name != "position_embd.weight" && name != "token_types.weight"
}

// layerOf returns N from a tensor name "blk.N....", or -1.
func layerOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	dot := strings.IndexByte(rest, '.')
	if dot <= 0 {
		return -1
	}
	n, err := strconv.Atoi(rest[:dot])
	if err != nil {
		return -1
	}
	return n
}

// useMoreBits is llama.cpp's use_more_bits: the first and last eighth of the
// layers and every third layer in between.
func useMoreBits(iLayer, nLayers int) bool {
	return iLayer < nLayers/8 || iLayer >= 7*nLayers/8 || (iLayer-nLayers/8)%3 == 2
}

// TensorTypeFor returns the type llama.cpp's llama-quantize (without an
// importance matrix or overrides) gives tensor t when writing file type ft:
// llama_tensor_get_type in src/llama-quant.cpp for the llama architecture.
// Tensors that are not quantized (norms, 1-D tensors) keep t.Type.
//
// The layer index of attn_v and ffn_down tensors is taken from the name
// (blk.N.): llama.cpp counts them in its loader's order, which sorts tensors
// by layer number, so for one such tensor per layer the count is N.
func TensorTypeFor(ft FileType, t gguf.TensorInfo, p MixParams) (gguf.TensorType, error) {
	def, ok := ft.DefaultType()
	if !ok {
		return 0, fmt.Errorf("quant: tensor %s: unsupported file type %s", t.Name, ft)
	}
	if !allowsQuantization(t.Name, t.Dims) {
		return t.Type, nil
	}
	if def.BlockSize() == 1 { // F32, F16, BF16: !ggml_is_quantized(default_type)
		return def, nil
	}
	newType := def
	if !p.Pure {
		newType = mixType(ft, def, t, p)
	}
	return fallbackType(newType, t)
}

// mixType is llama_tensor_get_type_impl restricted to the file types in
// fileTypes and dense or MoE llama models.
func mixType(ft FileType, newType gguf.TensorType, t gguf.TensorInfo, p MixParams) gguf.TensorType {
	cat := categoryOf(t.Name)
	var nx uint64
	if len(t.Dims) > 0 {
		nx = t.Dims[0]
	}
	iLayer, nLayer := layerOf(t.Name), p.NLayer
	switch {
	case cat == catOutput || (p.TiedOutput && cat == catTokenEmbd):
		// The output projection: Q8_0 when the row does not fit the default
		// type's blocks, else Q6_K unless the file is Q8_0.
		if nx%uint64(newType.BlockSize()) != 0 {
			return gguf.TypeQ8_0
		}
		if newType != gguf.TypeQ8_0 {
			return gguf.TypeQ6_K
		}
	case cat == catTokenEmbd:
		// Only IQ/TQ file types change token embeddings; none is supported here.
	case cat == catAttnV || cat == catAttnQKV || cat == catAttnKVB: // category_is_attn_v
		switch {
		case ft == FileTypeQ2_K:
			if p.nGQA() >= 4 {
				newType = gguf.TypeQ4_K
			} else {
				newType = gguf.TypeQ3_K
			}
		case ft == FileTypeQ3_K_M:
			if iLayer < 2 {
				newType = gguf.TypeQ5_K
			} else {
				newType = gguf.TypeQ4_K
			}
		case ft == FileTypeQ3_K_L:
			newType = gguf.TypeQ5_K
		case (ft == FileTypeQ4_K_M || ft == FileTypeQ5_K_M) && useMoreBits(iLayer, nLayer):
			newType = gguf.TypeQ6_K
		case ft == FileTypeQ4_K_S && iLayer < 4:
			newType = gguf.TypeQ5_K
		}
		if p.Is70B && (newType == gguf.TypeQ3_K || newType == gguf.TypeQ4_K) {
			newType = gguf.TypeQ5_K
		}
		if p.NExpert == 8 {
			newType = gguf.TypeQ8_0
		}
	case cat == catAttnK:
		if p.NExpert == 8 {
			newType = gguf.TypeQ8_0
		}
	case cat == catFFNDown:
		if p.NExpert > 1 && (iLayer < 0 || iLayer >= nLayer) {
			return newType // llama.cpp throws: bad layer for a MoE tensor
		}
		switch {
		case ft == FileTypeQ2_K:
			newType = gguf.TypeQ3_K
		case ft == FileTypeQ3_K_M:
			// Non-Falcon: Q5_K for the first sixteenth, Q4_K for the rest.
			if iLayer < nLayer/16 {
				newType = gguf.TypeQ5_K
			} else {
				newType = gguf.TypeQ4_K
			}
		case ft == FileTypeQ3_K_L:
			newType = gguf.TypeQ5_K
		case ft == FileTypeQ4_K_M:
			if useMoreBits(iLayer, nLayer) {
				newType = gguf.TypeQ6_K
			}
		case ft == FileTypeQ5_K_M && useMoreBits(iLayer, nLayer):
			newType = gguf.TypeQ6_K
		case ft == FileTypeQ4_K_S && iLayer < nLayer/8:
			newType = gguf.TypeQ5_K
		}
	case cat == catAttnOutput:
		if p.NExpert == 8 {
			switch ft {
			case FileTypeQ2_K, FileTypeQ3_K_S, FileTypeQ3_K_M, FileTypeQ4_K_S, FileTypeQ4_K_M:
				newType = gguf.TypeQ5_K
			}
		} else {
			switch ft {
			case FileTypeQ2_K:
				newType = gguf.TypeQ3_K
			case FileTypeQ3_K_M:
				newType = gguf.TypeQ4_K
			case FileTypeQ3_K_L:
				newType = gguf.TypeQ5_K
			}
		}
	case cat == catAttnQKV:
		// Unreachable (attn_qkv is an attn_v category above); kept by llama.cpp.
	}
	return newType
}

// fallbackType is tensor_type_fallback: when the row length is not a
// multiple of the chosen type's block size, use a 32-wide type instead
// (Q2_K, Q3_K -> Q4_0; Q4_K -> Q5_0; Q5_K -> Q5_1; Q6_K -> Q8_0), and F16
// when that does not fit either (32-wide types go straight to F16).
func fallbackType(typ gguf.TensorType, t gguf.TensorInfo) (gguf.TensorType, error) {
	var nx uint64
	if len(t.Dims) > 0 {
		nx = t.Dims[0]
	}
	if nx%uint64(typ.BlockSize()) == 0 {
		return typ, nil
	}
	switch typ {
	case gguf.TypeQ2_K, gguf.TypeQ3_K:
		typ = gguf.TypeQ4_0
	case gguf.TypeQ4_K:
		typ = gguf.TypeQ5_0
	case gguf.TypeQ5_K:
		typ = gguf.TypeQ5_1
	case gguf.TypeQ6_K:
		typ = gguf.TypeQ8_0
	default:
		if typ.BlockSize() > 32 {
			return 0, fmt.Errorf("quant: tensor %s: row length %d does not fit %s blocks and llama.cpp defines no fallback", t.Name, nx, typ)
		}
	}
	if nx%uint64(typ.BlockSize()) != 0 {
		return gguf.TypeF16, nil
	}
	return typ, nil
}
