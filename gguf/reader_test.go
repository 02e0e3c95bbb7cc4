package gguf

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenAllModels opens every shared GGUF file and checks the invariants
// a reader promises: tensors lie inside the file, are aligned, and the data
// section ends where llama.cpp's layout says.
func TestOpenAllModels(t *testing.T) {
	for _, path := range allModelFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Open(path)
			require.NoError(t, err)
			defer f.Close()
			st, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, uint32(3), f.Version)
			assert.Equal(t, uint64(0), f.DataOffset%f.Alignment)
			assert.Equal(t, path, f.Path)
			for _, kv := range f.KVs() {
				v, ok := f.Value(kv.Key)
				require.True(t, ok)
				assert.True(t, v.Equal(kv.Value))
				_, err := v.MarshalJSON()
				assert.NoError(t, err, kv.Key)
			}
			var end uint64
			for _, ti := range f.Tensors() {
				got, ok := f.Tensor(ti.Name)
				require.True(t, ok)
				assert.Equal(t, ti, got)
				data := f.TensorData(ti)
				require.Len(t, data, int(ti.Size))
				end = max(end, ti.Offset+ti.Size)
			}
			if len(f.Tensors()) > 0 {
				// llama.cpp pads every tensor, the last one included.
				assert.Equal(t, uint64(st.Size()), f.DataOffset+alignUp(end, f.Alignment))
			}
		})
	}
}

// modelFacts are the facts /work/shared/models/README.md states (measured
// with llama.cpp and the generating scripts).
type modelFacts struct {
	file       string
	kvs        int // -1: not stated
	tensors    int
	params     uint64 // sum of tensor elements; 0: not stated
	u32        map[string]uint32
	f32        map[string]float32
	str        map[string]string
	nTokens    int
	weightType TensorType // type of token_embd.weight
}

