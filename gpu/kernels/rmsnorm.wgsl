// RMSNorm of each token's row: Y[t] = X[t] / rms(X[t]) * G. One workgroup
// per token (used before batched matrix products; decode fuses the norm
// into the matrix kernel).

struct NP {
    cols: u32,
    eps: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: NP;
@group(0) @binding(4) var<storage, read> S: Step;

var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    let t = wid.x;
    if (t >= S.n_tok) {
        return;
    }
    let lid = lidv.x;
    let b = t * P.cols;
    var ss = 0.0;
    for (var i = lid; i < P.cols; i += 64u) {
        ss += X[b + i] * X[b + i];
    }
    red[lid] = ss;
    workgroupBarrier();
    for (var k = 32u; k > 0u; k >>= 1u) {
        if (lid < k) {
            red[lid] += red[lid + k];
        }
        workgroupBarrier();
    }
    let inv = 1.0 / sqrt(red[0] / f32(P.cols) + P.eps);
    for (var i = lid; i < P.cols; i += 64u) {
        Y[b + i] = X[b + i] * inv * G[i];
    }
}
