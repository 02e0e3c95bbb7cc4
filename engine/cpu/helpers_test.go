package cpu

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/hearthllm/hearth/quant"
)

// loadModel opens a GGUF test model; the file is closed when the test ends.
func loadModel(t testing.TB, name string) (*engine.Model, string) {
	t.Helper()
	p := testmodels.Path(t, name)
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
