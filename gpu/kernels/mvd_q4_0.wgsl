// Q4_0 tasks for mvd.wgsl: two 18-byte blocks (64 elements, 36 bytes =
// nine aligned words; rows hold an even number of blocks) per task.
// Values as q4_0.wgsl: d * (q - 8).
const TASK_ELEMS: u32 = 64u;

// q4_0_blk is the dot of one block (scale d, quant words q) with task t's
// activations from vec4 k0 (xs is stored transposed, mvd.wgsl px).
fn q4_0_blk(d: f32, q: vec4<u32>, t: u32, k0: u32) -> f32 {
    var acc = 0.0;
    for (var w = 0u; w < 4u; w++) {
//#if PK
        let lo = qf(q[w] & 0x0f0f0f0fu, 8.0);
        let hi = qf((q[w] >> 4u) & 0x0f0f0f0fu, 8.0);
//#else
        let b = vec4<u32>(q[w]) >> vec4<u32>(0u, 8u, 16u, 24u);
        let lo = vec4<f32>(b & vec4<u32>(0xfu)) - 8.0;
        let hi = vec4<f32>((b >> vec4<u32>(4u)) & vec4<u32>(0xfu)) - 8.0;
//#endif
        acc += dot(d * lo, xs[(k0 + w) * NT + t]) + dot(d * hi, xs[(k0 + 4u + w) * NT + t]);
    }
    return acc;
}

fn task_dot(rb: u32, t: u32) -> f32 {
    let wo = (rb >> 2u) + 9u * t;
    var w: array<u32, 9>;
    for (var i = 0u; i < 9u; i++) {
        w[i] = W[wo + i];
    }
    let qa = vec4<u32>((w[0] >> 16u) | (w[1] << 16u), (w[1] >> 16u) | (w[2] << 16u),
                       (w[2] >> 16u) | (w[3] << 16u), (w[3] >> 16u) | (w[4] << 16u));
    let qb = vec4<u32>(w[5], w[6], w[7], w[8]);
    let da = unpack2x16float(w[0]).x;
    let db = unpack2x16float(w[4]).y;
    return q4_0_blk(da, qa, t, 0u) + q4_0_blk(db, qb, t, 8u);
}
