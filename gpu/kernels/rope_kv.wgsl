// RoPE (NORM mode: adjacent pairs 2i, 2i+1 of the first rope_dim elements
// of each head) on Q in place and on K, then K and V written into this
// layer's cache at the token's position. One workgroup per token.

struct RP {
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    rope_dim: u32,
    qkv_stride: u32,  // elements per token in QKV (q, then k, then v)
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> QKV: array<f32>;
@group(0) @binding(1) var<storage, read_write> KC: array<f32>;
@group(0) @binding(2) var<storage, read_write> VC: array<f32>;
@group(0) @binding(3) var<storage, read> CS: array<vec2<f32>>;  // [pos][rope_dim/2] (cos, sin)
@group(0) @binding(4) var<uniform> P: RP;
@group(0) @binding(5) var<storage, read> S: Step;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    let t = wid.x;
    if (t >= S.n_tok) {
        return;
    }
    let lid = lidv.x;
    let p = S.pos + t;
    let hd2 = P.head_dim / 2u;
    let kv_dim = P.n_head_kv * P.head_dim;
    let q_dim = P.n_head * P.head_dim;
    let base = t * P.qkv_stride;
    let cs0 = p * (P.rope_dim / 2u);
    // pairs of Q heads, then of K heads
    let npairs = (P.n_head + P.n_head_kv) * hd2;
    for (var w = lid; w < npairs; w += 64u) {
        let i = w % hd2;
        let e = base + (w / hd2) * P.head_dim + 2u * i; // K heads follow Q in QKV
        var x0 = QKV[e];
        var x1 = QKV[e + 1u];
        if (2u * i < P.rope_dim) {
            let c = CS[cs0 + i];
            let y0 = x0 * c.x - x1 * c.y;
            let y1 = x0 * c.y + x1 * c.x;
            x0 = y0;
            x1 = y1;
        }
        let off = e - base;
        if (off < q_dim) {
            QKV[e] = x0;
            QKV[e + 1u] = x1;
        } else {
            let kc = p * kv_dim + (off - q_dim);
            KC[kc] = x0;
            KC[kc + 1u] = x1;
        }
    }
    for (var i = lid; i < kv_dim; i += 64u) {
        VC[p * kv_dim + i] = QKV[base + q_dim + kv_dim + i];
    }
}
