package gpu

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/hearthllm/hearth/gguf"
)

// The fused decode matrix kernel (kernels/mvd.wgsl): one token's RMSNorm
// and activation rounding happen inside every workgroup of the product, so
// decode needs no actq or rmsnorm dispatches.

// mvdEnv set to "0" switches the fused decode kernel off (experiments).
const mvdEnv = "HEARTH_GPU_MVD"

// mvdWG is the default workgroup size of the fused kernel.
const mvdWG = 256

// Tuning switches of the fused kernel, read once when a Backend is built
// (experiments; docs/benchmarks-gpu.md has the sweep):
//
//   - HEARTH_GPU_MVD_SMALL="ROWS:TPR,RPW[/ROWS:TPR,RPW...]" (or ';'): products with
//     at most ROWS output rows (the first rule that fits) run TPR threads
//     per row and RPW rows per workgroup (TPR*RPW threads, 64 to 256, both
//     powers of two), e.g. "256:32,2/2048:32,8" gives the Q6_K V product
//     (256 rows) 128 workgroups and attn_output/ffn_down (2048 rows) 256;
//   - HEARTH_GPU_MVD_PK=1: the Q4_K/Q6_K/Q4_0/Q8_0 tasks assemble quants
//     as packed bytes and turn them into floats with the 2^23 trick
//     instead of integer-to-float conversions (the same values exactly);
//   - HEARTH_GPU_MVD_Q4K=64: Q4_K tasks of 64 elements (two 16-byte quant
//     groups under one header and scale decode) instead of 32; sums in
//     another order, like another TPR;
//   - HEARTH_GPU_MVD_PF=N (1-8): each thread loads one word of N 32-byte
//     sectors of its row before the activation prep, so the row's DRAM
//     reads overlap the prep (kernels/mvd_pf.wgsl; results unchanged);
//   - HEARTH_GPU_ATTN_SPLIT=64|128|256|512: positions per decode attention
//     split (at least; default 128);
//   - HEARTH_GPU_MVD_EXACT=0: the earlier tasks (mvd_<type>.wgsl, products
//     in other orders than the CPU's) instead of the exact ones
//     (mvd_x_<type>.wgsl, mvd_xf.wgsl; see mvdExact);
//   - HEARTH_GPU_MVD_TPC=N (1-8): tasks a thread per chunk of the exact
//     products (default 4, SwiGLU 2, Q4_0 1; results unchanged);
//   - HEARTH_GPU_MVD_SB=0: the exact Q4_K product in chunks of 32-element
//     tasks (XCH) instead of a super-block (or a part of one) per thread
//     (XSB; results unchanged);
//   - HEARTH_GPU_MVD_XFV=0: the exact F32/F16/BF16 product with one lane
//     of ggml's 32 a thread (TPR 32, 2- or 4-byte loads one at a time)
//     instead of two lanes a thread with eight steps' loads in flight
//     (XFV; results unchanged);
//   - HEARTH_GPU_MVD_XQV=0|8|16|32: rows a workgroup of the exact Q8_0
//     product with a thread per lane of ggml's eight running its chain in
//     registers (XQV; default 16), 0: XCH's chunks (results unchanged);
//     Q6_K's output product (16384+ rows) runs that way too,
//     HEARTH_GPU_MVD_XQV6=1 every Q6_K product, 0 none;
//   - HEARTH_GPU_MVD_DIAG=nonorm|noq8|noprep (diagnostics, wrong results):
//     skip the activation prep's RMSNorm, its rounding to Q8 blocks, or
//     both, to time them; tail1|tail2|tail3: the prepared row's tail only
//     counts, only copies the row, or skips the rounding;
//   - HEARTH_GPU_MVD_TAIL=0|1: prepared rows (mvd.wgsl TAIL/PREPD: the
//     residual products' last workgroup prepares the next products' input
//     row once, instead of every workgroup of those products; results
//     unchanged) for no row (0), every row (1), or by default the rows
//     rounded to Q8_K (tailRule);
//   - HEARTH_GPU_MVD_PREP=N (bits, default 3): 1 = one thread derives
//     1/rms and passes it on through workgroup memory (INV1) instead of
//     every thread deriving it, 2 = the norm weights are loaded with the
//     input (GPF; at most four vec4s a thread) instead of after 1/rms;
//     0 gives the earlier prep (results unchanged);
//   - HEARTH_GPU_MVD_PAIR=0: a decode Q, K and V of two weight types
//     (Q4_K_M's Q4_K Q and K, Q6_K V) as two dispatches instead of one
//     (mvdPair, merge.go; results unchanged).
const (
	mvdSmallEnv  = "HEARTH_GPU_MVD_SMALL"
	mvdPKEnv     = "HEARTH_GPU_MVD_PK"
	attnSplitEnv = "HEARTH_GPU_ATTN_SPLIT"
	mvdQ4KEnv    = "HEARTH_GPU_MVD_Q4K"
	mvdPFEnv     = "HEARTH_GPU_MVD_PF"
	mvdExactEnv  = "HEARTH_GPU_MVD_EXACT"
	mvdTPCEnv    = "HEARTH_GPU_MVD_TPC"
	mvdSBEnv     = "HEARTH_GPU_MVD_SB"
	mvdXFVEnv    = "HEARTH_GPU_MVD_XFV"
	mvdPairEnv   = "HEARTH_GPU_MVD_PAIR"
	mvdXQVEnv    = "HEARTH_GPU_MVD_XQV"
	mvdDiagEnv   = "HEARTH_GPU_MVD_DIAG"
	mvdPrepEnv   = "HEARTH_GPU_MVD_PREP"
	mvdTailEnv   = "HEARTH_GPU_MVD_TAIL"
)

