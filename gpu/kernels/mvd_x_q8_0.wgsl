// Q8_0 in the CPU's exact order for mvd.wgsl (XCH; gpu/NUMERICS.md):
// ggml_vec_dot_q8_0_q8_0 on AVX2, 8 lanes of 4 elements, acc_k =
// fma(float(isum_k), d_w * d_a, acc_k). Task t = 8b + k (block b, lane k).
// Block: d (f16), 32 signed bytes; 34 bytes.
const TASK_ELEMS: u32 = 4u;
const TPB: u32 = 8u;
const LANES: u32 = 8u;
const CI: u32 = 1u;
const CFB: u32 = 1u;

fn x_task(rb: u32, t: u32, valid: bool, ti: u32, fi: u32) {
    let b = t >> 3u;
    let k = t & 7u;
    let bo = rb + 34u * b;
    xci[ti] = select(0, idot(sb4(wd(bo + 2u + 4u * k)), xs[t]), valid);
    if (k == 0u) {
        xcf[fi] = select(0.0, f16at(bo) * blk_d[b], valid);
    }
}

fn x_chain(st: ptr<function, vec2<f32>>, k: u32, ib: u32, fb: u32) {
    (*st).x = fma_c(f32(xci[ib + k]), xcf[fb], (*st).x);
}

fn x_fin(st: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(st.x, 0.0);
}

//#if XQV
// XQV: thread tl of a row (TPR = 8) is lane tl of ggml's eight and runs
// that lane's chain over the row's blocks itself, loading eight blocks'
// words and scales before summing them in order (four and sixteen ran
// slower on an H100), so that many loads are in flight
// (XCH's chunks each wait for their loads and two barriers). The lanes'
// sums then meet in mvd.wgsl's tree as XCH's do.
const XNB: u32 = XC / 32u;

// Rows of a whole number of block pairs start at word boundaries, and b is
// a multiple of 8 in xq_dot's main loop: the odd blocks' lane words are
// then aligned and take one load instead of wd's two.
const XQA: bool = (XC % 64u) == 0u;

fn wq(b: u32) -> u32 {
    if (XQA) {
        return W[b >> 2u];
    }
    return wd(b);
}

fn xq_step(acc: f32, w: u32, d: f32, b: u32, k: u32) -> f32 {
    return fma_c(f32(idot(sb4(w), xs[8u * b + k])), d * blk_d[b], acc);
}

fn xq_dot(rb: u32, k: u32) -> f32 {
    var acc = 0.0;
    var b = 0u;
    for (; b + 8u <= XNB; b += 8u) {
        let o = rb + 34u * b + 4u * k;
        let w0 = wd(o + 2u);
        let w1 = wq(o + 36u);
        let w2 = wd(o + 70u);
        let w3 = wq(o + 104u);
        let w4 = wd(o + 138u);
        let w5 = wq(o + 172u);
        let w6 = wd(o + 206u);
        let w7 = wq(o + 240u);
        let e = rb + 34u * b;
        let d0 = f16at(e);
        let d1 = f16at(e + 34u);
        let d2 = f16at(e + 68u);
        let d3 = f16at(e + 102u);
        let d4 = f16at(e + 136u);
        let d5 = f16at(e + 170u);
        let d6 = f16at(e + 204u);
        let d7 = f16at(e + 238u);
        acc = xq_step(acc, w0, d0, b, k);
        acc = xq_step(acc, w1, d1, b + 1u, k);
        acc = xq_step(acc, w2, d2, b + 2u, k);
        acc = xq_step(acc, w3, d3, b + 3u, k);
        acc = xq_step(acc, w4, d4, b + 4u, k);
        acc = xq_step(acc, w5, d5, b + 5u, k);
        acc = xq_step(acc, w6, d6, b + 6u, k);
        acc = xq_step(acc, w7, d7, b + 7u, k);
    }
    for (; b < XNB; b++) {
        let o = rb + 34u * b;
        acc = xq_step(acc, wd(o + 2u + 4u * k), f16at(o), b, k);
    }
    return acc;
}
//#endif
