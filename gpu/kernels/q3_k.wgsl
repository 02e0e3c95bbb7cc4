// Q3_K: 110-byte super-blocks of 256: hmask[32], qs[64], scales[12] (16
// packed 6-bit scales, minus 32), f16 d. Unit s (32 elements): half n = s/4,
// shift 2*(s%4) of qs[32n..], high bit s of hmask; value =
// d * scale * (q - (hbit ? 0 : 4)).
const BLOCK_BYTES: u32 = 110u;
const BLOCK_ELEMS: u32 = 256u;
const UNIT: u32 = 32u;

fn q3k_scale(bo: u32, i: u32) -> f32 {
    let lo = (rd8(bo + 96u + (i % 8u)) >> (4u * (i / 8u))) & 0xfu;
    let hi = (rd8(bo + 104u + (i % 4u)) >> (2u * (i / 4u))) & 3u;
    return f32(i32(lo | (hi << 4u)) - 32);
}

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    var v: array<f32, UNIT>;
    let d = f16at(bo + 108u);
    let n = s / 4u;
    let shift = 2u * (s % 4u);
    for (var h = 0u; h < 2u; h++) {
        let dl = d * q3k_scale(bo, 2u * s + h);
        for (var j = 0u; j < 16u; j += 4u) {
            let l = 16u * h + j;
            let q = rd32(bo + 32u + 32u * n + l);
            let hm = rd32(bo + l);
            for (var k = 0u; k < 4u; k++) {
                let qv = (q >> (8u * k + shift)) & 3u;
                let hb = (hm >> (8u * k + s)) & 1u;
                v[l + k] = dl * (f32(qv) - select(4.0, 0.0, hb != 0u));
            }
        }
    }
    return v;
}
