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

//#if XFV
// XFV: the same lanes and sums with TPR = 16, thread tl holding lanes 2tl
// and 2tl+1 (one weight word of F16/BF16, two of F32, per step of 32
// elements): every word is loaded once, and XFU steps are loaded before
// they are summed, so that many loads are in flight (a single chain of
// 2-byte loads ran at about 0.9 TB/s on an H100). Each lane still sums its
// elements in order; xfv_tree then adds the 32 lanes in ggml's order.
const XFU: u32 = 8u;            // steps loaded ahead
const NSTEP: u32 = NP / 32u;    // whole steps of 32 elements

// xfv_w is thread tl's weight word(s) of step k of the row at word wo.
fn xfv_w(wo: u32, k: u32, tl: u32) -> vec2<u32> {
//#if WF32
    let o = wo + 32u * k + 2u * tl;
    return vec2<u32>(W[o], W[o + 1u]);
//#else
    return vec2<u32>(W[wo + 16u * k + tl], 0u);
//#endif
}

// xfv_acc adds step k's two products of lanes 2tl, 2tl+1 to acc.
fn xfv_acc(acc: vec2<f32>, w: vec2<u32>, k: u32, tl: u32) -> vec2<f32> {
    let xq = xs[8u * k + (tl >> 1u)];
    let x = select(xq.xy, xq.zw, (tl & 1u) != 0u);
//#if WF32
    return vec2<f32>(fma_x(bitcast<f32>(w.x), x.x, acc.x), fma_x(bitcast<f32>(w.y), x.y, acc.y));
//#endif
//#if WF16
    // products of two halves are exact in f32: only the sums round
    return acc + unpack2x16float(w.x) * x;
//#endif
//#if WBF16
    return acc + vec2<f32>(bitcast<f32>(w.x << 16u), bitcast<f32>(w.x & 0xffff0000u)) * x;
//#endif
}

// xfv_dot returns lanes 2tl and 2tl+1 of the row at byte rb.
fn xfv_dot(rb: u32, tl: u32) -> vec2<f32> {
    let wo = rb >> 2u;
    var acc = vec2<f32>(0.0);
    var k = 0u;
    for (; k + XFU <= NSTEP; k += XFU) {
        let w0 = xfv_w(wo, k, tl);
        let w1 = xfv_w(wo, k + 1u, tl);
        let w2 = xfv_w(wo, k + 2u, tl);
        let w3 = xfv_w(wo, k + 3u, tl);
        let w4 = xfv_w(wo, k + 4u, tl);
        let w5 = xfv_w(wo, k + 5u, tl);
        let w6 = xfv_w(wo, k + 6u, tl);
        let w7 = xfv_w(wo, k + 7u, tl);
        acc = xfv_acc(acc, w0, k, tl);
        acc = xfv_acc(acc, w1, k + 1u, tl);
        acc = xfv_acc(acc, w2, k + 2u, tl);
        acc = xfv_acc(acc, w3, k + 3u, tl);
        acc = xfv_acc(acc, w4, k + 4u, tl);
        acc = xfv_acc(acc, w5, k + 5u, tl);
        acc = xfv_acc(acc, w6, k + 6u, tl);
        acc = xfv_acc(acc, w7, k + 7u, tl);
    }
    for (; k < NSTEP; k++) {
        acc = xfv_acc(acc, xfv_w(wo, k, tl), k, tl);
    }
    return acc;
}

// xfl holds the lanes of every row (lane L of the row whose thread 0 is at
// lid: xfl[lid + L/2][L%2]); SWIGLU's up rows follow at WG.
//#if SWIGLU
const NXFL: u32 = 2u * WG;
//#else
const NXFL: u32 = WG;
//#endif
var<workgroup> xfl: array<vec2<f32>, NXFL>;

// xfv_v is ggml's sum of lane b (0..7) of its four accumulators of 8 lanes,
// (c0+c2)+(c1+c3), for the lanes at xfl[base..]; c_a lane b is lane 8a+b.
fn xfv_v(base: u32, b: u32) -> f32 {
    let i = base + b / 2u;
    let h = b % 2u;
    return add_o(add_o(xfl[i][h], xfl[i + 8u][h]), add_o(xfl[i + 4u][h], xfl[i + 12u][h]));
}

// xfv_tree adds the 32 lanes at xfl[base..] as ggml does: xfv_v, then the
// high and low halves of the 8 lanes, then the last four as (t0+t1)+(t2+t3)
// (HADD) or (t0+t2)+(t1+t3).
fn xfv_tree(base: u32) -> f32 {
    let u0 = add_o(xfv_v(base, 0u), xfv_v(base, 4u));
    let u1 = add_o(xfv_v(base, 1u), xfv_v(base, 5u));
    let u2 = add_o(xfv_v(base, 2u), xfv_v(base, 6u));
    let u3 = add_o(xfv_v(base, 3u), xfv_v(base, 7u));
//#if HADD
    return add_o(add_o(u0, u1), add_o(u2, u3));
//#else
    return add_o(add_o(u0, u2), add_o(u1, u3));
//#endif
}
//#endif
