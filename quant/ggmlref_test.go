package quant

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"

	"github.com/hearthllm/hearth/gguf"
)

// ggmlHarnessC is a small C program that loads llama.cpp's own CPU backend
// from node-llama-cpp's prebuilt binaries (the variant ggml itself would
// pick on this CPU, by ggml_backend_score) and answers requests on stdin:
//
//	op 1, type, n, n float32        -> type_traits_cpu[type].from_float bytes
//	op 2, type, n, w bytes, a bytes -> type_traits_cpu[type].vec_dot, float32
//	op 3, type, n, n float32        -> ggml_quantize_chunk (what llama-quantize
//	                                   runs without an imatrix); Q8_1 uses
//	                                   quantize_row_q8_1_ref
//
// It is the independent truth for activation quantization and dot products.
const ggmlHarnessC = `
#include <dirent.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*from_float_fn)(const float *, void *, int64_t);
typedef void (*vec_dot_fn)(int, float *, size_t, const void *, size_t, const void *, size_t, int);
struct traits_cpu { from_float_fn from_float; vec_dot_fn vec_dot; int vec_dot_type; int64_t nrows; };

static void *must(void *p, const char *what) {
	if (!p) { fprintf(stderr, "harness: %s: %s\n", what, dlerror()); exit(2); }
	return p;
}

static void read_full(void *p, size_t n) {
	if (n && fread(p, 1, n, stdin) != n) { fprintf(stderr, "harness: short read\n"); exit(3); }
}

int main(int argc, char **argv) {
	if (argc != 2) return 1;
	char path[4096], best_path[4096] = "";
	snprintf(path, sizeof path, "%s/libggml-base.so", argv[1]);
	void *base = must(dlopen(path, RTLD_NOW | RTLD_GLOBAL), path);
	int best = -1;
	DIR *dir = opendir(argv[1]);
	if (!dir) return 1;
	for (struct dirent *e; (e = readdir(dir));) {
		if (strncmp(e->d_name, "libggml-cpu", 11) != 0) continue;
		snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h) continue;
		int (*score)(void) = (int (*)(void))dlsym(h, "ggml_backend_score");
		int s = score ? score() : 1;
		if (s > best) { best = s; strcpy(best_path, path); }
	}
	closedir(dir);
	if (best <= 0) { fprintf(stderr, "harness: no usable CPU backend\n"); return 4; }
	void *cpu = must(dlopen(best_path, RTLD_NOW | RTLD_GLOBAL), best_path);
	fprintf(stderr, "harness: %s (score %d)\n", best_path, best);
	((void (*)(void))must(dlsym(cpu, "ggml_cpu_init"), "ggml_cpu_init"))();
	const struct traits_cpu *(*get)(int) = must(dlsym(cpu, "ggml_get_type_traits_cpu"), "ggml_get_type_traits_cpu");
	size_t (*row_size)(int, int64_t) = must(dlsym(base, "ggml_row_size"), "ggml_row_size");
	size_t (*quantize_chunk)(int, const float *, void *, int64_t, int64_t, int64_t, const float *) =
		must(dlsym(base, "ggml_quantize_chunk"), "ggml_quantize_chunk");
	void (*q8_1_ref)(const float *, void *, int64_t) = must(dlsym(base, "quantize_row_q8_1_ref"), "quantize_row_q8_1_ref");

	uint32_t hdr[3];
	while (fread(hdr, 4, 3, stdin) == 3) {
		const struct traits_cpu *t = get((int)hdr[1]);
		int64_t n = hdr[2];
		if (hdr[0] == 1 || hdr[0] == 3) {
			float *x = malloc(4 * n);
			size_t sz = row_size((int)hdr[1], n);
			void *y = calloc(1, sz);
			read_full(x, 4 * n);
			if (hdr[0] == 1) t->from_float(x, y, n);
			else if (hdr[1] == 9) q8_1_ref(x, y, n);
			else quantize_chunk((int)hdr[1], x, y, 0, 1, n, NULL);
			fwrite(y, 1, sz, stdout);
			free(x); free(y);
		} else if (hdr[0] == 2) {
			size_t sw = row_size((int)hdr[1], n), sa = row_size(t->vec_dot_type, n);
			void *w = malloc(sw), *a = malloc(sa);
			read_full(w, sw); read_full(a, sa);
			float s = 0;
			t->vec_dot((int)n, &s, 0, w, 0, a, 0, 1);
			fwrite(&s, 4, 1, stdout);
			free(w); free(a);
		} else {
			return 5;
		}
		fflush(stdout);
	}
	return 0;
}
`

// ggmlHarness talks to a running harness process.
type ggmlHarness struct {
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Reader
	cmd *exec.Cmd
}

