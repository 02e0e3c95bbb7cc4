package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/stretchr/testify/require"
)

// TestCABI builds libhearth, compiles testdata/abi.c against the hand-written
// public header hearth.h (so header and library must agree) and runs it.
func TestCABI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the shared library")
	}
	model := testmodels.Path(t, "stories260K.gguf")
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("!!! SKIPPING: no C compiler")
	}
	dir := t.TempDir()
	lib := filepath.Join(dir, "libhearth.so")
	build := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", lib, ".") // -trimpath as scripts/build.mjs: shares its build cache
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build -buildmode=c-shared: %s", out)
	exe := filepath.Join(dir, "abi")
	out, err = exec.Command(cc, "-std=c11", "-Wall", "-Werror", "-I.", "testdata/abi.c", "-o", exe,
		"-L"+dir, "-lhearth", "-Wl,-rpath,"+dir).CombinedOutput()
	require.NoError(t, err, "cc: %s", out)
	run := exec.Command(exe, model)
	run.Env = append(os.Environ(), "GODEBUG=cgocheck=1")
	out, err = run.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "ok", strings.TrimSpace(string(out)))
}
