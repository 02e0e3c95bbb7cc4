// Q8_0: 34-byte blocks of 32: f16 d, 32 signed bytes; value = d * q.
const BLOCK_BYTES: u32 = 34u;
const BLOCK_ELEMS: u32 = 32u;
const UNIT: u32 = 32u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    var v: array<f32, UNIT>;
    let d = f16at(bo);
    for (var j = 0u; j < 32u; j += 4u) {
        let q = rd32(bo + 2u + j);
        for (var k = 0u; k < 4u; k++) {
            v[j + k] = d * i8of(q >> (8u * k));
        }
    }
    return v;
}
