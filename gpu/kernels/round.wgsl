// Rounding and correctly rounded arithmetic shared by the activation
// rounding kernels (actq.wgsl and the fused decode matrix kernel mvd.wgsl),
// so both round exactly like quant's QuantizeActivation.

fn f16round(v: f32) -> f32 {
    return unpack2x16float(pack2x16float(vec2<f32>(v, 0.0))).x;
}

fn bf16round(v: f32) -> f32 {
    let u = bitcast<u32>(v);
    return bitcast<f32>((u + 0x7fffu + ((u >> 16u) & 1u)) & 0xffff0000u);
}

fn two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = a + b;
    let bb = s - a;
    return vec2<f32>(s, (a - (s - bb)) + (b - bb));
}

fn div_rn(a: f32, b: f32) -> f32 {
    let q = a / b;
    return q + fma(-q, b, a) / b;
}

fn sqrt_rn(x: f32) -> f32 {
    let s = sqrt(x);
    return s + fma(-s, s, x) / (2.0 * s);
}