// startGGMLHarness builds and starts the harness, or skips the test loudly
// when node-llama-cpp's linux-x64 binaries or gcc are missing.
func startGGMLHarness(t *testing.T) *ggmlHarness {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("!!! SKIPPED: llama.cpp harness needs linux/amd64, have %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	bins := filepath.Join(root, "node_modules", "@node-llama-cpp", "linux-x64", "bins", "linux-x64")
	if _, err := os.Stat(filepath.Join(bins, "libggml-base.so")); err != nil {
		t.Skipf("!!! SKIPPED: llama.cpp CPU binaries not found (run npm ci): %v", err)
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("!!! SKIPPED: gcc not found, cannot build the llama.cpp harness: %v", err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "harness.c")
	require.NoError(t, os.WriteFile(src, []byte(ggmlHarnessC), 0o644))
	exe := filepath.Join(dir, "harness")
	build := exec.Command(gcc, "-O1", "-o", exe, src, "-ldl")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the harness: %v\n%s", err, b)
	}
	cmd := exec.Command(exe, bins)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+bins)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &ggmlHarness{in: in, out: bufio.NewReader(out), cmd: cmd}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
		t.Logf("%s", strings.TrimSpace(stderr.String()))
	})
	return h
}

func (h *ggmlHarness) request(t *testing.T, op uint32, typ gguf.TensorType, n int, payload []byte, respLen int) []byte {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	msg := binary.LittleEndian.AppendUint32(nil, op)
	msg = binary.LittleEndian.AppendUint32(msg, uint32(typ))
	msg = binary.LittleEndian.AppendUint32(msg, uint32(n))
	_, err := h.in.Write(append(msg, payload...))
	require.NoError(t, err)
	resp := make([]byte, respLen)
	_, err = io.ReadFull(h.out, resp)
	require.NoError(t, err, "harness died")
	return resp
}

// quantizeRef asks ggml to quantize x to typ the way llama-quantize does
// without an importance matrix.
func (h *ggmlHarness) quantizeRef(t *testing.T, typ gguf.TensorType, x []float32) []byte {
	t.Helper()
	payload := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(payload[4*i:], math.Float32bits(v))
	}
	size, ok := typ.RowSize(len(x))
	require.True(t, ok)
	return h.request(t, 3, typ, len(x), payload, size)
}

// fromFloat asks ggml-cpu to convert x to typ the way it converts activations.
func (h *ggmlHarness) fromFloat(t *testing.T, typ gguf.TensorType, x []float32) []byte {
	t.Helper()
	payload := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(payload[4*i:], math.Float32bits(v))
	}
	size, ok := typ.RowSize(len(x))
	require.True(t, ok)
	return h.request(t, 1, typ, len(x), payload, size)
}

// vecDot asks ggml-cpu for its dot product of weight row w (type typ) and
// activation row a.
func (h *ggmlHarness) vecDot(t *testing.T, typ gguf.TensorType, n int, w, a []byte) float32 {
	t.Helper()
	resp := h.request(t, 2, typ, n, append(append([]byte(nil), w...), a...), 4)
	return math.Float32frombits(binary.LittleEndian.Uint32(resp))
}

// activationRows returns rows that stress rounding: normal data, data with
// outliers, exact .5 multiples of the scale, all-equal and all-zero blocks,
// tiny and huge magnitudes.
func activationRows(rng *rand.Rand, n int) [][]float32 {
	rows := [][]float32{randRow(rng, n, 1), randRow(rng, n, 1e-3), randRow(rng, n, 300)}
	ties := make([]float32, n)
	for i := range ties {
		// multiples of amax/254 land exactly on .5 steps when amax = 127
		ties[i] = float32(rng.IntN(255)-127) / 2
		if i%32 == 0 {
			ties[i] = 127
		}
	}
	rows = append(rows, ties)
	flat := make([]float32, n)
	for i := range flat {
		if i >= 32 {
			flat[i] = 0.7
		}
	}
	rows = append(rows, flat)
	tiny := randRow(rng, n, 1e-6)
	rows = append(rows, tiny, scaleSensitiveRow(rng, n))
	return rows
}

// scaleSensitiveRow builds blocks of 32 whose quantization differs between
// the multipliers 127/amax (ggml-cpu's AVX2 code) and 1/(amax/127) (the
// reference): each block's amax is chosen so the two float32 multipliers
// differ, and the other elements sit where x*id lands on different sides of
// a rounding boundary for the two.
func scaleSensitiveRow(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for b := 0; b < n/32; b++ {
		var amax, idA, idB float32
		for {
			amax = float32(0.5 + 1.5*rng.Float64())
			idA, idB = 127/amax, 1/(amax/127)
			if idA != idB {
				break
			}
		}
		blk := x[b*32 : (b+1)*32]
		blk[0] = amax
		for j := 1; j < 32; j++ {
			k := float32(rng.IntN(126)) + 0.5
			v := k / idA
			for try := 0; try < 64; try++ {
				if math.Round(float64(v*idA)) != math.Round(float64(v*idB)) ||
					math.RoundToEven(float64(v*idA)) != math.RoundToEven(float64(v*idB)) {
					break
				}
				if try%2 == 0 {
					v = math.Nextafter32(v, 0)
				} else {
					v = math.Nextafter32(v, 1e9)
				}
			}
			if rng.IntN(2) == 0 {
				v = -v
			}
			blk[j] = v
		}
	}
	return x
}

