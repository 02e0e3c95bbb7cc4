// Package gguf reads and writes GGUF, the model file format of ggml and
// llama.cpp (versions 2 and 3 read, version 3 written).
//
// A GGUF file is a header (magic "GGUF", version, tensor and metadata
// counts), typed metadata key-value pairs, tensor infos (name, dims, ggml
// type, offset) and, aligned to general.alignment (32 by default), the
// tensor data. All numbers are little-endian.
//
// # Reading
//
// Open memory-maps a file read-only and validates all of it before
// returning, so that a malformed or truncated file is reported as an error
// (never a panic, a huge allocation or a SIGBUS later). Errors read
// "gguf: FILE: offset N: what was wrong" and are *FormatError values.
// Metadata is decoded and copied at open time; tensor bytes stay in the
// mapping and TensorData returns slices of it, valid until Close.
//
//	f, err := gguf.Open("model.gguf")
//	if err != nil {
//		return err
//	}
//	defer f.Close()
//	arch, err := f.String("general.architecture")
//	nLayer, err := f.Uint32(arch + ".block_count") // any integer type that fits
//	tokens, err := f.Strings("tokenizer.ggml.tokens")
//	for _, t := range f.Tensors() {
//		data := f.TensorData(t) // t.Size bytes of t.Type, no copy
//		_ = data
//	}
//
// Parse does the same for a file already in memory.
//
// # Values
//
// A Value is one metadata value: a scalar (Type) or an array (Type
// ValueArray, elements of ArrayType, possibly arrays themselves). The As*
// methods convert with checks (AsUint32 accepts any integer type whose
// value fits), Any returns plain Go values, String renders text and
// MarshalJSON renders JSON. Arrays keep their GGUF encoding, so the
// 128k-token and 280k-merge arrays of a Llama 3 vocabulary cost one
// allocation each to load and AsStrings builds its result without copying
// every string.
//
// # Writing
//
// Writer builds a GGUF v3 file with llama.cpp's layout (tensors in order,
// each padded to the alignment), so rewriting a file llama.cpp wrote
// reproduces it byte for byte:
//
//	w := gguf.NewWriter()
//	w.CopyKVs(vocab, "tokenizer.") // copy a tokenizer from another file
//	w.SetKV("general.architecture", gguf.StringValue("llama"))
//	w.SetKV("llama.block_count", gguf.Uint32Value(2))
//	w.SetKV("llama.rope.freq_base", gguf.Float32Value(10000))
//	w.SetKV("custom.ids", gguf.Int32sValue([]int32{1, 2}))
//	err := w.AddTensor("token_embd.weight", gguf.TypeF32, []uint64{256, 512}, data)
//	err = w.AddTensorFunc("output.weight", gguf.TypeQ8_0, []uint64{256, 512},
//		func(dst io.Writer) error { return quantizeInto(dst) }) // streamed at write time
//	err = w.WriteFile("out.gguf") // temporary file + rename
package gguf
