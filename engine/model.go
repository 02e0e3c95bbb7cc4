package engine

import (
	"fmt"

	"github.com/hearthllm/hearth/gguf"
)

// Tensor is one weight tensor of a model: Rows rows of Cols elements each
// (Cols is ggml's ne[0]), stored as Type in Data, a slice of the mapped file.
// A one-dimensional tensor has Rows 1.
type Tensor struct {
	Name       string
	Type       gguf.TensorType
	Rows, Cols int
	Data       []byte
}

// RowBytes returns the bytes one row of t takes.
func (t Tensor) RowBytes() int {
	n, _ := t.Type.RowSize(t.Cols)
	return n
}

// Layer holds the weights of one transformer block.
type Layer struct {
	AttnNorm, Wq, Wk, Wv, Wo, FFNNorm, WGate, WUp, WDown Tensor
}

// Model is a llama-family model: its configuration and its weight tensors,
// which point into the mapped GGUF file (the File must stay open while the
// Model is used).
type Model struct {
	Config
	File                        *gguf.File
	TokEmbd, OutputNorm, Output Tensor
	// RopeFreqs holds per-frequency divisors for RoPE (rope_freqs.weight,
	// Llama 3.1 style scaling); Data is nil when the model has none.
	RopeFreqs Tensor
	Layers    []Layer
}

// tensorSource is the part of *gguf.File that model loading reads.
type tensorSource interface {
	metadata
	Tensor(name string) (gguf.TensorInfo, bool)
	TensorData(t gguf.TensorInfo) []byte
}

// LoadModel reads the configuration and locates the weights of a llama
// model in f. It checks every tensor's presence, type and shape. Output is
// TokEmbd when the file has no output.weight (tied embeddings).
func LoadModel(f *gguf.File) (*Model, error) {
	m, err := loadModel(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	m.File = f
	return m, nil
}

func loadModel(src tensorSource) (*Model, error) {
	nVocabEmbd := 0
	if ti, ok := src.Tensor("token_embd.weight"); ok && len(ti.Dims) >= 2 && ti.Dims[1] < 1<<31 {
		nVocabEmbd = int(ti.Dims[1])
	}
	c, err := parseConfig(src, nVocabEmbd)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: c, Layers: make([]Layer, c.NLayer)}
	q, kv := c.NHead*c.HeadDim, c.NHeadKV*c.HeadDim
	if m.TokEmbd, err = loadTensor(src, "token_embd.weight", c.NVocab, c.NEmbd); err != nil {
		return nil, err
	}
	if m.OutputNorm, err = loadTensor(src, "output_norm.weight", 1, c.NEmbd); err != nil {
		return nil, err
	}
	if _, ok := src.Tensor("output.weight"); ok {
		if m.Output, err = loadTensor(src, "output.weight", c.NVocab, c.NEmbd); err != nil {
			return nil, err
		}
	} else {
		m.Output = m.TokEmbd
	}
	if _, ok := src.Tensor("rope_freqs.weight"); ok {
		if m.RopeFreqs, err = loadTensor(src, "rope_freqs.weight", 1, c.RopeDim/2); err != nil {
			return nil, err
		}
		if m.RopeFreqs.Type != gguf.TypeF32 {
			return nil, fmt.Errorf("engine: rope_freqs.weight has type %s, want F32", m.RopeFreqs.Type)
		}
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		specs := []struct {
			dst        *Tensor
			name       string
			rows, cols int
		}{
			{&l.AttnNorm, "attn_norm", 1, c.NEmbd},
			{&l.Wq, "attn_q", q, c.NEmbd},
			{&l.Wk, "attn_k", kv, c.NEmbd},
			{&l.Wv, "attn_v", kv, c.NEmbd},
			{&l.Wo, "attn_output", c.NEmbd, q},
			{&l.FFNNorm, "ffn_norm", 1, c.NEmbd},
			{&l.WGate, "ffn_gate", c.NFF, c.NEmbd},
			{&l.WUp, "ffn_up", c.NFF, c.NEmbd},
			{&l.WDown, "ffn_down", c.NEmbd, c.NFF},
		}
		for _, s := range specs {
			name := fmt.Sprintf("blk.%d.%s.weight", i, s.name)
			if *s.dst, err = loadTensor(src, name, s.rows, s.cols); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// loadTensor finds a tensor and checks that it has rows rows of cols
// elements (a vector when rows is 1) and a known type.
func loadTensor(src tensorSource, name string, rows, cols int) (Tensor, error) {
	ti, ok := src.Tensor(name)
	if !ok {
		return Tensor{}, fmt.Errorf("engine: missing tensor %s", name)
	}
	want := []uint64{uint64(cols), uint64(rows)}
	got := ti.Dims
	for len(got) > 1 && got[len(got)-1] == 1 { // trailing 1s do not change the shape
		got = got[:len(got)-1]
	}
	if rows == 1 {
		want = want[:1]
	}
	if len(got) != len(want) || got[0] != want[0] || (len(want) > 1 && got[1] != want[1]) {
		return Tensor{}, fmt.Errorf("engine: tensor %s has shape %v, want %v", name, ti.Dims, want)
	}
	if !ti.Type.Known() {
		return Tensor{}, fmt.Errorf("engine: tensor %s has unknown type %s", name, ti.Type)
	}
	rowBytes, ok := ti.Type.RowSize(cols)
	if !ok {
		return Tensor{}, fmt.Errorf("engine: tensor %s: row length %d is not a multiple of the %s block size %d",
			name, cols, ti.Type, ti.Type.BlockSize())
	}
	data := src.TensorData(ti)
	if len(data) != rows*rowBytes {
		return Tensor{}, fmt.Errorf("engine: tensor %s has %d bytes of data, want %d", name, len(data), rows*rowBytes)
	}
	return Tensor{Name: name, Type: ti.Type, Rows: rows, Cols: cols, Data: data}, nil
}

// NParams returns the number of weight elements of the model, counting a
// tied output matrix once.
func (m *Model) NParams() int64 {
	n := int64(0)
	add := func(t Tensor) { n += int64(t.Rows) * int64(t.Cols) }
	add(m.TokEmbd)
	add(m.OutputNorm)
	if m.Output.Name != m.TokEmbd.Name {
		add(m.Output)
	}
	for _, l := range m.Layers {
		for _, t := range []Tensor{l.AttnNorm, l.Wq, l.Wk, l.Wv, l.Wo, l.FFNNorm, l.WGate, l.WUp, l.WDown} {
			add(t)
		}
	}
	return n
}
