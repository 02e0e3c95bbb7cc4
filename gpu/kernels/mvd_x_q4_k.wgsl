// Q4_K in the CPU's exact order for mvd.wgsl (XCH, W as vec4<u32>; rows %
// 8 == 0; gpu/NUMERICS.md): ggml_gemv_q4_K_8x8_q8_K (quant.GemvQ4K). Per
// super-block the exact sums isum = sum_j sc_j (q_w . q_a) and imin =
// sum_j m_j bsum_j go into acc = fma(float(isum), d * d_a, acc) and
// accMin = fma(float(imin), dmin * d_a, accMin), block after block; the
// row is acc - accMin. Task t (as mvd_q4_k.wgsl): super-block t/8, unit
// pair p = (t%8)/2, half h = t%2: the 16 bytes qs[32p + 16h ..] (low
// nibbles: unit 2p's elements 16h.., high: unit 2p+1's); it writes its
// parts of isum and imin.
const TASK_ELEMS: u32 = 32u;
const TPB: u32 = 8u;
const LANES: u32 = 1u;
const CI: u32 = 2u;
const CFB: u32 = 2u;

// q4k_byte is byte k of the 12 in s (the word picked with selects, not a
// dynamic vector index, which may go through local memory).
fn q4k_byte(s: vec3<u32>, k: u32) -> u32 {
    let i = k >> 2u;
    let w = select(select(s.x, s.y, i == 1u), s.z, i == 2u);
    return (w >> ((k & 3u) * 8u)) & 0xffu;
}

// q4k_sm returns (scale, min) j of the 12 scale bytes held in s.
fn q4k_sm(s: vec3<u32>, j: u32) -> vec2<i32> {
    if (j < 4u) {
        return vec2<i32>(i32(q4k_byte(s, j) & 63u), i32(q4k_byte(s, j + 4u) & 63u));
    }
    let sc = (q4k_byte(s, j + 4u) & 0xfu) | ((q4k_byte(s, j - 4u) >> 6u) << 4u);
    let m = (q4k_byte(s, j + 4u) >> 4u) | ((q4k_byte(s, j) >> 6u) << 4u);
    return vec2<i32>(i32(sc), i32(m));
}

//#if XSB
// Super-block jobs (mvd.wgsl XSB): job (row, super-block sb, part q of QP)
// holds the header and the 8/QP quant vec4s of unit pairs q*4/QP.. in
// registers (loaded before the activation prep) and returns its exact
// parts of isum and imin; the chain is x_chain's with whole-block sums.
// Everything is spelled out with constant indexes: arrays or vectors
// indexed by loop counters may live in local memory (measured on the H100:
// the job's arithmetic cost 14 of gate+up's 35 µs that way).
const QV: u32 = 8u / QP;  // quant vec4s a job reads

struct SBW {
    h: vec4<u32>,
    q0: vec4<u32>,
    q1: vec4<u32>,
    q2: vec4<u32>,
    q3: vec4<u32>,
    q4: vec4<u32>,
    q5: vec4<u32>,
    q6: vec4<u32>,
    q7: vec4<u32>,
}

fn sb_load(rb: u32, sb: u32, q: u32) -> SBW {
    let bo = (rb >> 4u) + sb * 9u;
    let qo = bo + 1u + q * QV;
    var w: SBW;
    w.h = W[bo];
    w.q0 = W[qo];
    w.q1 = W[qo + 1u];
    if (QV > 2u) {
        w.q2 = W[qo + 2u];
        w.q3 = W[qo + 3u];
    }
    if (QV > 4u) {
        w.q4 = W[qo + 4u];
        w.q5 = W[qo + 5u];
        w.q6 = W[qo + 6u];
        w.q7 = W[qo + 7u];
    }
    return w;
}

// nib_dot returns the dot products of the low and the high nibbles of the
// four words in a with the activations at logical vec4s i .. i+3 and i+8 ..
// i+11 (exact integers as floats).
fn nib_dot(a: vec4<u32>, i: u32) -> vec2<f32> {
    let lo = (dot(ub4(a.x, 0u, 0xfu), xs[px(i)]) + dot(ub4(a.y, 0u, 0xfu), xs[px(i + 1u)]))
        + (dot(ub4(a.z, 0u, 0xfu), xs[px(i + 2u)]) + dot(ub4(a.w, 0u, 0xfu), xs[px(i + 3u)]));
    let hi = (dot(ub4(a.x, 4u, 0xfu), xs[px(i + 8u)]) + dot(ub4(a.y, 4u, 0xfu), xs[px(i + 9u)]))
        + (dot(ub4(a.z, 4u, 0xfu), xs[px(i + 10u)]) + dot(ub4(a.w, 4u, 0xfu), xs[px(i + 11u)]));
    return vec2<f32>(lo, hi);
}

