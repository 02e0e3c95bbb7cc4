// Fused dequantize + matrix-vector (decode, TT = 1) or matrix-matrix over a
// batch of tokens (prefill, TT tokens per pass). One workgroup per output
// row; each thread walks the row's UNIT-element units, dequantizes one unit
// into registers and multiplies it with TT activation rows.
//
// Template switches (see kernels.go): NORM fuses RMSNorm of the input (the
// workgroup computes 1/rms itself; decode only), LAST uses only the batch's
// last token, and the output mode is one of STORE, ADD (residual), SILUMUL
// (y = silu(dot) * y) or SWIGLU (rows r and r+half: y = silu(g) * u).

struct MV {
    rows: u32,       // output rows in this dispatch
    cols: u32,       // elements per row
    row_bytes: u32,  // bytes per weight row
    y_off: u32,      // first output element
    y_stride: u32,   // output elements per token
    half: u32,       // SWIGLU: row offset of the up half
    eps: f32,        // NORM: RMS epsilon
    pad: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: MV;
@group(0) @binding(4) var<storage, read> S: Step;
//#if NORM
@group(0) @binding(5) var<storage, read> G: array<f32>;
//#endif

const WG: u32 = 64u;
const NSUB: u32 = BLOCK_ELEMS / UNIT;

var<workgroup> red: array<f32, REDN>;
var<workgroup> inv_rms: f32;

fn silu(x: f32) -> f32 {
    return x / (1.0 + exp(-x));
}

// row_dot leaves dot(W[row], x_t) for t in [t0, t0+TT) in red[t*WG].
fn row_dot(row: u32, t0: u32, nt: u32, lid: u32) {
    var acc: array<f32, TT>;
    for (var t = 0u; t < TT; t++) {
        acc[t] = 0.0;
    }
    let units = P.cols / UNIT;
    let rb = row * P.row_bytes;
    for (var u = lid; u < units; u += WG) {
        var v = unit_vals(rb + (u / NSUB) * BLOCK_BYTES, u % NSUB);
        let xi = u * UNIT;
        for (var t = 0u; t < TT; t++) {
            if (t < nt) {
                let xb = (t0 + t) * P.cols + xi;
                var s = 0.0;
                for (var j = 0u; j < UNIT; j++) {
//#if NORM
                    s += v[j] * (X[xb + j] * G[xi + j]);
//#else
                    s += v[j] * X[xb + j];
//#endif
                }
                acc[t] += s;
            }
        }
    }
    for (var t = 0u; t < TT; t++) {
        red[t * WG + lid] = acc[t];
    }
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if (lid < k) {
            for (var t = 0u; t < TT; t++) {
                red[t * WG + lid] += red[t * WG + lid + k];
            }
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    let lid = lidv.x;
    let row = wid.x + wid.y * 65535u;
    if (row >= P.rows) {
        return;
    }
    var first = 0u;
    var ntok = S.n_tok;
//#if LAST
    first = ntok - 1u;
    ntok = 1u;
//#endif
//#if NORM
    // decode only: 1/rms of the (single) input row
    var ss = 0.0;
    for (var i = lid; i < P.cols; i += WG) {
        let x = X[first * P.cols + i];
        ss += x * x;
    }
    red[lid] = ss;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if (lid < k) {
            red[lid] += red[lid + k];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        inv_rms = 1.0 / sqrt(red[0] / f32(P.cols) + P.eps);
    }
    workgroupBarrier();
    let scale = inv_rms;
//#else
    let scale = 1.0;
//#endif
    for (var t0 = 0u; t0 < ntok; t0 += TT) {
        let nt = min(TT, ntok - t0);
//#if SWIGLU
        row_dot(row, first + t0, nt, lid);
        var g: array<f32, TT>;
        for (var t = 0u; t < TT; t++) {
            g[t] = red[t * WG] * scale;
        }
        workgroupBarrier();
        row_dot(row + P.half, first + t0, nt, lid);
//#else
        row_dot(row, first + t0, nt, lid);
//#endif
        if (lid < nt) {
            let v = red[lid * WG] * scale;
            let yi = P.y_off + (t0 + lid) * P.y_stride + row;
//#if STORE
            Y[yi] = v;
//#endif
//#if ADD
            Y[yi] = Y[yi] + v;
//#endif
//#if SILUMUL
            Y[yi] = silu(v) * Y[yi];
//#endif
//#if SWIGLU
            Y[yi] = silu(g[lid]) * v;
//#endif
        }
        workgroupBarrier();
    }
}
