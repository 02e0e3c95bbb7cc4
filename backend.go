package hearth

import (
	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/engine/cpu"
	"github.com/hearthllm/hearth/gpu"
)

// newBackend builds the backend named name ("cpu", "gpu" or "auto"; the name
// was validated by Load) for m.
func newBackend(name string, m *engine.Model, o engine.Options) (engine.Backend, error) {
	switch name {
	case "gpu":
		return newGPUBackend(m, o)
	case "auto":
		// A hardware GPU when there is one that can run the model, else
		// the CPU (software adapters are never picked unless
		// HEARTH_GPU_ALLOW_SOFTWARE=1).
		if b, err := gpu.New(m, o, gpu.Options{}); err == nil {
			return b, nil
		}
		return cpu.New(m, o)
	default:
		return cpu.New(m, o)
	}
}

// newGPUBackend builds the WebGPU backend on a hardware adapter (or a
// software one when HEARTH_GPU_ALLOW_SOFTWARE=1); it fails with
// CodeGPUUnavailable when there is none or it cannot run the model.
func newGPUBackend(m *engine.Model, o engine.Options) (engine.Backend, error) {
	b, err := gpu.New(m, o, gpu.Options{})
	if err != nil {
		return nil, &Error{Code: CodeGPUUnavailable, Msg: "GPU backend unavailable", Err: err}
	}
	return b, nil
}
