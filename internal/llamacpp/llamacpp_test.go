package llamacpp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/internal/llamacpp"
	"github.com/hearthllm/hearth/internal/testmodels"
)

type tokenizeReq struct {
	Op         string   `json:"op"`
	Model      string   `json:"model"`
	Texts      []string `json:"texts"`
	AddSpecial bool     `json:"addSpecial"`
}

type tokenizeResp struct {
	Tokens [][]int `json:"tokens"`
}

// TestRunAndBatch asks llama.cpp about stories260K (a Llama SPM vocabulary
// whose BOS is token 1) once alone and once in a batch, and checks that the
// answers have the known shape and agree.
func TestRunAndBatch(t *testing.T) {
	model := testmodels.Path(t, "stories260K.gguf")
	var info struct {
		BOS int `json:"bos"`
		EOS int `json:"eos"`
	}
	llamacpp.Run(t, map[string]any{"op": "info", "model": model}, &info)
	assert.Equal(t, 1, info.BOS)
	assert.Equal(t, 2, info.EOS)

	req := tokenizeReq{Op: "tokenize", Model: model, Texts: []string{"Once upon a time", ""}, AddSpecial: true}
	var one tokenizeResp
	llamacpp.Run(t, req, &one)
	require.Len(t, one.Tokens, 2)
	require.Greater(t, len(one.Tokens[0]), 2)
	assert.Equal(t, info.BOS, one.Tokens[0][0])
	assert.Equal(t, []int{info.BOS}, one.Tokens[1])

	noBOS := req
	noBOS.AddSpecial = false
	got := llamacpp.Batch[tokenizeResp](t, []any{req, noBOS})
	require.Len(t, got, 2)
	assert.Equal(t, one, got[0])
	assert.Equal(t, one.Tokens[0][1:], got[1].Tokens[0])
	assert.Empty(t, got[1].Tokens[1])
}
