// Causal attention for one query head and one token per workgroup, over
// the K/V cache positions 0..pos+t. Scores are computed in chunks of CH
// positions with an online softmax; thread (g, d) accumulates output
// element d over the chunk positions congruent to g.
//
// SPLIT (decode, one token): workgroup (h, s) covers only the positions
// [s*split, (s+1)*split) and writes its unnormalized output, running max
// and sum to O as partials; mvd.wgsl (COMBINE) merges them while it loads
// the output projection's input. With one split the merge is exact (the
// factors are exp(0) = 1), so short contexts give the same bits as without.
// With one split (at most `split` positions) the split workgroup runs the
// CPU's attention bit for bit instead (exact_attention) and writes the
// final output, max 0 and sum 1; mvd.wgsl's COMBINE then takes it as is.

struct AP {
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    qkv_stride: u32,
    scale: f32,
    split: u32,   // SPLIT: positions per workgroup
    ms: u32,      // SPLIT: partial slots per head
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> KC: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> VC: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<uniform> P: AP;
@group(0) @binding(5) var<storage, read> S: Step;

const WG: u32 = 256u;
const CH: u32 = 512u;
const MAXHD4: u32 = 32u;

var<workgroup> sc: array<f32, CH>;
var<workgroup> red: array<f32, WG>;
var<workgroup> q: array<vec4<f32>, MAXHD4>;
var<workgroup> part: array<vec4<f32>, WG>;
//#if SPLIT
var<workgroup> exsum: vec2<f32>;

//#include round

// exact_attention is engine/cpu's one-token attention with the F32 cache
// (llama.cpp without flash attention on AVX2), bit for bit
// (gpu/NUMERICS.md): scores ggml_vec_dot_f32(K_j, q) (32 lanes of fused
// multiply-adds over blocks of 32, the lanes summed (a0+a2)+(a1+a3), halves,
// (t0+t1)+(t2+t3); the rest of the head as float32 products added in
// float64, here double-float32) times scale; softmax: ggml_v_expf of
// x - max on blocks of 8 (the last one padded with zeros), each block summed
// ((b0+b4)+(b2+b6))+((b1+b5)+(b3+b7)) in float32, the block sums added in
// order in float64 (double-float32), times float32(1/sum); outputs
// ggml_vec_dot_f32 of each V column with the weights, which the CPU pads
// with zeros to whole blocks of 32 (the context is assumed a multiple of 32
// or longer than n rounded up). n <= CH; kvb: the head's first vec4 in a
// cache row; ob: the output's first element.
fn add4_o(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(add_o(a.x, b.x), add_o(a.y, b.y), add_o(a.z, b.z), add_o(a.w, b.w));
}

// inv_res is 1 - y*(sh + sl), nearly exactly (y*sh as an exact pair).
fn inv_res(y: f32, sh: f32, sl: f32) -> f32 {
    let p = two_prod(y, sh);
    return opaque(opaque(opaque(1.0 - p.x) - p.y) - opaque(y * sl));
}

// inv_df is float32(1/(sh + sl)) for the double-float32 sum sh + sl (the
// CPU's float32(1/sum) of its float64 sum): the quotient of sh corrected
// by the residual, then whichever of it and its neighbours leaves the
// smallest residual.
fn inv_df(sh: f32, sl: f32) -> f32 {
    let q0 = div_rn(1.0, sh);
    let rr = opaque(fma_x(-q0, sh, 1.0)) - opaque(q0 * sl);
    let y0 = q0 + opaque(rr * q0);
    let u = bitcast<u32>(y0);
    var best = y0;
    var be = abs(inv_res(y0, sh, sl));
    let yd = bitcast<f32>(u - 1u);
    let ed = abs(inv_res(yd, sh, sl));
    if (ed < be) {
        best = yd;
        be = ed;
    }
    let yu = bitcast<f32>(u + 1u);
    if (abs(inv_res(yu, sh, sl)) < be) {
        best = yu;
    }
    return best;
}

// fma4_x is fma_x on each lane.
fn fma4_x(a: vec4<f32>, b: f32, c: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(fma_x(a.x, b, c.x), fma_x(a.y, b, c.y), fma_x(a.z, b, c.z), fma_x(a.w, b, c.w));
}

fn exact_attention(lid: u32, n: u32, kvb: u32, hd4: u32, kv4: u32, ob: u32) {
    let hd = 4u * hd4;
    let np = hd & ~31u;
    var lmax = -3.0e38;
    for (var i = lid; i < n; i += WG) {
        let kb = i * kv4 + kvb;
        // lane 4m + c of the 32 is l[m][c] (m = vec4 index mod 8; constant
        // indexes after unrolling the inner loop, so the lanes stay in
        // registers)
        var l: array<vec4<f32>, 8>;
        for (var m = 0u; m < 8u; m++) {
            l[m] = vec4<f32>(0.0);
        }
        for (var e0 = 0u; e0 < np / 4u; e0 += 8u) {
            for (var m = 0u; m < 8u; m++) {
                let k4 = KC[kb + e0 + m];
                let q4 = q[e0 + m];
                l[m] = vec4<f32>(fma_x(k4.x, q4.x, l[m].x), fma_x(k4.y, q4.y, l[m].y),
                                 fma_x(k4.z, q4.z, l[m].z), fma_x(k4.w, q4.w, l[m].w));
            }
        }
        // r[k] = (a0+a2)+(a1+a3) for lane k of each accumulator of 8
        let r0 = add4_o(add4_o(l[0], l[4]), add4_o(l[2], l[6]));
        let r1 = add4_o(add4_o(l[1], l[5]), add4_o(l[3], l[7]));
        let t4 = add4_o(r0, r1);
        var sum = vec2<f32>(add_o(add_o(t4.x, t4.y), add_o(t4.z, t4.w)), 0.0);
        for (var e = np / 4u; e < hd4; e++) {
            let p4 = KC[kb + e] * q[e];
            sum = df_add(sum, vec2<f32>(opaque(p4.x), 0.0));
            sum = df_add(sum, vec2<f32>(opaque(p4.y), 0.0));
            sum = df_add(sum, vec2<f32>(opaque(p4.z), 0.0));
            sum = df_add(sum, vec2<f32>(opaque(p4.w), 0.0));
        }
        let s = opaque(opaque(sum.x + sum.y) * P.scale);
        sc[i] = s;
        lmax = max(lmax, s);
    }
    let mx = reduce_max(lid, lmax);
    for (var i = lid; i < n; i += WG) {
        sc[i] = vexpf(opaque(sc[i] - mx));
    }
    workgroupBarrier();
    // block sums in parallel (thread j: block j of 8), then added in order
    // by one thread
    let nblk = (n + 7u) / 8u;
    for (var j = lid; j < nblk; j += WG) {
        let i = 8u * j;
        var b: array<f32, 8>;
        for (var k = 0u; k < 8u; k++) {
            b[k] = select(0.0, sc[i + k], i + k < n);
        }
        red[j] = add_o(add_o(add_o(b[0], b[4]), add_o(b[2], b[6])), add_o(add_o(b[1], b[5]), add_o(b[3], b[7])));
    }
    workgroupBarrier();
    if (lid == 0u) {
        var acc = vec2<f32>(0.0);
        for (var j = 0u; j < nblk; j++) {
            acc = df_add(acc, vec2<f32>(red[j], 0.0));
        }
        exsum = acc;
    }
    workgroupBarrier();
    let inv = inv_df(exsum.x, exsum.y);
    for (var i = lid; i < n; i += WG) {
        sc[i] = opaque(sc[i] * inv);
    }
    workgroupBarrier();
    // outputs: thread (g, lane), lane = key mod 32, sums the columns of
    // vec4s g + 8j (j < MAXHD4 / 8) over its keys, every column's loads in
    // flight at once (one pass over V instead of one a column group); then
    // per j the 32 lanes of each column meet in the CPU's order
    let lane = lid % 32u;
    let g = lid / 32u;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var i = lane; i < n; i += 32u) {
        let p = sc[i];
        let vb = i * kv4 + kvb + g;
        if (g < hd4) {
            a0 = fma4_x(VC[vb], p, a0);
        }
        if (g + 8u < hd4) {
            a1 = fma4_x(VC[vb + 8u], p, a1);
        }
        if (g + 16u < hd4) {
            a2 = fma4_x(VC[vb + 16u], p, a2);
        }
        if (g + 24u < hd4) {
            a3 = fma4_x(VC[vb + 24u], p, a3);
        }
    }
    // a vec4 of every thread at a time through part: thread (g2, c) of the
    // first 32 sums column c of vec4 g2 + 8j over the 32 lanes of group g2
    // (two barriers a round, for head_dim/32 rounds)
    for (var j = 0u; 8u * j < hd4; j++) {
        var aj = a0;
        switch j {
            case 1u: { aj = a1; }
            case 2u: { aj = a2; }
            case 3u: { aj = a3; }
            default: {}
        }
        part[lid] = aj;
        workgroupBarrier();
        let g2 = lid / 4u;
        let c = lid % 4u;
        let d = 4u * (g2 + 8u * j) + c;
        if (lid < 32u && d < hd) {
            let b = 32u * g2;
            var t: array<f32, 8>;
            for (var k = 0u; k < 8u; k++) {
                t[k] = add_o(add_o(part[b + k][c], part[b + 16u + k][c]), add_o(part[b + 8u + k][c], part[b + 24u + k][c]));
            }
            O[ob + d] = add_o(add_o(add_o(t[0], t[4]), add_o(t[1], t[5])), add_o(add_o(t[2], t[6]), add_o(t[3], t[7])));
        }
        workgroupBarrier();
    }
}
//#endif

