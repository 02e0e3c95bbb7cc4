// Causal attention for one query head and one token per workgroup, over
// the K/V cache positions 0..pos+t. Scores are computed in chunks of CH
// positions with an online softmax; thread (g, d) accumulates output
// element d over the chunk positions congruent to g.

struct AP {
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    qkv_stride: u32,
    scale: f32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> KC: array<f32>;
@group(0) @binding(2) var<storage, read> VC: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<uniform> P: AP;
@group(0) @binding(5) var<storage, read> S: Step;

const WG: u32 = 128u;
const CH: u32 = 256u;
const MAXHD: u32 = 256u;

var<workgroup> sc: array<f32, CH>;
var<workgroup> red: array<f32, WG>;
var<workgroup> q: array<f32, MAXHD>;

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

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    let h = wid.x;
    let t = wid.y;
    if (t >= S.n_tok) {
        return;
    }
    let lid = lidv.x;
    let hd = P.head_dim;
    let kv_dim = P.n_head_kv * hd;
    let kvh = h / (P.n_head / P.n_head_kv);
    let n_keys = S.pos + t + 1u;
    for (var d = lid; d < hd; d += WG) {
        q[d] = QKV[t * P.qkv_stride + h * hd + d];
    }
    workgroupBarrier();
    let groups = max(WG / hd, 1u);
    let g = lid / hd;
    let d = lid % hd;
    var m = -3.0e38;
    var l = 0.0;
    var acc = 0.0;
    for (var p0 = 0u; p0 < n_keys; p0 += CH) {
        let n = min(CH, n_keys - p0);
        var lmax = -3.0e38;
        for (var i = lid; i < n; i += WG) {
            let kb = (p0 + i) * kv_dim + kvh * hd;
            var s = 0.0;
            for (var e = 0u; e < hd; e++) {
                s += q[e] * KC[kb + e];
            }
            s *= P.scale;
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
        if (g < groups && d < hd) {
            var a = acc * f;
            for (var i = g; i < n; i += groups) {
                a += sc[i] * VC[(p0 + i) * kv_dim + kvh * hd + d];
            }
            acc = a;
        }
        workgroupBarrier();
    }
    // sum the groups' partial outputs
    red[lid] = select(0.0, acc, g < groups);
    workgroupBarrier();
    if (lid < hd) {
        var o = 0.0;
        for (var k = 0u; k < groups; k++) {
            o += red[k * hd + lid];
        }
        O[t * P.n_head * hd + h * hd + lid] = o / l;
    }
}
