// BF16: the upper 16 bits of an F32. A unit is 4 elements (8 bytes).
const BLOCK_BYTES: u32 = 8u;
const BLOCK_ELEMS: u32 = 4u;
const UNIT: u32 = 4u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    let a = rd32(bo);
    let b = rd32(bo + 4u);
    return array<f32, UNIT>(bitcast<f32>(a << 16u), bitcast<f32>(a & 0xffff0000u),
                            bitcast<f32>(b << 16u), bitcast<f32>(b & 0xffff0000u));
}

fn unit_dot(bo: u32, s: u32, xb: u32, c0: u32) -> f32 {
    let a = rd32(bo);
    let b = rd32(bo + 4u);
    return bitcast<f32>(a << 16u) * xv(xb, c0) + bitcast<f32>(a & 0xffff0000u) * xv(xb, c0 + 1u) +
           bitcast<f32>(b << 16u) * xv(xb, c0 + 2u) + bitcast<f32>(b & 0xffff0000u) * xv(xb, c0 + 3u);
}