// mvdRule gives products of at most rows output rows their own threads per
// row and rows per workgroup.
type mvdRule struct{ rows, tpr, rpw int }

// mvdTuning holds the fused kernel's switches.
type mvdTuning struct {
	small     []mvdRule
	pk        bool
	attnSplit int // minimum positions per attention split (0: 128)
	q4k       int // elements per Q4_K task: 32 (0) or 64
	pf        int // weight sectors prefetched per thread before prep (0: none)
	inexact   bool
	tpc       int  // exact products' tasks a thread per chunk (0: 4, SwiGLU 2)
	noSB      bool // exact Q4_K in XCH chunks, not super-block jobs (XSB)
	noXFV     bool // exact F32/F16/BF16 one lane a thread, not XFV
	noPair    bool // Q, K and V runs of two types as two dispatches (mvdPair)
	xqv       int  // exact Q8_0 a lane a thread, this many rows a workgroup (XQV; 0: XCH chunks)
	xqv6      xqv6Rule
	diag      string   // HEARTH_GPU_MVD_DIAG: prep parts compiled out (timing only)
	noPrep    int      // HEARTH_GPU_MVD_PREP's bits turned off (0: all on)
	tail      tailRule // which rows are prepared once (HEARTH_GPU_MVD_TAIL)
}

// mvdBigRows is where XQV takes a product as the output projection (the
// vocabulary's rows): 32 rows a workgroup, and Q6_K as XQV by default.
const mvdBigRows = 16384

// xqv6Rule says which Q6_K products run as XQV: on an H100 the output
// product (32000 rows) took 55.7 µs that way against 74.6 in XCH's
// chunks, while the 256-row V products (20.1 against 17.4) and ffn_down
// (25.0 against 23.3) ran slower.
type xqv6Rule int

const (
	xqv6Output xqv6Rule = iota // products of mvdBigRows rows or more (default)
	xqv6Never
	xqv6All
)

// takes tells whether a Q6_K product of rows output rows runs as XQV.
func (x xqv6Rule) takes(rows int) bool {
	return x == xqv6All || x == xqv6Output && rows >= mvdBigRows
}

// tailDiag is the prepared rows' diagnostic mode (mvd.wgsl TDG), 0 for none.
func (t mvdTuning) tailDiag() int {
	switch t.diag {
	case "tail1":
		return 1
	case "tail2":
		return 2
	case "tail3":
		return 3
	}
	return 0
}

// tailsAllowed tells whether prepared rows can run under the diagnostic
// mode: none, or one of the tail's own (the others compile the prep out).
func (t mvdTuning) tailsAllowed() bool {
	return t.diag == "" || t.tailDiag() != 0
}

