// Q8_0 tasks for mvd.wgsl: two 34-byte blocks (64 elements, 68 bytes =
// 17 aligned words; rows hold an even number of blocks) per task.
// Values as q8_0.wgsl: d * q.
const TASK_ELEMS: u32 = 64u;

fn q8_0_word(d: f32, q: u32, x: u32) -> f32 {
//#if PK
    // signed bytes plus 128 (flipped sign bits), minus 128 as floats
    return dot(d * qf(q ^ 0x80808080u, 128.0), xs[x]);
//#else
    let v = vec4<i32>(vec4<u32>(q) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    return dot(d * vec4<f32>(v), xs[x]);
//#endif
}

fn task_dot(rb: u32, t: u32) -> f32 {
    let wo = (rb >> 2u) + 17u * t;
    var w: array<u32, 17>;
    for (var i = 0u; i < 17u; i++) {
        w[i] = W[wo + i];
    }
    let da = unpack2x16float(w[0]).x;
    let db = unpack2x16float(w[8]).y;
    var acc = 0.0;
    for (var i = 0u; i < 8u; i++) {
        acc += q8_0_word(da, (w[i] >> 16u) | (w[i + 1u] << 16u), i * NT + t);
    }
    for (var i = 0u; i < 8u; i++) {
        acc += q8_0_word(db, w[9u + i], (8u + i) * NT + t);
    }
    return acc;
}
