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

// TPR threads share one row; a workgroup of WG = RPW * TPR threads does
// RPW rows (TT, TPR, RPW, WG and REDN = WG * TT come from kernels.go).
const NSUB: u32 = BLOCK_ELEMS / UNIT;

var<workgroup> red: array<f32, REDN>;
var<workgroup> inv_rms: f32;

// xv is activation c of the row starting at xb (normalized when NORM).
fn xv(xb: u32, c: u32) -> f32 {
//#if NORM
    return X[xb + c] * G[c];
//#else
    return X[xb + c];
//#endif
}

//#include round

// silu is the CPU's SwiGLU activation bit for bit (round.wgsl's silu_x:
// ggml_v_expf on whole blocks of 8 of the row, expf after); gi is the
// element's index in its token's row of y_stride elements.
fn silu(x: f32, gi: u32) -> f32 {
    return silu_x(x, gi, P.y_stride / 8u * 8u);
}

// row_dot leaves dot(W[row], x_t) for t in [t0, t0+TT) in
// red[t*WG + lr*TPR] (lr = lid / TPR is the row's slot in the workgroup).
fn row_dot(row: u32, ok: bool, t0: u32, nt: u32, lid: u32) {
    var acc: array<f32, TT>;
    for (var t = 0u; t < TT; t++) {
        acc[t] = 0.0;
    }
    let tl = lid % TPR;
    let units = select(0u, P.cols / UNIT, ok);
    let rb = row * P.row_bytes;
    for (var u = tl; u < units; u += TPR) {
        let bo = rb + (u / NSUB) * BLOCK_BYTES;
        let xi = u * UNIT;
        for (var t = 0u; t < TT; t++) {
            if (t < nt) {
                acc[t] += unit_dot(bo, u % NSUB, (t0 + t) * P.cols, xi);
            }
        }
    }
    for (var t = 0u; t < TT; t++) {
        red[t * WG + lid] = acc[t];
    }
    workgroupBarrier();
    for (var k = TPR / 2u; k > 0u; k >>= 1u) {
        if (tl < k) {
            for (var t = 0u; t < TT; t++) {
                red[t * WG + lid] += red[t * WG + lid + k];
            }
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    let lid = lidv.x;
    let lr = lid / TPR;
    let tl = lid % TPR;
    let row = (wid.x + wid.y * 65535u) * RPW + lr;
    let ok = row < P.rows;
    if ((wid.x + wid.y * 65535u) * RPW >= P.rows) {
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
        row_dot(row, ok, first + t0, nt, lid);
        // thread tl of the row keeps token tl's gate value
        var gate = 0.0;
        if (tl < nt) {
            gate = red[tl * WG + lr * TPR] * scale;
        }
        workgroupBarrier();
        row_dot(row + P.half, ok, first + t0, nt, lid);
//#else
        row_dot(row, ok, first + t0, nt, lid);
//#endif
        if (ok && tl < nt) {
            let v = red[tl * WG + lr * TPR] * scale;
            let yi = P.y_off + (t0 + tl) * P.y_stride + row;
//#if STORE
            Y[yi] = v;
//#endif
//#if ADD
            Y[yi] = Y[yi] + v;
//#endif
//#if SILUMUL
            Y[yi] = silu(v, P.y_off + row) * Y[yi];
//#endif
//#if SWIGLU
            Y[yi] = silu(gate, P.y_off + row) * v;
//#endif
        }
        workgroupBarrier();
    }
}
