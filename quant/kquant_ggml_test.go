package quant

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

// ggmlLibDir is where node-llama-cpp keeps its prebuilt x64 ggml libraries.
const ggmlLibDir = "../node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"

// buildGGMLRef compiles testdata/ggml_kquant_ref.c against llama.cpp's own
// prebuilt ggml (node-llama-cpp's libggml-base and the AVX2 libggml-cpu),
// skipping loudly when that is not possible here.
func buildGGMLRef(t *testing.T) (bin string, env []string) {
	t.Helper()
	lib, err := filepath.Abs(ggmlLibDir)
	require.NoError(t, err)
	for _, f := range []string{"libggml-base.so", "libggml-cpu-haswell.so"} {
		if _, err := os.Stat(filepath.Join(lib, f)); err != nil {
			t.Skipf("!!! SKIPPING: llama.cpp's ggml libraries not found (%v); run npm ci", err)
		}
	}
	cpu, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || !strings.Contains(string(cpu), " avx2") || !strings.Contains(string(cpu), " fma") {
		t.Skip("!!! SKIPPING: this CPU cannot run ggml's AVX2 (haswell) kernels")
	}
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("!!! SKIPPING: gcc not found, cannot build the ggml reference harness")
	}
	bin = filepath.Join(t.TempDir(), "ggml_kquant_ref")
	out, err := exec.Command(cc, "-O1", "-o", bin, "testdata/ggml_kquant_ref.c",
		"-L"+lib, "-l:libggml-cpu-haswell.so", "-l:libggml-base.so", "-Wl,-rpath,"+lib).CombinedOutput()
	require.NoError(t, err, "building the ggml harness: %s", out)
	return bin, append(os.Environ(), "LD_LIBRARY_PATH="+lib)
}

// exactGGMLDot lists the types whose AVX2 VecDot replicates ggml's AVX2
// kernel step for step, so its result must be bit-identical.
var exactGGMLDot = map[gguf.TensorType]bool{
	gguf.TypeQ2_K: true, gguf.TypeQ3_K: true, gguf.TypeQ4_K: true, gguf.TypeQ5_K: true, gguf.TypeQ6_K: true,
}

// TestKQuantAgainstGGMLKernels feeds random and degenerate rows to llama.cpp's
// compiled ggml and to this package and compares: Q8_K activations and
// weight quantization byte for byte, dot products within float rounding.
func TestKQuantAgainstGGMLKernels(t *testing.T) {
	bin, env := buildGGMLRef(t)
	const n, rows = 1024, 48
	r := rand.New(rand.NewPCG(7, 8))
	w := make([]float32, 0, n*rows)
	for row := 0; row < rows; row++ {
		var v []float32
		switch row {
		case 0:
			v = make([]float32, n) // all zero
		case 1:
			v = make([]float32, n)
			for i := range v {
				v[i] = 0.5 // constant
			}
		case 2:
			v = make([]float32, n)
			v[300] = -2 // lone spike
		case 3:
			v = randVec(r, n, 1e-6)
		case 4:
			v = randVec(r, n, 1e4)
		case 5:
			v = randVec(r, n, 1)
			for i := range v {
				v[i] = float32(math.Abs(float64(v[i]))) // all positive
			}
		case 6:
			v = randVec(r, n, 1)
			for i := range v {
				v[i] = -float32(math.Abs(float64(v[i]))) // all negative
			}
		case 7:
			v = make([]float32, n)
			for i := range v {
				v[i] = float32(i%7) * 0.125 // few distinct levels, exact ties
			}
		default:
			v = randVec(r, n, 0.02*float64(row))
		}
		w = append(w, v...)
	}
	x := randVec(r, n, 1)

	var in bytes.Buffer
	require.NoError(t, binary.Write(&in, binary.LittleEndian, [2]int32{n, rows}))
	require.NoError(t, binary.Write(&in, binary.LittleEndian, w))
	require.NoError(t, binary.Write(&in, binary.LittleEndian, x))
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "ggml harness: %s", stderr.String())

	q8, err := For(gguf.TypeQ8_K)
	require.NoError(t, err)
	a := make([]byte, q8.RowSize(n))
	q8.Quantize(a, x)
	require.GreaterOrEqual(t, len(out), len(a))
	assert.Equal(t, out[:len(a)], a, "Q8_K activations differ from ggml-cpu's quantize_row_q8_K")
	out = out[len(a):]

	for _, typ := range []gguf.TensorType{gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		tr, err := For(typ)
		require.NoError(t, err)
		rowBytes := tr.RowSize(n)
		require.GreaterOrEqual(t, len(out), rows*rowBytes+4*rows)
		ref := out[:rows*rowBytes]
		refDots := out[rows*rowBytes : rows*rowBytes+4*rows]
		out = out[rows*rowBytes+4*rows:]
		t.Run(typ.String(), func(t *testing.T) {
			got := make([]byte, rows*rowBytes)
			tr.Quantize(got, w)
			for row := 0; row < rows; row++ {
				assert.Equal(t, ref[row*rowBytes:(row+1)*rowBytes], got[row*rowBytes:(row+1)*rowBytes], "row %d quantization", row)
			}
			var maxRel float64
			deq := make([]float32, n)
			ad := make([]float32, n)
			q8.Dequantize(ad, a)
			for row := 0; row < rows; row++ {
				wrow := ref[row*rowBytes : (row+1)*rowBytes]
				want := math.Float32frombits(binary.LittleEndian.Uint32(refDots[4*row:]))
				gotDot := tr.VecDot(n, wrow, a)
				tr.Dequantize(deq, wrow)
				var mag float64
				for i := range deq {
					mag += math.Abs(float64(deq[i]) * float64(ad[i]))
				}
				diff := math.Abs(float64(gotDot) - float64(want))
				if mag > 0 {
					maxRel = math.Max(maxRel, diff/mag)
				}
				assert.LessOrEqual(t, diff, 1e-5*mag+1e-30, "row %d: ours %g, ggml %g", row, gotDot, want)
				if exactGGMLDot[typ] && useAVX2 {
					assert.Equal(t, want, gotDot, "row %d: the AVX2 kernel must equal ggml's bit for bit", row)
				}
			}
			t.Logf("%s: %d rows byte-identical; max |ours-ggml AVX2 dot| / sum|w*a| = %.3g", typ, rows, maxRel)
		})
	}
}
