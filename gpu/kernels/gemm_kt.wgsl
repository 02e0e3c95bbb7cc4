// Tiled dequantize + matrix-matrix product for a batch of tokens (prefill)
// with k-contiguous tiles: Y[tok][row] = sum_k W[row][k] * X[tok][k], the
// same bindings, uniform, grid, split K (PART) and epilogues as gemm.wgsl,
// for the weight types that have a hand-written sub-unit dequantizer w4
// below (Q4_0, Q8_0, Q4_K, Q6_K, F16; prefill.go's ktTypes). A workgroup
// owns BM weight rows x BN tokens; for every BK-column step it
// - dequantizes the W tile into Ws, one vec4 (4 consecutive columns of one
//   row) per call of w4, consecutive threads on consecutive vec4s of the
//   SAME row (a warp reads a few rows' contiguous bytes), one vec4 store each;
// - copies the X tile into Xs, consecutive threads on consecutive vec4s of
//   one token row (BK/4 threads a row: 128 coalesced bytes at BK = 32), one
//   vec4 store each (no transpose);
// - multiplies: each thread owns a register block of 4*RB rows x 4*CB tokens;
//   per vec4 column k4 it reads its 4*CB token vec4s once, then per row the
//   row's vec4, and adds the four products per token into the row's
//   accumulator (one vec4 = 4 tokens): fma in k order (the same order as
//   gemm.wgsl), or dot() with DOT.
// prefill.go writes the register-block code at the //@ lines (ktRegisters).
//
// Layout (vec4 units): Xs[tok * XS4 + k4], Ws[p * WS4 + k4] with
// XS4 = WS4 = BK/4 + 1 (odd: BK is a multiple of 32) and p the physical
// place of logical tile row lr: p = (lr % 4) * BM4 + lr / 4. Logical rows
// are gemm.wgsl's (thread (tr, tc) owns rows 4g..4g+3, g = tr + i*NR, which
// the epilogue and SWIGLU's gate/up interleave rely on); the permutation
// puts a thread's rows rr of every group g at consecutive places, so the
// multiply's reads at one (i, rr, k4) from the threads tr, tr+1, ... are
// at places p, p+1, ... i.e. vec4 offsets WS4 apart.
// Banks (32 banks of 4 bytes; a 16-byte access is served 8 threads at a
// time): a vec4 at offset o covers bank quad o % 8. Multiply: 8 consecutive
// threads (same tc when NR >= 8) read W at o0 + j*WS4, j = 0..7: WS4 odd,
// so 8 different quads (conflict-free), and X at one address (broadcast).
// Loads: 8 consecutive threads store k4 = 0..7 of one row (BK/4 >= 8): 8
// consecutive vec4s, conflict-free, for both tiles.

//#include gemm_io

const BM4: u32 = BM / 4u;
const BK4: u32 = BK / 4u;
const WS4: u32 = BK4 + 1u;
const XS4: u32 = BK4 + 1u;
// vec4s per tile and per thread (rounded up)
const WN: u32 = BM * BK4;
const XN: u32 = BN * BK4;
const WLD: u32 = (WN + WG - 1u) / WG;
const XLD: u32 = (XN + WG - 1u) / WG;

const WSN: u32 = BM * WS4;
const XSN: u32 = BN * XS4;
var<workgroup> Ws: array<vec4<f32>, WSN>;
var<workgroup> Xs: array<vec4<f32>, XSN>;

//#include round

// Raw holds the weight words w4 reads (prefetched into registers with DB).
struct Raw {
    a: vec4<u32>,
    b: vec2<u32>,
}

// cat32 is the u32 at byte offset b of the two consecutive words w0, w1
// (w0 holding byte b & ~3), as rd32.
fn cat32(w0: u32, w1: u32, b: u32) -> u32 {
    let s = (b & 3u) * 8u;
    if (s == 0u) {
        return w0;
    }
    return (w0 >> s) | (w1 << (32u - s));
}

