package cpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/internal/llamacpp"
	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/hearthllm/hearth/quant"
)

// dumpRec is one tensor written by testdata/llama_dump.c.
type dumpRec struct {
	name string
	ne   [4]int
	v    []float32
}

func readDump(t testing.TB, p string) []dumpRec {
	t.Helper()
	d, err := os.ReadFile(p)
	require.NoError(t, err)
	var out []dumpRec
	for o := 0; o < len(d); {
		n := int(binary.LittleEndian.Uint32(d[o:]))
		o += 4
		r := dumpRec{name: string(d[o : o+n])}
		o += n
		cnt := 1
		for i := range r.ne {
			r.ne[i] = int(binary.LittleEndian.Uint64(d[o:]))
			o += 8
			cnt *= r.ne[i]
		}
		r.v = make([]float32, cnt)
		for i := range r.v {
			r.v[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[o:]))
			o += 4
		}
		out = append(out, r)
	}
	return out
}

// findRec returns the k-th record named name, or, when name ends with a
// colon, whose name starts with it.
func findRec(t testing.TB, rs []dumpRec, name string, k int) []float32 {
	t.Helper()
	for _, r := range rs {
		if r.name == name || strings.HasSuffix(name, ":") && strings.HasPrefix(r.name, name) {
			if k == 0 {
				return r.v
			}
			k--
		}
	}
	t.Fatalf("no record %q", name)
	return nil
}

func ulps(a, b float32) int64 {
	ia, ib := int64(int32(math.Float32bits(a))), int64(int32(math.Float32bits(b)))
	if ia < 0 {
		ia = math.MinInt32 - ia
	}
	if ib < 0 {
		ib = math.MinInt32 - ib
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return d
}

// cmpOp reports, as a test error, how many of got's elements differ from
// want's in any bit.
func cmpOp(t *testing.T, op string, got, want []float32) {
	t.Helper()
	require.Len(t, got, len(want), op)
	nd, mx, at := 0, int64(0), -1
	for i := range got {
		if u := ulps(got[i], want[i]); u != 0 {
			nd++
			if u > mx {
				mx, at = u, i
			}
		}
	}
	if nd > 0 {
		t.Errorf("%-14s %d/%d differ, max %d ulp at %d (%g, llama.cpp %g)", op, nd, len(got), mx, at, got[at], want[at])
	}
}

// TestOpsAgainstLlamaDump runs each step of the backend's forward pass
// (norms, matrix products, RoPE, attention with the KV cache, SwiGLU,
// residual adds) on llama.cpp's own inputs, read from a dump that
// testdata/llama_dump.c writes while llama.cpp decodes a token path, one
// token per call (posN.bin) or the whole path in one batch (batch.bin), and
// requires every output to equal llama.cpp's bit for bit. Diagnostic, for
// finding the operation where the backend and llama.cpp part: it runs only
// when HEARTH_LLAMA_DUMP names a dump folder (made by
// testdata/llama_dump.sh; HEARTH_LLAMA_DUMP_MODEL names the model, default
// synthetic/tiny-synth-q4_1.gguf, and HEARTH_LLAMA_DUMP_KV the cache type
// the dump used, f32 (default) or f16). TestOpsMatchLlamaCppExactly runs
// the same comparison on fresh dumps.
func TestOpsAgainstLlamaDump(t *testing.T) {
	dir := os.Getenv("HEARTH_LLAMA_DUMP")
	if dir == "" {
		t.Skip("diagnostic: set HEARTH_LLAMA_DUMP to a folder written by testdata/llama_dump.sh")
	}
	name := os.Getenv("HEARTH_LLAMA_DUMP_MODEL")
	if name == "" {
		name = "synthetic/tiny-synth-q4_1.gguf"
	}
	kv := engine.KVF32
	if os.Getenv("HEARTH_LLAMA_DUMP_KV") == "f16" {
		kv = engine.KVF16
	}
	compareDumpDir(t, dir, name, kv)
}

// TestOpsMatchLlamaCppExactly builds testdata/llama_dump.c against
// node-llama-cpp's libllama, dumps llama.cpp's tensors for the token path
// (one token per decode, and one batch) and requires each step of the
// backend to reproduce them bit for bit. The dumps cover the decode path
// with both cache types, the repacked Q4_0 kernel, a K-quant, a batch
// whose weight products llama.cpp computes with the same kernels as
// quant.MatMul, and batches of repacked Q4_0 and Q4_K weights
// (ggml_gemm_q4_0_8x8_q8_0 / ggml_gemm_q4_K_8x8_q8_K: quant.GemmQ4_0x8,
// quant.GemmQ4Kx8) and of Q8_0 weights (llamafile's tinyBLAS in llama.cpp,
// quant.GemmQ8_0 on packed activations here). F32/F16/BF16 weights, where llama.cpp uses tinyBLAS for
// batches, are covered by TestBatchMatchesLlamaCpp within tolerance.
func TestOpsMatchLlamaCppExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs llama.cpp's tensor dump (about a minute)")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || cpu.X86.HasAVX512F {
		t.Skip("SKIPPING: bit-exact agreement holds with llama.cpp's x86-64 AVX2 (haswell) build on Linux only")
	}
	if lvl, _ := quant.KernelLevel(); lvl != quant.LevelAVX2 {
		t.Skipf("SKIPPING: quant kernel level %s follows ggml's generic code, not its AVX2 build", lvl)
	}
	for _, tool := range []string{"sh", "gcc", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("!!! SKIPPING: %s not found, cannot build the llama.cpp dump harness: %v", tool, err)
		}
	}
	_, root := llamacpp.Node(t)
	tmp := t.TempDir() // llama_dump.sh clones llama.cpp's headers here once
	for _, tc := range []struct {
		model, kv string
		batch     bool
	}{
		{"synthetic/tiny-synth-q4_1.gguf", "f32", false},
		{"synthetic/tiny-synth-q4_0.gguf", "f16", false},
		{"synthetic/tiny-synth-q5_k.gguf", "f16", true},
		{"synthetic/tiny-synth-q4_0.gguf", "f16", true},
		{"synthetic/tiny-synth-q4_k.gguf", "f16", true},
		{"synthetic/tiny-synth-q8_0.gguf", "f16", true},
	} {
		mode := "decode"
		if tc.batch {
			mode = "batch"
		}
		t.Run(fmt.Sprintf("%s/%s/%s", tc.model, tc.kv, mode), func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command("sh", filepath.Join(root, "engine", "cpu", "testdata", "llama_dump.sh"),
				testmodels.Path(t, tc.model), out, tc.kv, mode)
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			msg, err := cmd.CombinedOutput()
			require.NoError(t, err, "llama_dump.sh: %s", msg)
			kv := engine.KVF32
			if tc.kv == "f16" {
				kv = engine.KVF16
			}
			compareDumpDir(t, out, tc.model, kv)
		})
	}
}

