package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/stretchr/testify/require"
)

// vocabPath returns the path of vocab/ggml-vocab-<name>.gguf in the shared
// models folder, skipping loudly when the vocab folder is missing.
func vocabPath(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(testmodels.Path(t, "vocab"), "ggml-vocab-"+name+".gguf")
}

var tokCache sync.Map // path -> *Tokenizer

// loadTok builds (once per test binary) the tokenizer of a GGUF file.
func loadTok(t testing.TB, path string) *Tokenizer {
	if v, ok := tokCache.Load(path); ok {
		return v.(*Tokenizer)
	}
	f, err := gguf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	tok, err := FromGGUF(f)
	require.NoError(t, err, path)
	tokCache.Store(path, tok)
	return tok
}

// vectorCase is one case of llama.cpp's tokenizer test vectors.
type vectorCase struct {
	text string
	ids  []int32
}

// readVectors reads X.gguf.inp / X.gguf.out.
func readVectors(t testing.TB, ggufPath string) []vectorCase {
	inp, err := os.ReadFile(ggufPath + ".inp")
	require.NoError(t, err)
	outp, err := os.ReadFile(ggufPath + ".out")
	require.NoError(t, err)
	const sep = "\n__ggml_vocab_test__\n"
	texts := strings.Split(string(inp), sep)
	require.Equal(t, "", texts[len(texts)-1], "inp must end with the separator")
	texts = texts[:len(texts)-1]
	lines := strings.Split(strings.TrimSuffix(string(outp), "\n"), "\n")
	require.Len(t, lines, len(texts))
	cases := make([]vectorCase, len(texts))
	for i, line := range lines {
		line = strings.TrimPrefix(line, " ")
		ids := []int32{}
		for _, f := range strings.Fields(line) {
			v, err := strconv.ParseInt(f, 10, 32)
			require.NoError(t, err)
			ids = append(ids, int32(v))
		}
		cases[i] = vectorCase{text: texts[i], ids: ids}
	}
	return cases
}
