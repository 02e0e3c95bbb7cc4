package testmodels_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/internal/testmodels"
)

// skippedBy runs f in a subtest and reports whether it skipped.
func skippedBy(t *testing.T, f func(t *testing.T)) bool {
	t.Helper()
	var skipped bool
	t.Run("probe", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		f(t)
	})
	return skipped
}

func TestRepoRoot(t *testing.T) {
	root := testmodels.RepoRoot(t)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	assert.Contains(t, string(mod), "module github.com/hearthllm/hearth\n")
	assert.FileExists(t, filepath.Join(root, "internal", "testmodels", "testmodels.go"))
}

func TestPathAndDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "vocab"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vocab", "a.gguf"), []byte("GGUF"), 0o644))
	t.Setenv(testmodels.EnvVar, dir)

	assert.Equal(t, dir, testmodels.Dir(t))
	assert.Equal(t, filepath.Join(dir, "vocab", "a.gguf"), testmodels.Path(t, "vocab/a.gguf"))
	assert.Equal(t, filepath.Join(dir, "vocab"), testmodels.Path(t, "vocab"))
	assert.True(t, skippedBy(t, func(t *testing.T) { testmodels.Path(t, "vocab/missing.gguf") }))
	assert.False(t, skippedBy(t, func(t *testing.T) { testmodels.Path(t, "vocab/a.gguf") }))

	p, ok := testmodels.Find(t, "vocab/a.gguf")
	assert.True(t, ok)
	assert.Equal(t, filepath.Join(dir, "vocab", "a.gguf"), p)
	p, ok = testmodels.Find(t, "b.gguf")
	assert.False(t, ok)
	assert.Equal(t, filepath.Join(dir, "b.gguf"), p)

	t.Setenv(testmodels.EnvVar, filepath.Join(dir, "absent"))
	assert.True(t, skippedBy(t, func(t *testing.T) { testmodels.Dir(t) }))
}

func TestDefaultDir(t *testing.T) {
	t.Setenv(testmodels.EnvVar, "")
	want := filepath.Join(testmodels.RepoRoot(t), "..", "shared", "models")
	if _, err := os.Stat(want); err != nil {
		assert.True(t, skippedBy(t, func(t *testing.T) { testmodels.Dir(t) }))
		return
	}
	assert.Equal(t, want, testmodels.Dir(t))
}
