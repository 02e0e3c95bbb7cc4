// Packed-quant helper of the mvd tasks (PK, HEARTH_GPU_MVD_PK=1).

// qf turns the four unsigned bytes of p (byte k to lane k) into floats
// minus off without integer-to-float conversions: 2^23 + b as float bits,
// minus 2^23 + off (exact for bytes and small integer offsets).
fn qf(p: u32, off: f32) -> vec4<f32> {
    let b = (vec4<u32>(p) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
    return bitcast<vec4<f32>>(b | vec4<u32>(0x4b000000u)) - (8388608.0 + off);
}