// compareDumpDir compares every decode in the llama_dump folder dir
// (model name, cache type kv) with the backend's operations.
func compareDumpDir(t *testing.T, dir, name string, kv engine.KVType) {
	m, _ := loadModel(t, name)
	const nCtx = 256 // llama_dump's context: the KV cache views hold 256 positions
	b := newTestBackend(t, m, engine.Options{Threads: 1, ContextSize: nCtx, KVType: kv})
	if _, err := os.Stat(filepath.Join(dir, "batch.bin")); err == nil {
		compareLlamaDump(t, b, readDump(t, filepath.Join(dir, "batch.bin")), 0)
		return
	}
	for pos := 0; ; pos++ {
		p := filepath.Join(dir, fmt.Sprintf("pos%d.bin", pos))
		if _, err := os.Stat(p); err != nil {
			require.Positive(t, pos, "no dump in %s", dir)
			break
		}
		compareLlamaDump(t, b, readDump(t, p), pos)
		if t.Failed() {
			t.Fatalf("position %d differs from llama.cpp", pos)
		}
	}
}

// compareLlamaDump checks one llama_decode's tensors rs, for a batch of
// tokens at positions pos.., against the backend's operations.
func compareLlamaDump(t *testing.T, b *Backend, rs []dumpRec, pos int) {
	const nCtx = 256
	c := &b.c
	E, hd := c.NEmbd, c.HeadDim
	qDim, kvDim := c.NHead*hd, c.NHeadKV*hd
	at := func(name string, k int) []float32 { return findRec(t, rs, name, k) }
	n := len(at("embd", 0)) / E
	mv := func(mt *mat, x []float32) []float32 {
		out := make([]float32, n*mt.rows)
		b.matmul(n, x, mt.cols, nil, mt, out, nil, nil, nil, nil)
		return out
	}
	norm := func(x, w []float32) []float32 {
		out := make([]float32, len(x))
		for i := 0; i < n; i++ {
			rmsNorm(out[i*E:(i+1)*E], x[i*E:(i+1)*E], w, c.RMSEps)
		}
		return out
	}
	rope := func(x []float32, heads int) []float32 {
		out := append([]float32(nil), x...)
		cs := make([]float32, c.RopeDim)
		for i := 0; i < n; i++ {
			ropeCache(cs, pos+i, c.RopeDim, c.RopeBase, 1/c.RopeScale, b.ropeFF)
			ropeNorm(out[i*heads*hd:(i+1)*heads*hd], heads, hd, cs)
		}
		return out
	}
	for li := range b.layers {
		l := &b.layers[li]
		L := fmt.Sprint(li)
		x := at("embd", 0)
		if li > 0 {
			x = at(fmt.Sprintf("l_out-%d", li-1), 0)
		}
		cmpOp(t, "attn_norm-"+L, norm(x, l.attnNorm), at("attn_norm-"+L, 0))
		xn := at("attn_norm-"+L, 0)
		cmpOp(t, "Qcur-"+L, mv(&l.wq, xn), at("Qcur-"+L, 0))
		cmpOp(t, "Kcur-"+L, mv(&l.wk, xn), at("Kcur-"+L, 0))
		cmpOp(t, "Vcur-"+L, mv(&l.wv, xn), at("Vcur-"+L, 0))
		// The Qcur-L records: the product, its reshape, the rotation.
		cmpOp(t, "rope Q-"+L, rope(at("Qcur-"+L, 0), c.NHead), at("Qcur-"+L, 2))
		cmpOp(t, "rope K-"+L, rope(at("Kcur-"+L, 0), c.NHeadKV), at("Kcur-"+L, 2))

		// Attention: llama.cpp's caches (with this batch written) and
		// rotated queries in, the heads' outputs (kqv_out) out.
		kc := at("kq-"+L+"@src0:", 0)  // [hd, nCtx, nHeadKV]
		vc := at("kqv-"+L+"@src0:", 0) // [nCtx, hd, nHeadKV]
		require.Len(t, kc, nCtx*kvDim)
		for j := 0; j < nCtx; j++ {
			for e := 0; e < kvDim; e++ {
				kvh, d := e/hd, e%hd
				kx, vx := kc[(kvh*nCtx+j)*hd+d], vc[(kvh*hd+d)*nCtx+j]
				if l.k16 != nil {
					l.k16[j*kvDim+e], l.v16[e*nCtx+j] = quant.FP32ToFP16(kx), quant.FP32ToFP16(vx)
				} else {
					l.k32[j*kvDim+e], l.v32[e*nCtx+j] = kx, vx
				}
			}
		}
		copy(b.q[:n*qDim], at("Qcur-"+L, 2))
		b.attention(li, n, pos)
		cmpOp(t, "kqv_out-"+L, b.att[:n*qDim], at("kqv_out-"+L, 0))

		cmpOp(t, "attn_out-"+L, mv(&l.wo, at("kqv_out-"+L, 0)), at("attn_out-"+L, 0))
		// The adds run in place: their inputs come from the nodes that made them.
		fi := append([]float32(nil), at("attn_out-"+L, 0)...)
		add(fi, x)
		cmpOp(t, "ffn_inp-"+L, fi, at("ffn_inp-"+L, 0))
		cmpOp(t, "ffn_norm-"+L, norm(at("ffn_inp-"+L, 0), l.ffnNorm), at("ffn_norm-"+L, 0))
		fn := at("ffn_norm-"+L, 0)
		cmpOp(t, "ffn_gate-"+L, mv(&l.wGate, fn), at("ffn_gate-"+L, 0))
		cmpOp(t, "ffn_up-"+L, mv(&l.wUp, fn), at("ffn_up-"+L, 0))
		g := append([]float32(nil), at("ffn_gate-"+L, 0)...)
		up := at("ffn_up-"+L, 0)
		for i := 0; i < n; i++ {
			swiGLU(g[i*c.NFF:(i+1)*c.NFF], up[i*c.NFF:(i+1)*c.NFF])
		}
		cmpOp(t, "ffn_swiglu-"+L, g, at("ffn_swiglu-"+L, 0))
		cmpOp(t, "ffn_out-"+L, mv(&l.wDown, at("ffn_swiglu-"+L, 0)), at("ffn_out-"+L, 0))
		lo := append([]float32(nil), at("ffn_out-"+L, 0)...)
		add(lo, at("ffn_inp-"+L, 0))
		cmpOp(t, "l_out-"+L, lo, at("l_out-"+L, 0))
	}
	last := at(fmt.Sprintf("l_out-%d", len(b.layers)-1), 0)
	cmpOp(t, "result_norm", norm(last, b.outNorm), at("result_norm", 0))
	out := make([]float32, n*b.output.rows)
	b.matmul(n, at("result_norm", 0), E, nil, &b.output, out, nil, nil, nil, nil)
	cmpOp(t, "result_output", out, at("result_output", 0))
}
