// F16: IEEE half floats. A unit is 4 elements (8 bytes).
const BLOCK_BYTES: u32 = 8u;
const BLOCK_ELEMS: u32 = 4u;
const UNIT: u32 = 4u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    let a = unpack2x16float(rd32(bo));
    let b = unpack2x16float(rd32(bo + 4u));
    return array<f32, UNIT>(a.x, a.y, b.x, b.y);
}

fn unit_dot(bo: u32, s: u32, xb: u32, c0: u32) -> f32 {
    let a = unpack2x16float(rd32(bo));
    let b = unpack2x16float(rd32(bo + 4u));
    return a.x * xv(xb, c0) + a.y * xv(xb, c0 + 1u) + b.x * xv(xb, c0 + 2u) + b.y * xv(xb, c0 + 3u);
}
