// Q4_1: 20-byte blocks of 32: f16 d, f16 m, 16 bytes of nibbles;
// value = d * q + m.
const BLOCK_BYTES: u32 = 20u;
const BLOCK_ELEMS: u32 = 32u;
const UNIT: u32 = 32u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    var v: array<f32, UNIT>;
    let d = f16at(bo);
    let m = f16at(bo + 2u);
    for (var j = 0u; j < 16u; j += 4u) {
        let q = rd32(bo + 4u + j);
        for (var k = 0u; k < 4u; k++) {
            let b = (q >> (8u * k)) & 0xffu;
            v[j + k] = d * f32(b & 0xfu) + m;
            v[j + k + 16u] = d * f32(b >> 4u) + m;
        }
    }
    return v;
}