// readMVDTuning parses the switches from the environment.
func readMVDTuning() (mvdTuning, error) {
	var t mvdTuning
	t.pk = os.Getenv(mvdPKEnv) == "1"
	t.inexact = os.Getenv(mvdExactEnv) == "0"
	t.noSB = os.Getenv(mvdSBEnv) == "0"
	t.noXFV = os.Getenv(mvdXFVEnv) == "0"
	t.noPair = os.Getenv(mvdPairEnv) == "0"
	switch v := os.Getenv(mvdTailEnv); v {
	case "":
	case "0":
		t.tail = tailNever
	case "1":
		t.tail = tailAll
	default:
		return t, fmt.Errorf("gpu: %s=%q: want 0 or 1", mvdTailEnv, v)
	}
	// a thread a lane with 16 rows a workgroup decoded Q8_0 at 458-460
	// t/s on an H100 where XCH's chunks gave 370 (32 rows 442-445, 8 rows
	// 251)
	t.xqv = 16
	switch v := os.Getenv(mvdXQVEnv + "6"); v {
	case "":
	case "0":
		t.xqv6 = xqv6Never
	case "1":
		t.xqv6 = xqv6All
	default:
		return t, fmt.Errorf("gpu: %s6=%q: want 0 or 1", mvdXQVEnv, v)
	}
	if v := os.Getenv(mvdXQVEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || (n != 0 && n != 8 && n != 16 && n != 32) {
			return t, fmt.Errorf("gpu: %s=%q: want 0, 8, 16 or 32", mvdXQVEnv, v)
		}
		t.xqv = n
	}
	if v := os.Getenv(mvdPrepEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3 {
			return t, fmt.Errorf("gpu: %s=%q: want 0 to 3", mvdPrepEnv, v)
		}
		t.noPrep = 3 &^ n
	}
	switch t.diag = os.Getenv(mvdDiagEnv); t.diag {
	case "", "nonorm", "noq8", "noprep", "tail1", "tail2", "tail3":
	default:
		return t, fmt.Errorf("gpu: %s=%q: want nonorm, noq8, noprep or tail1..3", mvdDiagEnv, t.diag)
	}
	if v := os.Getenv(mvdTPCEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 8 {
			return t, fmt.Errorf("gpu: %s=%q: want 1 to 8", mvdTPCEnv, v)
		}
		t.tpc = n
	}
	if v := os.Getenv(mvdPFEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 8 {
			return t, fmt.Errorf("gpu: %s=%q: want 0 to 8", mvdPFEnv, v)
		}
		t.pf = n
	}
	if v := os.Getenv(mvdQ4KEnv); v != "" {
		if v != "32" && v != "64" {
			return t, fmt.Errorf("gpu: %s=%q: want 32 or 64", mvdQ4KEnv, v)
		}
		t.q4k, _ = strconv.Atoi(v)
	}
	if v := os.Getenv(attnSplitEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 16 || n&(n-1) != 0 {
			return t, fmt.Errorf("gpu: %s=%q: want a power of two >= 16", attnSplitEnv, v)
		}
		t.attnSplit = n
	}
	if v := os.Getenv(mvdSmallEnv); v != "" {
		for _, f := range strings.FieldsFunc(v, func(c rune) bool { return c == ';' || c == '/' }) {
			var r mvdRule
			if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d:%d,%d", &r.rows, &r.tpr, &r.rpw); err != nil {
				return t, fmt.Errorf("gpu: %s=%q: %w", mvdSmallEnv, v, err)
			}
			wg := r.tpr * r.rpw
			if r.rows <= 0 || r.tpr < 1 || r.rpw < 1 || r.tpr&(r.tpr-1) != 0 || r.rpw&(r.rpw-1) != 0 || wg < 64 || wg > mvdWG {
				return t, fmt.Errorf("gpu: %s=%q: rule %q: want ROWS:TPR,RPW with powers of two and 64 <= TPR*RPW <= %d",
					mvdSmallEnv, v, f, mvdWG)
			}
			t.small = append(t.small, r)
		}
	}
	return t, nil
}

// mvdFast names the types with hand-written tasks (kernels/mvd_<type>.wgsl)
// and whether their weights are read as vec4<u32> (W4).
var mvdFast = map[gguf.TensorType]bool{
	gguf.TypeQ4_K: true,
	gguf.TypeQ6_K: false,
	gguf.TypeQ4_0: false,
	gguf.TypeQ8_0: false,
	gguf.TypeF16:  true,
}

// mvdExact returns the kernel file and defines of the product that sums
// a weight of type typ in exactly the CPU backend's order (gpu/NUMERICS.md),
// or "" where there is none. rows8 says whether the CPU's weights have row
// counts that are multiples of 8 (llama.cpp then uses the repacked GEMV
// kernels for Q4_0 and Q4_K, engine/cpu/repack.go).
func mvdExact(typ gguf.TensorType, rows8 bool) (string, map[string]bool) {
	switch typ {
	case gguf.TypeF32:
		return "mvd_xf", map[string]bool{"EXACTF": true, "WF32": true, "HADD": true}
	case gguf.TypeF16:
		return "mvd_xf", map[string]bool{"EXACTF": true, "WF16": true, "HADD": true}
	case gguf.TypeBF16:
		return "mvd_xf", map[string]bool{"EXACTF": true, "WBF16": true}
	case gguf.TypeQ4_0:
		return "mvd_x_q4_0", map[string]bool{"XCH": true, "GEMV": rows8}
	case gguf.TypeQ4_1:
		return "mvd_x_q4_1", map[string]bool{"XCH": true}
	case gguf.TypeQ5_1:
		return "mvd_x_q4_1", map[string]bool{"XCH": true, "Q51": true}
	case gguf.TypeQ5_0:
		return "mvd_x_q5_0", map[string]bool{"XCH": true}
	case gguf.TypeQ8_0:
		return "mvd_x_q8_0", map[string]bool{"XCH": true}
	case gguf.TypeQ2_K:
		return "mvd_x_q2_k", map[string]bool{"XCH": true, "KLANE": true}
	case gguf.TypeQ3_K:
		return "mvd_x_q3_k", map[string]bool{"XCH": true, "KLANE": true}
	case gguf.TypeQ5_K:
		return "mvd_x_q5_k", map[string]bool{"XCH": true, "KLANE": true}
	case gguf.TypeQ6_K:
		return "mvd_x_q6_k", map[string]bool{"XCH": true, "KLANE": true}
	case gguf.TypeQ4_K:
		if rows8 {
			return "mvd_x_q4_k", map[string]bool{"XCH": true, "W4": true}
		}
	}
	return "", nil
}