func TestActivationQuantizationMatchesGGML(t *testing.T) {
	if !cpu.X86.HasAVX2 {
		// ggml-cpu's scalar fallback rounds like the reference quantizer;
		// QuantizeActivation always follows the x86 AVX2 build.
		t.Skip("!!! SKIPPED: llama.cpp's CPU backend here has no AVX2 activation quantizer to compare with")
	}
	h := startGGMLHarness(t)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, typ := range []gguf.TensorType{gguf.TypeQ8_0, gguf.TypeQ8_1, gguf.TypeF16, gguf.TypeBF16, gguf.TypeF32} {
		tr := mustFor(t, typ)
		for _, n := range []int{32, 256, 4096} {
			for k, x := range activationRows(rng, n) {
				t.Run(fmt.Sprintf("%s/n=%d/row%d", typ, n, k), func(t *testing.T) {
					want := h.fromFloat(t, typ, x)
					got := make([]byte, len(want))
					tr.QuantizeActivation(got, x)
					require.Equal(t, want, got)
				})
			}
		}
	}
}

// TestQuantizeMatchesGGML covers the rows the model files don't: zeros,
// constant blocks, ties, tiny and huge values.
func TestQuantizeMatchesGGML(t *testing.T) {
	h := startGGMLHarness(t)
	rng := rand.New(rand.NewPCG(25, 26))
	for _, lt := range legacyTypes {
		if lt.typ == gguf.TypeF32 {
			continue
		}
		tr := mustFor(t, lt.typ)
		for _, n := range []int{32, 256} {
			rows := activationRows(rng, n)
			neg := make([]float32, n) // all negative, so min = max-side for Q4_1/Q5_1
			for i := range neg {
				neg[i] = -float32(rng.Float64())
			}
			rows = append(rows, make([]float32, n), neg, randRow(rng, n, 0.1))
			for k, x := range rows {
				t.Run(fmt.Sprintf("%s/n=%d/row%d", lt.typ, n, k), func(t *testing.T) {
					want := h.quantizeRef(t, lt.typ, x)
					got := make([]byte, len(want))
					tr.Quantize(got, x)
					require.Equal(t, want, got)
				})
			}
		}
	}
}

func TestVecDotMatchesGGML(t *testing.T) {
	h := startGGMLHarness(t)
	rng := rand.New(rand.NewPCG(23, 24))
	for _, lt := range legacyTypes {
		if !lt.weights {
			continue
		}
		tr := mustFor(t, lt.typ)
		at := mustFor(t, tr.VecDotType)
		worst := 0.0
		for _, n := range []int{32, 256, 4096} {
			for trial := 0; trial < 8; trial++ {
				x := randRow(rng, n, 0.1)
				y := randRow(rng, n, 1)
				w := make([]byte, tr.RowSize(n))
				tr.Quantize(w, x)
				a := h.fromFloat(t, tr.VecDotType, y) // ggml's own activation bytes
				want := float64(h.vecDot(t, lt.typ, n, w, a))
				got := float64(tr.VecDot(n, w, a))
				_, absSum := vecDotRef(t, tr, n, w, a)
				// Only the float32 summation order differs from ggml's SIMD.
				tol := float64(n/tr.BlockSize+16) * 0x1p-24 * absSum
				assert.InDelta(t, want, got, tol, "%s n=%d trial %d", lt.typ, n, trial)
				worst = math.Max(worst, math.Abs(got-want)/absSum)
				_ = at
			}
		}
		t.Logf("%s: largest |ours-ggml| / sum|w*a| = %.3g", lt.typ, worst)
	}
}

// TestVecDotExactVsGGML requires our dot products to equal ggml-cpu's bit
// for bit where both run the AVX2 code (not on AVX-512 machines, where ggml
// picks wider kernels).
func TestVecDotExactVsGGML(t *testing.T) {
	if !useAVX2 || cpu.X86.HasAVX512F {
		t.Skip("!!! SKIPPED: exact comparison needs the AVX2 kernels on a CPU without AVX-512")
	}
	h := startGGMLHarness(t)
	rng := rand.New(rand.NewPCG(27, 28))
	for _, lt := range legacyTypes {
		if !lt.weights {
			continue
		}
		tr := mustFor(t, lt.typ)
		lengths := []int{32, 64, 4096}
		if tr.BlockSize == 1 {
			for l := 1; l < 32; l++ { // every leftover count, alone and after 32 or 992
				lengths = append(lengths, l, 32+l, 992+l)
			}
		} else {
			lengths = append(lengths, 96, 256, 1024, 11008)
		}
		for _, n := range lengths {
			for trial := 0; trial < 12; trial++ {
				x := randRow(rng, n, 0.1)
				if trial%3 == 2 {
					for i := range x {
						x[i] += 0.2 // exercise the Q4_1/Q5_1 minimum term
					}
				}
				w := make([]byte, tr.RowSize(n))
				tr.Quantize(w, x)
				a := h.fromFloat(t, tr.VecDotType, randRow(rng, n, 1))
				want := h.vecDot(t, lt.typ, n, w, a)
				got := tr.VecDot(n, w, a)
				require.Equal(t, math.Float32bits(want), math.Float32bits(got), "%s n=%d: ggml %g, ours %g", lt.typ, n, want, got)
			}
		}
	}
}
