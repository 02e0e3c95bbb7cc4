// Q4_0 in the CPU's exact order for mvd.wgsl (XCH; gpu/NUMERICS.md).
// Values d * (q - 8); block: d (f16), 16 bytes of nibbles (element j low,
// j + 16 high); 18 bytes, so blocks start at even byte offsets.
//#if GEMV
// Rows % 8 == 0: ggml_gemv_q4_0_8x8_q8_0 (quant.GemvQ4_0): one accumulator
// a row, acc = fma(float(isum_b), d_w * d_a, acc) block after block. Task
// t = block t: its exact integer sum and scale product.
const TASK_ELEMS: u32 = 32u;
const TPB: u32 = 1u;
const LANES: u32 = 1u;
const CI: u32 = 1u;
const CFB: u32 = 1u;

fn x_task(rb: u32, t: u32, valid: bool, ti: u32, fi: u32) {
    let bo = rb + 18u * t;
    let i = bo >> 2u;
    let a0 = W[i];
    let a1 = W[i + 1u];
    let a2 = W[i + 2u];
    let a3 = W[i + 3u];
    let a4 = W[i + 4u];
    let odd = (bo & 2u) != 0u;
    let d = unpack2x16float(select(a0, a0 >> 16u, odd)).x;
    let q = select(vec4<u32>((a0 >> 16u) | (a1 << 16u), (a1 >> 16u) | (a2 << 16u), (a2 >> 16u) | (a3 << 16u), (a3 >> 16u) | (a4 << 16u)),
                   vec4<u32>(a1, a2, a3, a4), odd);
    // the words by name, not q[w] in a loop: a vector indexed by a loop
    // counter may live in local memory (exact integer sums: any order)
    let s = (dot(ub4(q.x, 0u, 0xfu) - 8.0, xs[t]) + dot(ub4(q.x, 4u, 0xfu) - 8.0, xs[4u * NT + t]))
        + (dot(ub4(q.y, 0u, 0xfu) - 8.0, xs[NT + t]) + dot(ub4(q.y, 4u, 0xfu) - 8.0, xs[5u * NT + t]))
        + (dot(ub4(q.z, 0u, 0xfu) - 8.0, xs[2u * NT + t]) + dot(ub4(q.z, 4u, 0xfu) - 8.0, xs[6u * NT + t]))
        + (dot(ub4(q.w, 0u, 0xfu) - 8.0, xs[3u * NT + t]) + dot(ub4(q.w, 4u, 0xfu) - 8.0, xs[7u * NT + t]));
    xci[ti] = select(0, i32(s), valid);
    xcf[fi] = select(0.0, d * blk_d[t], valid);
}

fn x_chain(st: ptr<function, vec2<f32>>, k: u32, ib: u32, fb: u32) {
    (*st).x = fma_c(f32(xci[ib]), xcf[fb], (*st).x);
}
//#else
// Other rows: ggml_vec_dot_q4_0_q8_0 on AVX2: 8 lanes of 4 elements,
// acc_k = fma(float(isum_k), d_w * d_a, acc_k). Task t = 8b + k.
const TASK_ELEMS: u32 = 4u;
const TPB: u32 = 8u;
const LANES: u32 = 8u;
const CI: u32 = 1u;
const CFB: u32 = 1u;

fn x_task(rb: u32, t: u32, valid: bool, ti: u32, fi: u32) {
    let b = t >> 3u;
    let k = t & 7u;
    let bo = rb + 18u * b;
    let q = wd(bo + 2u + 4u * (k & 3u));
    xci[ti] = select(0, idot(ub4(q, 4u * (k >> 2u), 0xfu) - 8.0, xs[t]), valid);
    if (k == 0u) {
        xcf[fi] = select(0.0, f16at(bo) * blk_d[b], valid);
    }
}

fn x_chain(st: ptr<function, vec2<f32>>, k: u32, ib: u32, fb: u32) {
    (*st).x = fma_c(f32(xci[ib + k]), xcf[fb], (*st).x);
}
//#endif

fn x_fin(st: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(st.x, 0.0);
}
