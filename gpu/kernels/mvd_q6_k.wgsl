// Q6_K tasks for mvd.wgsl: task t of a row is super-block t/4, half
// n = (t%4)/2, columns l = 16*(t%2) .. +15 of all four quarters (16 bytes
// each of ql at 64n+l and 64n+32+l and of qh at 128+32n+l). Blocks are
// 210 bytes, so every other one starts two bytes into a word: fields are
// read as aligned words and shifted into place. Values as q6_k.wgsl:
// d * sc * (q - 32).
const TASK_ELEMS: u32 = 64u;

// px places logical vec4 i where its task reads it: task (blk, n, lh)
// reads vec4s 64blk + 32n + 8k + 4lh + w (quarter k) at (4k + w)*NT + t.
fn px(i: u32) -> u32 {
    let r = i % 64u;
    let r2 = r % 32u;
    let r3 = r2 % 8u;
    let t = (i / 64u) * 4u + (r / 32u) * 2u + r3 / 4u;
    return (4u * (r2 / 8u) + r3 % 4u) * NT + t;
}

// q6k_field reads the 16 bytes at byte b (b % 4 is 0 or 2) without a
// branch (neighbouring threads read blocks of both alignments); the fifth
// word is still inside the block.
fn q6k_field(b: u32) -> vec4<u32> {
    let i = b >> 2u;
    let lo = vec4<u32>(W[i], W[i + 1u], W[i + 2u], W[i + 3u]);
    let hi = vec4<u32>(lo.yzw, W[i + 4u]);
    return select((lo >> vec4<u32>(16u)) | (hi << vec4<u32>(16u)), lo, (b & 2u) == 0u);
}

fn task_dot(rb: u32, t: u32) -> f32 {
    let bo = rb + (t >> 2u) * 210u;
    let n = (t & 3u) >> 1u;
    let lh = t & 1u;
    let qa = q6k_field(bo + 64u * n + 16u * lh);
    let qb = q6k_field(bo + 64u * n + 32u + 16u * lh);
    let qh = q6k_field(bo + 128u + 32u * n + 16u * lh);
//#if PK
    // the scale bytes sb, sb+2, sb+4, sb+6 from two words at 192+8n
    let sf = bo + 192u + 8u * n;
    let si = sf >> 2u;
    let s3w = vec3<u32>(W[si], W[si + 1u], W[si + 2u]);
    let sw = select((s3w.xy >> vec2<u32>(16u)) | (s3w.yz << vec2<u32>(16u)), s3w.xy, (sf & 2u) == 0u);
    let d = unpack2x16float(W[(bo + 208u) >> 2u] >> (((bo + 208u) & 2u) * 8u)).x;
    let ls = 8u * lh;
    let s0 = d * i8of(sw.x >> ls);
    let s1 = d * i8of(sw.x >> (16u + ls));
    let s2 = d * i8of(sw.y >> ls);
    let s3 = d * i8of(sw.y >> (16u + ls));
    var acc = 0.0;
    for (var w = 0u; w < 4u; w++) {
        let a = qa[w];
        let b = qb[w];
        let h = qh[w];
        let q0 = qf((a & 0x0f0f0f0fu) | ((h & 0x03030303u) << 4u), 32.0);
        let q1 = qf((b & 0x0f0f0f0fu) | ((h & 0x0c0c0c0cu) << 2u), 32.0);
        let q2 = qf(((a >> 4u) & 0x0f0f0f0fu) | (h & 0x30303030u), 32.0);
        let q3 = qf(((b >> 4u) & 0x0f0f0f0fu) | ((h >> 2u) & 0x30303030u), 32.0);
        acc += dot(s0 * q0, xs[w * NT + t])
             + dot(s1 * q1, xs[(4u + w) * NT + t])
             + dot(s2 * q2, xs[(8u + w) * NT + t])
             + dot(s3 * q3, xs[(12u + w) * NT + t]);
    }
    return acc;
//#else
    let d = f16at(bo + 208u);
    let sb = bo + 192u + 8u * n + lh;
    let s0 = d * i8of(rd8(sb));
    let s1 = d * i8of(rd8(sb + 2u));
    let s2 = d * i8of(rd8(sb + 4u));
    let s3 = d * i8of(rd8(sb + 6u));
    let sh = vec4<u32>(0u, 8u, 16u, 24u);
    let m4 = vec4<u32>(0xfu);
    let m2 = vec4<u32>(3u);
    var acc = 0.0;
    for (var w = 0u; w < 4u; w++) {
        let a = vec4<u32>(qa[w]) >> sh;
        let b = vec4<u32>(qb[w]) >> sh;
        let h = vec4<u32>(qh[w]) >> sh;
        let q0 = vec4<f32>((a & m4) | ((h & m2) << vec4<u32>(4u))) - 32.0;
        let q1 = vec4<f32>((b & m4) | (((h >> vec4<u32>(2u)) & m2) << vec4<u32>(4u))) - 32.0;
        let q2 = vec4<f32>(((a >> vec4<u32>(4u)) & m4) | (((h >> vec4<u32>(4u)) & m2) << vec4<u32>(4u))) - 32.0;
        let q3 = vec4<f32>(((b >> vec4<u32>(4u)) & m4) | (((h >> vec4<u32>(6u)) & m2) << vec4<u32>(4u))) - 32.0;
        acc += dot(s0 * q0, xs[w * NT + t])
             + dot(s1 * q1, xs[(4u + w) * NT + t])
             + dot(s2 * q2, xs[(8u + w) * NT + t])
             + dot(s3 * q3, xs[(12u + w) * NT + t]);
    }
    return acc;
//#endif
}
