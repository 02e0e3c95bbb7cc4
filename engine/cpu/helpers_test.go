package cpu

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
)

// repoRoot walks up from the test's directory to the folder holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// modelPath returns the path of a test model, skipping loudly when the
// model folder is missing.
func modelPath(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("HEARTH_TEST_MODELS")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "..", "shared", "models")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("SKIPPING: test model %s not found (set HEARTH_TEST_MODELS): %v", p, err)
	}
	return p
}

// loadModel opens a GGUF test model; the file is closed when the test ends.
func loadModel(t testing.TB, name string) (*engine.Model, string) {
	t.Helper()
	p := modelPath(t, name)
	f, err := gguf.Open(p)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	m, err := engine.LoadModel(f)
	require.NoError(t, err)
	return m, p
}

// newTestBackend creates a CPU backend, skipping loudly when the quant
// package does not support one of the model's types yet.
func newTestBackend(t testing.TB, m *engine.Model, o engine.Options) *Backend {
	t.Helper()
	b, err := newBackend(m, o)
	if errors.Is(err, quant.ErrUnsupported) {
		t.Skipf("SKIPPING: quant does not support this model's types yet: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// llamaCpp sends one request to scripts/llamacpp-ref.mjs and decodes the
// answer into out. It skips loudly when node or node_modules is missing.
func llamaCpp(t testing.TB, req any, out any) {
	t.Helper()
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "node_modules", "node-llama-cpp")); err != nil {
		t.Skipf("SKIPPING: node_modules/node-llama-cpp missing (run npm ci): llama.cpp reference unavailable")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skipf("SKIPPING: node not found: llama.cpp reference unavailable")
	}
	in, err := json.Marshal(req)
	require.NoError(t, err)
	cmd := exec.Command(node, "scripts/llamacpp-ref.mjs")
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	require.NoError(t, err, "llamacpp-ref: %s", stderr.String())
	require.NoError(t, json.Unmarshal(res, out))
}

// writeVariant copies the GGUF file src to dir/name with extra metadata set
// and the tensor named drop (if any) left out, and returns the new path.
func writeVariant(t testing.TB, src, dir, name string, kv map[string]gguf.Value, drop string) string {
	t.Helper()
	f, err := gguf.Open(src)
	require.NoError(t, err)
	defer f.Close()
	w := gguf.NewWriter()
	w.CopyKVs(f)
	for k, v := range kv {
		w.SetKV(k, v)
	}
	for _, ti := range f.Tensors() {
		if ti.Name == drop {
			continue
		}
		require.NoError(t, w.AddTensor(ti.Name, ti.Type, ti.Dims, f.TensorData(ti)))
	}
	p := filepath.Join(dir, name)
	out, err := os.Create(p)
	require.NoError(t, err)
	_, err = w.WriteTo(out)
	require.NoError(t, err)
	require.NoError(t, out.Close())
	return p
}
