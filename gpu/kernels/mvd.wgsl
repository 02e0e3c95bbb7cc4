// Decode matrix-vector product with the activation rounding fused in: every
// workgroup first builds the whole input vector in workgroup memory (RMSNorm
// when NORM, then rounding to the weight's vec-dot type exactly like
// actq.wgsl: Q8 with blocks of BS, F16, BF16 or none), then TPR threads per
// row stream the row's weights in "tasks" (a type's TASK_ELEMS/task_dot, from
// mvd_<type>.wgsl, or one unit through the type's unit_dot) and reduce in
// workgroup memory. One token: the first (decode) or the batch's last (LAST).
//
// Output modes: STORE, ADD (residual), SILUMUL (y = silu(dot) * y), SWIGLU
// (rows r and r+half: y = silu(g) * u) and ROPE (the fused QKV product:
// RoPE on Q and K rows in pairs, Q stored to Y, K and V written to this
// layer's caches at the token's position).
//
// Prepared rows (decode): a residual product (ADD) with TAIL counts its
// finished workgroups, and the last one runs the next product's prep over
// the whole new residual row (its RMSNorm weights at G, TXC columns) and
// writes the result to PO; that product (PREPD) then loads its input from
// there instead of preparing it in every workgroup. Both sides round to
// the same vec-dot type the same way, so the values are the same bits.

struct MVD {
    rows: u32,       // output rows in this dispatch
    cols: u32,       // elements per row
    row_bytes: u32,  // bytes per weight row
    y_off: u32,      // first output element (ROPE: global QKV row of row 0)
    y_stride: u32,
    half: u32,       // SWIGLU: row offset of the up half
    eps: f32,        // NORM: RMS epsilon
    pad: u32,
    head_dim: u32,   // ROPE
    rope_dim: u32,
    q_dim: u32,
    kv_dim: u32,
}

//#if W4
@group(0) @binding(0) var<storage, read> W: array<vec4<u32>>;
//#else
@group(0) @binding(0) var<storage, read> W: array<u32>;
//#endif
//#if PREPD
// the prepared row (prep_load): values, then block scales d (Q8), the
// CPU's Q8_1 sums, the Q8_K sums per 16, as bits
@group(0) @binding(1) var<storage, read> X: array<u32>;
//#else
@group(0) @binding(1) var<storage, read> X: array<f32>;
//#endif
//#if TAIL
// the residual row, through atomics: the tail reads what the other
// workgroups wrote, past any stale cache line
@group(0) @binding(2) var<storage, read_write> Y: array<atomic<u32>>;
//#else
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
//#endif
@group(0) @binding(3) var<uniform> P: MVD;
@group(0) @binding(4) var<storage, read> S: Step;
//#if GB
@group(0) @binding(5) var<storage, read> G: array<f32>;
//#endif
//#if TAIL
@group(0) @binding(6) var<storage, read_write> PO: array<u32>;
@group(0) @binding(7) var<storage, read_write> CNT: array<atomic<u32>>;
//#endif
//#if ROPE
@group(0) @binding(6) var<storage, read_write> KC: array<f32>;
@group(0) @binding(7) var<storage, read_write> VC: array<f32>;
@group(0) @binding(8) var<storage, read> CS: array<vec2<f32>>;
//#endif

// XC (columns), WG, TPR, RPW = WG / TPR and BS (rounding block) come from
// kernels.go.
const XC4: u32 = XC / 4u;
const NSEG: u32 = (XC + 31u) / 32u;
const NT: u32 = XC / TASK_ELEMS;  // tasks per row

var<workgroup> xs: array<vec4<f32>, XC4>;
var<workgroup> red: array<f32, WG>;
var<workgroup> red2: array<f32, WG>;
var<workgroup> seg_a: array<f32, NSEG>;
var<workgroup> seg_m: array<f32, NSEG>;
var<workgroup> blk_d: array<f32, NSEG>;
var<workgroup> blk_id: array<f32, NSEG>;

//#include round

//#if EXACT
//#if Q8_K
// EXACT Q8_K: the activation quants' sums per 16 elements (the CPU's
// block_q8_K bsums), exact integers
const NG16: u32 = XC / 16u;
var<workgroup> xb16: array<i32, NG16>;
//#endif
//#endif

//#if COMBINE
// X holds split attention partials (attention.wgsl, SPLIT): for head h and
// split s, the unnormalized output at (h*MS + s)*HD, the running max at
// NHD*MS*HD + h*MS + s and the sum after those. cf holds each split's
// factor exp(m_s - max), cl each head's sum.
const NCF: u32 = NHD * MS;
var<workgroup> cf: array<f32, NCF>;
var<workgroup> cl: array<f32, NHD>;

