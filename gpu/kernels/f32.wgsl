// F32: plain little-endian floats. A unit is 4 elements (16 bytes).
const BLOCK_BYTES: u32 = 16u;
const BLOCK_ELEMS: u32 = 4u;
const UNIT: u32 = 4u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    var v: array<f32, UNIT>;
    for (var j = 0u; j < 4u; j++) {
        v[j] = bitcast<f32>(rd32(bo + 4u * j));
    }
    return v;
}