// mvdExactFor returns mvdExact's kernel for a product of typ weights with
// outRows output rows (rope: the QKV product with RoPE) whose input is
// rounded to vdt, or "" where the fused kernel sums in another order.
func (r *resources) mvdExactFor(typ, vdt gguf.TensorType, outRows int, rope *ropeSpec) (string, map[string]bool) {
	if r.tune.inexact {
		return "", nil
	}
	rows8 := outRows%8 == 0 && (rope == nil || (rope.qDim%8 == 0 && rope.kvDim%8 == 0))
	xfile, xdefs := mvdExact(typ, rows8)
	q8 := vdt == gguf.TypeQ8_0 || vdt == gguf.TypeQ8_1 || vdt == gguf.TypeQ8_K
	if xdefs["XCH"] && !q8 || xdefs["EXACTF"] && q8 {
		return "", nil // not the CPU's vec-dot type for typ
	}
	return xfile, xdefs
}

// prepFmt is what the fused kernel's activation prep leaves for the
// product: the input rounded to vdt, as integer quants and scales (exact)
// or as rounded values.
type prepFmt struct {
	vdt   gguf.TensorType
	exact bool
}

// tailSpec is a prepared row (mvd.wgsl TAIL, PREPD): the residual product
// that carries it prepares, in its last workgroup, the input of the next
// products, which all take fmt and normalize cols columns with g and eps;
// out holds the row (cols*9/8 words), cnt the workgroup count (one word,
// zero between dispatches).
type tailSpec struct {
	fmt      prepFmt
	cols     int
	g        *wgpu.Buffer
	eps      float32
	out, cnt *wgpu.Buffer
}

// prepFmtOf is the prepared row a product of typ weights with outRows
// output rows (rope: the QKV product) takes.
func (r *resources) prepFmtOf(typ gguf.TensorType, outRows int, rope *ropeSpec) (prepFmt, error) {
	vdt, err := vecDotType(typ)
	if err != nil {
		return prepFmt{}, err
	}
	xfile, _ := r.mvdExactFor(typ, vdt, outRows, rope)
	return prepFmt{vdt, xfile != ""}, nil
}

// prodShape is what decides a product's prepFmt.
type prodShape struct {
	typ     gguf.TensorType
	outRows int
	rope    *ropeSpec
}

// mvOutRows is m's number of output rows (SwiGLU: half its weight rows).
func mvOutRows(m mv) int {
	if m.mode == modeSwiGLU {
		return m.w.rows / 2
	}
	return m.w.rows
}

// tailRule says which prepared rows the backend makes.
type tailRule int

const (
	// tailQ8K prepares rows rounded to Q8_K (K-quant weights) only: on an
	// H100 (TinyLlama shapes) Q4_K_M decoded 461 -> 468-479 t/s with
	// them, while Q8_0 (480 -> 449-457), F16 (532 -> 504-519) and Q4_0
	// (569-574 -> 560-577) lost or broke even. A tail costs its producer
	// 6-9 µs (one workgroup's prep, all latency); Q8_K's per-workgroup
	// prep in the consumers costs more than Q8_0's or F16's, and Q4_K_M's
	// split Q+K and V products pay it twice.
	tailQ8K tailRule = iota
	tailNever
	tailAll
)

// takes tells whether the backend prepares rows of format f.
func (t tailRule) takes(f prepFmt) bool {
	return t == tailAll || t == tailQ8K && f.vdt == gguf.TypeQ8_K
}

// mvdTailLDS bounds the workgroup memory a tail adds to its producer's
// (mvd.wgsl TAIL: tlast, tinv and ts8, one word a thread).
const mvdTailLDS = 4 * (mvdWG + 2)

// prepWords is the size of a prepared row of cols columns in 32-bit words.
func prepWords(cols int) int { return cols + cols/8 }

// mvdExactLDS bounds the workgroup memory the exact products add to
// mvdLDS: a chunk of 4 tasks a thread (SwiGLU: 2 of each row) of at most 2
// ints each (xci) and at most 1 float each (xcf), or XSB's job sums (sbi:
// at most max(2 rows x cols/256, TPR) jobs for each of at most 16 rows, 8
// bytes each) and block scales (sbf), and the Q8_K sums per 16 elements.
func mvdExactLDS(cols int) int {
	xch := 4 * (4*2*mvdWG + 4*mvdWG)
	nsb := cols / 256
	xsb := 8*(16*2*nsb+mvdWG) + 8*16*2*nsb
	xfv := 8 * 2 * mvdWG // XFV's lanes (SWIGLU: two rows)
	return max(xch, xsb, xfv) + cols/4
}