func TestModelFacts(t *testing.T) {
	synth := func(name string, typ TensorType) modelFacts {
		return modelFacts{
			file: "synthetic/tiny-synth-" + name + ".gguf", kvs: -1, tensors: 21, params: 1443072,
			u32: map[string]uint32{
				"llama.block_count": 2, "llama.embedding_length": 256, "llama.attention.head_count": 8,
				"llama.attention.head_count_kv": 4, "llama.feed_forward_length": 512, "llama.context_length": 2048,
				"llama.rope.dimension_count": 32, "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
				"tokenizer.ggml.unknown_token_id": 0, "tokenizer.ggml.padding_token_id": 4294967295,
			},
			f32:        map[string]float32{"llama.rope.freq_base": 10000, "llama.attention.layer_norm_rms_epsilon": 1e-5},
			str:        map[string]string{"general.architecture": "llama", "general.name": "tiny-synth-llama", "tokenizer.ggml.model": "llama"},
			nTokens:    512,
			weightType: typ,
		}
	}
	vocab := func(name string, kvs int, arch, model, pre string, tokens int) modelFacts {
		str := map[string]string{"general.architecture": arch, "tokenizer.ggml.model": model}
		if pre != "" {
			str["tokenizer.ggml.pre"] = pre
		}
		return modelFacts{file: "vocab/ggml-vocab-" + name + ".gguf", kvs: kvs, tensors: 0, str: str, nTokens: tokens}
	}
	noKV := -1
	cases := []modelFacts{
		{
			file: "stories260K.gguf", kvs: 19, tensors: 48, params: 292800,
			u32: map[string]uint32{
				"llama.block_count": 5, "llama.embedding_length": 64, "llama.attention.head_count": 8,
				"llama.attention.head_count_kv": 4, "llama.feed_forward_length": 172, "llama.context_length": 2048,
				"llama.rope.dimension_count": 8, "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
				"tokenizer.ggml.unknown_token_id": 0, "tokenizer.ggml.seperator_token_id": 4294967295,
				"tokenizer.ggml.padding_token_id": 4294967295,
			},
			f32:        map[string]float32{"llama.attention.layer_norm_rms_epsilon": 1e-5},
			str:        map[string]string{"general.architecture": "llama", "tokenizer.ggml.model": "llama"},
			nTokens:    512,
			weightType: TypeF32,
		},
		{
			file: "llama-2-tiny-random.gguf", kvs: 18, tensors: 12, params: 513050,
			u32: map[string]uint32{
				"llama.block_count": 1, "llama.embedding_length": 8, "llama.attention.head_count": 2,
				"llama.attention.head_count_kv": 2, "llama.feed_forward_length": 32, "llama.context_length": 4096,
				"llama.rope.dimension_count": 4, "general.file_type": 1, "tokenizer.ggml.bos_token_id": 1,
				"tokenizer.ggml.eos_token_id": 2, "tokenizer.ggml.unknown_token_id": 0,
			},
			f32:        map[string]float32{"llama.attention.layer_norm_rms_epsilon": 1e-5},
			str:        map[string]string{"general.architecture": "llama", "tokenizer.ggml.model": "llama"},
			nTokens:    32000,
			weightType: TypeF16,
		},
		synth("f32", TypeF32), synth("f16", TypeF16), synth("bf16", TypeBF16),
		synth("q4_0", TypeQ4_0), synth("q4_1", TypeQ4_1), synth("q5_0", TypeQ5_0), synth("q5_1", TypeQ5_1),
		synth("q8_0", TypeQ8_0), synth("q2_k", TypeQ2_K), synth("q3_k", TypeQ3_K), synth("q4_k", TypeQ4_K),
		synth("q5_k", TypeQ5_K), synth("q6_k", TypeQ6_K),
		vocab("llama-spm", noKV, "llama", "llama", "default", 32000),
		vocab("phi-3", noKV, "phi3", "llama", "default", 32064),
		vocab("baichuan", noKV, "baichuan", "llama", "", 64000),
		vocab("bert-bge", noKV, "bert", "bert", "bert-bge", 30522),
		vocab("deepseek-coder", noKV, "llama", "gpt2", "deepseek-coder", 32256),
		vocab("deepseek-llm", noKV, "llama", "gpt2", "deepseek-llm", 102400),
		vocab("falcon", noKV, "falcon", "gpt2", "falcon", 65024),
		vocab("gpt-2", noKV, "gpt2", "gpt2", "gpt-2", 50257),
		vocab("gpt-neox", noKV, "gptneox", "gpt2", "", 50432),
		vocab("mpt", noKV, "mpt", "gpt2", "mpt", 50432),
		vocab("refact", noKV, "refact", "gpt2", "refact", 49216),
		vocab("starcoder", noKV, "starcoder2", "gpt2", "starcoder", 49152),
		vocab("llama-bpe", noKV, "llama", "gpt2", "llama-bpe", 128256),
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f, err := Open(testmodels.Path(t, c.file))
			require.NoError(t, err)
			defer f.Close()
			if c.kvs >= 0 {
				assert.Len(t, f.KVs(), c.kvs)
			}
			assert.Len(t, f.Tensors(), c.tensors)
			assert.Equal(t, uint64(32), f.Alignment)
			if c.params > 0 {
				var n uint64
				for _, ti := range f.Tensors() {
					n += ti.Elements()
				}
				// The README quotes llama.cpp's "model params = 513.05 K",
				// which is rounded to 10 parameters.
				assert.InDelta(t, c.params, n, 5, "parameter count")
			}
			for k, want := range c.u32 {
				got, err := f.Uint32(k)
				if assert.NoError(t, err) {
					assert.Equal(t, want, got, k)
				}
			}
			for k, want := range c.f32 {
				got, err := f.Float32(k)
				if assert.NoError(t, err) {
					assert.Equal(t, want, got, k)
				}
			}
			for k, want := range c.str {
				got, err := f.String(k)
				if assert.NoError(t, err) {
					assert.Equal(t, want, got, k)
				}
			}
			tokens, err := f.Strings("tokenizer.ggml.tokens")
			require.NoError(t, err)
			assert.Len(t, tokens, c.nTokens)
			if c.tensors > 0 {
				emb, ok := f.Tensor("token_embd.weight")
				require.True(t, ok)
				assert.Equal(t, c.weightType, emb.Type)
				assert.Equal(t, uint64(c.nTokens), emb.Dims[1])
			}
		})
	}
}

// TestStories260KDetails checks SentencePiece vocabulary details the
// README states and that every tensor is F32.
func TestStories260KDetails(t *testing.T) {
	f, err := Open(testmodels.Path(t, "stories260K.gguf"))
	require.NoError(t, err)
	defer f.Close()
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	require.NoError(t, err)
	assert.Equal(t, "<unk>", tokens[0])
	assert.Equal(t, "<s>", tokens[1])
	assert.Equal(t, "</s>", tokens[2])
	assert.Equal(t, "<0x00>", tokens[3])
	assert.Equal(t, "<0xFF>", tokens[258])
	maxLen := 0
	for _, s := range tokens {
		maxLen = max(maxLen, len(s))
	}
	assert.Equal(t, 9, maxLen, "max token length")
	scores, err := f.Float32s("tokenizer.ggml.scores")
	require.NoError(t, err)
	assert.Len(t, scores, 512)
	types, err := f.Int32s("tokenizer.ggml.token_type")
	require.NoError(t, err)
	assert.Len(t, types, 512)
	assert.Equal(t, int32(6), types[3], "byte tokens have type BYTE (6)")
	assert.False(t, f.Has("llama.rope.freq_base"))
	assert.False(t, f.Has("general.file_type"))
	assert.False(t, f.Has("tokenizer.ggml.add_bos_token"))
	assert.False(t, f.Has("tokenizer.ggml.pre"))
	for _, ti := range f.Tensors() {
		assert.Equal(t, TypeF32, ti.Type, ti.Name)
	}
	out, ok := f.Tensor("output.weight")
	require.True(t, ok)
	assert.Equal(t, []uint64{64, 512}, out.Dims)
	ffn, ok := f.Tensor("blk.0.ffn_up.weight")
	require.True(t, ok)
	assert.Equal(t, []uint64{64, 172}, ffn.Dims)
}

