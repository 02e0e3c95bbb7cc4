package main

import (
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatusNamesMatchFacadeCodes(t *testing.T) {
	// Every facade code maps to a status whose C name (errors.c) is the code itself.
	for code, st := range codeStatus {
		assert.Equal(t, code, statusName(st), "status %d", st)
	}
}

func TestLoadOptionsAreValidated(t *testing.T) {
	p := testmodels.Path(t, "stories260K.gguf")
	for _, tc := range []struct{ json, option string }{
		{`{"backend":"tpu"}`, "backend"},
		{`{"threads":-1}`, "threads"},
		{`{"contextSize":-5}`, "contextSize"},
		{`{"kvType":"q8"}`, "kvType"},
		{`{"thread":2}`, "thread"},
		{`{"threads":"two"}`, "threads"},
		{`[1]`, "load"},
	} {
		_, err := loadModel(p, []byte(tc.json))
		require.Error(t, err, tc.json)
		assert.Equal(t, statusInvalidOption, statusOf(err), tc.json)
		assert.Contains(t, err.Error(), tc.option, tc.json)
	}
	_, err := loadModel(filepath.Join(t.TempDir(), "missing.gguf"), nil)
	assert.Equal(t, statusNotFound, statusOf(err))
}

func TestGenerateOptionsAreValidated(t *testing.T) {
	for _, tc := range []struct{ json, option string }{
		{`{"temperature":-1}`, "temperature"},
		{`{"topP":2}`, "topP"},
		{`{"minP":-0.5}`, "minP"},
		{`{"topK":-1}`, "topK"},
		{`{"maxTokens":-1}`, "maxTokens"},
		{`{"repeatLastN":-2}`, "repeatLastN"},
		{`{"stop":[""]}`, "stop"},
		{`{"seed":-1}`, "seed"},
		{`{"temp":1}`, "temp"},
	} {
		_, _, err := parseGenOptions([]byte(tc.json))
		require.Error(t, err, tc.json)
		assert.Equal(t, statusInvalidOption, statusOf(err), tc.json)
		assert.Contains(t, err.Error(), tc.option, tc.json)
	}
	g, _, err := parseGenOptions([]byte(`{"temperature":0,"seed":5,"maxTokens":3}`))
	require.NoError(t, err)
	assert.Equal(t, float32(0), g.Sampling.Temperature)
	assert.Equal(t, uint64(5), g.Sampling.Seed)
	assert.Equal(t, 3, g.MaxTokens)
}

func TestHandlesLifecycle(t *testing.T) {
	p := testmodels.Path(t, "stories260K.gguf")
	h, err := loadModel(p, []byte(`{"threads":1}`))
	require.NoError(t, err)
	info, err := modelInfo(h)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(info, &m))
	assert.Equal(t, "llama", m["arch"])

	ids, err := tokenize(h, "Once upon a time", true, false)
	require.NoError(t, err)
	text, err := detokenize(h, ids[1:])
	require.NoError(t, err)
	assert.Equal(t, "Once upon a time", text[len(text)-len("Once upon a time"):])

	require.NoError(t, freeModel(h))
	_, err = modelInfo(h)
	assert.Equal(t, statusClosed, statusOf(err))
	assert.Equal(t, statusClosed, statusOf(freeModel(h)))
	_, err = modelInfo(h + 1000)
	assert.Equal(t, statusInvalidHandle, statusOf(err))
	_, err = modelInfo(0)
	assert.Equal(t, statusInvalidHandle, statusOf(err))
}

func TestGenerateStreamsAndCancels(t *testing.T) {
	p := testmodels.Path(t, "stories260K.gguf")
	h, err := loadModel(p, []byte(`{"threads":1}`))
	require.NoError(t, err)
	defer func() { require.NoError(t, freeModel(h)) }()

	var pieces []byte
	out, err := generate(h, genRequest{useText: true, text: "Once upon a time", options: []byte(`{"maxTokens":20,"temperature":0}`),
		onToken: func(_ int32, piece []byte) bool { pieces = append(pieces, piece...); return true }})
	require.NoError(t, err)
	var r genResult
	require.NoError(t, json.Unmarshal(out, &r))
	assert.Equal(t, "maxTokens", r.StopReason)
	assert.Len(t, r.Tokens, 20)
	assert.Equal(t, string(pieces), r.Text)
	assert.Equal(t, 5, r.PromptTokens) // BOS + 4 tokens (see the Node tests for llama.cpp's tokenization)

	// The same prompt as ids gives the same tokens.
	ids, err := tokenize(h, "Once upon a time", true, false)
	require.NoError(t, err)
	out2, err := generate(h, genRequest{ids: ids, options: []byte(`{"maxTokens":20,"temperature":0}`)})
	require.NoError(t, err)
	var r2 genResult
	require.NoError(t, json.Unmarshal(out2, &r2))
	assert.Equal(t, r.Tokens, r2.Tokens)

	// cancel from another goroutine stops a long generation with "abort".
	started := make(chan struct{})
	var once sync.Once
	done := make(chan genResult)
	go func() {
		out, err := generate(h, genRequest{useText: true, text: "Once", options: []byte(`{"maxTokens":100000,"temperature":0}`),
			onToken: func(int32, []byte) bool {
				once.Do(func() { close(started) })
				time.Sleep(time.Millisecond)
				return true
			}})
		assert.NoError(t, err)
		var r genResult
		assert.NoError(t, json.Unmarshal(out, &r))
		done <- r
	}()
	<-started
	require.NoError(t, cancel(h))
	select {
	case r := <-done:
		assert.Equal(t, "abort", r.StopReason)
	case <-time.After(30 * time.Second):
		t.Fatal("cancel did not stop the generation")
	}
}

func TestFreeCancelsRunningGeneration(t *testing.T) {
	p := testmodels.Path(t, "stories260K.gguf")
	h, err := loadModel(p, []byte(`{"threads":1}`))
	require.NoError(t, err)
	started := make(chan struct{})
	var once sync.Once
	done := make(chan string)
	go func() {
		out, err := generate(h, genRequest{useText: true, text: "Once", options: []byte(`{"maxTokens":100000,"temperature":0}`),
			onToken: func(int32, []byte) bool {
				once.Do(func() { close(started) })
				time.Sleep(time.Millisecond)
				return true
			}})
		assert.NoError(t, err)
		var r genResult
		assert.NoError(t, json.Unmarshal(out, &r))
		done <- r.StopReason
	}()
	<-started
	require.NoError(t, freeModel(h)) // waits for the generation
	assert.Equal(t, "abort", <-done)
}

func TestGuardRecoversPanics(t *testing.T) {
	st := func() (status cInt) {
		defer guard(&status)
		panic("boom")
	}()
	assert.Equal(t, cInt(statusInternal), st)
}