fn combine_prep(lid: u32) {
    let ns = S.pos / SPL + 1u;
    let nb = NHD * MS;
    for (var h = lid; h < NHD; h += WG) {
        var mm = -3.0e38;
        for (var s = 0u; s < ns; s++) {
            mm = max(mm, X[nb * HD + h * MS + s]);
        }
        var l = 0.0;
        for (var s = 0u; s < ns; s++) {
            let f = exp(X[nb * HD + h * MS + s] - mm);
            cf[h * MS + s] = f;
            l += X[nb * HD + nb + h * MS + s] * f;
        }
        cl[h] = l;
    }
    workgroupBarrier();
}

// xin is attention output j (head j/HD) merged from the splits; with one
// split attention.wgsl wrote the final (exact) output to it.
fn xin(b: u32, j: u32) -> f32 {
    let ns = S.pos / SPL + 1u;
    let h = j / HD;
    let d = j % HD;
    if (ns == 1u) {
        return X[h * MS * HD + d];
    }
    var o = 0.0;
    for (var s = 0u; s < ns; s++) {
        o += X[(h * MS + s) * HD + d] * cf[h * MS + s];
    }
    return o / cl[h];
}
//#else
//#if PREPD
//#else
fn xin(b: u32, j: u32) -> f32 {
    return X[b + j];
}
//#endif
//#endif

// xv is activation c (rounded) for the types' unit_dot.
fn xv(xb: u32, c: u32) -> f32 {
    return xs[px(c >> 2u)][c & 3u];
}

// silu is the CPU's SwiGLU activation bit for bit (round.wgsl's silu_x:
// ggml_v_expf on whole blocks of 8 of the row, expf after); gi is the
// element's index in the row of y_stride elements.
fn silu(x: f32, gi: u32) -> f32 {
    return silu_x(x, gi, P.y_stride / 8u * 8u);
}

// rnd rounds final activations to F16 or BF16 (identity otherwise).
fn rnd(v: vec4<f32>) -> vec4<f32> {
//#if F16
    return vec4<f32>(f16round(v.x), f16round(v.y), f16round(v.z), f16round(v.w));
//#else
//#if BF16
    return vec4<f32>(bf16round(v.x), bf16round(v.y), bf16round(v.z), bf16round(v.w));
//#else
    return v;
//#endif
//#endif
}

// xsi is where xs keeps logical vec4 i: in the tasks' layout (px), or in
// logical order (lg: the tail's row, which leaves the workgroup as is).
fn xsi(i: u32, lg: bool) -> u32 {
    return select(px(i), i, lg);
}

//#if NPH
// g_at is vec4 j4 of the norm weights (zeros from n4 on).
fn g_at(j4: u32, n4: u32) -> vec4<f32> {
    if (j4 >= n4) {
        return vec4<f32>(0.0);
    }
    let j = 4u * j4;
    return vec4<f32>(G[j], G[j + 1u], G[j + 2u], G[j + 3u]);
}

// pair_sum adds the compensated sums (red, red2) of lanes 0 .. n-1 (n a
// power of two) in a tree, into lane 0.
fn pair_sum(lid: u32, n: u32) {
    workgroupBarrier();
    for (var k = n / 2u; k > 0u; k >>= 1u) {
        if (lid < k) {
            let t = two_sum(red[lid], red[lid + k]);
            red[lid] = t.x;
            red2[lid] = red2[lid] + red2[lid + k] + t.y;
        }
        workgroupBarrier();
    }
}
//#endif

//#if PNORM
// norm_at normalizes and rounds vec4 j4 of xs with the norm weights g
// (nothing past the row).
fn norm_at(j4: u32, inv: f32, g: vec4<f32>) {
    if (j4 < XC4) {
        xs[px(j4)] = rnd((xs[px(j4)] * inv) * g);
    }
}

// rms_inv is 1/rms of xs exactly as actq.wgsl: 64 lanes, compensated sums
// in the same order.
fn rms_inv(lid: u32) -> f32 {
    if (lid < 64u) {
        var ss = vec2<f32>(0.0);
        for (var i = lid; i < XC; i += 64u) {
            let x = xs[px(i >> 2u)][i & 3u];
            let t = two_sum(ss.x, opaque(x * x));
            ss = vec2<f32>(t.x, ss.y + t.y);
        }
        red[lid] = ss.x;
        red2[lid] = ss.y;
    }
    pair_sum(lid, 64u);
//#if INV1
    // one thread derives 1/rms and passes it on: the long exactly rounded
    // chain costs every other warp's issue slots when all run it
    if (lid == 0u) {
        red[0] = div_rn(1.0, sqrt_rn(mean_rn(vec2<f32>(red[0], red2[0]), f32(XC)) + P.eps));
    }
    workgroupBarrier();
    return red[0];
//#else
    let tot = vec2<f32>(red[0], red2[0]);
    let mean = mean_rn(tot, f32(XC));
    return div_rn(1.0, sqrt_rn(mean + P.eps));
//#endif
}
//#endif

