// Q6_K tasks for mvd.wgsl: task t of a row is super-block t/8, half
// n = (t%8)/4, columns l = 8*(t%4) .. +7 of all four quarters (ql words at
// 64n+l and 64n+32+l, qh words at 128+32n+l). Values as q6_k.wgsl:
// d * sc * (q - 32).

const TASK_ELEMS: u32 = 32u;

// px places logical vec4 i where its task reads it: task (blk, n, lg)
// reads vec4s 64blk + 32n + 2lg + 8k + w (quarter k, word w) at
// (2k + w)*NT + t.
fn px(i: u32) -> u32 {
    let r = i % 64u;
    let r2 = r % 32u;
    let r3 = r2 % 8u;
    let t = (i / 64u) * 8u + (r / 32u) * 4u + r3 / 2u;
    return (2u * (r2 / 8u) + r3 % 2u) * NT + t;
}

fn task_dot(rb: u32, t: u32) -> f32 {
    let bo = rb + (t >> 3u) * 210u;
    let n = (t & 7u) >> 2u;
    let l = 8u * (t & 3u);
    let d = f16at(bo + 208u);
    let sb = bo + 192u + 8u * n + l / 16u;
    var acc = 0.0;
    for (var w = 0u; w < 2u; w++) {
        let a = vec4<u32>(rd32(bo + 64u * n + l + 4u * w)) >> vec4<u32>(0u, 8u, 16u, 24u);
        let b = vec4<u32>(rd32(bo + 64u * n + 32u + l + 4u * w)) >> vec4<u32>(0u, 8u, 16u, 24u);
        let h = vec4<u32>(rd32(bo + 128u + 32u * n + l + 4u * w)) >> vec4<u32>(0u, 8u, 16u, 24u);
        let m4 = vec4<u32>(0xfu);
        let m2 = vec4<u32>(3u);
        let q0 = vec4<f32>((a & m4) | ((h & m2) << vec4<u32>(4u))) - 32.0;
        let q1 = vec4<f32>((b & m4) | (((h >> vec4<u32>(2u)) & m2) << vec4<u32>(4u))) - 32.0;
        let q2 = vec4<f32>(((a >> vec4<u32>(4u)) & m4) | (((h >> vec4<u32>(4u)) & m2) << vec4<u32>(4u))) - 32.0;
        let q3 = vec4<f32>(((b >> vec4<u32>(4u)) & m4) | (((h >> vec4<u32>(6u)) & m2) << vec4<u32>(4u))) - 32.0;
        acc += dot((d * i8of(rd8(sb))) * q0, xs[w * NT + t])
             + dot((d * i8of(rd8(sb + 2u))) * q1, xs[(2u + w) * NT + t])
             + dot((d * i8of(rd8(sb + 4u))) * q2, xs[(4u + w) * NT + t])
             + dot((d * i8of(rd8(sb + 6u))) * q3, xs[(6u + w) * NT + t]);
    }
    return acc;
}
