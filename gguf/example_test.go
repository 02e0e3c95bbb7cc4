package gguf_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hearthllm/hearth/gguf"
)

func Example() {
	dir, err := os.MkdirTemp("", "gguf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.gguf")

	// Write a file with some metadata and one 2x4 F32 tensor.
	w := gguf.NewWriter()
	w.SetKV("general.architecture", gguf.StringValue("llama"))
	w.SetKV("llama.block_count", gguf.Uint8Value(2))
	w.SetKV("tokenizer.ggml.tokens", gguf.StringsValue([]string{"<s>", "hello"}))
	if err := w.AddTensor("t", gguf.TypeF32, []uint64{4, 2}, make([]byte, 32)); err != nil {
		log.Fatal(err)
	}
	if err := w.WriteFile(path); err != nil {
		log.Fatal(err)
	}

	// Read it back.
	f, err := gguf.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, kv := range f.KVs() {
		fmt.Printf("%s (%s) = %s\n", kv.Key, kv.Value.Type, kv.Value)
	}
	n, _ := f.Uint32("llama.block_count") // a uint8 that fits in uint32
	fmt.Println("layers:", n)
	t, _ := f.Tensor("t")
	fmt.Println(t.Name, t.Type, t.Dims, len(f.TensorData(t)), "bytes")
	// Output:
	// general.architecture (string) = "llama"
	// llama.block_count (uint8) = 2
	// tokenizer.ggml.tokens (array) = ["<s>", "hello"]
	// layers: 2
	// t F32 [4 2] 32 bytes
}
