package engine

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// fakeFile is an in-memory metadata and tensor source standing in for a
// *gguf.File.
type fakeFile struct {
	kv      map[string]any // uint32, float32, string or []string
	tensors map[string]gguf.TensorInfo
	data    map[string][]byte
}

func (f *fakeFile) Has(key string) bool { _, ok := f.kv[key]; return ok }

func fakeGet[T any](f *fakeFile, key string) (T, error) {
	var zero T
	v, ok := f.kv[key]
	if !ok {
		return zero, fmt.Errorf("gguf: %s: %w", key, gguf.ErrKeyNotFound)
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("gguf: %s: has type %T, want %T", key, v, zero)
	}
	return t, nil
}

func (f *fakeFile) String(key string) (string, error)    { return fakeGet[string](f, key) }
func (f *fakeFile) Uint32(key string) (uint32, error)    { return fakeGet[uint32](f, key) }
func (f *fakeFile) Float32(key string) (float32, error)  { return fakeGet[float32](f, key) }
func (f *fakeFile) Strings(key string) ([]string, error) { return fakeGet[[]string](f, key) }
func (f *fakeFile) Tensor(name string) (gguf.TensorInfo, bool) {
	ti, ok := f.tensors[name]
	return ti, ok
}
func (f *fakeFile) TensorData(t gguf.TensorInfo) []byte { return f.data[t.Name] }

// llamaKV returns the metadata of a small llama model (8 tokens).
func llamaKV() map[string]any {
	return map[string]any{
		"general.architecture":                   "llama",
		"llama.block_count":                      uint32(2),
		"llama.embedding_length":                 uint32(64),
		"llama.feed_forward_length":              uint32(96),
		"llama.attention.head_count":             uint32(8),
		"llama.attention.head_count_kv":          uint32(2),
		"llama.context_length":                   uint32(512),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-6),
		"llama.rope.dimension_count":             uint32(6),
		"llama.rope.freq_base":                   float32(500000),
		"tokenizer.ggml.tokens":                  []string{"a", "b", "c", "d", "e", "f", "g", "h"},
	}
}

func TestParseConfig(t *testing.T) {
	full := Config{Arch: "llama", NLayer: 2, NEmbd: 64, NHead: 8, NHeadKV: 2, HeadDim: 8, NFF: 96, NVocab: 8,
		NCtxTrain: 512, RopeDim: 6, RopeBase: 500000, RopeScale: 1, RMSEps: 1e-6}
	tests := []struct {
		name       string
		edit       func(kv map[string]any)
		embdRows   int
		want       func(c *Config)
		wantErr    string
		wantNotErr bool
	}{
		{name: "full", want: func(c *Config) {}},
		{name: "defaults", edit: func(kv map[string]any) {
			delete(kv, "llama.attention.head_count_kv")
			delete(kv, "llama.rope.dimension_count")
			delete(kv, "llama.rope.freq_base")
		}, want: func(c *Config) { c.NHeadKV, c.RopeDim, c.RopeBase = 8, 8, 10000 }},
		{name: "linear scaling", edit: func(kv map[string]any) {
			kv["llama.rope.scaling.type"] = "linear"
			kv["llama.rope.scaling.factor"] = float32(4)
		}, want: func(c *Config) { c.RopeScale = 4 }},
		{name: "old scale_linear key", edit: func(kv map[string]any) {
			kv["llama.rope.scale_linear"] = float32(2)
		}, want: func(c *Config) { c.RopeScale = 2 }},
		{name: "scaling factor 0 means none", edit: func(kv map[string]any) {
			kv["llama.rope.scaling.factor"] = float32(0)
		}, want: func(c *Config) {}},
		{name: "key_length sets head size", edit: func(kv map[string]any) {
			kv["llama.attention.key_length"] = uint32(16)
			kv["llama.attention.value_length"] = uint32(16)
		}, want: func(c *Config) { c.HeadDim = 16 }},
		{name: "vocab from token_embd", edit: func(kv map[string]any) {
			delete(kv, "tokenizer.ggml.tokens")
		}, embdRows: 100, want: func(c *Config) { c.NVocab = 100 }},
		{name: "vocab agrees with token_embd", embdRows: 8, want: func(c *Config) {}},

		{name: "no architecture", edit: func(kv map[string]any) { delete(kv, "general.architecture") }, wantErr: "general.architecture"},
		{name: "unsupported architecture", edit: func(kv map[string]any) { kv["general.architecture"] = "gpt2" }, wantErr: `unsupported architecture "gpt2"`},
		{name: "no block_count", edit: func(kv map[string]any) { delete(kv, "llama.block_count") }, wantErr: "llama.block_count"},
		{name: "no embedding_length", edit: func(kv map[string]any) { delete(kv, "llama.embedding_length") }, wantErr: "llama.embedding_length"},
		{name: "no feed_forward_length", edit: func(kv map[string]any) { delete(kv, "llama.feed_forward_length") }, wantErr: "llama.feed_forward_length"},
		{name: "no head_count", edit: func(kv map[string]any) { delete(kv, "llama.attention.head_count") }, wantErr: "llama.attention.head_count"},
		{name: "no context_length", edit: func(kv map[string]any) { delete(kv, "llama.context_length") }, wantErr: "llama.context_length"},
		{name: "no rms eps", edit: func(kv map[string]any) { delete(kv, "llama.attention.layer_norm_rms_epsilon") }, wantErr: "layer_norm_rms_epsilon"},
		{name: "wrong key type", edit: func(kv map[string]any) { kv["llama.block_count"] = "two" }, wantErr: "llama.block_count"},
		{name: "zero layers", edit: func(kv map[string]any) { kv["llama.block_count"] = uint32(0) }, wantErr: "out of range"},
		{name: "heads do not divide embd", edit: func(kv map[string]any) {
			kv["llama.attention.head_count"], kv["llama.attention.head_count_kv"] = uint32(7), uint32(1)
		}, wantErr: "not a multiple of head_count 7"},
		{name: "kv heads do not divide heads", edit: func(kv map[string]any) { kv["llama.attention.head_count_kv"] = uint32(3) }, wantErr: "not a multiple of head_count_kv 3"},
		{name: "odd rope dims", edit: func(kv map[string]any) { kv["llama.rope.dimension_count"] = uint32(5) }, wantErr: "rope.dimension_count 5"},
		{name: "rope dims above head size", edit: func(kv map[string]any) { kv["llama.rope.dimension_count"] = uint32(10) }, wantErr: "rope.dimension_count 10"},
		{name: "yarn scaling", edit: func(kv map[string]any) { kv["llama.rope.scaling.type"] = "yarn" }, wantErr: `rope.scaling.type "yarn"`},
		{name: "value_length differs", edit: func(kv map[string]any) { kv["llama.attention.value_length"] = uint32(4) }, wantErr: "value_length 4"},
		{name: "vocab disagrees with token_embd", embdRows: 9, wantErr: "9 rows but the vocabulary has 8"},
		{name: "no vocab at all", edit: func(kv map[string]any) { delete(kv, "tokenizer.ggml.tokens") }, wantErr: "vocabulary size unknown"},
		{name: "negative eps", edit: func(kv map[string]any) { kv["llama.attention.layer_norm_rms_epsilon"] = float32(-1) }, wantErr: "must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kv := llamaKV()
			if tc.edit != nil {
				tc.edit(kv)
			}
			c, err := parseConfig(&fakeFile{kv: kv}, tc.embdRows)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			want := full
			tc.want(&want)
			assert.Equal(t, want, c)
		})
	}
}
