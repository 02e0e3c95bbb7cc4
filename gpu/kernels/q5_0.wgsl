// Q5_0: 22-byte blocks of 32: f16 d, u32 qh (bit e is element e's fifth bit),
// 16 bytes of nibbles; value = d * (q - 16).
const BLOCK_BYTES: u32 = 22u;
const BLOCK_ELEMS: u32 = 32u;
const UNIT: u32 = 32u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    var v: array<f32, UNIT>;
    let d = f16at(bo);
    let qh = rd16(bo + 2u) | (rd16(bo + 4u) << 16u);
    for (var j = 0u; j < 16u; j += 4u) {
        let q = rd32(bo + 6u + j);
        for (var k = 0u; k < 4u; k++) {
            let e = j + k;
            let b = (q >> (8u * k)) & 0xffu;
            let lo = (b & 0xfu) | (((qh >> e) & 1u) << 4u);
            let hi = (b >> 4u) | (((qh >> (e + 16u)) & 1u) << 4u);
            v[e] = d * (f32(lo) - 16.0);
            v[e + 16u] = d * (f32(hi) - 16.0);
        }
    }
    return v;
}
