// Q4_K tasks for mvd.wgsl (W as vec4<u32>; rows are whole 144-byte
// super-blocks, so every 16-byte group is aligned): task t of a row is
// super-block t/8, unit pair p = (t%8)/2, half h = t%2: the 16 bytes
// qs[32p + 16h ..] whose low nibbles are unit 2p's elements 16h.. and high
// nibbles unit 2p+1's. Values as q4_k.wgsl: d*sc*q - dmin*m.

//#if Q4K64
// Q4K64 (HEARTH_GPU_MVD_Q4K=64): task t is super-block t/4, unit pair
// p = t%4, all 32 bytes of qs[32p ..]: elements 64p .. 64p+63 of the block
// in order, so mvd.wgsl's default transposed px applies.
const TASK_ELEMS: u32 = 64u;
//#else
const TASK_ELEMS: u32 = 32u;
//#endif

// q4k_sm returns (scale, min) j of the 12 scale bytes held in s (words 1-3
// of the block header).
fn q4k_byte(s: vec3<u32>, k: u32) -> u32 {
    return (s[k >> 2u] >> ((k & 3u) * 8u)) & 0xffu;
}

fn q4k_sm(s: vec3<u32>, j: u32) -> vec2<f32> {
    if (j < 4u) {
        return vec2<f32>(f32(q4k_byte(s, j) & 63u), f32(q4k_byte(s, j + 4u) & 63u));
    }
    let sc = (q4k_byte(s, j + 4u) & 0xfu) | ((q4k_byte(s, j - 4u) >> 6u) << 4u);
    let m = (q4k_byte(s, j + 4u) >> 4u) | ((q4k_byte(s, j) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}

//#if Q4K64
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

//#endif

//#if Q4K64
fn q4k_lo(q: u32) -> vec4<f32> {
//#if PK
    return qf(q & 0x0f0f0f0fu, 0.0);
//#else
    return vec4<f32>((vec4<u32>(q) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xfu));
//#endif
}

fn task_dot(rb: u32, t: u32) -> f32 {
    let p = t & 3u;
    let bo = (rb >> 4u) + (t >> 2u) * 9u;  // in 16-byte words
    let hdr = W[bo];
    let qv0 = W[bo + 1u + 2u * p];
    let qv1 = W[bo + 2u + 2u * p];
    let dd = unpack2x16float(hdr.x);
    let s = hdr.yzw;
    let sm0 = q4k_sm(s, 2u * p);
    let sm1 = q4k_sm(s, 2u * p + 1u);
    let dl0 = dd.x * sm0.x;
    let ml0 = dd.y * sm0.y;
    let dl1 = dd.x * sm1.x;
    let ml1 = dd.y * sm1.y;
    var acc = 0.0;
    for (var w = 0u; w < 4u; w++) {
        acc += dot(dl0 * q4k_lo(qv0[w]) - ml0, xs[w * NT + t])
             + dot(dl0 * q4k_lo(qv1[w]) - ml0, xs[(4u + w) * NT + t])
             + dot(dl1 * q4k_lo(qv0[w] >> 4u) - ml1, xs[(8u + w) * NT + t])
             + dot(dl1 * q4k_lo(qv1[w] >> 4u) - ml1, xs[(12u + w) * NT + t]);
    }
    return acc;
}
//#else
fn task_dot(rb: u32, t: u32) -> f32 {
    let blk = t >> 3u;
    let p = (t & 7u) >> 1u;
    let h = t & 1u;
    let bo = (rb >> 4u) + blk * 9u;  // in 16-byte words
    let hdr = W[bo];
    let qv = W[bo + 1u + 2u * p + h];
    let dd = unpack2x16float(hdr.x);
    let s = hdr.yzw;
    let sm0 = q4k_sm(s, 2u * p);
    let sm1 = q4k_sm(s, 2u * p + 1u);
    let dl0 = dd.x * sm0.x;
    let ml0 = dd.y * sm0.y;
    let dl1 = dd.x * sm1.x;
    let ml1 = dd.y * sm1.y;
    var acc = 0.0;
    for (var w = 0u; w < 4u; w++) {
//#if PK
        let lo = qf(qv[w] & 0x0f0f0f0fu, 0.0);
        let hi = qf((qv[w] >> 4u) & 0x0f0f0f0fu, 0.0);
//#else
        let q = vec4<u32>(qv[w]) >> vec4<u32>(0u, 8u, 16u, 24u);
        let lo = vec4<f32>(q & vec4<u32>(0xfu));
        let hi = vec4<f32>((q >> vec4<u32>(4u)) & vec4<u32>(0xfu));
//#endif
        acc += dot(dl0 * lo - ml0, xs[w * NT + t]) + dot(dl1 * hi - ml1, xs[(4u + w) * NT + t]);
    }
    return acc;
}
//#endif
