// F16 tasks for mvd.wgsl (W as vec4<u32>; needs rows of a multiple of 8
// elements): eight elements (16 bytes) per task.

const TASK_ELEMS: u32 = 8u;

fn task_dot(rb: u32, t: u32) -> f32 {
    let w = W[(rb >> 4u) + t];
    let a = vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
    let b = vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w));
    return dot(a, xs[t]) + dot(b, xs[NT + t]);
}
