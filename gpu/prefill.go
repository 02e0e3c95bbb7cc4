package gpu

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/hearthllm/hearth/gguf"
)

// Prefill path: the batch program's matrix products run as tiled GEMMs
// (kernels/gemm.wgsl) that dequantize each weight tile once per workgroup
// instead of once per token tile, as the batched matvec does.

// gemmEnv tunes the tiled GEMM for experiments:
// "BM,BN,BK,RB,CB[,UNROLL[,DB[,XV[,PAD[,WC[,RS[,PF]]]]]]]" (see gemmTile), or "0" to
// fall back to the batched matvec.
const gemmEnv = "HEARTH_GPU_GEMM"

// gemmSplitEnv overrides the split-K target (gemmTile.sk; "0": no split).
const gemmSplitEnv = "HEARTH_GPU_GEMM_SPLIT"

// gemmBigEnv, when set, is the tiling (gemmEnv's syntax) for products
// with at least bigRows weight rows (the fused gate+up).
const gemmBigEnv = "HEARTH_GPU_GEMM_BIG"

// gemmDQEnv set to "1" or "0" switches gemmTile.dq on or off.
const gemmDQEnv = "HEARTH_GPU_GEMM_DQ"

// gemmDiagEnv set to "noload" or "nocomp" times one half of the GEMM's
// steps (diagnostics only: the results are wrong).
const gemmDiagEnv = "HEARTH_GPU_GEMM_DIAG"

// bigRows is where gemmBigEnv's tiling takes over.
const bigRows = 4096

// gemmTile is a GEMM tiling: BM weight rows x BN tokens per workgroup, BK
// columns per step, each thread a (4*RB) x (4*CB) register block.
type gemmTile struct {
	bm, bn, bk, rb, cb int
	un                 int // kk steps per loop iteration (0: 1)
	db                 int // 1: double-buffered tiles (the next loads while this one is multiplied)
	// xv: the X tile load puts xv consecutive vec4s of a token row on
	// consecutive threads (coalesced); 0: one vec4 per token row per
	// thread, consecutive threads on consecutive tokens.
	xv int
	// pad: 1 pads each k row of both tiles by one vec4 (bank spread for
	// the xv loads' stores).
	pad int
	// wc: 1 hands the W tile's units out row-major (consecutive threads on
	// consecutive units of one row: coalesced when a step holds several
	// units of a row, as F16 and BK > 32 do).
	wc int
	// rs: 1 stages the tile's raw weight blocks in workgroup memory
	// (coalesced copy, once per block) and dequantizes from there.
	rs int
	// sk: split K for products whose grid (at maxBatch tokens) has fewer
	// than sk workgroups: about sk/workgroups splits of the columns, each
	// storing partial sums that gemm_combine.wgsl adds up in split order.
	// 0: no split. STORE and ADD products only.
	sk int
	// pf: 1 (with rs) loads the next step's raw blocks and X tile into
	// registers before this step's multiply (latency behind the FMAs).
	pf int
	// dq: 1 shares each weight unit's dequantization among up to
	// UNIT/4 threads (each stores its own part of the unit) where a step
	// has fewer units than threads: 32-element units at BK=32 otherwise
	// keep only BM of the threads busy while the rest wait at the barrier.
	dq int
	// kt: 1 runs kernels/gemm_kt.wgsl (k-contiguous tiles, per-type vec4
	// dequantizers; the types of ktTypes only): the other load-path fields
	// (un, xv, pad, wc, rs, pf, dq) do not apply, and db means there one
	// tile buffer with the next step's raw words and X vec4s prefetched
	// into registers during the multiply.
	kt int
	// dot: 1 (with kt) accumulates dot(w, x) per token instead of four fma
	// in k order.
	dot int
}

// sharedBytes is the workgroup memory the tiling uses.
func (g gemmTile) sharedBytes() int {
	if g.kt == 1 {
		return 16 * (g.bm + g.bn) * (g.bk/4 + 1)
	}
	raw := 0
	if g.rs == 1 {
		// the largest staged row: F32's 4 bytes per column, or one Q6_K
		// block (210 bytes per 256) when BK is shorter than a block
		b := max(4*g.bk, 210*((g.bk+255)/256))
		raw = 4 * g.bm * (((b+3)/4 + 1) | 1)
	}
	return 4*g.bk*(g.bm+g.bn+8*g.pad)*(1+g.db) + raw
}

func (g gemmTile) unroll() int { return max(g.un, 1) }

