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
