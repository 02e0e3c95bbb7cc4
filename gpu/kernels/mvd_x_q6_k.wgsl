// Q6_K in the CPU's exact order for mvd.wgsl (XCH, KLANE;
// gpu/NUMERICS.md): ggml_vec_dot_q6_K_q8_K on AVX2. Lane k of a
// super-block is the exact sum over its eight runs of 32 of elements
// 4k..4k+3 times their unsigned 6-bit quant and scale, minus 32 * (sc_2k *
// bsum_2k + sc_2k+1 * bsum_2k+1); acc_k = fma(float(lane), d_w * d_a,
// acc_k). Task t = 8sb + k. Block (210 bytes, even offsets): ql[128]
// (half n: bytes 64n+l low nibbles run 4n, 64n+32+l low run 4n+1, high
// nibbles runs 4n+2, 4n+3), qh[128..] (byte 32n+l, two bits per run),
// scales[192..] (16 signed), d (f16) at 208.
const TASK_ELEMS: u32 = 32u;
const TPB: u32 = 8u;
const LANES: u32 = 8u;
const CI: u32 = 1u;
const CFB: u32 = 1u;

// q6_sc is signed scale j of the 16 in s. The word is picked with selects:
// a dynamic index into a vector sends it to local memory on some
// compilers (the earlier tasks read scales as bytes instead).
fn q6_sc(s: vec4<u32>, j: u32) -> i32 {
    let i = j >> 2u;
    let w = select(select(s.x, s.y, i == 1u), select(s.z, s.w, i == 3u), i >= 2u);
    return i32(w << (24u - 8u * (j & 3u))) >> 24u;
}

// Q6Lane is task t's exact lane sum and its block's scale product.
struct Q6Lane {
    s: i32,
    f: f32,
}

fn q6_lane(rb: u32, t: u32) -> Q6Lane {
    let sb = t >> 3u;
    let k = t & 7u;
    let bo = rb + 210u * sb;
    // scales and d from five aligned words (bo + 192 has bo's parity)
    let si = (bo + 192u) >> 2u;
    let w0 = W[si];
    let w1 = W[si + 1u];
    let w2 = W[si + 2u];
    let w3 = W[si + 3u];
    let w4 = W[si + 4u];
    let odd = (bo & 2u) != 0u;
    let sc = select(vec4<u32>(w0, w1, w2, w3),
                    vec4<u32>((w0 >> 16u) | (w1 << 16u), (w1 >> 16u) | (w2 << 16u), (w2 >> 16u) | (w3 << 16u), (w3 >> 16u) | (w4 << 16u)), odd);
    let d = unpack2x16float(select(w4, w4 >> 16u, odd)).x;
    let hs = k >> 2u;
    var s = 0;
    for (var n = 0u; n < 2u; n++) {
        let a = wd(bo + 64u * n + 4u * k);
        let b = wd(bo + 64u * n + 32u + 4u * k);
        let h = wd(bo + 128u + 32u * n + 4u * k);
        let q0 = (a & 0x0f0f0f0fu) | ((h & 0x03030303u) << 4u);
        let q1 = (b & 0x0f0f0f0fu) | ((h & 0x0c0c0c0cu) << 2u);
        let q2 = ((a >> 4u) & 0x0f0f0f0fu) | (h & 0x30303030u);
        let q3 = ((b >> 4u) & 0x0f0f0f0fu) | ((h >> 2u) & 0x30303030u);
        let c0 = 4u * n;
        s += q6_sc(sc, 2u * c0 + hs) * idot(ub4(q0, 0u, 0xffu), xs[c0 * NT + t])
           + q6_sc(sc, 2u * c0 + 2u + hs) * idot(ub4(q1, 0u, 0xffu), xs[(c0 + 1u) * NT + t])
           + q6_sc(sc, 2u * c0 + 4u + hs) * idot(ub4(q2, 0u, 0xffu), xs[(c0 + 2u) * NT + t])
           + q6_sc(sc, 2u * c0 + 6u + hs) * idot(ub4(q3, 0u, 0xffu), xs[(c0 + 3u) * NT + t]);
    }
    s -= 32 * (q6_sc(sc, 2u * k) * xb16[16u * sb + 2u * k] + q6_sc(sc, 2u * k + 1u) * xb16[16u * sb + 2u * k + 1u]);
    return Q6Lane(s, d * blk_d[sb]);
}

fn x_task(rb: u32, t: u32, valid: bool, ti: u32, fi: u32) {
    let r = q6_lane(rb, t);
    xci[ti] = select(0, r.s, valid);
    if ((t & 7u) == 0u) {
        xcf[fi] = select(0.0, r.f, valid);
    }
}

fn x_chain(st: ptr<function, vec2<f32>>, k: u32, ib: u32, fb: u32) {
    (*st).x = fma_c(f32(xci[ib + k]), xcf[fb], (*st).x);
}

fn x_fin(st: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(st.x, 0.0);
}

//#if XQV
// XQV: thread tl of a row (TPR = 8) is lane tl and runs its chain over the
// row's super-blocks in registers, two super-blocks' lanes at a time so
// that their loads are in flight together (mvd_x_q8_0.wgsl has the Q8_0
// form).
const XNSB: u32 = XC / 256u;

fn xq_dot(rb: u32, k: u32) -> f32 {
    var acc = 0.0;
    var sb = 0u;
    for (; sb + 2u <= XNSB; sb += 2u) {
        let r0 = q6_lane(rb, 8u * sb + k);
        let r1 = q6_lane(rb, 8u * sb + 8u + k);
        acc = fma_c(f32(r0.s), r0.f, acc);
        acc = fma_c(f32(r1.s), r1.f, acc);
    }
    if (sb < XNSB) {
        let r = q6_lane(rb, 8u * sb + k);
        acc = fma_c(f32(r.s), r.f, acc);
    }
    return acc;
}
//#endif
