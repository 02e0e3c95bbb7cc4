// Activation rounding, the GPU twin of the CPU's QuantizeActivation: the
// CPU (like llama.cpp) rounds activations to the weight type's vec-dot type
// before a matrix product; this writes XQ = the dequantized rounded values,
// so the GPU product sees the same inputs. Optionally applies RMSNorm first.
// A workgroup rounds BPW blocks of one token (LAST: only the batch's last
// token); see main.
//
// Modes: Q8_0 / Q8_1 (blocks of 32, d = fp16(amax/127), q = round(x/d)),
// Q8_K (blocks of 256, d = max/-127 in f32, q = round(x/d)), F16, BF16.

struct AQ {
    cols: u32,
    eps: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> XQ: array<f32>;
@group(0) @binding(2) var<uniform> P: AQ;
@group(0) @binding(3) var<storage, read> S: Step;
//#if NORM
@group(0) @binding(4) var<storage, read> G: array<f32>;
//#endif

const WG: u32 = 64u;
const PER: u32 = (BS + 63u) / 64u;  // elements a thread of block (not STAGED)
var<workgroup> red: array<f32, WG>;

//#include round

// The CPU sums squares in float64 and rounds divisions and square roots
// correctly; quantization rounds x/d to an integer, so a one-ulp difference
// in the norm scale can move a value across a .5 boundary (quantized
// embeddings make exact halves common). Hence compensated sums (two_sum)
// and correctly rounded division and square root (round.wgsl) here.
var<workgroup> redlo: array<f32, WG>;

// sum_all returns the workgroup's sum of (hi, lo) pairs as (hi, lo).
fn sum_all(lid: u32, v: vec2<f32>) -> vec2<f32> {
    red[lid] = v.x;
    redlo[lid] = v.y;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if (lid < k) {
            let t = two_sum(red[lid], red[lid + k]);
            red[lid] = t.x;
            redlo[lid] = redlo[lid] + redlo[lid + k] + t.y;
        }
        workgroupBarrier();
    }
    let r = vec2<f32>(red[0], redlo[0]);
    workgroupBarrier();
    return r;
}

// One workgroup per (token, group of BPW blocks): grid
// (ceil(cols/BS/BPW), n_tok). The norm's sum of squares runs once per
// workgroup (it was once per block, 64 times a 2048-wide row for Q8_0).
// STAGED (Q8_0 / Q8_1 / Q8_K: BPW * BS = 32 * WG columns): the columns are
// staged in workgroup memory, each thread takes 32 of them (a Q8_0 block,
// an eighth of a Q8_K block: TPB threads a block), the block's amax comes
// from its threads' partial maxima in element order, and the rounded values
// go back out coalesced. Otherwise (F16, BF16, F32) the workgroup rounds
// its blocks one after another.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    var t = wid.y;
//#if LAST
    t = S.n_tok - 1u;
    if (wid.y != 0u) {
        return;
    }
//#endif
    if (t >= S.n_tok) {
        return;
    }
    let lid = lidv.x;
    let b = t * P.cols;
    var inv = 1.0;
//#if NORM
    var ss = vec2<f32>(0.0);
    for (var i = lid; i < P.cols; i += WG) {
        let t = two_sum(ss.x, opaque(X[b + i] * X[b + i]));
        ss = vec2<f32>(t.x, ss.y + t.y);
    }
    let tot = sum_all(lid, ss);
    let n = f32(P.cols);
    let mean = mean_rn(tot, n);
    inv = div_rn(1.0, sqrt_rn(mean + P.eps));
//#endif
//#if STAGED
    // stage the workgroup's columns (coalesced loads), round them in
    // workgroup memory, store coalesced
    let c0 = wid.x * BPW * BS;
    let nc = min(P.cols - c0, BPW * BS);
    for (var i = lid; i < nc; i += WG) {
        xs[pad(i)] = norm_x(b, c0 + i, inv);
    }
    workgroupBarrier();
    round_staged(lid, nc);
    workgroupBarrier();
    for (var i = lid; i < nc; i += WG) {
        XQ[b + c0 + i] = xs[pad(i)];
    }
//#else
    let b1 = min(P.cols / BS, (wid.x + 1u) * BPW);
    for (var blk = wid.x * BPW; blk < b1; blk++) {
        block(lid, b, blk, inv);
    }
//#endif
}

// norm_x is element j of the token row at b, normed when NORM.
fn norm_x(b: u32, j: u32, inv: f32) -> f32 {
//#if NORM
    return (X[b + j] * inv) * G[j];
//#else
    return X[b + j];
//#endif
}

//#if STAGED
// xs holds a workgroup's columns, one float of padding after every 32 so
// that a warp's threads, each walking its own 32, hit distinct banks.
var<workgroup> xs: array<f32, XSN>; // 33 * WG, set by the host
var<workgroup> redm: array<f32, WG>;
var<workgroup> bdi: array<vec2<f32>, WG>;

fn pad(i: u32) -> u32 {
    return i + i / 32u;
}

// round_staged rounds the nc staged values in place: thread lid owns
// xs[pad(32 lid)..+32], TPB threads a block of BS. Per block: amax, and for
// Q8_K the signed value of largest magnitude, the first in element order on
// ties (as the CPU; the sign cancels in d·q, so XQ cannot show it); Q8_0/Q8_1 d = fp16(amax/127), id = 127/amax; Q8_K id = -127/max,
// d = 1/id; q = round(x·id) clamped, the value d·q. All threads reach the
// barriers.
fn round_staged(lid: u32, nc: u32) {
    let o = lid * 32u;
    let live = o < nc;
    var amax = 0.0;
    var mx = 0.0;
    if (live) {
        for (var j = 0u; j < 32u; j++) {
            let v = xs[pad(o + j)];
            if (abs(v) > amax) {
                amax = abs(v);
                mx = v;
            }
        }
    }
    red[lid] = amax;
    redm[lid] = mx;
    workgroupBarrier();
    if (live && lid % TPB == 0u) {
        var bamax = red[lid];
        var bmx = redm[lid];
        for (var k = 1u; k < TPB; k++) {
            if (red[lid + k] > bamax) {
                bamax = red[lid + k];
                bmx = redm[lid + k];
            }
        }
//#if Q8_K
        bdi[lid / TPB] = q8_k_scale(bamax, bmx);
//#else
        bdi[lid / TPB] = q8_0_scale(bamax);
//#endif
    }
    workgroupBarrier();
    if (live) {
        let di = bdi[lid / TPB];
        for (var j = 0u; j < 32u; j++) {
            let p = pad(o + j);
            xs[p] = di.x * clamp(round(xs[p] * di.y), -128.0, 127.0);
        }
    }
}
//#else
// block rounds block blk of the token row at b (F16, BF16, F32: no
// reduction) with the whole workgroup.
fn block(lid: u32, b: u32, blk: u32, inv: f32) {
    let o = blk * BS;
    for (var k = 0u; k < PER; k++) {
        let j = lid * PER + k;
        if (j < BS) {
            let v = norm_x(b, o + j, inv);
//#if F16
            XQ[b + o + j] = f16round(v);
//#endif
//#if BF16
            XQ[b + o + j] = bf16round(v);
//#endif
//#if F32
            XQ[b + o + j] = v;
//#endif
        }
    }
}
//#endif