// TestTensorDataContents checks that TensorData points at the right bytes:
// tiny-synth's norm weights are all 1.0 and its matrices N(0, 0.1).
func TestTensorDataContents(t *testing.T) {
	f, err := Open(testmodels.Path(t, "synthetic/tiny-synth-f32.gguf"))
	require.NoError(t, err)
	defer f.Close()
	for _, ti := range f.Tensors() {
		data := f.TensorData(ti)
		require.Equal(t, TypeF32, ti.Type)
		n := len(data) / 4
		var sum, sq float64
		for i := range n {
			x := float64(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])))
			sum += x
			sq += x * x
		}
		if strings.HasSuffix(ti.Name, "norm.weight") {
			assert.Equal(t, float64(n), sum, ti.Name)
			assert.Equal(t, float64(n), sq, ti.Name)
			continue
		}
		std := math.Sqrt(sq/float64(n) - (sum/float64(n))*(sum/float64(n)))
		assert.InDelta(t, 0.1, std, 0.01, ti.Name)
		assert.InDelta(t, 0, sum/float64(n), 0.01, ti.Name)
	}
}

func TestLlamaBPEVocab(t *testing.T) {
	f, err := Open(testmodels.Path(t, "vocab/ggml-vocab-llama-bpe.gguf"))
	require.NoError(t, err)
	defer f.Close()
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	require.NoError(t, err)
	require.Len(t, tokens, 128256)
	assert.Equal(t, "<|begin_of_text|>", tokens[128000])
	assert.Equal(t, "<|eot_id|>", tokens[128009])
	merges, err := f.Strings("tokenizer.ggml.merges")
	require.NoError(t, err)
	assert.Len(t, merges, 280147)
	for k, want := range map[string]uint32{
		"tokenizer.ggml.bos_token_id": 128000, "tokenizer.ggml.eos_token_id": 128001,
		"llama.block_count": 32, "llama.embedding_length": 4096, "llama.feed_forward_length": 14336,
		"llama.attention.head_count": 32, "llama.attention.head_count_kv": 8, "llama.context_length": 8192,
	} {
		got, err := f.Uint32(k)
		require.NoError(t, err, k)
		assert.Equal(t, want, got, k)
	}
	base, err := f.Float32("llama.rope.freq_base")
	require.NoError(t, err)
	assert.Equal(t, float32(500000), base)
	addBOS, err := f.Bool("tokenizer.ggml.add_bos_token")
	require.NoError(t, err)
	assert.True(t, addBOS)
	addEOS, err := f.Bool("tokenizer.ggml.add_eos_token")
	require.NoError(t, err)
	assert.False(t, addEOS)
	types, err := f.Int32s("tokenizer.ggml.token_type")
	require.NoError(t, err)
	assert.Equal(t, int32(1), types[0], "NORMAL")
	assert.Equal(t, int32(3), types[128000], "CONTROL")
}