// byte_of is the byte at offset b of the word w holding it, as rd8.
fn byte_of(w: u32, b: u32) -> u32 {
    return (w >> ((b & 3u) * 8u)) & 0xffu;
}

// half_of is the f16 at even offset b of the word w holding it, as f16at.
fn half_of(w: u32, b: u32) -> f32 {
    return unpack2x16float((w >> ((b & 2u) * 8u)) & 0xffffu).x;
}

// w4 returns elements k..k+3 (k % 4 == 0) of the weight row whose first
// byte is rb: the values unit_vals gives, by the same float expressions,
// computed from the few words these four elements need. w_raw loads the
// words, w_dec computes the values from them (DB: the loads of the next
// step go out before this step's multiply, the arithmetic after it).
fn w4(rb: u32, k: u32) -> vec4<f32> {
    return w_dec(rb, k, w_raw(rb, k));
}
//#if T_Q4_0
// Q4_0: 18-byte blocks of 32: f16 d, 16 bytes of nibbles (low nibbles are
// elements 0..15, high nibbles 16..31); value = d * (q - 8).
fn w_raw(rb: u32, k: u32) -> Raw {
    let bo = rb + (k / 32u) * 18u;
    let qb = (bo + 2u + k % 16u) >> 2u;
    return Raw(vec4<u32>(W[bo >> 2u], W[qb], W[qb + 1u], 0u), vec2<u32>(0u));
}

fn w_dec(rb: u32, k: u32, r: Raw) -> vec4<f32> {
    let bo = rb + (k / 32u) * 18u;
    let e = k % 32u;
    let d = half_of(r.a.x, bo);
    let q = cat32(r.a.y, r.a.z, bo + 2u + e % 16u) >> (4u * (e / 16u));
    return vec4<f32>(d * (f32(q & 0xfu) - 8.0), d * (f32((q >> 8u) & 0xfu) - 8.0),
        d * (f32((q >> 16u) & 0xfu) - 8.0), d * (f32((q >> 24u) & 0xfu) - 8.0));
}
//#endif
//#if T_Q8_0
// Q8_0: 34-byte blocks of 32: f16 d, 32 signed bytes; value = d * q.
fn w_raw(rb: u32, k: u32) -> Raw {
    let bo = rb + (k / 32u) * 34u;
    let qb = (bo + 2u + k % 32u) >> 2u;
    return Raw(vec4<u32>(W[bo >> 2u], W[qb], W[qb + 1u], 0u), vec2<u32>(0u));
}

fn w_dec(rb: u32, k: u32, r: Raw) -> vec4<f32> {
    let bo = rb + (k / 32u) * 34u;
    let d = half_of(r.a.x, bo);
    let q = cat32(r.a.y, r.a.z, bo + 2u + k % 32u);
    return vec4<f32>(d * i8of(q), d * i8of(q >> 8u), d * i8of(q >> 16u), d * i8of(q >> 24u));
}
//#endif
//#if T_Q4_K
// Q4_K: 144-byte super-blocks of 256 (rows and blocks 4-byte aligned):
// f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, qs[128]; unit s = e/32
// is nibble s%2 of qs[32*(s/2)..]; value = d*sc[s]*q - dmin*m[s], the
// scale and min of unit s as kscale reads them (bytes s, s+4 for s < 4;
// for s >= 4 the low/high nibbles of byte s+4 and the top 2 bits of bytes
// s-4 and s: scale words a.y, a.z, a.w hold bytes 0-3, 4-7, 8-11).
fn w_raw(rb: u32, k: u32) -> Raw {
    let bo = rb + (k / 256u) * 144u;
    let e = k % 256u;
    let wb = bo >> 2u;
    return Raw(vec4<u32>(W[wb], W[wb + 1u], W[wb + 2u], W[wb + 3u]),
        vec2<u32>(W[(bo + 16u + 32u * (e / 64u) + e % 32u) >> 2u], 0u));
}

