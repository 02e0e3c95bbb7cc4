package gguf

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot returns the module root (the directory holding go.mod).
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "go.mod not found above the test directory")
		dir = parent
	}
}

// modelsDir returns the shared test models folder (env HEARTH_TEST_MODELS,
// default ../shared/models from the repo root), skipping loudly when absent.
func modelsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HEARTH_TEST_MODELS")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "..", "shared", "models")
	}
	if _, err := os.Stat(filepath.Join(dir, "stories260K.gguf")); err != nil {
		t.Skipf("!!! SKIPPED: test models not found in %s (set HEARTH_TEST_MODELS): %v", dir, err)
	}
	return dir
}

// modelPath returns the path of a file in the models folder.
func modelPath(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(modelsDir(t), rel)
}

// allModelFiles lists every .gguf file of the models folder, sorted.
func allModelFiles(t testing.TB) []string {
	t.Helper()
	dir := modelsDir(t)
	var files []string
	for _, pat := range []string{"*.gguf", "*/*.gguf"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		require.NoError(t, err)
		files = append(files, m...)
	}
	sort.Strings(files)
	require.NotEmpty(t, files)
	return files
}