// pair_job returns (isum, imin) of unit pair p of super-block sb, whose
// 32 quant bytes are a (elements 0-15 of both units) and b (16-31).
fn pair_job(a: vec4<u32>, b: vec4<u32>, s: vec3<u32>, sb: u32, p: u32) -> vec2<i32> {
    let sm0 = q4k_sm(s, 2u * p);
    let sm1 = q4k_sm(s, 2u * p + 1u);
    let i = 64u * sb + 16u * p;  // logical vec4 of the low nibbles of a
    let d = nib_dot(a, i) + nib_dot(b, i + 4u);
    let g = 16u * sb + 4u * p;
    return vec2<i32>(sm0.x * i32(d.x) + sm1.x * i32(d.y),
        sm0.y * (xb16[g] + xb16[g + 1u]) + sm1.y * (xb16[g + 2u] + xb16[g + 3u]));
}

// sb_job returns (isum, imin) of unit pairs q*QV/2 .. of super-block sb.
fn sb_job(w: SBW, sb: u32, q: u32) -> vec2<i32> {
    let s = w.h.yzw;
    let p = q * (QV / 2u);
    var r = pair_job(w.q0, w.q1, s, sb, p);
    if (QV > 2u) {
        r += pair_job(w.q2, w.q3, s, sb, p + 1u);
    }
    if (QV > 4u) {
        r += pair_job(w.q4, w.q5, s, sb, p + 2u);
        r += pair_job(w.q6, w.q7, s, sb, p + 3u);
    }
    return r;
}

// sb_scales returns super-block sb's d * d_a and dmin * d_a.
fn sb_scales(w: SBW, sb: u32) -> vec2<f32> {
    return unpack2x16float(w.h.x) * blk_d[sb];
}

fn sb_chain(st: ptr<function, vec2<f32>>, v: vec2<i32>, f: vec2<f32>) {
    (*st).x = fma_c(f32(v.x), f.x, (*st).x);
    (*st).y = fma_c(f32(v.y), f.y, (*st).y);
}

// px (XSB): vec4 k of super-block sb at k*NSB + sb, so the threads of a
// row, which run consecutive super-blocks, read consecutive vec4s.
fn px(i: u32) -> u32 {
    return (i % 64u) * NSB + i / 64u;
}
//#else
// px places logical vec4 i (element 4i) where its task reads it: task
// (blk, p, h) reads vec4s 64blk + 16p + 4h + w (low nibbles, k = w) and
// +8 (high nibbles, k = 4 + w) at k*NT + t.
fn px(i: u32) -> u32 {
    let r = i % 64u;
    let hi = (r % 16u) / 8u;
    let r3 = r % 8u;
    let t = (i / 64u) * 8u + (r / 16u) * 2u + r3 / 4u;
    return (hi * 4u + r3 % 4u) * NT + t;
}

fn x_task(rb: u32, t: u32, valid: bool, ti: u32, fi: u32) {
    let blk = t >> 3u;
    let p = (t & 7u) >> 1u;
    let h = t & 1u;
    let bo = (rb >> 4u) + blk * 9u;  // in 16-byte words
    let hdr = W[bo];
    let qv = W[bo + 1u + 2u * p + h];
    let s = hdr.yzw;
    let sm0 = q4k_sm(s, 2u * p);
    let sm1 = q4k_sm(s, 2u * p + 1u);
    var lo = 0.0;
    var hi = 0.0;
    for (var w = 0u; w < 4u; w++) {
        lo += dot(ub4(qv[w], 0u, 0xfu), xs[w * NT + t]);
        hi += dot(ub4(qv[w], 4u, 0xfu), xs[(4u + w) * NT + t]);
    }
    let g = 16u * blk + 4u * p + h;
    xci[ti] = select(0, sm0.x * i32(lo) + sm1.x * i32(hi), valid);
    xci[ti + 1u] = select(0, sm0.y * xb16[g] + sm1.y * xb16[g + 2u], valid);
    if ((t & 7u) == 0u) {
        let dd = unpack2x16float(hdr.x);
        xcf[fi] = select(0.0, dd.x * blk_d[blk], valid);
        xcf[fi + 1u] = select(0.0, dd.y * blk_d[blk], valid);
    }
}

fn x_chain(st: ptr<function, vec2<f32>>, k: u32, ib: u32, fb: u32) {
    var isum = 0;
    var imin = 0;
    for (var j = 0u; j < 8u; j++) {
        isum += xci[ib + 2u * j];
        imin += xci[ib + 2u * j + 1u];
    }
    (*st).x = fma_c(f32(isum), xcf[fb], (*st).x);
    (*st).y = fma_c(f32(imin), xcf[fb + 1u], (*st).y);
}

fn x_fin(st: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(st.x - st.y, 0.0);
}
//#endif