// String names the tiling as BMxBNxBK/RBxCB/uUNROLL[/db].
func (g gemmTile) String() string {
	s := fmt.Sprintf("%dx%dx%d/%dx%d/u%d", g.bm, g.bn, g.bk, g.rb, g.cb, g.unroll())
	if g.db == 1 {
		s += "/db"
	}
	if g.xv > 0 {
		s += fmt.Sprintf("/xv%d", g.xv)
	}
	if g.pad == 1 {
		s += "/pad"
	}
	if g.wc == 1 {
		s += "/wc"
	}
	if g.rs == 1 {
		s += "/rs"
	}
	if g.pf == 1 {
		s += "/pf"
	}
	if g.dq == 1 {
		s += "/dq"
	}
	if g.kt == 1 {
		s += "/kt"
	}
	if g.dot == 1 {
		s += "/dot"
	}
	if g.sk > 0 {
		s += fmt.Sprintf("/sk%d", g.sk)
	}
	return s
}

func (g gemmTile) threads() int { return (g.bm / (4 * g.rb)) * (g.bn / (4 * g.cb)) }

// defaultGemmTile is 128 rows x 64 tokens, 8x4 per thread (256 threads):
// on an H100 its GEMMs took 55.1-55.4 ms of a 512-token Q4_K_M prefill
// against 57.7-57.8 for 64x64 4x4 (prefill 8,335-8,351 against
// 8,027-8,089 t/s; F16 8,022-8,068 against 7,925-7,931; 128x128 8x8 and
// 64x128 4x8 were slower, docs/benchmarks-gpu.md). Split K for grids of
// under 256 workgroups at 512 tokens: with 128-row tiles TinyLlama's
// 2048-row products (128 workgroups) in 2 splits and Q4_K_M's V of its own
// (Q6_K layers) in 8 (1.97 -> 0.72 ms per batch with 64-row tiles).
var defaultGemmTile = gemmTile{bm: 128, bn: 64, bk: 32, rb: 2, cb: 1, sk: 256}

// gemmTileFor returns the tiling to use on d: the environment's when valid,
// else the default, with BK lowered until both tiles fit the workgroup
// memory limit. ok is false when the GEMM is switched off.
func gemmTileFor(d *device) (g gemmTile, ok bool) {
	return gemmTileEnv(d, gemmEnv, defaultGemmTile)
}

// gemmTileEnv is gemmTileFor with the tiling string in env and def as the
// default.
func gemmTileEnv(d *device, env string, def gemmTile) (g gemmTile, ok bool) {
	g = def
	if s := os.Getenv(env); s != "" {
		if s == "0" {
			return g, false
		}
		if e, ok := parseGemmTile(s); ok {
			e.sk, e.dq = def.sk, def.dq
			g = e
		}
	}
	if s := os.Getenv(gemmDQEnv); s == "0" || s == "1" {
		g.dq = int(s[0] - '0')
	}
	g = g.withSplitEnv()
	for g.bk > 32 && g.sharedBytes() > int(d.limits.MaxComputeWorkgroupStorageSize) {
		g.bk /= 2
	}
	if g.bk%g.unroll() != 0 {
		g.un = 1
	}
	return g, g.fits(d)
}

// withSplitEnv is g with HEARTH_GPU_GEMM_SPLIT's split target, when set.
func (g gemmTile) withSplitEnv() gemmTile {
	if s := os.Getenv(gemmSplitEnv); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			g.sk = n
		}
	}
	return g
}

// fits reports whether d can run g: its workgroup memory and threads.
func (g gemmTile) fits(d *device) bool {
	return g.sharedBytes() <= int(d.limits.MaxComputeWorkgroupStorageSize) &&
		g.threads() <= int(d.limits.MaxComputeInvocationsPerWorkgroup)
}

// parseGemmTile reads "BM,BN,BK,RB,CB[,UNROLL[,DB[,XV[,PAD[,WC[,RS[,PF]]]]]]]".
func parseGemmTile(s string) (gemmTile, bool) {
	var v []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			break
		}
		v = append(v, n)
	}
	if len(v) == 5 {
		v = append(v, 1)
	}
	for len(v) >= 6 && len(v) < 12 {
		v = append(v, 0)
	}
	if len(v) != 12 {
		return gemmTile{}, false
	}
	e := gemmTile{bm: v[0], bn: v[1], bk: v[2], rb: v[3], cb: v[4], un: v[5], db: v[6], xv: v[7], pad: v[8], wc: v[9], rs: v[10], pf: v[11]}
	return e, e.valid()
}

func (g gemmTile) valid() bool {
	pos := g.bm > 0 && g.bn > 0 && g.bk > 0 && g.rb > 0 && g.cb > 0
	flags := (g.db == 0 || g.db == 1) && (g.pad == 0 || g.pad == 1) && (g.wc == 0 || g.wc == 1) && (g.rs == 0 || g.rs == 1)
	// staging: blocks of 4, 32 and 256 columns must tile the steps, and
	// the raw copy is single-buffered
	flags = flags && (g.rs == 0 || (g.db == 0 && (256%g.bk == 0 || g.bk%256 == 0)))
	flags = flags && (g.pf == 0 || (g.pf == 1 && g.rs == 1)) && (g.dq == 0 || g.dq == 1)
	xv := g.xv >= 0 && (g.xv == 0 || (g.bk/4)%g.xv == 0)
	return pos && flags && xv && g.sk >= 0 && g.un >= 0 && g.bk%32 == 0 && g.bk%g.unroll() == 0 && g.bm%(8*g.rb) == 0 && g.bn%(4*g.cb) == 0 && g.threads() <= 1024
}