// ropeSpec carries what the ROPE output mode writes besides Y.
type ropeSpec struct {
	kc, vc, cs       *wgpu.Buffer
	headDim, ropeDim int
	qDim, kvDim      int
}

// combSpec describes the split attention partials a fused product merges
// into its input (attention.wgsl SPLIT, mvd.wgsl COMBINE).
type combSpec struct {
	nHead, headDim int
	split, slots   int // positions per split, splits per head
}

// attnSplit picks the split attention layout for a context of nCtx: at
// least 128 positions a split and at most 32 splits a head.
// minSplit (0: 128) overrides the 128.
func attnSplit(nHead, headDim, nCtx, minSplit int) combSpec {
	if minSplit <= 0 {
		minSplit = 128
	}
	split := max(minSplit, (nCtx+31)/32)
	return combSpec{nHead: nHead, headDim: headDim, split: split, slots: (nCtx + split - 1) / split}
}

// floats is the size of the partials buffer in float32s.
func (c combSpec) floats() int { return c.nHead * c.slots * (c.headDim + 2) }

// mvdLDS is the workgroup memory the fused kernel needs for cols columns
// (and the merge of comb's partials when not nil).
func mvdLDS(cols int, comb *combSpec) int {
	nseg := (cols + 31) / 32
	n := 4*cols + 2*4*mvdWG + 4*4*nseg + mvdExactLDS(cols)
	if comb != nil {
		n += 4 * comb.nHead * (comb.slots + 1)
	}
	return n
}

// mvdOK tells whether the fused kernel can run a product with cols input
// columns and vec-dot type vdt on this device.
func (r *resources) mvdOK(cols int, vdt gguf.TensorType) bool {
	if os.Getenv(mvdEnv) == "0" {
		return false
	}
	if cols%32 != 0 && (vdt != gguf.TypeF32 || cols%4 != 0 || r.tune.inexact) {
		return false // the exact F32 product (mvd_xf.wgsl) has a tail loop
	}
	switch vdt {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ8_0, gguf.TypeQ8_1:
	case gguf.TypeQ8_K:
		if cols%256 != 0 {
			return false
		}
	default:
		return false
	}
	return mvdLDS(cols, nil) <= int(r.d.limits.MaxComputeWorkgroupStorageSize) &&
		int(r.d.limits.MaxComputeInvocationsPerWorkgroup) >= mvdWG
}

// mvd builds the fused decode dispatches of m (input m.x, one token; m.norm
// optional; m.last picks the batch's last token) rounding the input to vdt.
// rope, when not nil, makes it the QKV product with RoPE and the KV write.
func (r *resources) mvd(step *wgpu.Buffer, m mv, vdt gguf.TensorType, rope *ropeSpec) ([]dispatch, error) {
	b, err := r.mvdPlan(step, m, vdt, rope, true)
	if err != nil {
		return nil, err
	}
	return r.dispatches(b, m.w.name)
}

// dispatches makes b's runs dispatches of one pipeline, their bind groups
// labelled name.
func (r *resources) dispatches(b *mvdBuild, name string) ([]dispatch, error) {
	p, err := r.pipeline(b.label, b.src)
	if err != nil {
		return nil, err
	}
	out := make([]dispatch, 0, len(b.runs))
	for _, run := range b.runs {
		bg, err := r.bind(name, p, run.bufs...)
		if err != nil {
			return nil, err
		}
		out = append(out, dispatch{label: run.label, pipe: p, bg: bg, x: run.x, y: run.y})
	}
	return out, nil
}

// mvdPair builds the fused products a and b as one dispatch (merge.go):
// a's workgroups, then b's. ok is false where they cannot share one (more
// than one weight chunk, a two-row grid, other workgroup sizes or other
// bindings for what the two must share).
func (r *resources) mvdPair(step *wgpu.Buffer, a, b mv, vdtA, vdtB gguf.TensorType, rope *ropeSpec) (ds []dispatch, ok bool, err error) {
	pa, err := r.mvdPlan(step, a, vdtA, rope, false)
	if err != nil {
		return nil, false, err
	}
	pb, err := r.mvdPlan(step, b, vdtB, rope, false)
	if err != nil {
		return nil, false, err
	}
	if len(pa.runs) != 1 || len(pb.runs) != 1 || pa.wg != pb.wg {
		return nil, false, nil
	}
	ra, rb := pa.runs[0], pb.runs[0]
	if ra.y != 1 || rb.y != 1 || len(ra.bufs) != len(rb.bufs) || int(ra.x)+int(rb.x) > 65535 {
		return nil, false, nil
	}
	// the weights (0) and parameters (3) are b's own; the rest must be
	// the same buffers
	for k := range ra.bufs {
		if k != 0 && k != 3 && ra.bufs[k] != rb.bufs[k] {
			return nil, false, nil
		}
	}
	src, extra, err := mergeEntries(pa.src, pb.src, int(ra.x), func(k int) bool { return ra.bufs[k] == rb.bufs[k] })
	if err != nil {
		return nil, false, fmt.Errorf("gpu: %s + %s: %w", a.w.name, b.w.name, err)
	}
	bufs := append([]*wgpu.Buffer(nil), ra.bufs...)
	for _, k := range extra {
		bufs = append(bufs, rb.bufs[k])
	}
	pair := &mvdBuild{label: "pair " + pa.label + " + " + pb.label, src: src, wg: pa.wg,
		runs: []mvdRun{{bufs: bufs, x: ra.x + rb.x, y: 1, label: ra.label + " + " + rb.label}}}
	ds, err = r.dispatches(pair, a.w.name+" + "+b.w.name)
	return ds, err == nil, err
}

