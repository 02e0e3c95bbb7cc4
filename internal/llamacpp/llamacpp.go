// Package llamacpp lets Hearth's tests ask llama.cpp itself for reference
// answers, through scripts/llamacpp-ref.mjs (node-llama-cpp, installed in
// the repository's node_modules).
//
// Run sends one JSON request and decodes the answer; Batch sends several in
// one node process (the script's "batch" op). See the script's header for
// the ops (tokenize, detokenize, vocab, greedy, probs, info, batch). Every
// helper skips the calling test with a loud message when node or
// node_modules/node-llama-cpp is missing.
package llamacpp

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hearthllm/hearth/internal/testmodels"
)

// RefScript is the reference script, relative to the repository root.
const RefScript = "scripts/llamacpp-ref.mjs"

// Node returns the node executable and the repository root, skipping the
// test loudly when node or node_modules/node-llama-cpp is missing.
func Node(t testing.TB) (node, root string) {
	t.Helper()
	root = testmodels.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "node_modules", "node-llama-cpp")); err != nil {
		t.Skipf("!!! SKIPPING: node_modules/node-llama-cpp missing (run npm ci): llama.cpp reference unavailable: %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skipf("!!! SKIPPING: node not found: llama.cpp reference unavailable: %v", err)
	}
	return node, root
}

// Exec runs `node script args...` in the repository root with stdin as its
// input and returns its standard output. It fails the test, showing the
// script's stderr, when the script fails, and skips like Node.
func Exec(t testing.TB, stdin []byte, script string, args ...string) []byte {
	t.Helper()
	node, root := Node(t)
	cmd := exec.Command(node, append([]string{script}, args...)...)
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("llamacpp: node %s: %v\n%s", script, err, stderr.String())
	}
	return out
}

// Run sends req (marshalled to JSON) to scripts/llamacpp-ref.mjs and
// decodes its answer into resp, a pointer.
func Run(t testing.TB, req, resp any) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("llamacpp: encoding request: %v", err)
	}
	out := Exec(t, body, RefScript)
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("llamacpp: decoding answer %.200q: %v", out, err)
	}
}

// Batch sends reqs as one "batch" request (one node process, models loaded
// once per request but vocabularies shared) and returns the answers in
// order, each decoded into a T. It fails the test unless there is exactly
// one answer per request.
func Batch[T any](t testing.TB, reqs []any) []T {
	t.Helper()
	var resp struct {
		Results []T `json:"results"`
	}
	Run(t, map[string]any{"op": "batch", "requests": reqs}, &resp)
	if len(resp.Results) != len(reqs) {
		t.Fatalf("llamacpp: batch of %d requests got %d answers", len(reqs), len(resp.Results))
	}
	return resp.Results
}
