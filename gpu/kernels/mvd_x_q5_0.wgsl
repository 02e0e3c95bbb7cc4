// Q5_0 in the CPU's exact order for mvd.wgsl (XCH; gpu/NUMERICS.md):
// ggml_vec_dot_q5_0_q8_0 on AVX2, 8 lanes of 4 elements, acc_k =
// fma(float(isum_k), d_w * d_a, acc_k). Task t = 8b + k. Block: d (f16),
// qh (bit j: element j's fifth bit), 16 nibble bytes; 22 bytes. Values
// d * (q - 16).
const TASK_ELEMS: u32 = 4u;
const TPB: u32 = 8u;
const LANES: u32 = 8u;
const CI: u32 = 1u;
const CFB: u32 = 1u;

fn x_task(rb: u32, t: u32, valid: bool, ti: u32, fi: u32) {
    let b = t >> 3u;
    let k = t & 7u;
    let bo = rb + 22u * b;
    let q = wd(bo + 6u + 4u * (k & 3u));
    let qh = wd(bo + 2u);
    let v = ub4(q, 4u * (k >> 2u), 0xfu) + 16.0 * bits4(qh, 4u * k) - 16.0;
    xci[ti] = select(0, idot(v, xs[t]), valid);
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
