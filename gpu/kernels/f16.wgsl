// F16: IEEE half floats. A unit is 4 elements (8 bytes).
const BLOCK_BYTES: u32 = 8u;
const BLOCK_ELEMS: u32 = 4u;
const UNIT: u32 = 4u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    let a = unpack2x16float(rd32(bo));
    let b = unpack2x16float(rd32(bo + 4u));
    return array<f32, UNIT>(a.x, a.y, b.x, b.y);
}
