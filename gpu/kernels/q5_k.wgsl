// Q5_K: 176-byte super-blocks of 256: f16 d, f16 dmin, scales[12], qh[32],
// qs[128]. Unit s (32 elements): nibble s%2 of qs[32*(s/2)..], fifth bit s
// of qh[l]; value = d*sc[s]*q - dmin*m[s].
const BLOCK_BYTES: u32 = 176u;
const BLOCK_ELEMS: u32 = 256u;
const UNIT: u32 = 32u;

fn kscale(sb: u32, j: u32) -> vec2<f32> {
    if (j < 4u) {
        return vec2<f32>(f32(rd8(sb + j) & 63u), f32(rd8(sb + j + 4u) & 63u));
    }
    let sc = (rd8(sb + j + 4u) & 0xfu) | ((rd8(sb + j - 4u) >> 6u) << 4u);
    let m = (rd8(sb + j + 4u) >> 4u) | ((rd8(sb + j) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}

fn unit_vals(bo: u32, s: u32) -> array<f32, UNIT> {
    var v: array<f32, UNIT>;
    let d = f16at(bo);
    let dmin = f16at(bo + 2u);
    let sm = kscale(bo + 4u, s);
    let dl = d * sm.x;
    let ml = dmin * sm.y;
    let shift = 4u * (s % 2u);
    for (var j = 0u; j < 32u; j += 4u) {
        let q = rd32(bo + 48u + 32u * (s / 2u) + j);
        let h = rd32(bo + 16u + j);
        for (var k = 0u; k < 4u; k++) {
            let lo = (q >> (8u * k + shift)) & 0xfu;
            let hb = (h >> (8u * k + s)) & 1u;
            v[j + k] = dl * f32(lo | (hb << 4u)) - ml;
        }
    }
    return v;
}