// mvdBuild is a fused product's program and its dispatches' bindings,
// before the pipeline exists.
type mvdBuild struct {
	label string
	src   string
	wg    int // threads a workgroup
	runs  []mvdRun
}

// mvdRun is one dispatch of a fused product: a weight chunk's bindings and
// grid.
type mvdRun struct {
	bufs  []*wgpu.Buffer
	x, y  uint32
	label string
}

// mvdPlan builds m's fused program and bindings. own binds, for a run of
// Q, K and V, only the targets its rows reach (the others get an unused
// buffer): two such runs then share no writable buffer and can overlap.
func (r *resources) mvdPlan(step *wgpu.Buffer, m mv, vdt gguf.TensorType, rope *ropeSpec, own bool) (*mvdBuild, error) {
	typ := m.w.typ
	mode := m.mode
	if rope != nil {
		mode = "ROPE"
		if m.norm == nil {
			return nil, fmt.Errorf("gpu: %s: fused RoPE needs the fused norm", m.w.name)
		}
	}
	defs := map[string]bool{mode: true, "NORM": m.norm != nil, "LAST": m.last}
	bs := 0
	switch vdt {
	case gguf.TypeQ8_0, gguf.TypeQ8_1:
		defs["Q8"], bs = true, 32
		defs["Q8_1"] = vdt == gguf.TypeQ8_1 // the CPU's block sums (mvd.wgsl prep)
	case gguf.TypeQ8_K:
		defs["Q8"], defs["Q8_K"], bs = true, true, 256
	case gguf.TypeF16:
		defs["F16"] = true
	case gguf.TypeBF16:
		defs["BF16"] = true
	}
	outRows := mvOutRows(m)
	xfile, xdefs := r.mvdExactFor(typ, vdt, outRows, rope)
	exact := xfile != ""
	if m.prep != nil && (m.prep.fmt != prepFmt{vdt, exact} || m.w.cols != m.prep.cols || m.norm == nil) {
		return nil, fmt.Errorf("gpu: %s: the prepared row does not fit this product", m.w.name)
	}
	if t := m.tail; t != nil {
		if t.fmt != (prepFmt{vdt, exact}) || mode != modeAdd || m.norm != nil || m.w.cols < t.cols ||
			len(m.w.chunks) != 1 || !r.tune.tailsAllowed() || t.cols%32 != 0 {
			return nil, fmt.Errorf("gpu: %s: cannot prepare the next row here", m.w.name)
		}
		defs["TAIL"], defs["GB"] = true, true
	}
	defs["PREPD"] = m.prep != nil
	defs["GB"] = defs["GB"] || defs["NORM"]
	w4, fast := mvdFast[typ]
	switch typ {
	case gguf.TypeF16:
		fast = fast && m.w.cols%8 == 0
	case gguf.TypeQ4_0, gguf.TypeQ8_0: // tasks of two blocks, aligned rows
		fast = fast && m.w.cols%64 == 0
	case gguf.TypeQ6_K: // blocks at even byte offsets: 4-byte aligned rows
		fast = fast && m.w.rowBytes%4 == 0
	}
	defs["W4"] = fast && w4
	q4k64 := fast && typ == gguf.TypeQ4_K && r.tune.q4k == 64
	defs["Q4K64"] = q4k64
	defs["OWNPX"] = fast && ((typ == gguf.TypeQ4_K && !q4k64) || typ == gguf.TypeQ6_K)
	defs["GENERIC"] = !fast
	if exact {
		fast = true
		defs["W4"], defs["Q4K64"], defs["GENERIC"] = xdefs["W4"], false, false
		defs["OWNPX"] = xdefs["KLANE"] || typ == gguf.TypeQ4_K
		defs["EXACT"] = true
		for k, v := range xdefs {
			defs[k] = v
		}
	}
	// 16 threads a row (16 rows a workgroup) measured best on an H100
	// (docs/benchmarks-gpu.md: 16 beat 32 and 64 for every type);
	// HEARTH_GPU_TPR overrides, HEARTH_GPU_MVD_SMALL per product size
	tpr := r.tpr
	if tpr == 0 || tpr > mvdWG {
		tpr = 16
	}
	if rope != nil && tpr > mvdWG/2 {
		tpr = mvdWG / 2 // fused RoPE needs row pairs in one workgroup
	}
	rpw := mvdWG / tpr
	for _, rule := range r.tune.small {
		if outRows <= rule.rows {
			if rope == nil || rule.rpw%2 == 0 {
				tpr, rpw = rule.tpr, rule.rpw
			}
			break
		}
	}
	switch {
	case defs["EXACTF"] && !r.tune.noXFV:
		// two lanes of ggml's 32 a thread, many loads in flight (XFV)
		tpr, rpw = 16, mvdWG/16
		defs["XFV"] = true
	case defs["EXACTF"]:
		tpr, rpw = 32, mvdWG/32 // one thread per lane of ggml's 32
	case defs["XCH"] && (typ == gguf.TypeQ8_0 || typ == gguf.TypeQ6_K && r.tune.xqv6.takes(outRows)) && r.tune.xqv > 0:
		// a thread per lane of ggml's 8, chains in registers (XQV)
		tpr, rpw = 8, r.tune.xqv
		if outRows >= mvdBigRows {
			// the output product: fewer workgroups repeating the prep
			// (32000 rows: 54 µs at 32 rows a workgroup, 66.5 at 16)
			rpw = 32
		}
		defs["XQV"] = true
	case defs["XCH"] && tpr < 8:
		tpr, rpw = 16, mvdWG/16 // a chunk holds whole blocks of 8 tasks
	}
	wg := tpr * rpw // at least 64: the fused norm's lanes
	if pk := r.tune.pk && fast && !exact && typ != gguf.TypeF16; pk {
		defs["PK"] = true
	}
	consts := map[string]int{"XC": m.w.cols, "WG": wg, "TPR": tpr, "RPW": rpw, "BS": max(bs, 32)}
	dg := r.tune.diag
	defs["PNORM"] = defs["NORM"] && dg != "nonorm" && dg != "noprep"
	defs["PQ8"] = defs["Q8"] && dg != "noq8" && dg != "noprep"
	defs["NPH"] = defs["PNORM"] || defs["TAIL"] // rms_inv, norm_at
	defs["QPH"] = defs["PQ8"] || defs["TAIL"] && defs["Q8"]
	// the prep's 1/rms from one thread, the norm weights loaded early
	// (measured on an H100: Q4_K_M decode +4.7 %, Q4_0 +3.4 %)
	defs["INV1"] = r.tune.noPrep&1 == 0
	defs["GPF"] = r.tune.noPrep&2 == 0 && defs["PNORM"] && m.w.cols/4 <= 4*wg
	if defs["XCH"] && typ == gguf.TypeQ4_K && !r.tune.noSB {
		// super-block jobs (mvd.wgsl XSB): split a super-block into QP
		// parts until every thread of a row has one
		defs["XSB"] = true
		nw := 1
		if m.mode == modeSwiGLU {
			nw = 2
		}
		qp := 1
		for qp < 4 && nw*(m.w.cols/256)*qp < tpr {
			qp *= 2
		}
		consts["QP"] = qp
	}
	defs["ONEROW"] = defs["XSB"] || defs["XFV"]
	if defs["XCH"] && !defs["XSB"] {
		// tasks a thread per chunk of the exact products (mvd.wgsl XCH):
		// four loads in flight per thread, SwiGLU's two rows two each
		consts["TPC"] = 4
		if m.mode == modeSwiGLU {
			consts["TPC"] = 2
		}
		if typ == gguf.TypeQ4_0 {
			// Q4_0's one-chain GEMV order: one task a thread per chunk
			// measured best on an H100 (decode 502 -> 560 t/s; 2: 506,
			// 3: 465), where Q8_0 ran slower with 1, 2 or 3 than with 4
			consts["TPC"] = 1
		}
		if r.tune.tpc > 0 {
			consts["TPC"] = r.tune.tpc
		}
	}
	if r.tune.pf > 0 {
		defs["PF"], consts["PF"] = true, r.tune.pf
	}
	if t := m.tail; t != nil {
		consts["TXC"], consts["TDG"] = t.cols, r.tune.tailDiag()
		// the tail's rounding on registers where a thread's values (a
		// power of two of them) lie in one block (mvd.wgsl TQF)
		tg4 := (t.cols/4 + wg - 1) / wg
		defs["TQF"] = defs["Q8"] && !defs["Q8_1"] && tg4&(tg4-1) == 0 && 4*tg4 <= bs
	}
	if cb := m.comb; cb != nil {
		if m.norm != nil || m.w.cols != cb.nHead*cb.headDim {
			return nil, fmt.Errorf("gpu: %s: cannot merge attention partials here", m.w.name)
		}
		if mvdLDS(m.w.cols, cb) > int(r.d.limits.MaxComputeWorkgroupStorageSize) {
			return nil, fmt.Errorf("gpu: %s: attention merge exceeds workgroup memory", m.w.name)
		}
		defs["COMBINE"] = true
		consts["NHD"], consts["MS"], consts["SPL"], consts["HD"] = cb.nHead, cb.slots, cb.split, cb.headDim
	}
	src, err := buildShader("mvd", "", consts, defs)
	if err != nil {
		return nil, err
	}
	var files []string
	switch {
	case exact && defs["W4"]:
		files = []string{xfile}
	case exact:
		files = []string{"common", xfile}
	case !fast:
		files = []string{"common", typeKernel[typ]}
	case w4:
		files = []string{"mvd_" + typeKernel[typ]}
	default:
		files = []string{"common", "mvd_" + typeKernel[typ]}
	}
	if defs["PK"] {
		files = append(files, "mvd_pk")
	}
	if defs["PF"] {
		files = append(files, "mvd_pf")
	}
	for _, name := range files {
		s, err := kernelFile(name)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(name, "mvd_") {
			s = preprocess(s, defs)
		}
		src += s
		if !fast && name == typeKernel[typ] {
			src += unitDot(s)
		}
	}
	label := fmt.Sprintf("mvd %s %s %s norm=%v last=%v comb=%v tpr=%d rpw=%d pk=%v exact=%v tail=%v prepd=%v", typ, vdt, mode,
		m.norm != nil, m.last, m.comb != nil, tpr, rpw, defs["PK"], exact, defs["TAIL"], defs["PREPD"])
	b := &mvdBuild{label: label, src: src, wg: wg}
	for _, c := range m.w.chunks {
		rows, half := c.rows, 0
		if m.mode == modeSwiGLU {
			if len(m.w.chunks) != 1 {
				return nil, fmt.Errorf("gpu: %s: SwiGLU weight split across bindings", m.w.name)
			}
			rows, half = c.rows/2, c.rows/2
		}
		var rw [4]uint32
		if rope != nil {
			if rows%2 != 0 || (m.yOff+c.row0)%2 != 0 {
				return nil, fmt.Errorf("gpu: %s: fused RoPE needs row pairs in one chunk", m.w.name)
			}
			rw = [4]uint32{uint32(rope.headDim), uint32(rope.ropeDim), uint32(rope.qDim), uint32(rope.kvDim)}
		}
		eps := m.eps
		if m.tail != nil {
			eps = m.tail.eps // the next product's norm
		}
		u, err := r.uniform(m.w.name+" params", uint32(rows), uint32(m.w.cols), uint32(m.w.rowBytes),
			uint32(m.yOff+c.row0), uint32(m.yStride), uint32(half), f32w(eps), 0 /* pad: mvd_pf.wgsl's pf_sink needs 0 */, rw[0], rw[1], rw[2], rw[3])
		if err != nil {
			return nil, err
		}
		y := m.y
		var kc, vc *wgpu.Buffer
		if rope != nil {
			kc, vc = rope.kc, rope.vc
		}
		if rope != nil && own {
			// a run of Q, K and V binds only the targets its rows reach:
			// Q4_K_M's Q+K and V products (Q4_K, Q6_K) then share no
			// writable buffer and can run side by side
			lo, hi := m.yOff+c.row0, m.yOff+c.row0+rows
			for i, t := range []struct {
				b      **wgpu.Buffer
				r0, r1 int
			}{{&y, 0, rope.qDim}, {&kc, rope.qDim, rope.qDim + rope.kvDim}, {&vc, rope.qDim + rope.kvDim, rope.qDim + 2*rope.kvDim}} {
				if hi <= t.r0 || lo >= t.r1 {
					if *t.b, err = r.unusedBuffer(i); err != nil {
						return nil, err
					}
				}
			}
		}
		bufs := []*wgpu.Buffer{c.buf, m.x, y, u, step}
		if m.norm != nil {
			bufs = append(bufs, m.norm)
		}
		if t := m.tail; t != nil {
			bufs = append(bufs, t.g, t.out, t.cnt)
		}
		if rope != nil {
			bufs = append(bufs, kc, vc, rope.cs)
		}
		gx, gy := grid((rows + rpw - 1) / rpw)
		if m.tail != nil && gy != 1 {
			return nil, fmt.Errorf("gpu: %s: too many workgroups for the prepared row", m.w.name)
		}
		dl := m.w.name + " mvd " + mode
		if m.tail != nil {
			dl += " tail" // prepares the next products' row
		}
		if m.prep != nil {
			dl += " prepd" // loads its row from the last tail
		}
		b.runs = append(b.runs, mvdRun{bufs: bufs, x: gx, y: gy, label: dl})
	}
	return b, nil
}
