// Q4_1 and Q5_1 (Q51) in the CPU's exact order for mvd.wgsl (XCH;
// gpu/NUMERICS.md): ggml_vec_dot_q4_1_q8_1 / q5_1_q8_1 on AVX2, 8 lanes of
// 4 elements, acc_k = fma(float(isum_k), d_w * d_a, acc_k), and one scalar
// summs = fma(m_w, s_a, summs) (s_a: the Q8_1 block's s, mvd.wgsl prep)
// added after the lanes' sum. Task t = 8b + k. Blocks: d, m (f16), [Q5_1:
// qh], 16 nibble bytes; 20 or 24 bytes. Values d * q + m.
const TASK_ELEMS: u32 = 4u;
const TPB: u32 = 8u;
const LANES: u32 = 8u;
const CI: u32 = 1u;
const CFB: u32 = 3u;

fn x_task(rb: u32, t: u32, valid: bool, ti: u32, fi: u32) {
    let b = t >> 3u;
    let k = t & 7u;
//#if Q51
    let wo = (rb + 24u * b) >> 2u;
    let v = ub4(W[wo + 2u + (k & 3u)], 4u * (k >> 2u), 0xfu) + 16.0 * bits4(W[wo + 1u], 4u * k);
//#else
    let wo = (rb + 20u * b) >> 2u;
    let v = ub4(W[wo + 1u + (k & 3u)], 4u * (k >> 2u), 0xfu);
//#endif
    xci[ti] = select(0, idot(v, xs[t]), valid);
    if (k == 0u) {
        let dm = unpack2x16float(W[wo]);
        xcf[fi] = select(0.0, dm.x * blk_d[b], valid);
        xcf[fi + 1u] = select(0.0, dm.y, valid);
        xcf[fi + 2u] = select(0.0, seg_a[b], valid);
    }
}

fn x_chain(st: ptr<function, vec2<f32>>, k: u32, ib: u32, fb: u32) {
    (*st).x = fma_c(f32(xci[ib + k]), xcf[fb], (*st).x);
    if (k == 0u) {
        (*st).y = fma_c(xcf[fb + 1u], xcf[fb + 2u], (*st).y);
    }
}

fn x_fin(st: vec2<f32>) -> vec2<f32> {
    return st;
}
