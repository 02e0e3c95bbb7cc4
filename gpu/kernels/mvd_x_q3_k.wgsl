// Q3_K in the CPU's exact order for mvd.wgsl (XCH, KLANE;
// gpu/NUMERICS.md): ggml_vec_dot_q3_K_q8_K on AVX2. Lane k of a
// super-block is the exact sum over its runs of 32 of elements 4k..4k+3
// times quant (-4..3) and scale (-32..31); acc_k = fma(float(lane),
// d_w d_a, acc_k). Block (110 bytes, even offsets): hmask[32] (byte l bit
// c: run c's element l has no -4), qs[64] at 32 (as Q2_K), scales[12] at
// 96 (6-bit), d (f16) at 108.
const TASK_ELEMS: u32 = 32u;
const TPB: u32 = 8u;
const LANES: u32 = 8u;
const CI: u32 = 1u;
const CFB: u32 = 1u;

// q3_sc is the scale of sub-block g (of 16), unbiased.
fn q3_sc(bo: u32, g: u32) -> i32 {
    var lo: u32;
    if (g < 8u) {
        lo = rd8(bo + 96u + g) & 0xfu;
    } else {
        lo = rd8(bo + 96u + g - 8u) >> 4u;
    }
    let hi = (rd8(bo + 104u + g % 4u) >> (2u * (g / 4u))) & 3u;
    return i32(lo | (hi << 4u)) - 32;
}

fn x_task(rb: u32, t: u32, valid: bool, ti: u32, fi: u32) {
    let sb = t >> 3u;
    let k = t & 7u;
    let bo = rb + 110u * sb;
    let hm = wd(bo + 4u * k);
    var s = 0;
    for (var c = 0u; c < 8u; c++) {
        let q = wd(bo + 32u + 32u * (c >> 2u) + 4u * k);
        let v = ub4(q, 2u * (c & 3u), 3u) + 4.0 * ub4(hm, c, 1u) - 4.0;
        s += q3_sc(bo, 2u * c + (k >> 2u)) * idot(v, xs[c * NT + t]);
    }
    xci[ti] = select(0, s, valid);
    if (k == 0u) {
        xcf[fi] = select(0.0, f16at(bo + 108u) * blk_d[sb], valid);
    }
}

fn x_chain(st: ptr<function, vec2<f32>>, k: u32, ib: u32, fb: u32) {
    (*st).x = fma_c(f32(xci[ib + k]), xcf[fb], (*st).x);
}

fn x_fin(st: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(st.x, 0.0);
}
