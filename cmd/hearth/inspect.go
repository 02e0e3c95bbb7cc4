package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/hearthllm/hearth"
	"github.com/hearthllm/hearth/gguf"
)

// openGGUF opens a GGUF file with the facade's error wording.
func openGGUF(path string) (*gguf.File, error) {
	f, err := gguf.Open(path)
	if err == nil {
		return f, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &hearth.Error{Code: hearth.CodeNotFound, Msg: fmt.Sprintf("model file %s not found", path)}
	}
	return nil, err
}

// abbreviate renders v, showing at most the first few elements of arrays.
func abbreviate(v gguf.Value) string {
	const show = 8
	if v.Type != gguf.ValueArray || v.Len() <= show {
		s := v.String()
		if len(s) > 200 {
			s = s[:200] + "..."
		}
		return s
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < show; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(abbreviate(v.Index(i)))
	}
	fmt.Fprintf(&b, ", ... (%d items)]", v.Len())
	return b.String()
}

func valueType(v gguf.Value) string {
	if v.Type == gguf.ValueArray {
		return fmt.Sprintf("%s[%s]", v.Type, v.ArrayType)
	}
	return v.Type.String()
}

func cmdInspect(e *env, args []string) error {
	fl := newFlags(e, "inspect")
	asJSON := fl.Bool("json", false, "print JSON (arrays in full)")
	pos, err := parse(e, fl, args)
	if err != nil {
		return err
	}
	path, err := onePositional(pos, "MODEL")
	if err != nil {
		return err
	}
	f, err := openGGUF(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if *asJSON {
		type kv struct {
			Key   string     `json:"key"`
			Type  string     `json:"type"`
			Value gguf.Value `json:"value"`
		}
		type tensor struct {
			Name   string   `json:"name"`
			Type   string   `json:"type"`
			Dims   []uint64 `json:"dims"`
			Offset uint64   `json:"offset"`
			Size   uint64   `json:"size"`
		}
		out := struct {
			Version    uint32   `json:"version"`
			Alignment  uint64   `json:"alignment"`
			DataOffset uint64   `json:"data_offset"`
			Metadata   []kv     `json:"metadata"`
			Tensors    []tensor `json:"tensors"`
		}{Version: f.Version, Alignment: f.Alignment, DataOffset: f.DataOffset, Metadata: []kv{}, Tensors: []tensor{}}
		for _, x := range f.KVs() {
			out.Metadata = append(out.Metadata, kv{x.Key, valueType(x.Value), x.Value})
		}
		for _, t := range f.Tensors() {
			out.Tensors = append(out.Tensors, tensor{t.Name, t.Type.String(), t.Dims, t.Offset, t.Size})
		}
		return writeJSON(e, out)
	}
	w := e.stdout
	fmt.Fprintf(w, "%s: GGUF v%d, alignment %d, %d metadata keys, %d tensors, data at offset %d\n",
		path, f.Version, f.Alignment, len(f.KVs()), len(f.Tensors()), f.DataOffset)
	fmt.Fprintln(w, "\nmetadata:")
	for _, x := range f.KVs() {
		fmt.Fprintf(w, "  %-44s %-14s %s\n", x.Key, valueType(x.Value), abbreviate(x.Value))
	}
	fmt.Fprintln(w, "\ntensors:")
	fmt.Fprintf(w, "  %-36s %-8s %-22s %12s %12s\n", "name", "type", "dims", "offset", "size")
	var total uint64
	var params uint64
	for _, t := range f.Tensors() {
		dims := make([]string, len(t.Dims))
		for i, d := range t.Dims {
			dims[i] = fmt.Sprint(d)
		}
		fmt.Fprintf(w, "  %-36s %-8s %-22s %12d %12d\n", t.Name, t.Type, strings.Join(dims, " x "), t.Offset, t.Size)
		total += t.Size
		params += t.Elements()
	}
	fmt.Fprintf(w, "\n%d tensors, %d parameters, %d bytes of tensor data\n", len(f.Tensors()), params, total)
	return nil
}
