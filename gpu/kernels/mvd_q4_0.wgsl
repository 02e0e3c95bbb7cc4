// Q4_0 tasks for mvd.wgsl: one 18-byte block (32 elements) per task.
// Values as q4_0.wgsl: d * (q - 8).

const TASK_ELEMS: u32 = 32u;

fn task_dot(rb: u32, t: u32) -> f32 {
    let bo = rb + t * 18u;
    let d = f16at(bo);
    var acc = 0.0;
    for (var w = 0u; w < 4u; w++) {
        let q = vec4<u32>(rd32(bo + 2u + 4u * w)) >> vec4<u32>(0u, 8u, 16u, 24u);
        let lo = vec4<f32>(q & vec4<u32>(0xfu)) - 8.0;
        let hi = vec4<f32>((q >> vec4<u32>(4u)) & vec4<u32>(0xfu)) - 8.0;
        acc += dot(d * lo, xs[8u * t + w]) + dot(d * hi, xs[8u * t + 4u + w]);
    }
    return acc;
}