//#if QPH
// q8_round rounds the n values of xs to Q8 blocks of BS: per 32-element
// segment the largest magnitude and the first signed value that has it,
// per block the CPU's scale, then the quants (EXACT: the integers
// themselves, d in blk_d; Q8_1's sums in seg_a; Q8_K's sums per 16 in
// xb16).
fn q8_round(lid: u32, n: u32, lg: bool) {
    for (var s = lid; s < n / 32u; s += WG) {
        var a = 0.0;
        var mx = 0.0;
        for (var k = 0u; k < 8u; k++) {
            let v4 = xs[xsi(8u * s + k, lg)];
            for (var e = 0u; e < 4u; e++) {
                if (abs(v4[e]) > a) {
                    a = abs(v4[e]);
                    mx = v4[e];
                }
            }
        }
        seg_a[s] = a;
        seg_m[s] = mx;
    }
    workgroupBarrier();
    for (var bl = lid; bl < n / BS; bl += WG) {
        var a = 0.0;
        var mx = 0.0;
        for (var s = bl * (BS / 32u); s < (bl + 1u) * (BS / 32u); s++) {
            if (seg_a[s] > a) {
                a = seg_a[s];
                mx = seg_m[s];
            }
        }
//#if Q8_K
        let did = q8_k_scale(a, mx);
//#else
        let did = q8_0_scale(a);
//#endif
        let d = did.x;
        let id = did.y;
        blk_d[bl] = d;
        blk_id[bl] = id;
//#if Q8_1
        // the CPU's Q8_1 block sum s = fp16(d32 * sum q) (d32 before its
        // fp16 rounding) enters Q4_1/Q5_1's min term; task_dot adds
        // m * (s - d * sum q) to the products of the rounded values, kept
        // in seg_a[bl] (BS = 32: this thread's own segment, read no more);
        // EXACT keeps s itself (the min term is its own chain)
        var qs = 0.0;
        for (var k = 0u; k < 8u; k++) {
            let q4 = clamp(round(xs[xsi(8u * bl + k, lg)] * id), vec4<f32>(-128.0), vec4<f32>(127.0));
            qs += (q4.x + q4.y) + (q4.z + q4.w);
        }
//#if EXACT
        seg_a[bl] = f16round(div_rn(a, 127.0) * qs);
//#else
        seg_a[bl] = f16round(div_rn(a, 127.0) * qs) - d * qs;
//#endif
//#endif
    }
    workgroupBarrier();
    for (var j4 = lid; j4 < n / 4u; j4 += WG) {
        let bl = (4u * j4) / BS;
        let pj = xsi(j4, lg);
//#if EXACT
        // the integer quants themselves (as exact floats); blk_d keeps d
        xs[pj] = clamp(round(xs[pj] * blk_id[bl]), vec4<f32>(-128.0), vec4<f32>(127.0));
//#else
        xs[pj] = blk_d[bl] * clamp(round(xs[pj] * blk_id[bl]), vec4<f32>(-128.0), vec4<f32>(127.0));
//#endif
    }
    workgroupBarrier();
//#if EXACT
//#if Q8_K
    for (var g = lid; g < n / 16u; g += WG) {
        let s4 = (xs[xsi(4u * g, lg)] + xs[xsi(4u * g + 1u, lg)]) + (xs[xsi(4u * g + 2u, lg)] + xs[xsi(4u * g + 3u, lg)]);
        xb16[g] = i32((s4.x + s4.y) + (s4.z + s4.w));
    }
    workgroupBarrier();
//#endif
//#endif
}
//#endif

// The prepared row's layout for n columns (32-bit words): the values at
// 0, Q8 block scales at n, Q8_1 sums at n + n/32, Q8_K sums per 16 at
// n + n/16 (n * 9/8 words in all).

