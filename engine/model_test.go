package engine

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/internal/testmodels"
)

// fakeModel returns a fake file with the metadata of llamaKV and F32
// tensors of the right shapes for every weight (without output.weight).
func fakeModel() *fakeFile {
	f := &fakeFile{kv: llamaKV(), tensors: map[string]gguf.TensorInfo{}, data: map[string][]byte{}}
	add := func(name string, dims ...uint64) {
		n := uint64(1)
		for _, d := range dims {
			n *= d
		}
		f.tensors[name] = gguf.TensorInfo{Name: name, Dims: dims, Type: gguf.TypeF32, Size: 4 * n}
		f.data[name] = make([]byte, 4*n)
	}
	add("token_embd.weight", 64, 8)
	add("output_norm.weight", 64)
	for _, l := range []string{"0", "1"} {
		p := "blk." + l + "."
		add(p+"attn_norm.weight", 64)
		add(p+"attn_q.weight", 64, 64)
		add(p+"attn_k.weight", 64, 16)
		add(p+"attn_v.weight", 64, 16)
		add(p+"attn_output.weight", 64, 64)
		add(p+"ffn_norm.weight", 64)
		add(p+"ffn_gate.weight", 64, 96)
		add(p+"ffn_up.weight", 64, 96)
		add(p+"ffn_down.weight", 96, 64)
	}
	return f
}

func TestLoadModelTiedOutput(t *testing.T) {
	m, err := loadModel(fakeModel())
	require.NoError(t, err)
	assert.Equal(t, "token_embd.weight", m.Output.Name, "output must be tied to token_embd")
	assert.Equal(t, m.TokEmbd, m.Output)
	require.Len(t, m.Layers, 2)
	l := m.Layers[1]
	assert.Equal(t, "blk.1.attn_k.weight", l.Wk.Name)
	assert.Equal(t, [2]int{16, 64}, [2]int{l.Wk.Rows, l.Wk.Cols})
	assert.Equal(t, [2]int{64, 96}, [2]int{l.WDown.Rows, l.WDown.Cols})
	assert.Equal(t, [2]int{1, 64}, [2]int{l.AttnNorm.Rows, l.AttnNorm.Cols})
	assert.Equal(t, 64*4, l.Wq.RowBytes())
	assert.Nil(t, m.RopeFreqs.Data)
	// 8*64 embeddings + 64 norm + 2 layers of (2*64 norms + 64*64*2 + 64*16*2 + 3*64*96)
	assert.Equal(t, int64(8*64+64+2*(2*64+2*64*64+2*64*16+3*64*96)), m.NParams())
}

func TestLoadModelErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(f *fakeFile)
		wantErr string
	}{
		{"missing tensor", func(f *fakeFile) { delete(f.tensors, "blk.1.ffn_up.weight") }, "missing tensor blk.1.ffn_up.weight"},
		{"missing token_embd", func(f *fakeFile) { delete(f.tensors, "token_embd.weight") }, "missing tensor token_embd.weight"},
		{"wrong shape", func(f *fakeFile) {
			ti := f.tensors["blk.0.attn_k.weight"]
			ti.Dims = []uint64{64, 64}
			f.tensors[ti.Name] = ti
		}, "blk.0.attn_k.weight has shape [64 64], want [64 16]"},
		{"3-d tensor", func(f *fakeFile) {
			ti := f.tensors["blk.0.attn_q.weight"]
			ti.Dims = []uint64{64, 8, 8}
			f.tensors[ti.Name] = ti
		}, "blk.0.attn_q.weight has shape"},
		{"short data", func(f *fakeFile) { f.data["blk.0.ffn_down.weight"] = f.data["blk.0.ffn_down.weight"][:100] }, "has 100 bytes of data"},
		{"row not whole blocks", func(f *fakeFile) {
			ti := f.tensors["blk.0.ffn_down.weight"]
			ti.Type = gguf.TypeQ4_K // 96 is not a multiple of 256
			f.tensors[ti.Name] = ti
		}, "row length 96 is not a multiple of the Q4_K block size 256"},
		{"unknown type", func(f *fakeFile) {
			ti := f.tensors["output_norm.weight"]
			ti.Type = gguf.TensorType(99)
			f.tensors[ti.Name] = ti
		}, "unknown type"},
		{"wrong output shape", func(f *fakeFile) {
			f.tensors["output.weight"] = gguf.TensorInfo{Name: "output.weight", Dims: []uint64{64, 7}, Type: gguf.TypeF32}
		}, "output.weight has shape [64 7], want [64 8]"},
		{"bad config", func(f *fakeFile) { f.kv["general.architecture"] = "bert" }, `unsupported architecture "bert"`},
		{"rope_freqs not f32", func(f *fakeFile) {
			f.tensors["rope_freqs.weight"] = gguf.TensorInfo{Name: "rope_freqs.weight", Dims: []uint64{3}, Type: gguf.TypeF16}
			f.data["rope_freqs.weight"] = make([]byte, 6)
		}, "rope_freqs.weight has type F16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fakeModel()
			tc.edit(f)
			_, err := loadModel(f)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestLoadModelSeparateOutputAndRopeFreqs(t *testing.T) {
	f := fakeModel()
	f.tensors["output.weight"] = gguf.TensorInfo{Name: "output.weight", Dims: []uint64{64, 8}, Type: gguf.TypeF32}
	f.data["output.weight"] = make([]byte, 64*8*4)
	f.tensors["rope_freqs.weight"] = gguf.TensorInfo{Name: "rope_freqs.weight", Dims: []uint64{3}, Type: gguf.TypeF32}
	ff := make([]byte, 12)
	binary.LittleEndian.PutUint32(ff, math.Float32bits(1))
	f.data["rope_freqs.weight"] = ff
	m, err := loadModel(f)
	require.NoError(t, err)
	assert.Equal(t, "output.weight", m.Output.Name)
	assert.Equal(t, 3, m.RopeFreqs.Cols)
}

// realModel opens a model under HEARTH_TEST_MODELS (default ../shared/models
// beside the repository), skipping loudly when it is missing.
func realModel(t *testing.T, rel string) *Model {
	t.Helper()
	f, err := gguf.Open(testmodels.Path(t, rel))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	m, err := LoadModel(f)
	require.NoError(t, err)
	return m
}

// TestLoadRealModels checks the configurations of the test models against
// the facts their README gives (llama.cpp's own printout).
func TestLoadRealModels(t *testing.T) {
	tests := []struct {
		file    string
		want    Config
		nParams int64
		tied    bool
	}{
		{"stories260K.gguf", Config{Arch: "llama", NLayer: 5, NEmbd: 64, NHead: 8, NHeadKV: 4, HeadDim: 8, NFF: 172,
			NVocab: 512, NCtxTrain: 2048, RopeDim: 8, RopeBase: 10000, RopeScale: 1, RMSEps: 1e-5}, 292800, false},
		{"llama-2-tiny-random.gguf", Config{Arch: "llama", NLayer: 1, NEmbd: 8, NHead: 2, NHeadKV: 2, HeadDim: 4, NFF: 32,
			NVocab: 32000, NCtxTrain: 4096, RopeDim: 4, RopeBase: 10000, RopeScale: 1, RMSEps: 1e-5}, -1, false}, // README's 513,050 is 2 more than its 12 tensors hold,
		{"synthetic/tiny-synth-q4_k.gguf", Config{Arch: "llama", NLayer: 2, NEmbd: 256, NHead: 8, NHeadKV: 4, HeadDim: 32, NFF: 512,
			NVocab: 512, NCtxTrain: 2048, RopeDim: 32, RopeBase: 10000, RopeScale: 1, RMSEps: 1e-5}, 1443072, false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m := realModel(t, tc.file)
			assert.Equal(t, tc.want, m.Config)
			if tc.nParams >= 0 {
				assert.Equal(t, tc.nParams, m.NParams())
			}
			assert.Equal(t, tc.tied, m.Output.Name == m.TokEmbd.Name)
			assert.NotNil(t, m.File)
		})
	}
}
