package quant

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/internal/testmodels"
)

func TestParseFileType(t *testing.T) {
	tests := []struct {
		in   string
		want FileType
		num  uint32 // llama.h LLAMA_FTYPE_* value
		def  gguf.TensorType
	}{
		{"F32", FileTypeAllF32, 0, gguf.TypeF32},
		{"f16", FileTypeF16, 1, gguf.TypeF16},
		{"BF16", FileTypeBF16, 32, gguf.TypeBF16},
		{"Q4_0", FileTypeQ4_0, 2, gguf.TypeQ4_0},
		{"q4_1", FileTypeQ4_1, 3, gguf.TypeQ4_1},
		{"Q8_0", FileTypeQ8_0, 7, gguf.TypeQ8_0},
		{"Q5_0", FileTypeQ5_0, 8, gguf.TypeQ5_0},
		{"Q5_1", FileTypeQ5_1, 9, gguf.TypeQ5_1},
		{"Q2_K", FileTypeQ2_K, 10, gguf.TypeQ2_K},
		{"Q3_K_S", FileTypeQ3_K_S, 11, gguf.TypeQ3_K},
		{"Q3_K_M", FileTypeQ3_K_M, 12, gguf.TypeQ3_K},
		{"Q3_K", FileTypeQ3_K_M, 12, gguf.TypeQ3_K},
		{"Q3_K_L", FileTypeQ3_K_L, 13, gguf.TypeQ3_K},
		{"Q4_K_S", FileTypeQ4_K_S, 14, gguf.TypeQ4_K},
		{"q4_k_m", FileTypeQ4_K_M, 15, gguf.TypeQ4_K},
		{"Q4_K", FileTypeQ4_K_M, 15, gguf.TypeQ4_K},
		{"Q5_K_S", FileTypeQ5_K_S, 16, gguf.TypeQ5_K},
		{"Q5_K_M", FileTypeQ5_K_M, 17, gguf.TypeQ5_K},
		{"Q5_K", FileTypeQ5_K_M, 17, gguf.TypeQ5_K},
		{"Q6_K", FileTypeQ6_K, 18, gguf.TypeQ6_K},
		{"15", FileTypeQ4_K_M, 15, gguf.TypeQ4_K},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFileType(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.num, uint32(got))
			def, ok := got.DefaultType()
			assert.True(t, ok)
			assert.Equal(t, tc.def, def)
			back, err := ParseFileType(got.String())
			require.NoError(t, err)
			assert.Equal(t, got, back)
		})
	}
	for _, bad := range []string{"", "Q4", "IQ2_XXS", "Q2_K_S", "4", "1024", "Q4_K_X"} {
		_, err := ParseFileType(bad)
		assert.Error(t, err, bad)
	}
}

// mixRule is the expected type of one tensor role in every layer: def, except
// the layers listed in other.
type mixRule struct {
	role  string
	def   gguf.TensorType
	other map[gguf.TensorType][]int
}

// The expectations below are what llama.cpp's llama_model_quantize (the
// libllama of node-llama-cpp 3.21.1) chose for a 22-layer llama with
// TinyLlama's head layout (32 query heads, 4 KV heads, so n_gqa = 8) and row
// lengths that are multiples of 256, no imatrix. The comments give the rule
// in llama_tensor_get_type_impl (src/llama-quant.cpp) that produces each.
//
// use_more_bits(i, n) = i < n/8 || i >= 7*n/8 || (i - n/8)%3 == 2; for n = 22:
// layers 0 1 4 7 10 13 16 19 20 21.
var moreBits22 = []int{0, 1, 4, 7, 10, 13, 16, 19, 20, 21}

