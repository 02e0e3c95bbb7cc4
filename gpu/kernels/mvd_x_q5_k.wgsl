// Q5_K in the CPU's exact order for mvd.wgsl (XCH, KLANE;
// gpu/NUMERICS.md): ggml_vec_dot_q5_K_q8_K on AVX2. Lane k of a
// super-block is the exact sum over its 8 runs of 32 of sc_j times
// elements 4k..4k+3 (quant times activation quant); acc_k =
// fma(float(lane), d_w d_a, acc_k); the mins go to one scalar, summs =
// fma(-float(sum_j m_j bsum32_j), dmin_w d_a, summs), added after the
// lanes. Block (176 bytes): d, dmin (f16), scales[12] at 4, qh[32] at 16
// (byte l bit j: run j's element l), qs[128] at 48 (runs 2i, 2i+1 in the
// low and high nibbles of bytes 32i..).
const TASK_ELEMS: u32 = 32u;
const TPB: u32 = 8u;
const LANES: u32 = 8u;
const CI: u32 = 2u;
const CFB: u32 = 2u;

// q5_sm returns (scale, min) j of the scale bytes at sb.
fn q5_sm(sb: u32, j: u32) -> vec2<i32> {
    if (j < 4u) {
        return vec2<i32>(i32(rd8(sb + j) & 63u), i32(rd8(sb + j + 4u) & 63u));
    }
    let sc = (rd8(sb + j + 4u) & 0xfu) | ((rd8(sb + j - 4u) >> 6u) << 4u);
    let m = (rd8(sb + j + 4u) >> 4u) | ((rd8(sb + j) >> 6u) << 4u);
    return vec2<i32>(i32(sc), i32(m));
}

fn x_task(rb: u32, t: u32, valid: bool, ti: u32, fi: u32) {
    let sb = t >> 3u;
    let k = t & 7u;
    let bo = rb + 176u * sb;
    let qh = W[(bo + 16u + 4u * k) >> 2u];
    var s = 0;
    var ms = 0;
    for (var j = 0u; j < 8u; j++) {
        let q = W[(bo + 48u + 32u * (j >> 1u) + 4u * k) >> 2u];
        let v = ub4(q, 4u * (j & 1u), 0xfu) + 16.0 * ub4(qh, j, 1u);
        let sm = q5_sm(bo + 4u, j);
        s += sm.x * idot(v, xs[j * NT + t]);
        ms += sm.y * (xb16[16u * sb + 2u * j] + xb16[16u * sb + 2u * j + 1u]);
    }
    xci[ti] = select(0, s, valid);
    xci[ti + 1u] = select(0, ms, valid);
    if (k == 0u) {
        xcf[fi] = select(0.0, f16at(bo) * blk_d[sb], valid);
        xcf[fi + 1u] = select(0.0, f16at(bo + 2u) * blk_d[sb], valid);
    }
}

fn x_chain(st: ptr<function, vec2<f32>>, k: u32, ib: u32, fb: u32) {
    (*st).x = fma_c(f32(xci[ib + 2u * k]), xcf[fb], (*st).x);
    if (k == 0u) {
        (*st).y = fma_c(-f32(xci[ib + 1u]), xcf[fb + 1u], (*st).y);
    }
}

fn x_fin(st: vec2<f32>) -> vec2<f32> {
    return st;
}
