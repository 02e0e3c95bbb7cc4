package gpu

import (
	"embed"
	"fmt"
	"regexp"
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
// Blocks nest.
func preprocess(src string, defs map[string]bool) string {
	var out strings.Builder
	type level struct{ parent, cond bool }
	var stack []level
	keep := true
	for _, line := range strings.Split(src, "\n") {
		tl := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(tl, "//#if "):
			c := defs[strings.TrimSpace(tl[len("//#if "):])]
			stack = append(stack, level{keep, c})
			keep = keep && c
			continue
		case tl == "//#else" && len(stack) > 0:
			l := stack[len(stack)-1]
			keep = l.parent && !l.cond
			continue
		case tl == "//#endif" && len(stack) > 0:
			keep = stack[len(stack)-1].parent
			stack = stack[:len(stack)-1]
			continue
		}
		if keep {
			out.WriteString(line)
			out.WriteByte('\n')
		}
	}
	return out.String()
}

var (
	unitValsSig = regexp.MustCompile(`fn unit_vals\(bo: u32, s: u32\) -> array<f32, UNIT> \{`)
	unitValsSet = regexp.MustCompile(`(?m)^(\s*)v\[(.+?)\] = (.+);\s*$`)
)

// unitDot derives a type's unit_dot (the dot product of one unit with the
// activations, through the kernel's xv accessor) from its unit_vals: each
// "v[i] = e;" becomes "acc_ += (e) * xv(xb, c0 + (i));". Keeping the values
// out of an array keeps them in registers. Types whose file already has a
// unit_dot (F16, BF16) keep it.
func unitDot(src string) string {
	if strings.Contains(src, "fn unit_dot(") {
		return ""
	}
	i := unitValsSig.FindStringIndex(src)
	if i == nil {
		return ""
	}
	body := src[i[0]:]
	end := strings.Index(body, "\n}\n")
	body = body[:end+3]
	body = unitValsSig.ReplaceAllString(body, "fn unit_dot(bo: u32, s: u32, xb: u32, c0: u32) -> f32 {")
	body = strings.Replace(body, "var v: array<f32, UNIT>;", "var acc_ = 0.0;", 1)
	body = strings.Replace(body, "return v;", "return acc_;", 1)
	body = unitValsSet.ReplaceAllString(body, "${1}acc_ += (${3}) * xv(xb, c0 + (${2}));")
	return "\n" + body
}

// includes replaces each "//#include NAME" line of src with the kernel
// file NAME (one level: included files include nothing).
func includes(src string) (string, error) {
	if !strings.Contains(src, "//#include ") {
		return src, nil
	}
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		tl := strings.TrimSpace(l)
		if name, ok := strings.CutPrefix(tl, "//#include "); ok {
			inc, err := kernelFile(strings.TrimSpace(name))
			if err != nil {
				return "", err
			}
			lines[i] = inc
		}
	}
	return strings.Join(lines, "\n"), nil
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
		if src, err = includes(src); err != nil {
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
			if name == typ && kernel == "matvec" {
				b.WriteString(unitDot(src))
			}
		}
	}
	return b.String(), nil
}
