// Package testmodels finds the shared GGUF test models for Hearth's tests.
//
// The models live outside the repository, in the folder named by the
// environment variable HEARTH_TEST_MODELS, or by default in ../shared/models
// relative to the repository root (the folder holding go.mod). Every helper
// skips the calling test with a loud message when what it looks for is
// missing, so a checkout without the models still passes, visibly.
package testmodels

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the environment variable that overrides the models folder.
const EnvVar = "HEARTH_TEST_MODELS"

// RepoRoot returns the repository root: the nearest folder at or above the
// test's working directory that holds go.mod. It fails the test when there
// is none.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testmodels: working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("testmodels: go.mod not found above %s", dir)
		}
		dir = parent
	}
}

// dir returns the configured models folder without checking it.
func dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv(EnvVar); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(t), "..", "shared", "models")
}

// Dir returns the shared models folder, skipping the test loudly when it
// does not exist.
func Dir(t testing.TB) string {
	t.Helper()
	d := dir(t)
	if _, err := os.Stat(d); err != nil {
		t.Skipf("!!! SKIPPING: test models folder %s not found (set %s): %v", d, EnvVar, err)
	}
	return d
}

// Find returns the path of rel in the models folder and whether it exists,
// without skipping: for optional inputs such as fuzz seeds.
func Find(t testing.TB, rel string) (string, bool) {
	t.Helper()
	p := filepath.Join(dir(t), filepath.FromSlash(rel))
	_, err := os.Stat(p)
	return p, err == nil
}

// Path returns the path of rel (a file or folder, slash-separated, relative
// to the models folder), skipping the test loudly when it does not exist.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(dir(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("!!! SKIPPING: test model %s not found (set %s): %v", p, EnvVar, err)
	}
	return p
}