// TestAccessorErrors checks the typed accessors' conversions and messages.
func TestAccessorErrors(t *testing.T) {
	w := NewWriter()
	w.SetKV("s", StringValue("x"))
	w.SetKV("u8", Uint8Value(7))
	w.SetKV("i8neg", Int8Value(-1))
	w.SetKV("u64big", Uint64Value(1<<40))
	w.SetKV("i64", Int64Value(123))
	w.SetKV("f64", Float64Value(0.5))
	w.SetKV("b", BoolValue(true))
	w.SetKV("u16s", ArrayOf([]uint16{1, 65535}))
	w.SetKV("u32s", Uint32sValue([]uint32{1, 1 << 31}))
	w.SetKV("f64s", ArrayOf([]float64{1.5, -2}))
	f := parseWriter(t, "acc.gguf", w)

	u, err := f.Uint32("u8")
	require.NoError(t, err)
	assert.Equal(t, uint32(7), u)
	u, err = f.Uint32("i64")
	require.NoError(t, err)
	assert.Equal(t, uint32(123), u)
	u64, err := f.Uint64("u64big")
	require.NoError(t, err)
	assert.Equal(t, uint64(1<<40), u64)
	i64, err := f.Int64("i8neg")
	require.NoError(t, err)
	assert.Equal(t, int64(-1), i64)
	fl, err := f.Float32("f64")
	require.NoError(t, err)
	assert.Equal(t, float32(0.5), fl)
	fs, err := f.Float32s("f64s")
	require.NoError(t, err)
	assert.Equal(t, []float32{1.5, -2}, fs)
	is, err := f.Int32s("u16s")
	require.NoError(t, err)
	assert.Equal(t, []int32{1, 65535}, is)

	errCases := []struct {
		name string
		get  func() error
		want string
	}{
		{"missing", func() error { _, err := f.String("nope"); return err }, `gguf: acc.gguf: key "nope": key not found`},
		{"string as uint32", func() error { _, err := f.Uint32("s"); return err }, `gguf: acc.gguf: key "s": value is string, not an integer`},
		{"negative", func() error { _, err := f.Uint32("i8neg"); return err }, `key "i8neg": value -1 (int8) is negative`},
		{"too big", func() error { _, err := f.Uint32("u64big"); return err }, `key "u64big": value 1099511627776 (uint64) does not fit in uint32`},
		{"int as float", func() error { _, err := f.Float32("u8"); return err }, `key "u8": value is uint8, not a float`},
		{"array as string", func() error { _, err := f.String("u16s"); return err }, `key "u16s": value is an array of uint16, not string`},
		{"bool", func() error { _, err := f.Bool("s"); return err }, `key "s": value is string, not bool`},
		{"strings", func() error { _, err := f.Strings("u16s"); return err }, `key "u16s": value is an array of uint16, not an array of string`},
		{"int32s overflow", func() error { _, err := f.Int32s("u32s"); return err }, `key "u32s": element 1: value 2147483648 (uint32) does not fit in int32`},
		{"float32s of ints", func() error { _, err := f.Float32s("u32s"); return err }, `not an array of float`},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			err := c.get()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err = f.Bool("nope")
	assert.True(t, errors.Is(err, ErrKeyNotFound))
}

func TestCloseAndTensorData(t *testing.T) {
	f, err := Open(testmodels.Path(t, "stories260K.gguf"))
	require.NoError(t, err)
	ti := f.Tensors()[0]
	assert.NotNil(t, f.TensorData(ti))
	bogus := ti
	bogus.Offset = 1 << 62
	assert.Nil(t, f.TensorData(bogus))
	bogus.Offset, bogus.Size = 0, math.MaxUint64
	assert.Nil(t, f.TensorData(bogus))
	v, ok := f.Value("tokenizer.ggml.tokens")
	require.True(t, ok)
	require.NoError(t, f.Close())
	require.NoError(t, f.Close())
	assert.Nil(t, f.TensorData(ti))
	// Metadata outlives the mapping.
	s, err := v.AsStrings()
	require.NoError(t, err)
	assert.Equal(t, "<s>", s[1])
}

func TestOpenMissingAndEmpty(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "nope.gguf"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope.gguf")
	empty := filepath.Join(dir, "empty.gguf")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = Open(empty)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gguf: "+empty+": offset 0: unexpected end of file reading magic")
}

// TestReleasePages checks that releasing a mapped tensor's pages keeps its
// bytes readable and unchanged, and that a slice from outside the file, an
// empty one, a file parsed from memory and a closed file are left alone.
func TestReleasePages(t *testing.T) {
	path := testmodels.Path(t, "stories260K.gguf")
	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, ti := range f.Tensors() {
		d := f.TensorData(ti)
		want := append([]byte(nil), d...)
		f.ReleasePages(d)
		require.Equal(t, want, d, "tensor %s after ReleasePages", ti.Name)
		require.Equal(t, raw[f.DataOffset+ti.Offset:][:len(d)], d, "tensor %s against the file", ti.Name)
	}
	own := []byte{1, 2, 3}
	f.ReleasePages(own)
	f.ReleasePages(nil)
	assert.Equal(t, []byte{1, 2, 3}, own)
	p, err := Parse(path, raw)
	require.NoError(t, err)
	d := p.TensorData(p.Tensors()[0])
	want := append([]byte(nil), d...)
	p.ReleasePages(d) // not mapped: nothing to do
	assert.Equal(t, want, d)
	require.NoError(t, f.Close())
	f.ReleasePages(raw)
}