var tinyLlamaMix = []struct {
	ft     FileType
	output gguf.TensorType // output.weight: Q6_K unless the file is Q8_0 (OUTPUT category rule)
	embd   gguf.TensorType // token_embd.weight (untied): only IQ/TQ file types change it
	rules  []mixRule
}{
	{FileTypeQ4_K_M, gguf.TypeQ6_K, gguf.TypeQ4_K, []mixRule{
		// attn_v: (Q4_K_M || Q5_K_M) && use_more_bits(i_attention_wv, n_attention_wv) -> Q6_K
		{"attn_v", gguf.TypeQ4_K, map[gguf.TensorType][]int{gguf.TypeQ6_K: moreBits22}},
		// ffn_down: Q4_K_M, non-Falcon: use_more_bits(i_layer, n_layer) -> Q6_K
		{"ffn_down", gguf.TypeQ4_K, map[gguf.TensorType][]int{gguf.TypeQ6_K: moreBits22}},
		{"attn_q", gguf.TypeQ4_K, nil}, {"attn_k", gguf.TypeQ4_K, nil}, {"attn_output", gguf.TypeQ4_K, nil},
		{"ffn_gate", gguf.TypeQ4_K, nil}, {"ffn_up", gguf.TypeQ4_K, nil},
	}},
	{FileTypeQ5_K_M, gguf.TypeQ6_K, gguf.TypeQ5_K, []mixRule{
		// attn_v: same use_more_bits rule as Q4_K_M
		{"attn_v", gguf.TypeQ5_K, map[gguf.TensorType][]int{gguf.TypeQ6_K: moreBits22}},
		// ffn_down: Q5_K_M && use_more_bits(i_layer, n_layer) -> Q6_K
		{"ffn_down", gguf.TypeQ5_K, map[gguf.TensorType][]int{gguf.TypeQ6_K: moreBits22}},
		{"attn_q", gguf.TypeQ5_K, nil}, {"attn_k", gguf.TypeQ5_K, nil}, {"attn_output", gguf.TypeQ5_K, nil},
		{"ffn_gate", gguf.TypeQ5_K, nil}, {"ffn_up", gguf.TypeQ5_K, nil},
	}},
	{FileTypeQ3_K_M, gguf.TypeQ6_K, gguf.TypeQ3_K, []mixRule{
		// attn_v: Q3_K_M -> i_attention_wv < 2 ? Q5_K : Q4_K
		{"attn_v", gguf.TypeQ4_K, map[gguf.TensorType][]int{gguf.TypeQ5_K: {0, 1}}},
		// ffn_down: Q3_K_M -> i_layer < n_layer/16 ? Q5_K : (non-Falcon) Q4_K
		{"ffn_down", gguf.TypeQ4_K, map[gguf.TensorType][]int{gguf.TypeQ5_K: {0}}},
		// attn_output: Q3_K_M (non-Falcon, not 8 experts) -> Q4_K
		{"attn_output", gguf.TypeQ4_K, nil},
		{"attn_q", gguf.TypeQ3_K, nil}, {"attn_k", gguf.TypeQ3_K, nil},
		{"ffn_gate", gguf.TypeQ3_K, nil}, {"ffn_up", gguf.TypeQ3_K, nil},
	}},
	{FileTypeQ2_K, gguf.TypeQ6_K, gguf.TypeQ2_K, []mixRule{
		// attn_v: Q2_K -> n_gqa() >= 4 ? Q4_K : Q3_K
		{"attn_v", gguf.TypeQ4_K, nil},
		// ffn_down: Q2_K -> Q3_K
		{"ffn_down", gguf.TypeQ3_K, nil},
		// attn_output: Q2_K -> Q3_K
		{"attn_output", gguf.TypeQ3_K, nil},
		{"attn_q", gguf.TypeQ2_K, nil}, {"attn_k", gguf.TypeQ2_K, nil},
		{"ffn_gate", gguf.TypeQ2_K, nil}, {"ffn_up", gguf.TypeQ2_K, nil},
	}},
	{FileTypeQ4_K_S, gguf.TypeQ6_K, gguf.TypeQ4_K, []mixRule{
		// attn_v: Q4_K_S && i_attention_wv < 4 -> Q5_K
		{"attn_v", gguf.TypeQ4_K, map[gguf.TensorType][]int{gguf.TypeQ5_K: {0, 1, 2, 3}}},
		// ffn_down: Q4_K_S, non-Falcon, i_layer < n_layer/8 -> Q5_K
		{"ffn_down", gguf.TypeQ4_K, map[gguf.TensorType][]int{gguf.TypeQ5_K: {0, 1}}},
		{"attn_q", gguf.TypeQ4_K, nil}, {"attn_k", gguf.TypeQ4_K, nil}, {"attn_output", gguf.TypeQ4_K, nil},
		{"ffn_gate", gguf.TypeQ4_K, nil}, {"ffn_up", gguf.TypeQ4_K, nil},
	}},
	{FileTypeQ3_K_L, gguf.TypeQ6_K, gguf.TypeQ3_K, []mixRule{
		// attn_v, ffn_down (non-Falcon), attn_output: Q3_K_L -> Q5_K
		{"attn_v", gguf.TypeQ5_K, nil}, {"ffn_down", gguf.TypeQ5_K, nil}, {"attn_output", gguf.TypeQ5_K, nil},
		{"attn_q", gguf.TypeQ3_K, nil}, {"attn_k", gguf.TypeQ3_K, nil},
		{"ffn_gate", gguf.TypeQ3_K, nil}, {"ffn_up", gguf.TypeQ3_K, nil},
	}},
	{FileTypeQ3_K_S, gguf.TypeQ6_K, gguf.TypeQ3_K, []mixRule{
		// no Q3_K_S rule applies to a dense model: everything but output is Q3_K
		{"attn_v", gguf.TypeQ3_K, nil}, {"ffn_down", gguf.TypeQ3_K, nil}, {"attn_output", gguf.TypeQ3_K, nil},
		{"attn_q", gguf.TypeQ3_K, nil}, {"attn_k", gguf.TypeQ3_K, nil},
		{"ffn_gate", gguf.TypeQ3_K, nil}, {"ffn_up", gguf.TypeQ3_K, nil},
	}},
	{FileTypeQ6_K, gguf.TypeQ6_K, gguf.TypeQ6_K, []mixRule{
		{"attn_v", gguf.TypeQ6_K, nil}, {"ffn_down", gguf.TypeQ6_K, nil}, {"attn_output", gguf.TypeQ6_K, nil},
		{"attn_q", gguf.TypeQ6_K, nil}, {"attn_k", gguf.TypeQ6_K, nil},
		{"ffn_gate", gguf.TypeQ6_K, nil}, {"ffn_up", gguf.TypeQ6_K, nil},
	}},
	{FileTypeQ4_0, gguf.TypeQ6_K, gguf.TypeQ4_0, []mixRule{
		// legacy types: only output.weight changes (new_type != Q8_0 -> Q6_K)
		{"attn_v", gguf.TypeQ4_0, nil}, {"ffn_down", gguf.TypeQ4_0, nil}, {"attn_q", gguf.TypeQ4_0, nil},
	}},
	{FileTypeQ8_0, gguf.TypeQ8_0, gguf.TypeQ8_0, []mixRule{
		{"attn_v", gguf.TypeQ8_0, nil}, {"ffn_down", gguf.TypeQ8_0, nil}, {"attn_q", gguf.TypeQ8_0, nil},
	}},
	{FileTypeF16, gguf.TypeF16, gguf.TypeF16, []mixRule{
		// F16/BF16/F32 are not quantized types: every 2-D weight gets the default
		{"attn_v", gguf.TypeF16, nil}, {"ffn_down", gguf.TypeF16, nil},
	}},
}

