// Q2_K: 84-byte super-blocks of 256: scales[16] (low nibble scale, high
// nibble min), qs[64] (2-bit values), f16 d, f16 dmin. Unit s (32 elements)
// is half n = s/4 and shift 2*(s%4) of qs[32n..32n+32); elements 0..15 use
// scale byte 2s, 16..31 scale byte 2s+1.
const BLOCK_BYTES: u32 = 84u;
const BLOCK_ELEMS: u32 = 256u;
const UNIT: u32 = 32u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    var v: array<f32, UNIT>;
    let d = f16at(bo + 80u);
    let dmin = f16at(bo + 82u);
    let n = s / 4u;
    let shift = 2u * (s % 4u);
    for (var h = 0u; h < 2u; h++) {
        let sc = rd8(bo + 2u * s + h);
        let dl = d * f32(sc & 0xfu);
        let ml = dmin * f32(sc >> 4u);
        for (var j = 0u; j < 16u; j += 4u) {
            let q = rd32(bo + 16u + 32u * n + 16u * h + j);
            for (var k = 0u; k < 4u; k++) {
                v[16u * h + j + k] = dl * f32((q >> (8u * k + shift)) & 3u) - ml;
            }
        }
    }
    return v;
}