//#if PREPD
// prep loads the row the producer's tail prepared (see TAIL).
fn prep(lid: u32, first: u32) {
    for (var j4 = lid; j4 < XC4; j4 += WG) {
        let j = 4u * j4;
        xs[px(j4)] = bitcast<vec4<f32>>(vec4<u32>(X[j], X[j + 1u], X[j + 2u], X[j + 3u]));
    }
//#if Q8
    for (var bl = lid; bl < XC / BS; bl += WG) {
        blk_d[bl] = bitcast<f32>(X[XC + bl]);
//#if Q8_1
        seg_a[bl] = bitcast<f32>(X[XC + XC / 32u + bl]);
//#endif
    }
//#if EXACT
//#if Q8_K
    for (var g = lid; g < NG16; g += WG) {
        xb16[g] = bitcast<i32>(X[XC + XC / 16u + g]);
    }
//#endif
//#endif
//#endif
    // G stays bound (the QKV product's RoPE bindings follow it)
    if (P.pad == 1u) {
        xs[0].x = G[0];
    }
    workgroupBarrier();
}
//#else
// prep fills xs with the rounded input row `first`. Loops run over the
// compile-time column count so that the loads of a thread are all issued
// before the first one is waited for.
fn prep(lid: u32, first: u32) {
    let b = first * XC;
//#if GPF
    // the norm weights of this thread's (at most four) vec4s, loaded with
    // the input (GPF: XC4 <= 4 WG)
    let g0 = g_at(lid, XC4);
    let g1 = g_at(lid + WG, XC4);
    let g2 = g_at(lid + 2u * WG, XC4);
    let g3 = g_at(lid + 3u * WG, XC4);
//#endif
//#if COMBINE
    combine_prep(lid);
    for (var j4 = lid; j4 < XC4; j4 += WG) {
        let j = 4u * j4;
        xs[px(j4)] = rnd(vec4<f32>(xin(b, j), xin(b, j + 1u), xin(b, j + 2u), xin(b, j + 3u)));
    }
//#else
    for (var j4 = lid; j4 < XC4; j4 += WG) {
        let o = b + 4u * j4;
//#if NORM
        xs[px(j4)] = vec4<f32>(X[o], X[o + 1u], X[o + 2u], X[o + 3u]);
//#else
        xs[px(j4)] = rnd(vec4<f32>(X[o], X[o + 1u], X[o + 2u], X[o + 3u]));
//#endif
    }
//#endif
    workgroupBarrier();
//#if NORM
//#if PNORM
//#else
    // diagnostics without the norm (mvd.go): G stays bound
    if (P.pad == 1u) {
        xs[0].x = G[0];
    }
//#endif
//#endif
//#if PNORM
    let inv = rms_inv(lid);
//#if GPF
    norm_at(lid, inv, g0);
    norm_at(lid + WG, inv, g1);
    norm_at(lid + 2u * WG, inv, g2);
    norm_at(lid + 3u * WG, inv, g3);
//#else
    for (var j4 = lid; j4 < XC4; j4 += WG) {
        norm_at(j4, inv, g_at(j4, XC4));
    }
//#endif
    workgroupBarrier();
//#endif
//#if PQ8
    q8_round(lid, XC, false);
//#endif
}
//#endif

//#if TAIL
// The tail (see the top): TXC columns of the next product's row; a thread
// holds TG4 consecutive vec4s of it in registers. TDG > 0 compiles parts
// out (HEARTH_GPU_MVD_DIAG=tail1..3, timing only): 1 counts and stops, 2
// copies the row unnormalized, 3 normalizes without the Q8 rounding.
const TXC4: u32 = TXC / 4u;
const TG4: u32 = (TXC4 + WG - 1u) / WG;
var<workgroup> tlast: u32;
var<workgroup> tinv: f32;
//#if TQF
// TQF (a thread's vec4s lie in one Q8 block, no Q8_1 sums): the Q8
// rounding runs on the registers, with the threads of a block meeting in
// red/red2 (largest magnitudes) and, where a thread holds less than 16
// values, ts8 (a thread's sum of quants, part of a Q8_K sum per 16)
const TTB: u32 = BS / (4u * TG4); // threads a block
var<workgroup> ts8: array<i32, WG>;
//#endif

fn yld(i: u32) -> f32 {
    return bitcast<f32>(atomicLoad(&Y[i]));
}

// po4 stores vec4 j4 of the prepared row's values.
fn po4(j4: u32, v: vec4<f32>) {
    let u = bitcast<vec4<u32>>(v);
    let j = 4u * j4;
    PO[j] = u.x;
    PO[j + 1u] = u.y;
    PO[j + 2u] = u.z;
    PO[j + 3u] = u.w;
}

