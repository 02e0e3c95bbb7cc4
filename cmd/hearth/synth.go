package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
)

// preset is the shape of a synthetic llama.
type preset struct {
	name                               string
	nLayer, nEmbd, nFF, nHead, nHeadKV int
	nCtx                               int
	ropeBase, rmsEps                   float32
}

var presets = []preset{
	{"tinyllama-1.1b", 22, 2048, 5632, 32, 4, 2048, 10000, 1e-5},
	{"tiny", 2, 256, 512, 8, 4, 2048, 10000, 1e-5},
}

// synthStd is the standard deviation of the random weights.
const synthStd = 0.02

// rowRNG returns the generator state for one row of one tensor: the values
// depend only on (seed, tensor, row), never on the thread that makes them.
func rowRNG(seed uint64, tensor, row int) uint64 {
	x := seed ^ uint64(tensor+1)*0x9e3779b97f4a7c15 ^ uint64(row+1)*0xd1b54a32d192ed03
	return splitmix(&x) // one scramble so nearby rows differ in every bit
}

// splitmix advances *x and returns the next splitmix64 output.
func splitmix(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fillGaussian fills dst with approximately N(0, std²) values: each is the
// centred, scaled sum of the four 16-bit quarters of one splitmix64 output
// (Irwin-Hall with n = 4), cheap and good enough for random weights.
func fillGaussian(dst []float32, state uint64, std float32) {
	// The sum of 4 uniforms on [0, 1) has mean 2 and variance 1/3.
	scale := std * float32(math.Sqrt(3)) / 65536
	for i := range dst {
		r := splitmix(&state)
		s := int(r&0xffff) + int(r>>16&0xffff) + int(r>>32&0xffff) + int(r>>48)
		dst[i] = float32(s-2*65535) * scale
	}
}

func cmdSynth(e *env, args []string) error {
	fl := newFlags(e, "synth")
	presetName := fl.String("preset", "", "model shape: tinyllama-1.1b or tiny")
	typName := fl.String("type", "F32", "weight type, as llama-quantize names it (Q4_K_M, Q8_0, F16, ...)")
	vocab := fl.String("vocab", "", "GGUF `FILE` whose tokenizer the model gets")
	seed := fl.Uint64("seed", 42, "random seed")
	out := fl.String("o", "", "output `FILE`")
	threads := fl.Int("threads", 0, "worker threads (0 = all cores)")
	pos, err := parse(e, fl, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	var p preset
	for _, x := range presets {
		if x.name == *presetName {
			p = x
		}
	}
	switch {
	case p.name == "":
		return usagef("--preset must be tinyllama-1.1b or tiny, got %q", *presetName)
	case *vocab == "":
		return usagef("missing --vocab VOCAB.gguf")
	case *out == "":
		return usagef("missing -o OUT")
	}
	ft, err := parseFtype(*typName)
	if err != nil {
		return err
	}
	vf, err := openGGUF(*vocab)
	if err != nil {
		return err
	}
	defer vf.Close()
	toks, err := vf.Strings("tokenizer.ggml.tokens")
	if err != nil {
		return fmt.Errorf("%s has no vocabulary: %w", *vocab, err)
	}
	nVocab := len(toks)
	headDim := p.nEmbd / p.nHead
	nEmbdKV := headDim * p.nHeadKV

	w := gguf.NewWriter()
	w.SetKV("general.architecture", gguf.StringValue("llama"))
	w.SetKV("general.name", gguf.StringValue("hearth-synth-"+p.name))
	w.SetKV("llama.context_length", gguf.Uint32Value(uint32(p.nCtx)))
	w.SetKV("llama.embedding_length", gguf.Uint32Value(uint32(p.nEmbd)))
	w.SetKV("llama.block_count", gguf.Uint32Value(uint32(p.nLayer)))
	w.SetKV("llama.feed_forward_length", gguf.Uint32Value(uint32(p.nFF)))
	w.SetKV("llama.rope.dimension_count", gguf.Uint32Value(uint32(headDim)))
	w.SetKV("llama.attention.head_count", gguf.Uint32Value(uint32(p.nHead)))
	w.SetKV("llama.attention.head_count_kv", gguf.Uint32Value(uint32(p.nHeadKV)))
	w.SetKV("llama.attention.layer_norm_rms_epsilon", gguf.Float32Value(p.rmsEps))
	w.SetKV("llama.rope.freq_base", gguf.Float32Value(p.ropeBase))
	w.SetKV("llama.vocab_size", gguf.Uint32Value(uint32(nVocab)))
	w.SetKV("general.file_type", gguf.Uint32Value(uint32(ft)))
	w.SetKV("general.quantization_version", gguf.Uint32Value(2))
	w.CopyKVs(vf, "tokenizer.")

	// Tensors in llama.cpp's order: token_embd, output_norm, output, then per
	// block attn_norm, q, k, v, o, ffn_norm, gate, down, up. rows == 0 marks
	// a norm vector.
	type shape struct {
		name       string
		cols, rows int
	}
	shapes := []shape{{"token_embd.weight", p.nEmbd, nVocab}, {"output_norm.weight", p.nEmbd, 0}, {"output.weight", p.nEmbd, nVocab}}
	for l := 0; l < p.nLayer; l++ {
		b := fmt.Sprintf("blk.%d.", l)
		shapes = append(shapes,
			shape{b + "attn_norm.weight", p.nEmbd, 0},
			shape{b + "attn_q.weight", p.nEmbd, p.nEmbd},
			shape{b + "attn_k.weight", p.nEmbd, nEmbdKV},
			shape{b + "attn_v.weight", p.nEmbd, nEmbdKV},
			shape{b + "attn_output.weight", p.nEmbd, p.nEmbd},
			shape{b + "ffn_norm.weight", p.nEmbd, 0},
			shape{b + "ffn_gate.weight", p.nEmbd, p.nFF},
			shape{b + "ffn_down.weight", p.nFF, p.nEmbd},
			shape{b + "ffn_up.weight", p.nEmbd, p.nFF})
	}
	mp := quant.MixParams{NLayer: p.nLayer, NHead: p.nHead, NHeadKV: p.nHeadKV}
	ones := make([]byte, 4*p.nEmbd)
	for i := 0; i < p.nEmbd; i++ {
		binary.LittleEndian.PutUint32(ones[4*i:], math.Float32bits(1))
	}
	pools := map[gguf.TensorType]*blockPool{}
	var plans []tensorPlan
	for i, m := range shapes {
		if m.rows == 0 {
			plans = append(plans, tensorPlan{name: m.name, dims: []uint64{uint64(m.cols)}, typ: gguf.TypeF32, raw: ones})
			continue
		}
		i, m := i, m
		dims := []uint64{uint64(m.cols), uint64(m.rows)}
		typ, err := quant.TensorTypeFor(ft, gguf.TensorInfo{Name: m.name, Dims: dims, Type: gguf.TypeF32}, mp)
		if err != nil {
			return err
		}
		plan := tensorPlan{
			name: m.name, dims: dims, typ: typ,
			fill: func(dst []float32, r0, r1 int) error {
				for r := r0; r < r1; r++ {
					fillGaussian(dst[(r-r0)*m.cols:(r-r0+1)*m.cols], rowRNG(*seed, i, r), synthStd)
				}
				return nil
			},
		}
		if m.cols*m.rows >= poolMinElements && typ.BlockSize() >= 32 {
			pool := pools[typ]
			if pool == nil {
				if pool, err = newBlockPool(typ, *seed, *threads); err != nil {
					return err
				}
				pools[typ] = pool
			}
			plan.fillQ = func(dst []byte, r0, r1 int) { pool.fillRows(dst, m.cols, i, r0, r1, *seed) }
		}
		plans = append(plans, plan)
	}
	if err := writeTensors(w, plans, *threads); err != nil {
		return err
	}
	return w.WriteFile(*out)
}

// Large tensors of block types are assembled from a pool of quantized
// blocks instead of quantizing every row: quantizing 1.1 billion weights to
// K-quants takes minutes, while the pool is made once per type. Each pool
// block is an independently drawn and quantized N(0, std²) block, and each
// row takes its blocks from the pool by a seeded hash, so weights look random
// at every scale that matters for a synthetic model.
const (
	poolBlocks      = 1 << 15
	poolMinElements = 1 << 18
)

// blockPool holds poolBlocks quantized blocks of one type.
type blockPool struct {
	typeSize, blockSize int
	data                []byte
}

func newBlockPool(t gguf.TensorType, seed uint64, threads int) (*blockPool, error) {
	tr, err := quant.For(t)
	if err != nil || tr.Quantize == nil {
		return nil, fmt.Errorf("cannot quantize to %s", t)
	}
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &blockPool{typeSize: tr.TypeSize, blockSize: tr.BlockSize, data: make([]byte, poolBlocks*tr.TypeSize)}
	var wg sync.WaitGroup
	per := (poolBlocks + threads - 1) / threads
	for w := 0; w < threads; w++ {
		a, b := w*per, min((w+1)*per, poolBlocks)
		if a >= b {
			break
		}
		wg.Add(1)
		go func(a, b int) {
			defer wg.Done()
			f := make([]float32, tr.BlockSize)
			for k := a; k < b; k++ {
				fillGaussian(f, rowRNG(seed^uint64(t)<<32, -2, k), synthStd)
				tr.Quantize(p.data[k*tr.TypeSize:(k+1)*tr.TypeSize], f)
			}
		}(a, b)
	}
	wg.Wait()
	return p, nil
}

// fillRows writes rows [r0, r1) of tensor number tensor (cols elements per
// row) into dst, each block copied from the pool.
func (p *blockPool) fillRows(dst []byte, cols, tensor, r0, r1 int, seed uint64) {
	nb := cols / p.blockSize
	off := 0
	for r := r0; r < r1; r++ {
		state := rowRNG(seed, tensor, r)
		for j := 0; j < nb; j++ {
			k := int(splitmix(&state) % poolBlocks)
			copy(dst[off:off+p.typeSize], p.data[k*p.typeSize:])
			off += p.typeSize
		}
	}
}
