package quant

import (
	"errors"
	"fmt"
	"os"
)

// Level is a family of compute kernels. The package picks one level at
// program start (see KernelLevel) and every VecDot, MatVec and MatMul runs
// that level's kernels.
type Level uint8

// Kernel levels, from the portable Go code up.
const (
	// LevelGeneric is the portable Go code. Its float results follow the
	// scalar ggml code paths, not the AVX2 ones.
	LevelGeneric Level = iota
	// LevelAVX2 is the AVX2+FMA+F16C assembly (amd64), whose dot products
	// equal ggml-cpu's haswell build bit for bit.
	LevelAVX2
	// LevelAVX512 is LevelAVX2 plus AVX-512 kernels (AVX512F, AVX512BW,
	// AVX512VL and AVX512_VNNI; amd64) for the one-token products of the
	// types that have them (Q4_0, Q4_K, Q6_K, Q8_0 and F16 weights; the
	// interleaved Q4_0 and Q4_K ones, GemvQ4_0x8 and GemvQ4Kx8, VNNI on
	// 256-bit vectors) and the batched Q4_0, Q8_0, Q4_K and F16 products
	// (GemmQ4_0x8, GemmQ8_0, GemmQ4Kx8, GemmQ4K, MatMul; see
	// hasAVX512Kernels); every other product keeps its AVX2 kernel. The
	// AVX-512 kernels equal the AVX2 ones bit for bit: integer work is
	// exact, and every float accumulator lane gets the AVX2 kernel's chain
	// of operations in its order.
	LevelAVX512
)

// String returns the name HEARTH_CPU uses for the level.
func (l Level) String() string {
	switch l {
	case LevelGeneric:
		return "generic"
	case LevelAVX2:
		return "avx2"
	case LevelAVX512:
		return "avx512"
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// ErrKernelLevel is wrapped by the error KernelLevel and For return when the
// HEARTH_CPU environment variable asks for kernels this build or CPU cannot
// run.
var ErrKernelLevel = errors.New("requested CPU kernel level unavailable")

// kernelChoice is the outcome of kernel selection.
type kernelChoice struct {
	level Level
	err   error
	// gemv512: at LevelAVX512, the one-token products run their AVX-512
	// kernels too (else their AVX2 ones; the batched products keep theirs)
	gemv512 bool
}

// kernel is decided once at program start from the CPU's features and
// HEARTH_CPU, and never written afterwards.
var kernel = chooseKernel(os.Getenv("HEARTH_CPU"), hardwareLevel(), halfWidthAVX512())

// useAVX2 selects the AVX2 kernels everywhere in the package (they run at
// LevelAVX512 too, which adds to them); fixed at program start.
var useAVX2 = kernel.level >= LevelAVX2

// useAVX512 selects the AVX-512 kernels of the types that have them; fixed
// at program start.
var useAVX512 = kernel.level >= LevelAVX512

// useAVX512Gemv selects the one-token AVX-512 kernels of Gemv (Q6_K, Q8_0
// and F16 weights); fixed at program start. On CPUs that run 512-bit
// vectors as two 256-bit halves (AMD Zen 4) the AVX2 one-token kernels
// decode faster, so there they serve one token unless HEARTH_CPU asks for
// avx512 (see chooseKernel). GemvQ4_0x8 and GemvQ4Kx8 do not ask it:
// their VNNI kernels have no 512-bit vectors (see batchLevel).
var useAVX512Gemv = useAVX512 && kernel.gemv512

// KernelLevel returns the kernel level this process runs. It is the best
// level the CPU supports (LevelAVX512, LevelAVX2 or LevelGeneric) unless the
// HEARTH_CPU environment variable, read once at program start, names another:
// "generic", "avx2" or "avx512" ("" or "auto" mean the best). A level the
// CPU or this build cannot run (avx2 without AVX2/FMA/F16C or under the
// purego tag; avx512 without AVX512F/BW/VL and AVX512_VNNI) or an unknown
// value is not silently replaced: KernelLevel then returns LevelGeneric and an error
// wrapping ErrKernelLevel, and For returns that error for every type, so a
// backend fails at load time with the reason.
func KernelLevel() (Level, error) { return kernel.level, kernel.err }

// chooseKernel picks the level from HEARTH_CPU's value env and the best
// level the hardware and build support. halfWidth says the CPU splits
// 512-bit vectors into 256-bit halves: by default its one-token products
// then run the AVX2 kernels, which measured faster on a 2-core AMD EPYC
// 9004 (Zen 4) VM (TinyLlama decode, `hearth bench -p 128 -n 32`, AVX2 /
// AVX-512 one-token kernels: Q4_K_M 42.1 / 33.1 t/s, Q4_0 43.8 / 34.9, Q6_K
// 34.0 / 18.1, F16 15.4 / 13.4, measured before Q4_0 and Q4_K weights were
// interleaved: GemvQ4_0x8 and GemvQ4Kx8 have no 512-bit kernels and run
// their 256-bit VNNI ones at LevelAVX512 either way), while its batched
// AVX-512 kernels prefill faster (Q4_K_M 181 / 117 t/s, Q4_0 175 / 147).
// HEARTH_CPU=avx512 runs every AVX-512 kernel there too.
func chooseKernel(env string, hw Level, halfWidth bool) kernelChoice {
	best := min(hw, LevelAVX512) // the highest level with kernels
	var want Level
	switch env {
	case "", "auto":
		return kernelChoice{level: best, gemv512: !halfWidth}
	case "generic":
		want = LevelGeneric
	case "avx2":
		want = LevelAVX2
	case "avx512":
		if hw < LevelAVX512 {
			return kernelChoice{err: fmt.Errorf("quant: HEARTH_CPU=avx512: this CPU or build lacks AVX-512 with VNNI (AVX512F/BW/VL, AVX512_VNNI; best here: %s): %w", best, ErrKernelLevel)}
		}
		want = LevelAVX512
	default:
		return kernelChoice{err: fmt.Errorf("quant: HEARTH_CPU=%q: want generic, avx2, avx512 or auto: %w", env, ErrKernelLevel)}
	}
	if want > hw {
		return kernelChoice{err: fmt.Errorf("quant: HEARTH_CPU=%s: this CPU or build lacks it (best here: %s): %w", env, best, ErrKernelLevel)}
	}
	return kernelChoice{level: want, gemv512: true}
}
