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
