package engine

import (
	"fmt"
	"math"
)

// Config holds the hyperparameters of a llama-family model, read from GGUF
// metadata the way llama.cpp reads them.
type Config struct {
	Arch      string // general.architecture, "llama"
	NLayer    int    // transformer blocks
	NEmbd     int    // hidden size
	NHead     int    // query heads
	NHeadKV   int    // key/value heads (grouped-query attention when < NHead)
	HeadDim   int    // elements per attention head
	NFF       int    // feed-forward hidden size
	NVocab    int    // vocabulary size (rows of token_embd)
	NCtxTrain int    // training context length
	RopeDim   int    // leading elements of each head that RoPE rotates

	RopeBase  float32 // RoPE frequency base
	RopeScale float32 // linear RoPE scaling factor (1 = none); positions are divided by it
	RMSEps    float32 // RMSNorm epsilon
}

// metadata is the part of *gguf.File that config parsing reads.
type metadata interface {
	Has(key string) bool
	String(key string) (string, error)
	Uint32(key string) (uint32, error)
	Float32(key string) (float32, error)
	Strings(key string) ([]string, error)
}

// supportedArchs lists the general.architecture values whose graph the
// engine implements. Mistral and Llama 2/3 GGUFs use "llama".
var supportedArchs = map[string]bool{"llama": true}

// parseConfig reads a model's hyperparameters from GGUF metadata.
// nVocabEmbd is the number of rows of token_embd.weight (0 if unknown); it
// is used when the file has no tokenizer.ggml.tokens and must agree with it
// otherwise.
func parseConfig(md metadata, nVocabEmbd int) (Config, error) {
	var c Config
	arch, err := md.String("general.architecture")
	if err != nil {
		return c, fmt.Errorf("engine: %w", err)
	}
	if !supportedArchs[arch] {
		return c, fmt.Errorf("engine: unsupported architecture %q (supported: llama)", arch)
	}
	c.Arch = arch
	k := func(s string) string { return arch + "." + s }

	ints := []struct {
		key string
		dst *int
	}{
		{k("block_count"), &c.NLayer},
		{k("embedding_length"), &c.NEmbd},
		{k("feed_forward_length"), &c.NFF},
		{k("attention.head_count"), &c.NHead},
		{k("context_length"), &c.NCtxTrain},
	}
	for _, f := range ints {
		v, err := md.Uint32(f.key)
		if err != nil {
			return c, fmt.Errorf("engine: %w", err)
		}
		if v == 0 || v > math.MaxInt32 {
			return c, fmt.Errorf("engine: %s = %d is out of range", f.key, v)
		}
		*f.dst = int(v)
	}
	optInt := func(key string, def int) (int, error) {
		if !md.Has(key) {
			return def, nil
		}
		v, err := md.Uint32(key)
		if err != nil {
			return 0, fmt.Errorf("engine: %w", err)
		}
		if v == 0 || v > math.MaxInt32 {
			return 0, fmt.Errorf("engine: %s = %d is out of range", key, v)
		}
		return int(v), nil
	}
	if c.NHeadKV, err = optInt(k("attention.head_count_kv"), c.NHead); err != nil {
		return c, err
	}
	if c.NHead%c.NHeadKV != 0 {
		return c, fmt.Errorf("engine: head_count %d is not a multiple of head_count_kv %d", c.NHead, c.NHeadKV)
	}
	defHeadDim := 0
	if c.NEmbd%c.NHead == 0 {
		defHeadDim = c.NEmbd / c.NHead
	}
	if c.HeadDim, err = optInt(k("attention.key_length"), defHeadDim); err != nil {
		return c, err
	}
	if c.HeadDim == 0 {
		return c, fmt.Errorf("engine: embedding_length %d is not a multiple of head_count %d", c.NEmbd, c.NHead)
	}
	vlen, err := optInt(k("attention.value_length"), c.HeadDim)
	if err != nil {
		return c, err
	}
	if vlen != c.HeadDim {
		return c, fmt.Errorf("engine: attention.value_length %d differs from key_length %d (unsupported)", vlen, c.HeadDim)
	}
	if c.RopeDim, err = optInt(k("rope.dimension_count"), c.HeadDim); err != nil {
		return c, err
	}
	if c.RopeDim%2 != 0 || c.RopeDim > c.HeadDim {
		return c, fmt.Errorf("engine: rope.dimension_count %d must be even and at most the head size %d", c.RopeDim, c.HeadDim)
	}

	eps, err := md.Float32(k("attention.layer_norm_rms_epsilon"))
	if err != nil {
		return c, fmt.Errorf("engine: %w", err)
	}
	if !(eps > 0) || math.IsInf(float64(eps), 0) {
		return c, fmt.Errorf("engine: %s = %g must be positive", k("attention.layer_norm_rms_epsilon"), eps)
	}
	c.RMSEps = eps

	optFloat := func(key string, def float32) (float32, error) {
		if !md.Has(key) {
			return def, nil
		}
		v, err := md.Float32(key)
		if err != nil {
			return 0, fmt.Errorf("engine: %w", err)
		}
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 {
			return 0, fmt.Errorf("engine: %s = %g is out of range", key, v)
		}
		return v, nil
	}
	if c.RopeBase, err = optFloat(k("rope.freq_base"), 10000); err != nil {
		return c, err
	}
	if c.RopeBase == 0 {
		c.RopeBase = 10000
	}
	// Like llama.cpp: the scaling type defaults to linear, and the factor
	// comes from rope.scaling.factor, else the older rope.scale_linear;
	// 0 (or absent) means no scaling.
	if md.Has(k("rope.scaling.type")) {
		typ, err := md.String(k("rope.scaling.type"))
		if err != nil {
			return c, fmt.Errorf("engine: %w", err)
		}
		if typ != "none" && typ != "linear" {
			return c, fmt.Errorf("engine: rope.scaling.type %q is not supported (only none and linear)", typ)
		}
	}
	scale, err := optFloat(k("rope.scaling.factor"), 0)
	if err != nil {
		return c, err
	}
	if scale == 0 {
		if scale, err = optFloat(k("rope.scale_linear"), 0); err != nil {
			return c, err
		}
	}
	if scale == 0 {
		scale = 1
	}
	c.RopeScale = scale

	switch {
	case md.Has("tokenizer.ggml.tokens"):
		toks, err := md.Strings("tokenizer.ggml.tokens")
		if err != nil {
			return c, fmt.Errorf("engine: %w", err)
		}
		c.NVocab = len(toks)
		if nVocabEmbd != 0 && nVocabEmbd != c.NVocab {
			return c, fmt.Errorf("engine: token_embd.weight has %d rows but the vocabulary has %d tokens", nVocabEmbd, c.NVocab)
		}
	default:
		c.NVocab = nVocabEmbd
	}
	if c.NVocab <= 0 {
		return c, fmt.Errorf("engine: vocabulary size unknown (no tokenizer.ggml.tokens and no token_embd.weight)")
	}
	return c, nil
}
