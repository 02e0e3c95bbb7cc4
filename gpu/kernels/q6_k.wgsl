// Q6_K: 210-byte super-blocks of 256: ql[128], qh[64], scales[16] (int8),
// f16 d. Unit s (32 elements): half n = s/4, quarter k = s%4: low nibble
// (k<2) or high nibble (k>=2) of ql[64n + 32(k%2) + l], bits 2k..2k+1 of
// qh[32n + l]; scale byte 8n + 2k + l/16; value = d * sc * (q - 32).
const BLOCK_BYTES: u32 = 210u;
const BLOCK_ELEMS: u32 = 256u;
const UNIT: u32 = 32u;

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    var v: array<f32, UNIT>;
    let d = f16at(bo + 208u);
    let n = s / 4u;
    let k = s % 4u;
    let nib = 4u * (k / 2u);
    for (var h = 0u; h < 2u; h++) {
        let dl = d * i8of(rd8(bo + 192u + 8u * n + 2u * k + h));
        for (var j = 0u; j < 16u; j += 4u) {
            let l = 16u * h + j;
            let ql = rd32(bo + 64u * n + 32u * (k % 2u) + l);
            let qh = rd32(bo + 128u + 32u * n + l);
            for (var e = 0u; e < 4u; e++) {
                let lo = (ql >> (8u * e + nib)) & 0xfu;
                let hi = (qh >> (8u * e + 2u * k)) & 3u;
                v[l + e] = dl * (f32(lo | (hi << 4u)) - 32.0);
            }
        }
    }
    return v;
}
