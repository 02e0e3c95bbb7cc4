// F32, F16 and BF16 weights in the CPU's exact order for mvd.wgsl (EXACTF,
// TPR = 32; gpu/NUMERICS.md): ggml_vec_dot_f32/f16/bf16 on AVX2 keep 4
// accumulators of 8 lanes over steps of 32 elements (lane L takes the
// elements i = L mod 32; F32 with fused multiply-adds, F16/BF16 products
// of half-precision values are exact), then sum them as (c0+c2)+(c1+c3),
// the high and low halves, and the last four as (t0+t2)+(t1+t3) (BF16) or
// (t0+t1)+(t2+t3) (F32/F16, HADD: threads 1,2 and 5,6 of each 8 take the
// swapped lanes, so that mvd.wgsl's tree adds in that order). F16/BF16
// rows are whole steps of 32 (mvdOK); F32 rows may end in a tail
// (xf_tail).
const TASK_ELEMS: u32 = 4u;
const NP: u32 = XC & ~31u;

fn lane_of(tl: u32) -> u32 {
//#if HADD
    let k = tl & 7u;
    if (k == 1u || k == 2u || k == 5u || k == 6u) {
        return tl ^ 3u;
    }
//#endif
    return tl;
}

fn xf_dot(rb: u32, tl: u32) -> f32 {
    var acc = 0.0;
    let wo = rb >> 2u;
    for (var i = lane_of(tl); i < NP; i += 32u) {
        let x = xs[i >> 2u][i & 3u];
//#if WF32
        acc = fma_x(bitcast<f32>(W[wo + i]), x, acc);
//#endif
//#if WF16
        acc += unpack2x16float(W[wo + (i >> 1u)])[i & 1u] * x;
//#endif
//#if WBF16
        let u = W[wo + (i >> 1u)];
        acc += bitcast<f32>(select(u << 16u, u & 0xffff0000u, (i & 1u) != 0u)) * x;
//#endif
    }
    return acc;
}

// xf_tail adds the F32 elements past the last step of 32 to the lanes' sum
// s as quant's f32TailAVX2 (ggml's leftover loop as GCC compiles it):
// rounded products of groups of 8, then of one group of 4, added in order;
// the last 0..3 fused.
fn xf_tail(rb: u32, s: f32) -> f32 {
    var sum = s;
//#if WF32
    let wo = rb >> 2u;
    var end = NP + ((XC - NP) & ~7u);
    if (end + 4u <= XC) {
        end += 4u;
    }
    var i = NP;
    for (; i < end; i++) {
        sum = add_o(sum, opaque(bitcast<f32>(W[wo + i]) * xs[i >> 2u][i & 3u]));
    }
    for (; i < XC; i++) {
        sum = fma_x(bitcast<f32>(W[wo + i]), xs[i >> 2u][i & 3u], sum);
    }
//#endif
    return sum;
}