// tinyLlamaTensor returns the TensorInfo (F32 source) of a role in a
// TinyLlama-shaped model scaled down to n_embd 256, n_ff 512, 32 KV columns.
func tinyLlamaTensor(role string, layer int) gguf.TensorInfo {
	dims := map[string][]uint64{
		"attn_q": {256, 256}, "attn_k": {256, 32}, "attn_v": {256, 32}, "attn_output": {256, 256},
		"ffn_gate": {256, 512}, "ffn_up": {256, 512}, "ffn_down": {512, 256},
	}[role]
	return gguf.TensorInfo{Name: fmt.Sprintf("blk.%d.%s.weight", layer, role), Dims: dims, Type: gguf.TypeF32}
}

func TestTensorTypeForTinyLlama(t *testing.T) {
	p := MixParams{NLayer: 22, NHead: 32, NHeadKV: 4}
	for _, tc := range tinyLlamaMix {
		t.Run(tc.ft.String(), func(t *testing.T) {
			get := func(ti gguf.TensorInfo) gguf.TensorType {
				got, err := TensorTypeFor(tc.ft, ti, p)
				require.NoError(t, err, ti.Name)
				return got
			}
			assert.Equal(t, tc.output, get(gguf.TensorInfo{Name: "output.weight", Dims: []uint64{256, 512}, Type: gguf.TypeF32}), "output.weight")
			assert.Equal(t, tc.embd, get(gguf.TensorInfo{Name: "token_embd.weight", Dims: []uint64{256, 512}, Type: gguf.TypeF32}), "token_embd.weight")
			assert.Equal(t, gguf.TypeF32, get(gguf.TensorInfo{Name: "output_norm.weight", Dims: []uint64{256}, Type: gguf.TypeF32}), "norms are never quantized")
			assert.Equal(t, gguf.TypeF32, get(gguf.TensorInfo{Name: "blk.3.attn_norm.weight", Dims: []uint64{256}, Type: gguf.TypeF32}))
			for _, r := range tc.rules {
				want := make([]gguf.TensorType, 22)
				for l := range want {
					want[l] = r.def
				}
				for typ, layers := range r.other {
					for _, l := range layers {
						want[l] = typ
					}
				}
				got := make([]gguf.TensorType, 22)
				for l := range got {
					got[l] = get(tinyLlamaTensor(r.role, l))
				}
				assert.Equal(t, want, got, r.role)
			}
		})
	}
}

