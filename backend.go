package hearth

import (
	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/engine/cpu"
)

// newBackend builds the backend named name ("cpu", "gpu" or "auto"; the name
// was validated by Load) for m.
func newBackend(name string, m *engine.Model, o engine.Options) (engine.Backend, error) {
	switch name {
	case "gpu":
		return newGPUBackend(m, o)
	case "auto":
		// Until the GPU backend lands, auto means the CPU.
		return cpu.New(m, o)
	default:
		return cpu.New(m, o)
	}
}

// newGPUBackend builds the WebGPU backend. It is a placeholder for the GPU
// engineer to replace.
func newGPUBackend(m *engine.Model, o engine.Options) (engine.Backend, error) {
	return nil, &Error{Code: CodeGPUUnavailable, Msg: "GPU backend not built yet"}
}