fn reduce_max(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if (lid < k) {
            red[lid] = max(red[lid], red[lid + k]);
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn reduce_sum(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if (lid < k) {
            red[lid] += red[lid + k];
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    let h = wid.x;
//#if SPLIT
    let t = 0u;
//#else
    let t = wid.y;
//#endif
    if (t >= S.n_tok) {
        return;
    }
    let lid = lidv.x;
    let hd4 = P.head_dim / 4u;
    let kv4 = P.n_head_kv * hd4;
    let kvh = h / (P.n_head / P.n_head_kv);
//#if SPLIT
    let sp = wid.y;
    let k0 = sp * P.split;
    if (k0 > S.pos) {
        return;
    }
    let n_keys = min(S.pos + 1u, k0 + P.split);
//#else
    let k0 = 0u;
    let n_keys = S.pos + t + 1u;
//#endif
    let qb = (t * P.qkv_stride + h * P.head_dim) / 4u;
    for (var d = lid; d < hd4; d += WG) {
        q[d] = vec4<f32>(QKV[4u * (qb + d)], QKV[4u * (qb + d) + 1u], QKV[4u * (qb + d) + 2u], QKV[4u * (qb + d) + 3u]);
    }
    workgroupBarrier();
//#if SPLIT
    if (S.pos < P.split) {
        // one split (this is split 0): the CPU's attention, final output
        let slot = h * P.ms;
        exact_attention(lid, S.pos + 1u, kvh * hd4, hd4, kv4, slot * P.head_dim);
        if (lid == 0u) {
            let nb = P.n_head * P.ms;
            O[nb * P.head_dim + slot] = 0.0;
            O[nb * P.head_dim + nb + slot] = 1.0;
        }
        return;
    }
//#endif
    // thread (g, d): group g of `groups`, vec4 column d of the head
    let groups = WG / hd4;
    let g = lid / hd4;
    let d = lid % hd4;
    var m = -3.0e38;
    var l = 0.0;
    var acc = vec4<f32>(0.0);
    for (var p0 = k0; p0 < n_keys; p0 += CH) {
        let n = min(CH, n_keys - p0);
        var lmax = -3.0e38;
        for (var i = lid; i < n; i += WG) {
            let kb = (p0 + i) * kv4 + kvh * hd4;
            var s4 = vec4<f32>(0.0);
            for (var e = 0u; e < hd4; e++) {
                s4 += q[e] * KC[kb + e];
            }
            let s = (s4.x + s4.y + s4.z + s4.w) * P.scale;
            sc[i] = s;
            lmax = max(lmax, s);
        }
        let cmax = reduce_max(lid, lmax);
        let m_new = max(m, cmax);
        let f = exp(m - m_new);
        var lsum = 0.0;
        for (var i = lid; i < n; i += WG) {
            let e = exp(sc[i] - m_new);
            sc[i] = e;
            lsum += e;
        }
        let csum = reduce_sum(lid, lsum);
        l = l * f + csum;
        m = m_new;
        if (g < groups) {
            var a = acc * f;
            for (var i = g; i < n; i += groups) {
                a += sc[i] * VC[(p0 + i) * kv4 + kvh * hd4 + d];
            }
            acc = a;
        }
        workgroupBarrier();
    }
    // sum the groups' partial outputs
    part[lid] = select(vec4<f32>(0.0), acc, g < groups);
    workgroupBarrier();
    if (lid < hd4) {
        var o = vec4<f32>(0.0);
        for (var k = 0u; k < groups; k++) {
            o += part[k * hd4 + lid];
        }
//#if SPLIT
        let slot = h * P.ms + sp;
        let ob4 = slot * P.head_dim + 4u * lid;
        O[ob4] = o.x;
        O[ob4 + 1u] = o.y;
        O[ob4 + 2u] = o.z;
        O[ob4 + 3u] = o.w;
        if (lid == 0u) {
            let nb = P.n_head * P.ms;
            O[nb * P.head_dim + slot] = m;
            O[nb * P.head_dim + nb + slot] = l;
        }
//#else
        o = o / l;
        let ob = t * P.n_head * P.head_dim + h * P.head_dim + 4u * lid;
        O[ob] = o.x;
        O[ob + 1u] = o.y;
        O[ob + 2u] = o.z;
        O[ob + 3u] = o.w;
//#endif
    }
}
