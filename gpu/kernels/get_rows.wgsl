// Embedding lookup: dequantizes row S.toks[t] of the weight matrix W into
// X[t]. One workgroup per token.

struct GR {
    cols: u32,
    row_bytes: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read_write> X: array<f32>;
@group(0) @binding(2) var<uniform> P: GR;
@group(0) @binding(3) var<storage, read> S: Step;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    let t = wid.x;
    if (t >= S.n_tok) {
        return;
    }
    let nsub = BLOCK_ELEMS / UNIT;
    let rb = S.toks[t] * P.row_bytes;
    let units = P.cols / UNIT;
    for (var u = lidv.x; u < units; u += 64u) {
        var v = unit_vals(rb + (u / nsub) * BLOCK_BYTES, u % nsub);
        for (var j = 0u; j < UNIT; j++) {
            X[t * P.cols + u * UNIT + j] = v[j];
        }
    }
}

// xv is unused here; the F16 and BF16 files' unit_dot refer to it.
fn xv(xb: u32, c: u32) -> f32 {
    return 0.0;
}
