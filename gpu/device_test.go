package gpu

import (
	"errors"
	"testing"
)

// testDevice opens a device for tests, allowing software adapters, and skips
// loudly when none exists.
func testDevice(t *testing.T) *device {
	t.Helper()
	t.Setenv(AllowSoftwareEnv, "1")
	d, err := openDevice(Options{})
	if errors.Is(err, ErrNoAdapter) {
		t.Skipf("SKIP LOUDLY: no WebGPU adapter (install mesa-vulkan-drivers for lavapipe): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.release)
	t.Logf("adapter: %s (%s, %s)", d.info.Name, d.info.AdapterType, d.info.BackendType)
	return d
}

func TestOpenDevice(t *testing.T) {
	d := testDevice(t)
	if d.limits.MaxStorageBufferBindingSize < 128<<20 {
		t.Errorf("max storage binding %d, want >= 128 MiB", d.limits.MaxStorageBufferBindingSize)
	}
}

func TestSoftwareRefusedWithoutEnv(t *testing.T) {
	t.Setenv(AllowSoftwareEnv, "")
	d, err := openDevice(Options{})
	if err == nil {
		defer d.release()
		if isSoftware(d.info) {
			t.Fatalf("picked software adapter %q without %s", d.info.Name, AllowSoftwareEnv)
		}
		return
	}
	if !errors.Is(err, ErrNoAdapter) {
		t.Fatalf("want ErrNoAdapter, got %v", err)
	}
}
