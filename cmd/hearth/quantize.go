package main

import (
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
)

// ftypeNames lists the file types hearth quantize and synth accept.
const ftypeNames = "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K_S, Q3_K_M (Q3_K), Q3_K_L, Q4_K_S, Q4_K_M (Q4_K), Q5_K_S, Q5_K_M (Q5_K), Q6_K"

// parseFtype parses a file type as llama-quantize names it.
func parseFtype(s string) (quant.FileType, error) {
	ft, err := quant.ParseFileType(s)
	if err != nil {
		return 0, usagef("unknown type %q (one of %s)", s, ftypeNames)
	}
	return ft, nil
}

// mixParams reads what llama.cpp's type mix needs to know about a model.
func mixParams(f *gguf.File) quant.MixParams {
	var p quant.MixParams
	arch, _ := f.String("general.architecture")
	get := func(key string) int {
		n, err := f.Uint32(arch + "." + key)
		if err != nil {
			return 0
		}
		return int(n)
	}
	p.NLayer, p.NHead, p.NHeadKV, p.NExpert = get("block_count"), get("attention.head_count"), get("attention.head_count_kv"), get("expert_count")
	if p.NHeadKV == 0 {
		p.NHeadKV = p.NHead
	}
	_, hasOutput := f.Tensor("output.weight")
	p.TiedOutput = !hasOutput
	p.Is70B = p.NLayer == 80 && p.NHeadKV != p.NHead
	return p
}

// tensorPlan describes one tensor of the output.
type tensorPlan struct {
	name string
	dims []uint64
	typ  gguf.TensorType
	// fill writes rows [r0, r1) as float32 into dst (len (r1-r0)*dims[0]);
	// used when the tensor is converted.
	fill func(dst []float32, r0, r1 int) error
	// fillQ, when non-nil, replaces fill: it writes rows [r0, r1) already
	// in typ into dst.
	fillQ func(dst []byte, r0, r1 int)
	// raw, when non-nil, is copied as is (same type in and out).
	raw []byte
}

// writeTensors adds every planned tensor to w; conversions run when the
// file is written, a chunk of rows at a time over threads goroutines, so
// memory stays bounded by the chunk size.
func writeTensors(w *gguf.Writer, plans []tensorPlan, threads int) error {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	for _, p := range plans {
		if p.raw != nil {
			if err := w.AddTensor(p.name, p.typ, p.dims, p.raw); err != nil {
				return err
			}
			continue
		}
		p := p
		if err := w.AddTensorFunc(p.name, p.typ, p.dims, func(out io.Writer) error {
			return convert(out, p, threads)
		}); err != nil {
			return err
		}
	}
	return nil
}

// convert produces tensor p's bytes in p.typ from its float32 rows.
func convert(out io.Writer, p tensorPlan, threads int) error {
	tr, err := quant.For(p.typ)
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	if tr.Quantize == nil {
		return fmt.Errorf("%s: quantizing to %s is not supported", p.name, p.typ)
	}
	cols := int(p.dims[0])
	rows := 1
	for _, d := range p.dims[1:] {
		rows *= int(d)
	}
	rowBytes := tr.RowSize(cols)
	// Chunks of about 8 MiB of float32 per worker.
	per := max(1, (8<<20)/(4*cols))
	chunk := per * threads
	buf := make([]byte, min(chunk, rows)*rowBytes)
	scratch := make([][]float32, threads)
	if p.fillQ == nil {
		for i := range scratch {
			scratch[i] = make([]float32, min(per, rows)*cols)
		}
	}
	for r0 := 0; r0 < rows; r0 += chunk {
		r1 := min(r0+chunk, rows)
		var wg sync.WaitGroup
		errs := make([]error, threads)
		for t := 0; t < threads; t++ {
			a := r0 + t*per
			if a >= r1 {
				break
			}
			b := min(a+per, r1)
			wg.Add(1)
			go func(t, a, b int) {
				defer wg.Done()
				if p.fillQ != nil {
					p.fillQ(buf[(a-r0)*rowBytes:(b-r0)*rowBytes], a, b)
					return
				}
				f := scratch[t][:(b-a)*cols]
				if err := p.fill(f, a, b); err != nil {
					errs[t] = err
					return
				}
				for r := a; r < b; r++ {
					tr.Quantize(buf[(r-r0)*rowBytes:(r-r0+1)*rowBytes], f[(r-a)*cols:(r-a+1)*cols])
				}
			}(t, a, b)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
		}
		if _, err := out.Write(buf[:(r1-r0)*rowBytes]); err != nil {
			return err
		}
	}
	return nil
}

func cmdQuantize(e *env, args []string) error {
	fl := newFlags(e, "quantize")
	threads := fl.Int("threads", 0, "worker threads (0 = all cores)")
	pure := fl.Bool("pure", false, "give every weight matrix the type's default type (llama-quantize --pure)")
	pos, err := parse(e, fl, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return usagef("expected IN OUT TYPE, got %d arguments", len(pos))
	}
	in, outPath, typName := pos[0], pos[1], pos[2]
	ft, err := parseFtype(typName)
	if err != nil {
		return err
	}
	f, err := openGGUF(in)
	if err != nil {
		return err
	}
	defer f.Close()
	mp := mixParams(f)
	mp.Pure = *pure
	w := gguf.NewWriter()
	w.CopyKVs(f)
	w.SetKV("general.file_type", gguf.Uint32Value(uint32(ft)))
	w.SetKV("general.quantization_version", gguf.Uint32Value(2))
	var plans []tensorPlan
	for _, t := range f.Tensors() {
		t := t
		typ, err := quant.TensorTypeFor(ft, t, mp)
		if err != nil {
			return err
		}
		data := f.TensorData(t)
		if typ == t.Type {
			plans = append(plans, tensorPlan{name: t.Name, dims: t.Dims, typ: typ, raw: data})
			continue
		}
		src, err := quant.For(t.Type)
		if err != nil {
			return fmt.Errorf("%s: cannot read type %s: %w", t.Name, t.Type, err)
		}
		cols := int(t.Dims[0])
		srcRow := src.RowSize(cols)
		plans = append(plans, tensorPlan{name: t.Name, dims: t.Dims, typ: typ, fill: func(dst []float32, r0, r1 int) error {
			src.Dequantize(dst, data[r0*srcRow:r1*srcRow])
			return nil
		}})
	}
	if err := writeTensors(w, plans, *threads); err != nil {
		return err
	}
	if err := w.WriteFile(outPath); err != nil {
		return err
	}
	return nil
}