// tail runs after this workgroup's rows are in Y: the device-scope
// barrier orders them before its count, and the last workgroup's barrier
// after the count orders the others' rows before its reads. Its 1/rms
// sums the squares per thread and in a tree (a compensated sum like
// rms_inv's in another order: both round the float64 sum's mean once, as
// the CPU does).
fn tail(lid: u32, nwg: u32) {
    storageBarrier();
    if (lid == 0u) {
        tlast = select(0u, 1u, atomicAdd(&CNT[0], 1u) == nwg - 1u);
    }
    if (workgroupUniformLoad(&tlast) == 0u) {
        return;
    }
    storageBarrier();
    if (TDG == 1u) {
        if (lid == 0u) {
            atomicStore(&CNT[0], 0u);
        }
        return;
    }
    let c0 = lid * TG4;
    var v: array<vec4<f32>, TG4>;
    var gv: array<vec4<f32>, TG4>;
    for (var k = 0u; k < TG4; k++) {
        let j4 = c0 + k;
        var x = vec4<f32>(0.0);
        if (j4 < TXC4) {
            let j = 4u * j4;
            x = vec4<f32>(yld(j), yld(j + 1u), yld(j + 2u), yld(j + 3u));
        }
        v[k] = x;
        gv[k] = g_at(j4, TXC4);
    }
    if (TDG != 2u) {
        var ss = vec2<f32>(0.0);
        for (var k = 0u; k < TG4; k++) {
            for (var e = 0u; e < 4u; e++) {
                let t = two_sum(ss.x, opaque(v[k][e] * v[k][e]));
                ss = vec2<f32>(t.x, ss.y + t.y);
            }
        }
        red[lid] = ss.x;
        red2[lid] = ss.y;
        pair_sum(lid, WG);
        if (lid == 0u) {
            tinv = div_rn(1.0, sqrt_rn(mean_rn(vec2<f32>(red[0], red2[0]), f32(TXC)) + P.eps));
        }
        workgroupBarrier();
        let inv = tinv;
        for (var k = 0u; k < TG4; k++) {
            v[k] = rnd((v[k] * inv) * gv[k]);
        }
    }
//#if Q8
//#if TQF
    if (TDG == 0u) {
        // the first signed value of the largest magnitude, in element order
        var a = 0.0;
        var mx = 0.0;
        for (var k = 0u; k < TG4; k++) {
            for (var e = 0u; e < 4u; e++) {
                if (abs(v[k][e]) > a) {
                    a = abs(v[k][e]);
                    mx = v[k][e];
                }
            }
        }
        red[lid] = a;
        red2[lid] = mx;
        workgroupBarrier();
        // a block's threads meet in a tree: the later half wins only with
        // a larger magnitude, so the first one stays, as in a scan
        for (var k = TTB / 2u; k > 0u; k >>= 1u) {
            if (lid % TTB < k && red[lid + k] > red[lid]) {
                red[lid] = red[lid + k];
                red2[lid] = red2[lid + k];
            }
            workgroupBarrier();
        }
        for (var bl = lid; bl < TXC / BS; bl += WG) {
            let ba = red[bl * TTB];
            let bm = red2[bl * TTB];
//#if Q8_K
            let did = q8_k_scale(ba, bm);
//#else
            let did = q8_0_scale(ba);
//#endif
            blk_d[bl] = did.x;
            blk_id[bl] = did.y;
            PO[TXC + bl] = bitcast<u32>(did.x);
        }
        workgroupBarrier();
        let bl = (4u * c0) / BS;
        var s8 = 0.0;
        for (var k = 0u; k < TG4; k++) {
            let q = clamp(round(v[k] * blk_id[bl]), vec4<f32>(-128.0), vec4<f32>(127.0));
            s8 += (q.x + q.y) + (q.z + q.w);
//#if EXACT
            v[k] = q;
//#else
            v[k] = blk_d[bl] * q;
//#endif
        }
//#if EXACT
//#if Q8_K
        // the Q8_K sums per 16 (exact integers): a thread of 16 values or
        // more sums its own groups; smaller ones meet in ts8
        if (4u * TG4 >= 16u) {
            if (c0 < TXC4) {
                for (var k = 0u; k < TG4; k += 4u) {
                    let q = (v[k] + v[k + 1u]) + (v[k + 2u] + v[k + 3u]);
                    PO[TXC + TXC / 16u + (c0 + k) / 4u] = bitcast<u32>(i32((q.x + q.y) + (q.z + q.w)));
                }
            }
        } else {
            ts8[lid] = i32(s8);
            workgroupBarrier();
            for (var g = lid; g < TXC / 16u; g += WG) {
                var n = 0;
                for (var t = (16u * g) / (4u * TG4); t <= (16u * g + 15u) / (4u * TG4); t++) {
                    n += ts8[t];
                }
                PO[TXC + TXC / 16u + g] = bitcast<u32>(n);
            }
        }
//#endif
//#endif
    }
//#else
    // the generic rounding (Q8_1's sums, or a thread's vec4s in several
    // blocks) from the row in logical order
    for (var k = 0u; k < TG4; k++) {
        if (c0 + k < TXC4) {
            xs[c0 + k] = v[k];
        }
    }
    workgroupBarrier();
    if (TDG == 0u) {
        q8_round(lid, TXC, true);
    }
    for (var k = 0u; k < TG4; k++) {
        if (c0 + k < TXC4) {
            v[k] = xs[c0 + k];
        }
    }
    for (var bl = lid; bl < TXC / BS; bl += WG) {
        PO[TXC + bl] = bitcast<u32>(blk_d[bl]);
//#if Q8_1
        PO[TXC + TXC / 32u + bl] = bitcast<u32>(seg_a[bl]);
//#endif
    }
//#if EXACT
//#if Q8_K
    for (var g = lid; g < TXC / 16u; g += WG) {
        PO[TXC + TXC / 16u + g] = bitcast<u32>(xb16[g]);
    }
//#endif
//#endif
//#endif
//#endif
    for (var k = 0u; k < TG4; k++) {
        if (c0 + k < TXC4) {
            po4(c0 + k, v[k]);
        }
    }
    // ready for the next dispatch that counts
    if (lid == 0u) {
        atomicStore(&CNT[0], 0u);
    }
}
//#endif

