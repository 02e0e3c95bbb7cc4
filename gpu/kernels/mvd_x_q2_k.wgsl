// Q2_K in the CPU's exact order for mvd.wgsl (XCH, KLANE;
// gpu/NUMERICS.md): ggml_vec_dot_q2_K_q8_K on AVX2. Per super-block lane
// k first takes acc_k = fma(-float(min_2k bsum_2k + min_2k+1 bsum_2k+1),
// dmin_w d_a, acc_k), then acc_k = fma(float(lane), d_w d_a, acc_k) with
// lane the exact sum over the runs of 32 of elements 4k..4k+3 times quant
// and scale. Block (84 bytes): scales[16] (low nibble scale, high min),
// qs[64] at 16 (half n: byte 32n + l holds runs 4n..4n+3 at bits 2g),
// d, dmin (f16) at 80, 82.
const TASK_ELEMS: u32 = 32u;
const TPB: u32 = 8u;
const LANES: u32 = 8u;
const CI: u32 = 2u;
const CFB: u32 = 2u;

fn x_task(rb: u32, t: u32, valid: bool, ti: u32, fi: u32) {
    let sb = t >> 3u;
    let k = t & 7u;
    let bo = rb + 84u * sb;
    var s = 0;
    for (var c = 0u; c < 8u; c++) {
        let q = W[(bo + 16u + 32u * (c >> 2u) + 4u * k) >> 2u];
        let sc = i32(rd8(bo + 2u * c + (k >> 2u)) & 0xfu);
        s += sc * idot(ub4(q, 2u * (c & 3u), 3u), xs[c * NT + t]);
    }
    xci[ti] = select(0, s, valid);
    xci[ti + 1u] = select(0, i32(rd8(bo + 2u * k) >> 4u) * xb16[16u * sb + 2u * k] + i32(rd8(bo + 2u * k + 1u) >> 4u) * xb16[16u * sb + 2u * k + 1u], valid);
    if (k == 0u) {
        xcf[fi] = select(0.0, f16at(bo + 80u) * blk_d[sb], valid);
        xcf[fi + 1u] = select(0.0, f16at(bo + 82u) * blk_d[sb], valid);
    }
}

fn x_chain(st: ptr<function, vec2<f32>>, k: u32, ib: u32, fb: u32) {
    let a = fma_c(-f32(xci[ib + 2u * k + 1u]), xcf[fb + 1u], (*st).x);
    (*st).x = fma_c(f32(xci[ib + 2u * k]), xcf[fb], a);
}

fn x_fin(st: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(st.x, 0.0);
}