// product records the matrix product m: the tiled GEMM for the batch
// program's products over every token, the matvec kernel otherwise
// (decode, last-token-only products, fused norms).
func (r *resources) product(step *wgpu.Buffer, m mv) ([]dispatch, error) {
	if m.tt <= 1 || m.last || m.norm != nil {
		return r.matvec(step, m)
	}
	g, ok := gemmTileFor(r.d)
	if !ok {
		return r.matvec(step, m)
	}
	if m.w.rows >= bigRows && os.Getenv(gemmBigEnv) != "" {
		if b, ok := gemmTileEnv(r.d, gemmBigEnv, g); ok {
			g = b
		}
	}
	if k, ok := ktTileFor(r.d, m.w.typ); ok {
		g = k
	}
	return r.gemm(step, m, g)
}

// gemmShader assembles the GEMM shader for weight type file typ.
func gemmShader(typ string, g gemmTile, mode string) (string, error) {
	if g.kt == 1 {
		return ktShader(typ, g, mode)
	}
	consts := map[string]int{
		"BM": g.bm, "BN": g.bn, "BK": g.bk, "RB": g.rb, "CB": g.cb,
		"NR": g.bm / (4 * g.rb), "NC": g.bn / (4 * g.cb), "WG": g.threads(),
		"WST": g.bm/4 + g.pad, "XST": g.bn/4 + g.pad, "UNROLL": g.unroll(),
		"WSN": g.bk * (g.bm/4 + g.pad), "XSN": g.bk * (g.bn/4 + g.pad),
		"WSA": g.bk * (g.bm/4 + g.pad) * (1 + g.db), "XSA": g.bk * (g.bn/4 + g.pad) * (1 + g.db),
		"XV": g.xv,
	}
	defs := map[string]bool{mode: true, "DB": g.db == 1, "XV": g.xv > 0, "WC": g.wc == 1, "RS": g.rs == 1, "PF": g.pf == 1}
	// diagnostics (wrong results): NOLOAD loads only the first step's
	// tiles, NOCOMP skips the multiply; what is left shows which half of
	// a step takes the time
	if dg := os.Getenv(gemmDiagEnv); dg != "" {
		defs[strings.ToUpper(dg)] = true
	}
	tsrc, err := kernelFile(typ)
	if err != nil {
		return "", err
	}
	dq := g.dqFor(tsrc)
	consts["DQ"] = dq
	src, err := buildShader("gemm", "", consts, defs)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(gemmRegisters(src, g))
	for _, name := range []string{"common", typ} {
		s, err := kernelFile(name)
		if err != nil {
			return "", err
		}
		if name == typ {
			s = withoutUnitDot(s) + unitStore(s, dq > 1)
		}
		if name == "common" && g.rs == 1 {
			s = strings.ReplaceAll(s, "W[", "Wr[") // read the staged blocks
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

var unitConst = regexp.MustCompile(`const UNIT: u32 = ([0-9]+)u;`)

// dqFor is how many threads share a unit of the type file src's weights
// (a power of 2; 1 without g.dq).
func (g gemmTile) dqFor(src string) int {
	m := unitConst.FindStringSubmatch(src)
	if g.dq == 0 || m == nil {
		return 1
	}
	unit, _ := strconv.Atoi(m[1])
	units := g.bm * g.bk / unit
	dq := 1
	for 2*dq <= unit/4 && 2*dq*units <= g.threads() {
		dq *= 2
	}
	return dq
}

// gemmRegisters writes the register-block code into the GEMM kernel's
// //@DECL, //@COMPUTE and //@STORE lines: one vec4 accumulator per
// (row group i, row rr, token group j), so that nothing is indexed at run
// time and everything stays in registers.
func gemmRegisters(src string, g gemmTile) string {
	var comp strings.Builder
	decl, store := accBlock(g)
	const ind = "            "
	for u := 0; u < g.unroll(); u++ {
		comp.WriteString(ind + "{\n")
		for i := 0; i < g.rb; i++ {
			fmt.Fprintf(&comp, "%s    let a%d = Ws[wb + %du];\n", ind, i, u*(g.bm/4+g.pad)+i*g.bm/(4*g.rb))
		}
		for j := 0; j < g.cb; j++ {
			fmt.Fprintf(&comp, "%s    let b%d = Xs[xb + %du];\n", ind, j, u*(g.bn/4+g.pad)+j*g.bn/(4*g.cb))
		}
		for i := 0; i < g.rb; i++ {
			for j := 0; j < g.cb; j++ {
				for rr, c := range "xyzw" {
					a := accName(i, rr, j)
					fmt.Fprintf(&comp, "%s    %s = fma(vec4<f32>(a%d.%c), b%d, %s);\n", ind, a, i, c, j, a)
				}
			}
		}
		comp.WriteString(ind + "}\n")
	}
	src = strings.Replace(src, "//@DECL\n", decl, 1)
	src = strings.Replace(src, "//@COMPUTE\n", comp.String(), 1)
	return strings.Replace(src, "//@STORE\n", store, 1)
}

// accBlock writes a GEMM thread's register block for gemm.wgsl and
// gemm_kt.wgsl: the declarations of its accumulators acc_I_R_J (row group
// I, row R of the group, token group J: one vec4 of 4 tokens) and the
// epilogue's store calls, each row group's four rows at a time.
func accBlock(g gemmTile) (decl, store string) {
	var d, st strings.Builder
	nr, nc := g.bm/(4*g.rb), g.bn/(4*g.cb)
	for i := 0; i < g.rb; i++ {
		for j := 0; j < g.cb; j++ {
			var accs []string
			for rr := 0; rr < 4; rr++ {
				a := accName(i, rr, j)
				accs = append(accs, a)
				fmt.Fprintf(&d, "    var %s = vec4<f32>(0.0);\n", a)
			}
			fmt.Fprintf(&st, "    store(rt, tr + %du, t0 + 4u * (tc + %du), ntok, %s);\n",
				i*nr, j*nc, strings.Join(accs, ", "))
		}
	}
	return d.String(), st.String()
}

// accName is accumulator (row group i, row rr, token group j) of accBlock.
func accName(i, rr, j int) string { return fmt.Sprintf("acc_%d_%d_%d", i, rr, j) }

// withoutUnitDot drops a type file's hand-written unit_dot (F16, BF16),
// which reads the matvec kernel's activations.
func withoutUnitDot(src string) string {
	i := strings.Index(src, "fn unit_dot(")
	if i < 0 {
		return src
	}
	end := strings.Index(src[i:], "\n}\n")
	return src[:i] + src[i+end+3:]
}

// unitStore derives a type's unit_store (write one dequantized unit into
// the GEMM's weight tile through ws_put) from its unit_vals: each
// "v[i] = e;" becomes "ws_put(r_, c0_ + (i), e);", or with shared
// "if (dq_take(i)) { ws_put(r_, c0_ + (i), e); }" (dq_take: the element is
// this thread's part of the unit, see gemmTile.dq). Types whose unit_vals
// builds its array in one expression (F16, BF16) get a loop over it.
func unitStore(src string, shared bool) string {
	i := unitValsSig.FindStringIndex(src)
	if i == nil {
		return ""
	}
	body := src[i[0]:]
	body = body[:strings.Index(body, "\n}\n")+3]
	if !strings.Contains(body, "var v: array<f32, UNIT>;") {
		put := "ws_put(r_, c0_ + j, vals[j]);"
		if shared {
			put = "if (dq_take(j)) { " + put + " }"
		}
		return `
fn unit_store(bo: u32, s: u32, r_: u32, c0_: u32) {
    var vals = unit_vals(bo, s);
    for (var j = 0u; j < UNIT; j++) {
        ` + put + `
    }
}
`
	}
	body = unitValsSig.ReplaceAllString(body, "fn unit_store(bo: u32, s: u32, r_: u32, c0_: u32) {")
	body = strings.Replace(body, "var v: array<f32, UNIT>;", "", 1)
	body = strings.Replace(body, "return v;", "", 1)
	if shared {
		body = unitValsSet.ReplaceAllString(body, "${1}if (dq_take(${2})) { ws_put(r_, c0_ + (${2}), ${3}); }")
	} else {
		body = unitValsSet.ReplaceAllString(body, "${1}ws_put(r_, c0_ + (${2}), ${3});")
	}
	return "\n" + body
}

// gemm builds the tiled GEMM dispatches of m, one per weight chunk. The
// grid is (row tiles, token tiles): the token dimension grows with the
// batch (dispatch.tokTile).
func (r *resources) gemm(step *wgpu.Buffer, m mv, g gemmTile) ([]dispatch, error) {
	switch m.mode {
	case modeStore, modeAdd, modeSiluMul, modeSwiGLU:
	default:
		return nil, fmt.Errorf("gpu: %s: gemm: unknown output mode %q", m.w.name, m.mode)
	}
	if m.w.cols%4 != 0 {
		return nil, fmt.Errorf("gpu: %s: gemm: %d columns are not a multiple of 4", m.w.name, m.w.cols)
	}
	label := fmt.Sprintf("gemm %s %s %s", m.w.typ, m.mode, g)
	var p *wgpu.ComputePipeline // built when a chunk runs unsplit
	var out []dispatch
	for _, c := range m.w.chunks {
		rows, half, perTile := c.rows, 0, g.bm
		if m.mode == modeSwiGLU {
			if len(m.w.chunks) != 1 {
				return nil, fmt.Errorf("gpu: %s: SwiGLU weight split across bindings", m.w.name)
			}
			rows, half, perTile = c.rows/2, c.rows/2, g.bm/2
		}
		tiles := (rows + perTile - 1) / perTile
		splits, ks := g.splitK(m.mode, tiles, m.w.cols)
		if tiles*splits > 65535 {
			return nil, fmt.Errorf("gpu: %s: gemm: %d row tiles x %d splits", m.w.name, tiles, splits)
		}
		if splits > 1 {
			ds, err := r.gemmSplit(step, m, g, c, tiles, splits, ks)
			if err != nil {
				return nil, err
			}
			out = append(out, ds...)
			continue
		}
		if p == nil {
			src, err := gemmShader(typeKernel[m.w.typ], g, m.mode)
			if err != nil {
				return nil, err
			}
			if p, err = r.pipeline(label, src); err != nil {
				return nil, err
			}
		}
		u, err := r.uniform(m.w.name+" gemm params", uint32(rows), uint32(m.w.cols), uint32(m.w.rowBytes),
			uint32(m.yOff+c.row0), uint32(m.yStride), uint32(half), uint32(ks), uint32(tiles), 0, 0, 0, 0)
		if err != nil {
			return nil, err
		}
		bg, err := r.bind(m.w.name+" gemm", p, c.buf, m.x, m.y, u, step)
		if err != nil {
			return nil, err
		}
		out = append(out, dispatch{label: label + " " + m.w.name, pipe: p, bg: bg,
			x: uint32(tiles), y: 1, tokTile: uint32(g.bn)})
	}
	return out, nil
}

// minSplitCols is the fewest columns a split gets.
const minSplitCols = 256

// splitK returns how many column splits a product of tiles row tiles and
// cols columns gets (about g.sk / workgroups at maxBatch tokens), and the
// columns per split (a multiple of BK, and of whole 256-element blocks
// when the raw blocks are staged).
func (g gemmTile) splitK(mode string, tiles, cols int) (splits, ks int) {
	gran := g.bk
	if g.rs == 1 {
		gran = max(g.bk, 256)
	}
	steps := (cols + gran - 1) / gran
	wgs := tiles * ((maxBatch + g.bn - 1) / g.bn)
	s := 1
	if g.sk > 0 && (mode == modeStore || mode == modeAdd) {
		// at least 256 columns a split (the partial sums' traffic)
		s = min(g.sk/wgs, steps/((minSplitCols+gran-1)/gran))
	}
	if s <= 1 {
		return 1, steps * gran
	}
	ks = (steps + s - 1) / s * gran
	return (cols + ks - 1) / ks, ks
}

// gemmSplit records a split-K product of chunk c: the GEMM in PART mode
// into the shared partial-sum buffer, then gemm_combine.wgsl.
func (r *resources) gemmSplit(step *wgpu.Buffer, m mv, g gemmTile, c chunk, tiles, splits, ks int) ([]dispatch, error) {
	src, err := gemmShader(typeKernel[m.w.typ], g, "PART")
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("gemm %s PART %s", m.w.typ, g)
	p, err := r.pipeline(label, src)
	if err != nil {
		return nil, err
	}
	stride := maxBatch * c.rows
	size := 4 * splits * stride
	part := r.gemmParts[size]
	if part == nil {
		if part, err = r.buffer("gemm partial sums", size, 0); err != nil {
			return nil, err
		}
		if r.gemmParts == nil {
			r.gemmParts = map[int]*wgpu.Buffer{}
		}
		r.gemmParts[size] = part
	}
	u, err := r.uniform(m.w.name+" gemm params", uint32(c.rows), uint32(m.w.cols), uint32(m.w.rowBytes),
		0, uint32(c.rows), 0, uint32(ks), uint32(tiles), uint32(stride), 0, 0, 0)
	if err != nil {
		return nil, err
	}
	bg, err := r.bind(m.w.name+" gemm", p, c.buf, m.x, part, u, step)
	if err != nil {
		return nil, err
	}
	csrc, err := buildShader("gemm_combine", "", nil, map[string]bool{m.mode: true})
	if err != nil {
		return nil, err
	}
	cp, err := r.pipeline("gemm combine "+m.mode, csrc)
	if err != nil {
		return nil, err
	}
	cu, err := r.uniform(m.w.name+" gemm combine params", uint32(c.rows), uint32(m.yOff+c.row0), uint32(m.yStride),
		uint32(splits), uint32(stride), 0, 0, 0)
	if err != nil {
		return nil, err
	}
	cbg, err := r.bind(m.w.name+" gemm combine", cp, part, m.y, cu, step)
	if err != nil {
		return nil, err
	}
	return []dispatch{
		{label: label + " " + m.w.name, pipe: p, bg: bg, x: uint32(tiles * splits), y: 1, tokTile: uint32(g.bn)},
		{label: fmt.Sprintf("gemm combine %d %s", splits, m.w.name), pipe: cp, bg: cbg, x: uint32((c.rows + 255) / 256), y: 1, tokY: true},
	}, nil
}

// gemmKTEnv selects kernels/gemm_kt.wgsl (k-contiguous tiles, per-type
// vec4 dequantizers) for the weight types of ktTypes: "1" for
// defaultKTTile, or "BM,BN,BK,RB,CB[,DOT[,DB]]" (DOT 1: dot()
// accumulation; DB 1: the next step's loads held in registers during the
// multiply), for all of them. "0": gemm.wgsl for every type. Unset or
// empty: ktDefaults.
const gemmKTEnv = "HEARTH_GPU_GEMM_KT"

// ktTypes are the weight types with a w4 dequantizer in gemm_kt.wgsl.
var ktTypes = map[gguf.TensorType]bool{
	gguf.TypeQ4_0: true, gguf.TypeQ8_0: true, gguf.TypeQ4_K: true, gguf.TypeQ6_K: true, gguf.TypeF16: true,
}

// defaultKTTile is gemm_kt.wgsl's tiling for HEARTH_GPU_GEMM_KT=1: 128
// rows x 64 tokens, BK 32, 8 rows x 4 tokens a thread (256 threads),
// split K as defaultGemmTile.
var defaultKTTile = gemmTile{bm: 128, bn: 64, bk: 32, rb: 2, cb: 1, un: 1, sk: 256, kt: 1}

// ktDefaults are the weight types whose batched products run gemm_kt.wgsl
// by default, and their tilings, measured against gemm.wgsl's 128x64
// default (TestPrefillBench, 512-token TinyLlama-shaped prompts, GEMM ms of
// a prefill; docs/benchmarks-gpu.md). On an H200: Q4_K_M (Q4_K and Q6_K)
// 128x128 8x8 double-buffered 55.3 -> 42.9 ms (8,428 -> 10,803 t/s), F16
// 128x128 8x8 57.5 -> 39.1 ms (8,045 -> 11,401 t/s). On an H100: Q8_0
// 128x128 8x8 double-buffered 54.5 -> 41.2 ms (7,945 -> 10,158 t/s; 47.8
// single-buffered), Q4_0 46.2 -> 41.1 ms (9,091 -> 10,238; 45.0
// single-buffered), F16 double-buffered 39.0 ms against 38.9 (a tie, so
// single). Where a tiling does not fit the adapter (lavapipe's 32 KiB of
// workgroup memory) the type keeps gemm.wgsl.
var ktDefaults = map[gguf.TensorType]gemmTile{
	gguf.TypeQ4_0: {bm: 128, bn: 128, bk: 32, rb: 2, cb: 2, un: 1, sk: 256, kt: 1, db: 1},
	gguf.TypeQ8_0: {bm: 128, bn: 128, bk: 32, rb: 2, cb: 2, un: 1, sk: 256, kt: 1, db: 1},
	gguf.TypeQ4_K: {bm: 128, bn: 128, bk: 32, rb: 2, cb: 2, un: 1, sk: 256, kt: 1, db: 1},
	gguf.TypeQ6_K: {bm: 128, bn: 128, bk: 32, rb: 2, cb: 2, un: 1, sk: 256, kt: 1, db: 1},
	gguf.TypeF16:  {bm: 128, bn: 128, bk: 32, rb: 2, cb: 2, un: 1, sk: 256, kt: 1},
}

// ktTileFor returns the gemm_kt tiling for products of weight type typ on
// d: the one HEARTH_GPU_GEMM_KT asks for (for every type of ktTypes), else
// ktDefaults'; ok false when gemm.wgsl runs instead (a type without a
// gemm_kt dequantizer or default, HEARTH_GPU_GEMM_KT=0, or a tiling that
// does not fit the adapter). A string that is not a valid tiling gives
// defaultKTTile. HEARTH_GPU_GEMM_SPLIT overrides the split target as for
// gemm.wgsl.
func ktTileFor(d *device, typ gguf.TensorType) (g gemmTile, ok bool) {
	if !ktTypes[typ] {
		return g, false
	}
	s := os.Getenv(gemmKTEnv)
	switch s {
	case "0":
		return g, false
	case "":
		if g, ok = ktDefaults[typ]; !ok {
			return g, false
		}
	default:
		g = defaultKTTile
		if e, ok := parseKTTile(s); ok {
			e.sk = g.sk
			g = e
		}
	}
	g = g.withSplitEnv()
	return g, g.fits(d)
}

// parseKTTile reads "BM,BN,BK,RB,CB[,DOT[,DB]]".
func parseKTTile(s string) (gemmTile, bool) {
	var v []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return gemmTile{}, false
		}
		v = append(v, n)
	}
	for len(v) >= 5 && len(v) < 7 {
		v = append(v, 0)
	}
	if len(v) != 7 {
		return gemmTile{}, false
	}
	g := gemmTile{bm: v[0], bn: v[1], bk: v[2], rb: v[3], cb: v[4], un: 1, kt: 1, dot: v[5], db: v[6]}
	return g, g.ktValid()
}

// ktValid reports whether g is a tiling gemm_kt.wgsl can run: whole row
// groups of 4 rows per thread (SWIGLU pairs gate and up rows in them),
// BK a multiple of 32 (one Q4_0/Q8_0 block; K-quant blocks hold 256/BK
// steps) and at most 1024 threads.
func (g gemmTile) ktValid() bool {
	return g.kt == 1 && (g.dot == 0 || g.dot == 1) && (g.db == 0 || g.db == 1) && g.bm > 0 && g.bn > 0 && g.bk > 0 && g.rb > 0 && g.cb > 0 &&
		g.bk%32 == 0 && g.bm%(8*g.rb) == 0 && g.bn%(4*g.cb) == 0 && g.threads() <= 1024 && g.sk >= 0
}

// ktShader assembles gemm_kt.wgsl for weight type file typ: the kernel
// with its register block (ktRegisters), then common.wgsl and the type
// file (for BLOCK_* and kscale; its unit_vals stays unused).
func ktShader(typ string, g gemmTile, mode string) (string, error) {
	if !g.ktValid() {
		return "", fmt.Errorf("gpu: gemm_kt: invalid tiling %s", g)
	}
	wg := g.threads()
	consts := map[string]int{"BM": g.bm, "BN": g.bn, "BK": g.bk, "RB": g.rb, "CB": g.cb, "NR": g.bm / (4 * g.rb), "NC": g.bn / (4 * g.cb), "WG": wg}
	defs := map[string]bool{
		mode: true, "T_" + strings.ToUpper(typ): true, "DB": g.db == 1,
		"WPART": g.bm*(g.bk/4)%wg != 0, "XPART": g.bn*(g.bk/4)%wg != 0,
	}
	src, err := buildShader("gemm_kt", "", consts, defs)
	if err != nil {
		return "", err
	}
	if !strings.Contains(src, "fn w_raw(") {
		return "", fmt.Errorf("gpu: gemm_kt: no w4 dequantizer for %s", typ)
	}
	var b strings.Builder
	b.WriteString(ktRegisters(src, g))
	for _, name := range []string{"common", typ} {
		s, err := kernelFile(name)
		if err != nil {
			return "", err
		}
		b.WriteString(withoutUnitDot(s))
	}
	return b.String(), nil
}

// ktRegisters writes gemm_kt.wgsl's register block at its //@DECL,
// //@COMPUTE and //@STORE lines: one vec4 accumulator (4 tokens) per row
// of the thread, every index a constant. The multiply of one k4 reads the
// thread's 4*CB token vec4s once, then per row the row's vec4 and adds its
// products with each token: four fma in k order (x, y, z, w, the order of
// gemm.wgsl) on the tokens' transposed components, or with g.dot one dot()
// per token (on NVIDIA an FMUL, 3 FFMA and an FADD per 4 products instead
// of 4 FFMA).
func ktRegisters(src string, g gemmTile) string {
	nr, nc := g.bm/(4*g.rb), g.bn/(4*g.cb)
	wg := g.threads()
	ws4, xs4 := g.bk/4+1, g.bk/4+1
	var comp strings.Builder
	decl, store := accBlock(g)
	const ind = "            "
	for j := 0; j < g.cb; j++ {
		for e := 0; e < 4; e++ {
			fmt.Fprintf(&comp, "%slet x_%d_%d = Xs[xb + %du + k4];\n", ind, j, e, (4*j*nc+e)*xs4)
		}
		if g.dot == 0 {
			for _, c := range "xyzw" {
				fmt.Fprintf(&comp, "%slet xt_%d_%c = vec4<f32>(x_%d_0.%c, x_%d_1.%c, x_%d_2.%c, x_%d_3.%c);\n",
					ind, j, c, j, c, j, c, j, c, j, c)
			}
		}
	}
	for i := 0; i < g.rb; i++ {
		for rr := 0; rr < 4; rr++ {
			w := fmt.Sprintf("w_%d_%d", i, rr)
			fmt.Fprintf(&comp, "%slet %s = Ws[wb + %du + k4];\n", ind, w, (rr*g.bm/4+i*nr)*ws4)
			for j := 0; j < g.cb; j++ {
				a := accName(i, rr, j)
				if g.dot == 1 {
					fmt.Fprintf(&comp, "%s%s = %s + vec4<f32>(dot(%s, x_%d_0), dot(%s, x_%d_1), dot(%s, x_%d_2), dot(%s, x_%d_3));\n",
						ind, a, a, w, j, w, j, w, j, w, j)
					continue
				}
				for _, c := range "xyzw" {
					fmt.Fprintf(&comp, "%s%s = fma(vec4<f32>(%s.%c), xt_%d_%c, %s);\n", ind, a, w, c, j, c, a)
				}
			}
		}
	}
	if g.db == 1 {
		// the prefetch registers: one Raw per W vec4 and one vec4 per X
		// vec4 the thread loads, named (no run-time indexes)
		var fdecl, f0, f1, put strings.Builder
		wld, xld := (g.bm*g.bk/4+wg-1)/wg, (g.bn*g.bk/4+wg-1)/wg
		for j := 0; j < wld; j++ {
			fmt.Fprintf(&fdecl, "    var wr_%d: Raw;\n", j)
			fmt.Fprintf(&f0, "    wr_%d = w_fetch(lid + %du, kb, rt);\n", j, j*wg)
			fmt.Fprintf(&f1, "%swr_%d = w_fetch(lid + %du, k0 + BK, rt);\n", ind, j, j*wg)
			fmt.Fprintf(&put, "        w_put(lid + %du, k0, rt, wr_%d);\n", j*wg, j)
		}
		for j := 0; j < xld; j++ {
			fmt.Fprintf(&fdecl, "    var xr_%d: vec4<f32>;\n", j)
			fmt.Fprintf(&f0, "    xr_%d = x_fetch(lid + %du, kb, t0, ntok);\n", j, j*wg)
			fmt.Fprintf(&f1, "%sxr_%d = x_fetch(lid + %du, k0 + BK, t0, ntok);\n", ind, j, j*wg)
			fmt.Fprintf(&put, "        x_put(lid + %du, xr_%d);\n", j*wg, j)
		}
		src = strings.Replace(src, "//@FDECL\n", fdecl.String(), 1)
		src = strings.Replace(src, "//@FETCH0\n", f0.String(), 1)
		src = strings.Replace(src, "//@FETCH1\n", f1.String(), 1)
		src = strings.Replace(src, "//@PUT\n", put.String(), 1)
	}
	src = strings.Replace(src, "//@DECL\n", decl, 1)
	src = strings.Replace(src, "//@COMPUTE\n", comp.String(), 1)
	return strings.Replace(src, "//@STORE\n", store, 1)
}

// attnEnv set to "0" keeps the batch program on the one-token attention
// kernel (experiments).
const attnEnv = "HEARTH_GPU_PREFILL_ATTN"

// attnTile is the prefill attention's tiling for head dimension hd.
type attnTile struct {
	hd4, tpq, dpt4, bq, bkv, wg int
}

func attnTileFor(hd int) (attnTile, bool) {
	a := attnTile{hd4: hd / 4, wg: 128}
	if hd%4 != 0 || a.hd4 == 0 {
		return a, false
	}
	a.dpt4 = min(4, a.hd4)
	if a.hd4%a.dpt4 != 0 {
		return a, false
	}
	a.tpq = a.hd4 / a.dpt4
	if a.tpq > 8 {
		return a, false
	}
	a.bq = a.wg / a.tpq
	a.bkv = 32
	if a.hd4 > 16 {
		a.bkv = 16
	}
	return a, true
}

// sharedBytes is the workgroup memory the tiling uses.
func (a attnTile) sharedBytes() int {
	return 16*(a.bq*(a.hd4+1)+2*a.bkv*(a.hd4+1)) + 4*(a.bq*(a.bkv+1)+a.wg)
}

// attentionBatch returns the batch program's attention dispatch for one
// layer: the tiled prefill kernel (kernels/attention_prefill.wgsl) over
// the same buffers and uniform as the one-token kernel, or fallback where
// the head shape or the adapter does not allow it.
func (r *resources) attentionBatch(nHead, headDim int, qkv, kc, vc, att, attU, step *wgpu.Buffer, fallback dispatch) (dispatch, error) {
	a, ok := attnTileFor(headDim)
	if !ok || os.Getenv(attnEnv) == "0" || a.sharedBytes() > int(r.d.limits.MaxComputeWorkgroupStorageSize) {
		return fallback, nil
	}
	consts := map[string]int{
		"HD": headDim, "HD4": a.hd4, "TPQ": a.tpq, "DPT4": a.dpt4, "BQ": a.bq, "BKV": a.bkv, "WG": a.wg,
		"SPT": a.bkv / a.tpq, "QSTR": a.hd4 + 1, "KSTR": a.hd4 + 1, "PSTR": a.bkv + 1,
		"QSN": a.bq * (a.hd4 + 1), "KSN": a.bkv * (a.hd4 + 1), "PSN": a.bq * (a.bkv + 1),
	}
	src, err := buildShader("attention_prefill", "", consts, nil)
	if err != nil {
		return dispatch{}, err
	}
	p, err := r.pipeline(fmt.Sprintf("attention_prefill hd=%d", headDim), src)
	if err != nil {
		return dispatch{}, err
	}
	bg, err := r.bind(fallback.label+" prefill", p, qkv, kc, vc, att, attU, step)
	if err != nil {
		return dispatch{}, err
	}
	return dispatch{label: fallback.label + " prefill", pipe: p, bg: bg, x: uint32(nHead), y: 1, tokTile: uint32(a.bq)}, nil
}