// TestTensorTypeForFallback covers rows that do not fit 256-wide blocks, on
// stories260K's shapes (n_embd 64, n_ff 172, 5 layers, 8/4 heads), against
// what llama.cpp's llama_model_quantize chose for that file:
// tensor_type_fallback maps Q2_K/Q3_K -> Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1,
// Q6_K -> Q8_0, and to F16 when even 32 does not divide the row (172);
// output.weight goes to Q8_0 because 64 % 256 != 0 (OUTPUT rule).
func TestTensorTypeForFallback(t *testing.T) {
	p := MixParams{NLayer: 5, NHead: 8, NHeadKV: 4}
	ti := func(name string, dims ...uint64) gguf.TensorInfo {
		return gguf.TensorInfo{Name: name, Dims: dims, Type: gguf.TypeF32}
	}
	tests := []struct {
		ft   FileType
		t    gguf.TensorInfo
		want gguf.TensorType
	}{
		{FileTypeQ4_K_M, ti("output.weight", 64, 512), gguf.TypeQ8_0},
		{FileTypeQ4_K_M, ti("token_embd.weight", 64, 512), gguf.TypeQ5_0},
		{FileTypeQ4_K_M, ti("blk.0.attn_q.weight", 64, 64), gguf.TypeQ5_0},
		{FileTypeQ4_K_M, ti("blk.2.attn_v.weight", 64, 32), gguf.TypeQ8_0}, // use_more_bits(2, 5): Q6_K -> Q8_0
		{FileTypeQ4_K_M, ti("blk.3.attn_v.weight", 64, 32), gguf.TypeQ5_0},
		{FileTypeQ4_K_M, ti("blk.4.attn_v.weight", 64, 32), gguf.TypeQ8_0},
		{FileTypeQ4_K_M, ti("blk.0.ffn_up.weight", 64, 172), gguf.TypeQ5_0},
		{FileTypeQ4_K_M, ti("blk.0.ffn_down.weight", 172, 64), gguf.TypeF16},
		{FileTypeQ5_K_M, ti("blk.1.attn_k.weight", 64, 32), gguf.TypeQ5_1},
		{FileTypeQ3_K_M, ti("blk.0.attn_v.weight", 64, 32), gguf.TypeQ5_1}, // Q5_K (i < 2) -> Q5_1
		{FileTypeQ3_K_M, ti("blk.2.attn_v.weight", 64, 32), gguf.TypeQ5_0}, // Q4_K -> Q5_0
		{FileTypeQ3_K_M, ti("blk.2.attn_q.weight", 64, 64), gguf.TypeQ4_0},
		{FileTypeQ2_K, ti("blk.2.attn_v.weight", 64, 32), gguf.TypeQ4_0}, // n_gqa 2 -> Q3_K -> Q4_0
		{FileTypeQ6_K, ti("blk.2.ffn_gate.weight", 64, 172), gguf.TypeQ8_0},
		{FileTypeQ4_0, ti("blk.2.ffn_down.weight", 172, 64), gguf.TypeF16}, // 32-wide type: straight to F16
		{FileTypeQ4_0, ti("output.weight", 64, 512), gguf.TypeQ8_0},        // Q6_K -> Q8_0
		{FileTypeQ8_0, ti("blk.2.ffn_down.weight", 172, 64), gguf.TypeF16},
		{FileTypeF16, ti("blk.2.ffn_down.weight", 172, 64), gguf.TypeF16},
		{FileTypeAllF32, ti("blk.2.ffn_down.weight", 172, 64), gguf.TypeF32},
		{FileTypeQ4_K_M, ti("blk.0.ffn_norm.weight", 64), gguf.TypeF32},
	}
	for _, tc := range tests {
		t.Run(tc.ft.String()+"/"+tc.t.Name, func(t *testing.T) {
			got, err := TensorTypeFor(tc.ft, tc.t, p)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestTensorTypeForTiedAndSpecial covers rules read from the source that the
// fixtures above do not reach.
func TestTensorTypeForTiedAndSpecial(t *testing.T) {
	embd := gguf.TensorInfo{Name: "token_embd.weight", Dims: []uint64{256, 512}, Type: gguf.TypeF32}
	// has_tied_embeddings && TOKEN_EMBD is handled like OUTPUT -> Q6_K.
	got, err := TensorTypeFor(FileTypeQ4_K_M, embd, MixParams{NLayer: 22, NHead: 32, NHeadKV: 4, TiedOutput: true})
	require.NoError(t, err)
	assert.Equal(t, gguf.TypeQ6_K, got)
	// Q2_K attn_v with n_gqa < 4 -> Q3_K.
	got, err = TensorTypeFor(FileTypeQ2_K, tinyLlamaTensor("attn_v", 3), MixParams{NLayer: 22, NHead: 32, NHeadKV: 32})
	require.NoError(t, err)
	assert.Equal(t, gguf.TypeQ3_K, got)
	// LLM_TYPE_70B: Q3_K/Q4_K attn_v -> Q5_K.
	got, err = TensorTypeFor(FileTypeQ4_K_M, tinyLlamaTensor("attn_v", 3), MixParams{NLayer: 22, NHead: 32, NHeadKV: 4, Is70B: true})
	require.NoError(t, err)
	assert.Equal(t, gguf.TypeQ5_K, got)
	// 8 experts: attn_v and attn_k -> Q8_0.
	got, err = TensorTypeFor(FileTypeQ4_K_M, tinyLlamaTensor("attn_k", 3), MixParams{NLayer: 22, NHead: 32, NHeadKV: 4, NExpert: 8})
	require.NoError(t, err)
	assert.Equal(t, gguf.TypeQ8_0, got)
	// Unsupported file types are errors.
	_, err = TensorTypeFor(FileType(19), embd, MixParams{NLayer: 22})
	assert.Error(t, err)
}

// TestTensorTypeForPure checks --pure against the tiny-synth files, which
// llama-quantize --pure wrote: every 2-D weight, output and token_embd
// included, has the default type and norms stay F32.
func TestTensorTypeForPure(t *testing.T) {
	dir := testmodels.Path(t, "synthetic")
	files := []struct {
		file string
		ft   FileType
	}{
		{"tiny-synth-q2_k.gguf", FileTypeQ2_K},
		{"tiny-synth-q3_k.gguf", FileTypeQ3_K_M},
		{"tiny-synth-q4_k.gguf", FileTypeQ4_K_M},
		{"tiny-synth-q5_k.gguf", FileTypeQ5_K_M},
		{"tiny-synth-q6_k.gguf", FileTypeQ6_K},
	}
	src := map[string]testGGUFTensor{}
	for _, tt := range readTestGGUF(t, filepath.Join(dir, "tiny-synth-f32.gguf")) {
		src[tt.name] = tt
	}
	p := MixParams{NLayer: 2, NHead: 8, NHeadKV: 4, Pure: true}
	for _, f := range files {
		t.Run(f.file, func(t *testing.T) {
			for _, tt := range readTestGGUF(t, filepath.Join(dir, f.file)) {
				s := src[tt.name]
				got, err := TensorTypeFor(f.ft, gguf.TensorInfo{Name: s.name, Dims: s.dims, Type: gguf.TensorType(s.typ)}, p)
				require.NoError(t, err)
				assert.Equal(t, gguf.TensorType(tt.typ), got, tt.name)
			}
		})
	}
}
