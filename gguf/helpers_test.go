package gguf

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/stretchr/testify/require"
)

// allModelFiles lists every .gguf file of the models folder, sorted.
func allModelFiles(t testing.TB) []string {
	t.Helper()
	dir := testmodels.Dir(t)
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
