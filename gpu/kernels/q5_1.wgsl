// Q5_1: 24-byte blocks of 32: f16 d, f16 m, u32 qh, 16 bytes of nibbles;
// value = d * q + m with q in 0..31.
const BLOCK_BYTES: u32 = 24u;
const BLOCK_ELEMS: u32 = 32u;
const UNIT: u32 = 32u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    var v: array<f32, UNIT>;
    let d = f16at(bo);
    let m = f16at(bo + 2u);
    let qh = rd32(bo + 4u);
    for (var j = 0u; j < 16u; j += 4u) {
        let q = rd32(bo + 8u + j);
        for (var k = 0u; k < 4u; k++) {
            let e = j + k;
            let b = (q >> (8u * k)) & 0xffu;
            let lo = (b & 0xfu) | (((qh >> e) & 1u) << 4u);
            let hi = (b >> 4u) | (((qh >> (e + 16u)) & 1u) << 4u);
            v[e] = d * f32(lo) + m;
            v[e + 16u] = d * f32(hi) + m;
        }
    }
    return v;
}