//#if XCH
// The exact chunked products (x_task, x_chain, x_fin, TASK_ELEMS, TPB
// tasks per block, LANES, CI ints per task, CFB floats per block come from
// the type's mvd_x_<type>.wgsl).
//#if SWIGLU
const NW: u32 = 2u;
//#else
const NW: u32 = 1u;
//#endif
//#if XSB
// Super-block jobs (XSB): job j of a row is part j % QP (QP from mvd.go) of
// super-block (j / QP) % NSB of weight row j / (QP*NSB) (SwiGLU: gate, then
// up); its exact integer sums go to sbi, its block's scale products to sbf
// (part 0), and after one barrier the row's first thread runs the float
// chains block by block (sb_chain). A thread holds its first job's weights
// in registers from before the activation prep, so their DRAM reads overlap
// it.
const NSB: u32 = XC / 256u;
const NJ: u32 = NW * NSB * QP;
const SBI_N: u32 = RPW * NJ;
const SBF_N: u32 = RPW * NW * NSB;
var<workgroup> sbi: array<vec2<i32>, SBI_N>;
var<workgroup> sbf: array<vec2<f32>, SBF_N>;

// job_rb returns where job j of output row `row` reads its weight row
// (SwiGLU's up half from job QP*NSB on).
fn job_rb(j: u32, row: u32) -> u32 {
    return (row + select(0u, P.half, j >= QP * NSB)) * P.row_bytes;
}
//#else
const CHT: u32 = TPR * TPC;  // tasks per chunk (TPC from mvd.go)
const BPC: u32 = CHT / TPB;  // blocks per chunk
const NCH: u32 = (XC / TASK_ELEMS + CHT - 1u) / CHT;
const XCI_N: u32 = NW * RPW * CHT * CI;
const XCF_N: u32 = NW * RPW * BPC * CFB;
var<workgroup> xci: array<i32, XCI_N>;
var<workgroup> xcf: array<f32, XCF_N>;
//#endif

// fma_c is the chains' fused multiply-add: their operands come from
// workgroup memory, so there is nothing the compiler could fold across it.
fn fma_c(a: f32, b: f32, c: f32) -> f32 {
    if (FMA_NATIVE) {
        return fma(a, b, c);
    }
    return fma_x(a, b, c);
}

// ub4 returns the four bytes of w shifted right by sh, masked with m, as
// floats; sb4 the four signed bytes.
fn ub4(w: u32, sh: u32, m: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(w) >> vec4<u32>(sh, sh + 8u, sh + 16u, sh + 24u)) & vec4<u32>(m));
}

// bits4 returns bits e0 .. e0+3 of w as floats.
fn bits4(w: u32, e0: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(w) >> vec4<u32>(e0, e0 + 1u, e0 + 2u, e0 + 3u)) & vec4<u32>(1u));
}

