// Q4_0: 18-byte blocks of 32: f16 d, 16 bytes of nibbles (low nibbles are
// elements 0..15, high nibbles 16..31); value = d * (q - 8).
const BLOCK_BYTES: u32 = 18u;
const BLOCK_ELEMS: u32 = 32u;
const UNIT: u32 = 32u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    var v: array<f32, UNIT>;
    let d = f16at(bo);
    for (var j = 0u; j < 16u; j += 4u) {
        let q = rd32(bo + 2u + j);
        for (var k = 0u; k < 4u; k++) {
            let b = (q >> (8u * k)) & 0xffu;
            v[j + k] = d * (f32(b & 0xfu) - 8.0);
            v[j + k + 16u] = d * (f32(b >> 4u) - 8.0);
        }
    }
    return v;
}