fn w_dec(rb: u32, k: u32, r: Raw) -> vec4<f32> {
    let e = k % 256u;
    let s = e / 32u;
    let d = unpack2x16float(r.a.x).x;
    let dmin = unpack2x16float(r.a.x).y;
    let j = s % 4u;
    var sm: vec2<f32>;
    if (s < 4u) {
        sm = vec2<f32>(f32(byte_of(r.a.y, j) & 63u), f32(byte_of(r.a.z, j) & 63u));
    } else {
        let sc = (byte_of(r.a.w, j) & 0xfu) | ((byte_of(r.a.y, j) >> 6u) << 4u);
        let m = (byte_of(r.a.w, j) >> 4u) | ((byte_of(r.a.z, j) >> 6u) << 4u);
        sm = vec2<f32>(f32(sc), f32(m));
    }
    let dl = d * sm.x;
    let ml = dmin * sm.y;
    let q = r.b.x >> (4u * (s % 2u));
    return vec4<f32>(dl * f32(q & 0xfu) - ml, dl * f32((q >> 8u) & 0xfu) - ml,
        dl * f32((q >> 16u) & 0xfu) - ml, dl * f32((q >> 24u) & 0xfu) - ml);
}
//#endif
//#if T_Q6_K
// Q6_K: 210-byte super-blocks of 256 (2-byte aligned): ql[128], qh[64],
// scales[16] (int8), f16 d. Element e: half n = e/128, quarter
// qk = (e%128)/32, l = e%32: low (qk<2) or high (qk>=2) nibble of
// ql[64n + 32(qk%2) + l], bits 2qk..2qk+1 of qh[32n + l]; scale byte
// 8n + 2qk + l/16; value = d * sc * (q - 32).
fn q6_offs(rb: u32, k: u32) -> vec4<u32> {
    let bo = rb + (k / 256u) * 210u;
    let e = k % 256u;
    let n = e / 128u;
    let qk = (e % 128u) / 32u;
    let l = e % 32u;
    // d, scale byte, ql, qh
    return vec4<u32>(bo + 208u, bo + 192u + 8u * n + 2u * qk + l / 16u, bo + 64u * n + 32u * (qk % 2u) + l, bo + 128u + 32u * n + l);
}

fn w_raw(rb: u32, k: u32) -> Raw {
    let o = q6_offs(rb, k) >> vec4<u32>(2u);
    return Raw(vec4<u32>(W[o.x], W[o.y], W[o.z], W[o.z + 1u]), vec2<u32>(W[o.w], W[o.w + 1u]));
}

fn w_dec(rb: u32, k: u32, r: Raw) -> vec4<f32> {
    let o = q6_offs(rb, k);
    let qk = (k % 128u) / 32u;
    let d = half_of(r.a.x, o.x);
    let dl = d * i8of(byte_of(r.a.y, o.y));
    let ql = cat32(r.a.z, r.a.w, o.z) >> (4u * (qk / 2u));
    let qh = cat32(r.b.x, r.b.y, o.w) >> (2u * qk);
    let q = (ql & 0x0f0f0f0fu) | ((qh & 0x03030303u) << 4u);
    return vec4<f32>(dl * (f32(q & 0xffu) - 32.0), dl * (f32((q >> 8u) & 0xffu) - 32.0),
        dl * (f32((q >> 16u) & 0xffu) - 32.0), dl * (f32(q >> 24u) - 32.0));
}
//#endif
//#if T_F16
// F16: rows of 2*cols bytes with cols % 4 == 0, so elements k..k+3 are two
// aligned words.
fn w_raw(rb: u32, k: u32) -> Raw {
    let wi = (rb + 2u * k) >> 2u;
    return Raw(vec4<u32>(W[wi], W[wi + 1u], 0u, 0u), vec2<u32>(0u));
}