fn sb4(w: u32) -> vec4<f32> {
    return vec4<f32>(vec4<i32>(vec4<u32>(w) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}

// idot is the dot product of four integer-valued floats (exact: every
// partial sum is an integer below 2^24), as an integer.
fn idot(a: vec4<f32>, b: vec4<f32>) -> i32 {
    return i32(dot(a, b));
}

//#if W4
//#else
// wd reads the four bytes at the even byte offset b.
fn wd(b: u32) -> u32 {
    let i = b >> 2u;
    let lo = W[i];
    let hi = W[i + 1u];
    return select(lo, (lo >> 16u) | (hi << 16u), (b & 2u) != 0u);
}
//#endif
//#if KLANE
// K-quant lane tasks: task t = 8*sb + k (super-block sb, lane k) reads
// elements 4k..4k+3 of each run c of 32, logical vec4 64sb + 8c + k,
// stored at c*NT + t (conflict-free across a row's threads).
fn px(i: u32) -> u32 {
    return ((i % 64u) / 8u) * NT + (i / 64u) * 8u + i % 8u;
}
//#endif
//#endif

//#if GENERIC
const NSUB: u32 = BLOCK_ELEMS / UNIT;

const TASK_ELEMS: u32 = UNIT;
//#endif

//#if OWNPX
//#else
// xs is stored transposed by task: vec4 k of task t (logical index
// t*KV + k) lives at k*NT + t, so the threads of a row, which run
// consecutive tasks, read consecutive vec4s (no bank conflicts). Types
// whose tasks read other element sets define their own px (OWNPX).
const KV: u32 = TASK_ELEMS / 4u;

fn px(i: u32) -> u32 {
    return (i % KV) * NT + i / KV;
}
//#endif

//#if GENERIC

fn task_dot(rb: u32, t: u32) -> f32 {
//#if Q8_1
    // Q4_1/Q5_1 (a task is one block): the weight's min times the CPU's s
    // (see prep), not times the sum of the rounded activations
    let bo = rb + t * BLOCK_BYTES;
    return unit_dot(bo, 0u, 0u, t * UNIT) + f16at(bo + 2u) * seg_a[t];
//#else
    return unit_dot(rb + (t / NSUB) * BLOCK_BYTES, t % NSUB, 0u, t * UNIT);
//#endif
}
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>,
        @builtin(num_workgroups) nwv: vec3<u32>) {
    let lid = lidv.x;
    let lr = lid / TPR;
    let tl = lid % TPR;
    let r0 = (wid.x + wid.y * 65535u) * RPW;
    if (r0 >= P.rows) {
        return;
    }
    let row = r0 + lr;
    let ok = row < P.rows;
    // the decode program runs one token, so its row is also the last
    let first = S.n_tok - 1u;
//#if PF
    // weight prefetch (mvd_pf.wgsl), used after prep
    let pf_end = select(0u, (row + 1u) * P.row_bytes, ok);
    let pfv = pf_issue(row * P.row_bytes, pf_end, tl);
//#if SWIGLU
    let pfv2 = pf_issue((row + P.half) * P.row_bytes, select(0u, (row + P.half + 1u) * P.row_bytes, ok), tl);
//#endif
//#endif
//#if XSB
    var pre: SBW;
    if (ok && tl < NJ) {
        pre = sb_load(job_rb(tl, row), (tl / QP) % NSB, tl % QP);
    }
//#endif
    prep(lid, first);
    let rb = row * P.row_bytes;
    var acc = 0.0;
    var post = 0.0;  // XCH: added after the lanes' sum (the CPU's min terms)
//#if PF
    if (pf_sink(pfv)) {
        acc = 1.0;
    }
//#endif
//#if SWIGLU
    let rb2 = (row + P.half) * P.row_bytes;
    var acc2 = 0.0;
    var post2 = 0.0;
//#if PF
    if (pf_sink(pfv2)) {
        acc2 = 1.0;
    }
//#endif
//#endif
//#if XQV
    if (ok) {
        acc = xq_dot(rb, tl);
//#if SWIGLU
        acc2 = xq_dot(rb2, tl);
//#endif
    }
//#else
//#if XSB
    if (ok) {
        var wv = pre;
        for (var j = tl; j < NJ; j += TPR) {
            let sb = (j / QP) % NSB;
            let q = j % QP;
            if (j != tl) {
                wv = sb_load(job_rb(j, row), sb, q);
            }
            sbi[lr * NJ + j] = sb_job(wv, sb, q);
            if (q == 0u) {
                sbf[lr * NW * NSB + j / QP] = sb_scales(wv, sb);
            }
        }
    }
    workgroupBarrier();
    if (ok && tl == 0u) {
        for (var w = 0u; w < NW; w++) {
            var st = vec2<f32>(0.0);
            for (var sb = 0u; sb < NSB; sb++) {
                let b = w * NSB + sb;
                var v = sbi[lr * NJ + b * QP];
                for (var q = 1u; q < QP; q++) {
                    v += sbi[lr * NJ + b * QP + q];
                }
                sb_chain(&st, v, sbf[lr * NW * NSB + b]);
            }
            if (w == 0u) {
                acc = st.x - st.y;
            } else {
//#if SWIGLU
                acc2 = st.x - st.y;
//#endif
            }
        }
    }
//#else
//#if XCH
    // the CPU's order (gpu/NUMERICS.md): per chunk of CHT = TPR*TPC tasks
    // the row's threads compute exact integer partial sums into xci and the
    // blocks' scale products into xcf (tasks past the row write zeros, which
    // leave the chains unchanged); after a barrier LANES threads (one per
    // accumulator lane of ggml's kernel) run the float chains block by
    // block. TPC tasks a thread per chunk keep that many weight loads in
    // flight: mvd is latency-bound, and every chunk waits for its loads.
    var st = vec2<f32>(0.0);
//#if SWIGLU
    var st2 = vec2<f32>(0.0);
//#endif
    let ib = lr * NW * CHT * CI;
    let fb = lr * NW * BPC * CFB;
    for (var c = 0u; c < NCH; c++) {
        for (var u = 0u; u < TPC; u++) {
            let tc = u * TPR + tl;
            let t = c * CHT + tc;
            let valid = ok && t < NT;
            // past the row: a task of the last block with the same lane,
            // so that the block's first task still writes (zero) scales
            let tt = min(t, NT - TPB + t % TPB);
            x_task(rb, tt, valid, ib + tc * CI, fb + (tc / TPB) * CFB);
//#if SWIGLU
            x_task(rb2, tt, valid, ib + CHT * CI + tc * CI, fb + BPC * CFB + (tc / TPB) * CFB);
//#endif
        }
        workgroupBarrier();
        if (ok && tl < LANES) {
            for (var bi = 0u; bi < BPC; bi++) {
                x_chain(&st, tl, ib + bi * TPB * CI, fb + bi * CFB);
//#if SWIGLU
                x_chain(&st2, tl, ib + CHT * CI + bi * TPB * CI, fb + BPC * CFB + bi * CFB);
//#endif
            }
        }
        workgroupBarrier();
    }
    let fin = x_fin(st);
    acc = fin.x;
    post = fin.y;
//#if SWIGLU
    let fin2 = x_fin(st2);
    acc2 = fin2.x;
    post2 = fin2.y;
//#endif
//#else
//#if EXACTF
//#if XFV
    if (ok) {
        xfl[lid] = xfv_dot(rb, tl);
//#if SWIGLU
        xfl[WG + lid] = xfv_dot(rb2, tl);
//#endif
    }
    workgroupBarrier();
    if (ok && tl == 0u) {
        acc = xfv_tree(lid);
//#if SWIGLU
        acc2 = xfv_tree(WG + lid);
//#endif
    }
//#else
    if (ok) {
        acc = xf_dot(rb, tl);
//#if SWIGLU
        acc2 = xf_dot(rb2, tl);
//#endif
    }
//#endif
//#else
    if (ok) {
        for (var t = tl; t < NT; t += TPR) {
            acc += task_dot(rb, t);
//#if SWIGLU
            acc2 += task_dot(rb2, t);
//#endif
        }
    }
//#endif
//#endif
//#endif
//#endif
//#if SWIGLU
    red2[lid] = acc2;
//#endif
    red[lid] = acc;
    workgroupBarrier();
//#if ONEROW
    // the row's first thread holds its whole result: no tree, no min terms
//#else
    for (var k = TPR / 2u; k > 0u; k >>= 1u) {
        if (tl < k) {
            red[lid] += red[lid + k];
//#if SWIGLU
            red2[lid] += red2[lid + k];
//#endif
        }
        workgroupBarrier();
    }
//#endif
//#if XCH
//#if XSB
//#else
    // ggml adds the min terms after the lanes' horizontal sum
    if (tl == 0u) {
        red[lid] = red[lid] + post;
//#if SWIGLU
        red2[lid] = red2[lid] + post2;
//#endif
    }
    workgroupBarrier();
//#endif
//#endif
//#if EXACTF
    if (NP < XC) {
        if (tl == 0u && ok) {
            red[lid] = xf_tail(rb, red[lid]);
//#if SWIGLU
            red2[lid] = xf_tail(rb2, red2[lid]);
//#endif
        }
        workgroupBarrier();
    }
//#endif
//#if TAIL
    // ADD (mvd.go takes no other mode here); every thread goes on to the
    // tail
    if (ok && tl == 0u) {
        let yi = P.y_off + row;
        atomicStore(&Y[yi], bitcast<u32>(yld(yi) + red[lid]));
    }
    tail(lid, nwv.x * nwv.y);
//#else
    if (!ok || tl != 0u) {
        return;
    }
    let v = red[lid];
    let yi = P.y_off + row;
//#if STORE
    Y[yi] = v;
//#endif
//#if ADD
    Y[yi] = Y[yi] + v;
//#endif
//#if SILUMUL
    Y[yi] = silu(v, yi) * Y[yi];
//#endif
//#if SWIGLU
    Y[yi] = silu(v, yi) * red2[lid];
//#endif
//#if ROPE
    // yi is the row's index in QKV (one token): Q rows, then K, then V
    let p = S.pos;
    let qk = P.q_dim + P.kv_dim;
    var x = v;
    if (yi < qk) {
        let e = yi % P.head_dim;
        if (e < P.rope_dim) {
            let c = CS[p * (P.rope_dim / 2u) + e / 2u];
            let o = red[lid ^ TPR];  // the pair's other row (RPW is even)
            // the CPU's rotation (engine/cpu ropeNorm, GCC's contraction
            // of ggml's rotate_pairs): fma(x0, c, -(x1 s)), fma(x0, s, x1 c)
            if ((e & 1u) == 0u) {
                x = fma_x(v, c.x, -opaque(o * c.y));
            } else {
                x = fma_x(o, c.y, opaque(v * c.x));
            }
        }
    }
    if (yi < P.q_dim) {
        Y[yi] = x;
    } else if (yi < qk) {
        KC[p * P.kv_dim + (yi - P.q_dim)] = x;
    } else {
        VC[p * P.kv_dim + (yi - qk)] = x;
    }
//#endif
//#endif
}
