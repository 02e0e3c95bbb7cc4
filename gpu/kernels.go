package gpu

import (
	"embed"
	"fmt"
	"strings"

	"github.com/hearthllm/hearth/gguf"
)

//go:embed kernels/*.wgsl
var kernelFS embed.FS

// typeKernel names the WGSL file holding a weight type's unit_vals.
var typeKernel = map[gguf.TensorType]string{
	gguf.TypeF32:  "f32",
	gguf.TypeF16:  "f16",
	gguf.TypeBF16: "bf16",
	gguf.TypeQ4_0: "q4_0",
	gguf.TypeQ4_1: "q4_1",
	gguf.TypeQ5_0: "q5_0",
	gguf.TypeQ5_1: "q5_1",
	gguf.TypeQ8_0: "q8_0",
	gguf.TypeQ2_K: "q2_k",
	gguf.TypeQ3_K: "q3_k",
	gguf.TypeQ4_K: "q4_k",
	gguf.TypeQ5_K: "q5_k",
	gguf.TypeQ6_K: "q6_k",
}

// unitElems is the UNIT of each type's kernel: row lengths must be a
// multiple of it.
func unitElems(t gguf.TensorType) int {
	switch t {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16:
		return 4
	}
	return t.BlockSize()
}

// Supported reports whether the GPU backend has kernels for weight type t.
func Supported(t gguf.TensorType) bool {
	_, ok := typeKernel[t]
	return ok
}

func kernelFile(name string) (string, error) {
	b, err := kernelFS.ReadFile("kernels/" + name + ".wgsl")
	if err != nil {
		return "", fmt.Errorf("gpu: kernel %s: %w", name, err)
	}
	return string(b), nil
}

// preprocess keeps the lines between "//#if NAME" and "//#else" or
// "//#endif" when NAME is in defs, and the "//#else" part otherwise.
// Blocks do not nest.
func preprocess(src string, defs map[string]bool) string {
	var out strings.Builder
	keep := true
	for _, line := range strings.Split(src, "\n") {
		tl := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(tl, "//#if "):
			keep = defs[strings.TrimSpace(tl[len("//#if "):])]
			continue
		case tl == "//#else":
			keep = !keep
			continue
		case tl == "//#endif":
			keep = true
			continue
		}
		if keep {
			out.WriteString(line)
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// buildShader assembles a compute shader: constants, the Step struct, the
// weight type's helpers (when typ is non-empty) and the kernel body.
func buildShader(kernel, typ string, consts map[string]int, defs map[string]bool) (string, error) {
	var b strings.Builder
	for k, v := range consts {
		fmt.Fprintf(&b, "const %s: u32 = %du;\n", k, v)
	}
	for _, name := range []string{"step", kernel} {
		src, err := kernelFile(name)
		if err != nil {
			return "", err
		}
		b.WriteString(preprocess(src, defs))
	}
	if typ != "" {
		for _, name := range []string{"common", typ} {
			src, err := kernelFile(name)
			if err != nil {
				return "", err
			}
			b.WriteString(src)
		}
	}
	return b.String(), nil
}