fn w_dec(rb: u32, k: u32, r: Raw) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(r.a.x), unpack2x16float(r.a.y));
}
//#endif

// w_fetch loads the raw words of W tile vec4 i (tile row i / BK4) of the
// step at column k0 (zeros outside W); w_put dequantizes and stores them.
fn w_fetch(i: u32, k0: u32, rt: u32) -> Raw {
    var r = Raw(vec4<u32>(0u), vec2<u32>(0u));
//#if WPART
    if (i >= WN) {
        return r;
    }
//#endif
    let c = k0 + 4u * (i % BK4);
    let wr = wrow(rt, i / BK4);
    if (wr.y == 1u && c < P.cols) {
        r = w_raw(wr.x * P.row_bytes, c);
    }
    return r;
}

fn w_put(i: u32, k0: u32, rt: u32, r: Raw) {
//#if WPART
    if (i >= WN) {
        return;
    }
//#endif
    let lr = i / BK4;
    let c = k0 + 4u * (i % BK4);
    let wr = wrow(rt, lr);
    var v = vec4<f32>(0.0);
    if (wr.y == 1u && c < P.cols) {
        v = w_dec(wr.x * P.row_bytes, c, r);
    }
    Ws[((lr % 4u) * BM4 + lr / 4u) * WS4 + i % BK4] = v;
}

// x_fetch reads X tile vec4 i (token i / BK4) of the step at column k0 (0
// outside X); x_put stores it.
fn x_fetch(i: u32, k0: u32, t0: u32, ntok: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
//#if XPART
    if (i >= XN) {
        return v;
    }
//#endif
    let tk = i / BK4;
    let c = k0 + 4u * (i % BK4);
    if (t0 + tk < ntok && c < P.cols) {
        v = X[(t0 + tk) * (P.cols / 4u) + c / 4u];
    }
    return v;
}

fn x_put(i: u32, v: vec4<f32>) {
//#if XPART
    if (i >= XN) {
        return;
    }
//#endif
    Xs[(i / BK4) * XS4 + i % BK4] = v;
}

// load_tile dequantizes the W tile and copies the X tile of columns
// k0..k0+BK, consecutive threads on consecutive vec4s of a row.
fn load_tile(k0: u32, lid: u32, rt: u32, t0: u32, ntok: u32) {
    for (var j = 0u; j < WLD; j++) {
        let i = lid + j * WG;
        w_put(i, k0, rt, w_fetch(i, k0, rt));
    }
    for (var j = 0u; j < XLD; j++) {
        let i = lid + j * WG;
        x_put(i, x_fetch(i, k0, t0, ntok));
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    let lid = lidv.x;
    let part = wid.x / P.tiles;
    let rt = wid.x % P.tiles;
    part_off = part * P.part_stride;
    let t0 = wid.y * BN;
    let ntok = S.n_tok;
    if (t0 >= ntok) {
        return;
    }
    let tr = lid % NR;
    let tc = lid / NR;
    let kb = part * P.ks;
    let ke = min(P.cols, kb + P.ks);
    // this thread's first W place (row group tr, rr 0) and first token
    let wb = tr * WS4;
    let xb = 4u * tc * XS4;

    // acc_I_RR_J: logical tile row 4*(tr + I*NR) + RR, tokens 4*(tc + J*NC)..+3
//@DECL

//#if DB
    // DB: the next step's raw weight words and X vec4s are loaded into
    // registers before this step's multiply, dequantized and stored after it
//@FDECL
//@FETCH0
//#endif
    for (var k0 = kb; k0 < ke; k0 += BK) {
//#if DB
//@PUT
        workgroupBarrier();
        if (k0 + BK < ke) {
//@FETCH1
        }
//#else
        load_tile(k0, lid, rt, t0, ntok);
        workgroupBarrier();
//#endif
        for (var k4 = 0u; k4 < BK4; k4++) {
//@COMPUTE
        }
        workgroupBarrier();
    }

//@STORE
}
