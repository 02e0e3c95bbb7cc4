// Q8_0 tasks for mvd.wgsl: one 34-byte block (32 elements) per task.
// Values as q8_0.wgsl: d * q.

const TASK_ELEMS: u32 = 32u;

fn task_dot(rb: u32, t: u32) -> f32 {
    let bo = rb + t * 34u;
    let d = f16at(bo);
    var acc = 0.0;
    for (var w = 0u; w < 8u; w++) {
        let q = vec4<i32>(vec4<u32>(rd32(bo + 2u + 4u * w)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
        acc += dot(d * vec4<f32>(q), xs[8u * t + w]);
    }
    return acc;
}
