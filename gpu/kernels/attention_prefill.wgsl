// Causal attention for prefill, flash-attention style: one workgroup per
// (query head, block of BQ tokens). K/V tiles of BKV positions are loaded
// into workgroup memory once for the whole block, and every query keeps an
// online softmax (running max m, running sum l) and its output in
// registers. Thread (q, sub), TPQ threads per query: scores of keys
// sub, sub+TPQ, ... of each tile, output vec4 columns sub, sub+TPQ, ...
//
// HD (head dim), HD4 = HD/4, TPQ, DPT4 = HD4/TPQ, BQ = WG/TPQ, BKV, WG and
// the padded strides QSTR = KSTR = HD4+1, PSTR = BKV+1 come from prefill.go.
// Same bindings and uniform as attention.wgsl.

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
@group(0) @binding(1) var<storage, read> KC: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> VC: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<uniform> P: AP;
@group(0) @binding(5) var<storage, read> S: Step;

var<workgroup> Qs: array<vec4<f32>, QSN>;  // [BQ][QSTR]
var<workgroup> Ks: array<vec4<f32>, KSN>;  // [BKV][KSTR]
var<workgroup> Vs: array<vec4<f32>, KSN>;  // [BKV][KSTR]
var<workgroup> Ps: array<f32, PSN>;        // [BQ][PSTR]
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    let h = wid.x;
    let t0 = wid.y * BQ;
    let ntok = S.n_tok;
    if (t0 >= ntok) {
        return;
    }
    let lid = lidv.x;
    let ql = lid / TPQ;
    let sub = lid % TPQ;
    let t = t0 + ql;              // this thread's query token
    let qok = t < ntok;
    let kv4 = P.n_head_kv * HD4;
    let kvh = h / (P.n_head / P.n_head_kv);
    let last = S.pos + min(t, ntok - 1u);   // last key this query sees
    let n_keys = S.pos + min(t0 + BQ, ntok); // keys the block needs

    // the block's queries
    for (var i = lid; i < BQ * HD4; i += WG) {
        let r = i / HD4;
        let e = i % HD4;
        var v = vec4<f32>(0.0);
        if (t0 + r < ntok) {
            let b = (t0 + r) * P.qkv_stride + h * HD + 4u * e;
            v = vec4<f32>(QKV[b], QKV[b + 1u], QKV[b + 2u], QKV[b + 3u]);
        }
        Qs[r * QSTR + e] = v;
    }

    var m = -3.0e38;
    var l = 0.0;
    var acc: array<vec4<f32>, DPT4>;
    for (var d = 0u; d < DPT4; d++) {
        acc[d] = vec4<f32>(0.0);
    }
    var s: array<f32, SPT>;

    for (var p0 = 0u; p0 < n_keys; p0 += BKV) {
        workgroupBarrier(); // Qs written; Ks/Vs/Ps of the last tile used
        for (var i = lid; i < BKV * HD4; i += WG) {
            let r = i / HD4;
            let e = i % HD4;
            var kv = vec4<f32>(0.0);
            var vv = vec4<f32>(0.0);
            if (p0 + r < n_keys) {
                let b = (p0 + r) * kv4 + kvh * HD4 + e;
                kv = KC[b];
                vv = VC[b];
            }
            Ks[r * KSTR + e] = kv;
            Vs[r * KSTR + e] = vv;
        }
        workgroupBarrier();
        // scores of keys sub + TPQ*j
        var lmax = -3.0e38;
        for (var j = 0u; j < SPT; j++) {
            let k = sub + TPQ * j;
            var d4 = vec4<f32>(0.0);
            for (var e = 0u; e < HD4; e++) {
                d4 = fma(Qs[ql * QSTR + e], Ks[k * KSTR + e], d4);
            }
            var sc = (d4.x + d4.y + d4.z + d4.w) * P.scale;
            if (p0 + k > last) {
                sc = -3.0e38;
            }
            s[j] = sc;
            lmax = max(lmax, sc);
        }
        red[lid] = lmax;
        workgroupBarrier();
        var cmax = red[ql * TPQ];
        for (var i = 1u; i < TPQ; i++) {
            cmax = max(cmax, red[ql * TPQ + i]);
        }
        let m_new = max(m, cmax);
        let f = exp(m - m_new);
        var lsum = 0.0;
        for (var j = 0u; j < SPT; j++) {
            let k = sub + TPQ * j;
            var pe = 0.0;
            if (p0 + k <= last) {
                pe = exp(s[j] - m_new);
            }
            Ps[ql * PSTR + k] = pe;
            lsum += pe;
        }
        workgroupBarrier(); // every thread has read red (max) and written Ps
        red[lid] = lsum;
        workgroupBarrier();
        var csum = 0.0;
        for (var i = 0u; i < TPQ; i++) {
            csum += red[ql * TPQ + i];
        }
        l = l * f + csum;
        m = m_new;
        for (var d = 0u; d < DPT4; d++) {
            let c = sub + TPQ * d;
            var a = acc[d] * f;
            for (var k = 0u; k < BKV; k++) {
                a = fma(vec4<f32>(Ps[ql * PSTR + k]), Vs[k * KSTR + c], a);
            }
            acc[d] = a;
        }
    }
    if (qok) {
        let ob = t * P.n_head * HD + h * HD;
        for (var d = 0u; d < DPT4; d++) {
            let o = acc[d] / l;
            let b = ob + 4u * (sub + TPQ * d);
            O[b] = o.x;
            O[b + 1u] = o.y;
            O[b + 2u] = o.z;
            O[b + 3u] = o.w;
        }
    }
}
