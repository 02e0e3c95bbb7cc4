package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearthllm/hearth/internal/llamacpp"
	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// llamaCppLoads asks llama.cpp (node-llama-cpp, in one node process) whether
// it loads each model file, skipping loudly when node or node_modules is
// missing.
func llamaCppLoads(t *testing.T, paths []string) []bool {
	t.Helper()
	arg, err := json.Marshal(paths)
	require.NoError(t, err)
	out := llamacpp.Exec(t, nil, "gguf/testdata/llamacpp-load.mjs", string(arg))
	var loads []bool
	require.NoError(t, json.Unmarshal(out, &loads), "node output %q", out)
	require.Len(t, loads, len(paths))
	return loads
}

// TestLlamaCppAgreesOnCorruption corrupts stories260K in ways both llama.cpp
// and this package must reject, and checks that llama.cpp does reject them
// (so the validation is not stricter than the format on these points) while
// it loads the untouched file, and the same file as GGUF v2, in the same
// process.
func TestLlamaCppAgreesOnCorruption(t *testing.T) {
	if testing.Short() {
		t.Skip("llama.cpp comparison skipped in -short mode")
	}
	orig, err := os.ReadFile(testmodels.Path(t, "stories260K.gguf"))
	require.NoError(t, err)
	le := binary.LittleEndian
	tensorField := func(name string, skip int) int { // offset of a field after the tensor name
		return find(t, orig, name) + len(name) + skip
	}
	q := "blk.0.attn_q.weight" // 2 dims
	cases := []struct {
		name  string
		patch func(b []byte) []byte
	}{
		{"unmodified", func(b []byte) []byte { return b }},
		{"version 2", func(b []byte) []byte { le.PutUint32(b[4:], 2); return b }},
		{"bad magic", func(b []byte) []byte { copy(b, "GGUX"); return b }},
		{"version 1", func(b []byte) []byte { le.PutUint32(b[4:], 1); return b }},
		{"duplicate key", func(b []byte) []byte {
			copy(b[find(t, orig, "tokenizer.ggml.eos_token_id"):], "tokenizer.ggml.bos_token_id")
			return b
		}},
		{"duplicate tensor", func(b []byte) []byte { copy(b[find(t, orig, q):], "blk.0.attn_k.weight"); return b }},
		{"5 dims", func(b []byte) []byte { le.PutUint32(b[tensorField(q, 0):], 5); return b }},
		{"unknown type", func(b []byte) []byte { le.PutUint32(b[tensorField(q, 4+16):], 99); return b }},
		{"misaligned offset", func(b []byte) []byte {
			at := tensorField(q, 4+16+4)
			le.PutUint64(b[at:], le.Uint64(b[at:])+4)
			return b
		}},
		{"truncated", func(b []byte) []byte { return b[:len(b)-64] }},
	}
	const valid = 2 // the first cases are valid files
	dir := t.TempDir()
	paths := make([]string, len(cases))
	for i, c := range cases {
		paths[i] = filepath.Join(dir, filepath.Base(c.name)+".gguf")
		data := c.patch(bytes.Clone(orig))
		require.NoError(t, os.WriteFile(paths[i], data, 0o644))
		_, err := Parse(c.name, data)
		if i < valid {
			require.NoError(t, err, c.name)
		} else {
			require.Error(t, err, c.name)
		}
	}
	loads := llamaCppLoads(t, paths)
	t.Logf("llama.cpp loads: %v", loads)
	for i, c := range cases {
		assert.Equal(t, i < valid, loads[i], "llama.cpp on %s", c.name)
	}
}
