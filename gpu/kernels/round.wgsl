// Rounding and exactly rounded float32 arithmetic shared by the kernels
// that must reproduce the CPU's arithmetic bit for bit (actq.wgsl, the fused
// decode kernel mvd.wgsl, the SwiGLU epilogues; gpu/NUMERICS.md). Kernels
// that include this must bind S (Step): opaque reads S.pad0.
//
// FMA_NATIVE is a bool constant that resources.pipeline prepends to every
// shader that names it (gpu/numerics.go): true when the adapter's fma() was
// measured to round once (probeFMA). WGSL's fma() need not be fused:
// lavapipe computes it as a rounded product plus a rounded sum. Otherwise
// fma_x emulates it with an exact product and a compensated sum.

// f16round rounds v to the nearest float16 (ties to even, subnormal halves,
// overflow to infinity from 65520) as f32, like quant's FP32ToFP16, with
// integer operations: unpack2x16float(pack2x16float(v)) does not round on
// every adapter (the NVIDIA Vulkan compiler folds the pair away).
fn f16round(v: f32) -> f32 {
    let u = bitcast<u32>(v);
    let sign = u & 0x80000000u;
    let a = u & 0x7fffffffu;
    if (a > 0x7f800000u) {
        return v;
    }
    if (a >= 0x477ff000u) {
        return bitcast<f32>(sign | 0x7f800000u);
    }
    if (a >= 0x38800000u) {
        return bitcast<f32>(sign | ((a + 0xfffu + ((a >> 13u) & 1u)) & 0xffffe000u));
    }
    // subnormal half: round(|v| * 2^24) * 2^-24, both scalings exact
    let m = round(opaque(bitcast<f32>(a) * 16777216.0));
    return bitcast<f32>(sign | bitcast<u32>(opaque(m * 5.9604644775390625e-8)));
}

// q8_0_scale returns (d, id) for a Q8_0 / Q8_1 block (the CPU's
// quantizers) whose largest magnitude is amax: d = fp16(amax/127),
// id = 127/amax, (0, 0) for a block of zeros; the values round to
// d * round(x * id).
fn q8_0_scale(amax: f32) -> vec2<f32> {
    if (amax == 0.0) {
        return vec2<f32>(0.0);
    }
    return vec2<f32>(f16round(div_rn(amax, 127.0)), div_rn(127.0, amax));
}

// q8_k_scale is q8_0_scale for a Q8_K block, mx its signed value of
// largest magnitude: id = -127/mx, d = 1/id.
fn q8_k_scale(amax: f32, mx: f32) -> vec2<f32> {
    if (amax == 0.0) {
        return vec2<f32>(0.0);
    }
    let id = div_rn(-127.0, mx);
    return vec2<f32>(div_rn(1.0, id), id);
}

fn bf16round(v: f32) -> f32 {
    let u = bitcast<u32>(v);
    return bitcast<f32>((u + 0x7fffu + ((u >> 16u) & 1u)) & 0xffff0000u);
}

// opaque returns x unchanged in a way the compiler cannot see through
// (S.pad0 is always 0): shader compilers treat float arithmetic as
// associative unless told otherwise (Mesa's NIR folds (p + c) - p to c), which
// would turn the error terms below into 0. Needs the kernel to bind S.
fn opaque(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ S.pad0);
}

// add_o is a + b rounded, opaque: fixed summation orders (the CPU's
// horizontal sums) are written with it so that a compiler that treats float
// addition as associative cannot regroup them.
fn add_o(a: f32, b: f32) -> f32 {
    return opaque(a + b);
}

// two_sum returns (s, e) with s = a + b rounded and a + b = s + e exactly.
// Every intermediate goes through opaque: NVIDIA's compiler folds
// s - (s - a) to a (measured on the H100: the error term came out 0).
fn two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = opaque(a + b);
    let bb = opaque(s - a);
    return vec2<f32>(s, (a - opaque(s - bb)) + (b - bb));
}

// two_prod returns (p, e) with p = a * b rounded and a * b = p + e exactly.
fn two_prod(a: f32, b: f32) -> vec2<f32> {
    let p = opaque(a * b);
    if (FMA_NATIVE) {
        return vec2<f32>(p, fma(a, b, -p));
    }
    // halves of at most 12 significant bits multiply exactly. (Veltkamp's
    // t - (t - a) split would be folded to a by the compiler.)
    let ah = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
    let al = a - ah;
    let bh = bitcast<f32>(bitcast<u32>(b) & 0xfffff000u);
    let bl = b - bh;
    return vec2<f32>(p, ((opaque(ah * bh) - p) + opaque(ah * bl) + opaque(al * bh)) + opaque(al * bl));
}

// fma_x returns a * b + c rounded once: the adapter's fma() when it is
// fused, otherwise the exact product and sum rounded twice (s + (e1 + e2)),
// which differs from one rounding only in rare double-rounding cases.
fn fma_x(a: f32, b: f32, c: f32) -> f32 {
    if (FMA_NATIVE) {
        // opaque operands and result: without NoContraction (which WGSL
        // cannot express) a SPIR-V compiler may treat fma as a*b+c and
        // simplify across it, e.g. fold the Cody-Waite chain
        // fma(-n, C1, fma(-n, C2, x)) into x - n*(C1+C2)
        return opaque(fma(opaque(a), opaque(b), opaque(c)));
    }
    let p = two_prod(a, b);
    let s = two_sum(p.x, c);
    return s.x + (s.y + p.y);
}

// approx_div and approx_sqrt are the adapter's division and square root,
// which WebGPU allows to be 2.5 ulp off (NVIDIA's are; lavapipe's are
// correctly rounded).
fn approx_div(a: f32, b: f32) -> f32 {
    return opaque(a / b);
}

fn approx_sqrt(x: f32) -> f32 {
    return opaque(sqrt(x));
}

// next_f32 returns the float32 next to y (y finite, nonzero) away from zero
// when away, else towards zero.
fn next_f32(y: f32, away: bool) -> f32 {
    return bitcast<f32>(bitcast<u32>(y) + select(0xffffffffu, 1u, away));
}

// div_core returns a/b correctly rounded for |a|, |b| in [1, 2). A Newton
// step from the hardware quotient gives y within 0.5 ulp + 2^-20 ulp, so
// a/b lies between y and its neighbour y2 on the side of the residual
// a - y*b; both residuals are exact (fma_x) and the nearer candidate is
// the one with the smaller residual (a quotient is never exactly halfway).
fn div_core(a: f32, b: f32) -> f32 {
    let q0 = approx_div(a, b);
    let r0 = opaque(fma_x(-q0, b, a));
    let y = opaque(q0 + opaque(approx_div(r0, b)));
    let r = fma_x(-y, b, a);
    if (r == 0.0) {
        return y;
    }
    // a/b > y exactly when r and b have the same sign
    let y2 = opaque(next_f32(y, ((r > 0.0) == (b > 0.0)) == (y > 0.0)));
    let r2 = fma_x(-y2, b, a);
    return select(y, y2, abs(r2) < abs(r));
}

// div_rn returns a/b correctly rounded, like the CPU's division, without
// trusting the adapter's division (NVIDIA's is not correctly rounded): both
// operands are scaled to [1, 2) by their exponents, div_core divides, and
// the quotient's exponent is put back (exact for normal results). Zeros,
// subnormals, infinities, NaNs and results outside the normal range fall
// back to the adapter's a / b.
fn div_rn(a: f32, b: f32) -> f32 {
    let ua = bitcast<u32>(a);
    let ub = bitcast<u32>(b);
    let ea = (ua >> 23u) & 0xffu;
    let eb = (ub >> 23u) & 0xffu;
    if (ea == 0u || ea == 255u || eb == 0u || eb == 255u) {
        return a / b;
    }
    let q = div_core(bitcast<f32>((ua & 0x807fffffu) | 0x3f800000u), bitcast<f32>((ub & 0x807fffffu) | 0x3f800000u));
    let uq = bitcast<u32>(q);
    let e = i32((uq >> 23u) & 0xffu) + i32(ea) - i32(eb);
    if (e <= 0 || e >= 255) {
        return a / b;
    }
    return bitcast<f32>((uq & 0x807fffffu) | (u32(e) << 23u));
}

// sqrt_core returns sqrt(x) correctly rounded for x in [1, 4). After a
// Newton step y is within 0.5 ulp + a little of sqrt(x); the sign of
// x - y*y (one fma, whose rounding keeps the sign) tells which neighbour
// brackets sqrt(x) with y: lo < sqrt(x) < hi = lo + u. sqrt(x) rounds up
// iff x > (lo + u/2)^2 = lo*hi + u^2/4; x - lo*hi is a multiple of u^2
// (u = 2^-23), so that is iff fma(-lo, hi, x) > 0.
fn sqrt_core(x: f32) -> f32 {
    let y0 = approx_sqrt(x);
    let r0 = opaque(fma_x(-y0, y0, x));
    let y = opaque(y0 + opaque(approx_div(r0, 2.0 * y0)));
    let r = fma_x(-y, y, x);
    if (r == 0.0) {
        return y;
    }
    var lo = y;
    if (r < 0.0) {
        lo = opaque(next_f32(y, false));
    }
    let hi = opaque(next_f32(lo, true));
    return select(lo, hi, fma_x(-lo, hi, x) > 0.0);
}

// sqrt_rn returns sqrt(x) correctly rounded (x > 0 normal; otherwise the
// adapter's sqrt), like the CPU's, without trusting the adapter's sqrt: x
// is scaled by an even power of two into [1, 4) and the root's exponent
// put back.
fn sqrt_rn(x: f32) -> f32 {
    let ux = bitcast<u32>(x);
    let ex = (ux >> 23u) & 0xffu;
    if (ex == 0u || ex == 255u || (ux >> 31u) != 0u) {
        return sqrt(x);
    }
    // x = m * 2^(ex-127), m in [1, 2): x' = m * 2^((ex-127) mod 2)
    let k = (i32(ex) - 127) >> 1u; // floor
    let xe = u32(i32(ex) - 2 * k);  // 127 or 128
    let s = sqrt_core(bitcast<f32>((ux & 0x007fffffu) | (xe << 23u)));
    let us = bitcast<u32>(s);
    return bitcast<f32>(us + bitcast<u32>(k << 23u));
}

// div_df_rn returns (h + l)/b correctly rounded for a double-float32
// (h, l) (|l| <= ulp(h)/2, h normal) and b > 0 with at most 12
// significant bits (an element count): div_rn(h, b) corrected for l
// lands within one ulp, then the residuals h - y*b are exact and the
// halfway test is exact; a tie (h + l exactly halfway, which a rounded
// float64 quotient could give) goes to even like the CPU's float32(double).
fn div_df_rn(h: f32, l: f32, b: f32) -> f32 {
    let q = div_rn(h, b);
    if (l == 0.0 || q == 0.0) {
        return q;
    }
    let r = opaque(fma_x(-q, b, h));
    let y = opaque(q + opaque(approx_div(opaque(r + l), b)));
    let r1 = opaque(fma_x(-y, b, h));
    let s1 = r1 + l;
    if (s1 == 0.0) {
        return y;
    }
    // lo < (h + l)/b < hi (values), one of them y: (h + l)/b > y iff s1 > 0
    var lo = y;
    var hi = y;
    if (s1 > 0.0) {
        hi = opaque(next_f32(y, y > 0.0));
    } else {
        lo = opaque(next_f32(y, y < 0.0));
    }
    // (h + l) - m*b for the midpoint m = (lo + hi)/2 is (r_lo + r_hi)/2 + l
    let rs = opaque(opaque(fma_x(-lo, b, h)) + opaque(fma_x(-hi, b, h)));
    let z = rs + 2.0 * l;
    if (z == 0.0) {
        return select(hi, lo, (bitcast<u32>(lo) & 1u) == 0u);
    }
    return select(lo, hi, z > 0.0);
}

// mean_rn returns (hi + lo) / n correctly rounded for a compensated sum
// (hi, lo): the CPU's float64 mean of squares rounded to float32.
fn mean_rn(tot: vec2<f32>, n: f32) -> f32 {
    let tn = two_sum(tot.x, tot.y);
    return div_df_rn(tn.x, tn.y, n);
}

// Double-float32 (hi, lo) arithmetic, about 48 bits.

// quick_two_sum normalizes a + b with |a| >= |b|.
fn quick_two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = opaque(a + b);
    return vec2<f32>(s, b - opaque(s - a));
}

fn df_add(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let s = two_sum(a.x, b.x);
    return quick_two_sum(s.x, add_o(s.y, add_o(a.y, b.y)));
}

fn df_mul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let p = two_prod(a.x, b.x);
    return quick_two_sum(p.x, add_o(p.y, add_o(opaque(a.x * b.y), opaque(a.y * b.x))));
}

// df_horner returns y * r + (ch, cl).
fn df_horner(y: vec2<f32>, r: vec2<f32>, ch: f32, cl: f32) -> vec2<f32> {
    return df_add(df_mul(y, r), vec2<f32>(ch, cl));
}

// expf_rn is the correctly rounded float32 exponential (glibc's expf, which
// ggml uses outside whole SIMD blocks): exp evaluated in double-float32 and
// rounded once, so it differs only when exp(x) lies within about 2^-40 of a
// rounding boundary. Subnormal results are not handled exactly.
fn expf_rn(x: f32) -> f32 {
    if (x > 0x1.62e42ep+6f) {
        return bitcast<f32>(0x7f800000u);
    }
    if (x < -0x1.9fe354p+6f) {
        return 0.0;
    }
    let n = round(x * 0x1.715476p+0f);
    // r = x - n*ln2 with ln2 = L1 + L2 + L3
    var r = df_add(vec2<f32>(x, 0.0), -two_prod(n, 0x1.62e43p-1f));
    r = df_add(r, -two_prod(n, -0x1.05c61p-29f));
    r = df_add(r, vec2<f32>(-opaque(n * -0x1.950d88p-54f), 0.0));
    // Taylor series to 1/10! (|r| <= 0.35: the rest is below 2^-42)
    var y = vec2<f32>(0x1.27e4fcp-22f, -0x1.10ec14p-47f);
    y = df_horner(y, r, 0x1.71de3ap-19f, 0x1.55b1ccp-45f);
    y = df_horner(y, r, 0x1.a01a02p-16f, -0x1.7f97fap-42f);
    y = df_horner(y, r, 0x1.a01a02p-13f, -0x1.7f97fap-39f);
    y = df_horner(y, r, 0x1.6c16c2p-10f, -0x1.27d27ep-35f);
    y = df_horner(y, r, 0x1.111112p-7f, -0x1.dddddep-32f);
    y = df_horner(y, r, 0x1.555556p-5f, -0x1.555556p-30f);
    y = df_horner(y, r, 0x1.555556p-3f, -0x1.555556p-28f);
    y = df_horner(y, r, 0.5, 0.0);
    y = df_horner(y, r, 1.0, 0.0);
    y = df_horner(y, r, 1.0, 0.0);
    return ldexp(y.x + y.y, i32(n));
}

// vexpf is ggml_v_expf (AVX2), one lane: ARM's optimized-routines expf,
// n = round(x/ln2) and a degree-5 polynomial, in fused multiply-adds.
fn vexpf(x: f32) -> f32 {
    let r = 0x1.8p23f;
    let z = fma_x(x, 0x1.715476p+0f, r);
    let n = opaque(z) - r;
    let b = fma_x(-n, 0x1.7f7d1cp-20f, fma_x(-n, 0x1.62e4p-1f, x));
    let e = bitcast<u32>(z) << 23u;
    let k = bitcast<f32>(e + 0x3f800000u);
    // the products as gpu-numerics' exact.wgsl writes them (fma_x makes its
    // operands opaque): with opaque() around them here the H100 differed
    // from ggml_v_expf in 1073 of 16384 cases (|x| above about 7), while
    // gpu-numerics' vexpf was exact there (gpu/NUMERICS.md)
    let u = b * b;
    let j = fma_x(fma_x(fma_x(0x1.0e402p-7f, b, 0x1.573e2ep-5f), u, fma_x(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
        u, 0x1.ffffecp-1f * b);
    if (!(abs(n) > 126.0)) {
        return fma_x(j, k, k);
    }
    var g = 0u;
    if (n <= 0.0) {
        g = 0x82000000u;
    }
    let s1 = bitcast<f32>(g + 0x7f000000u);
    if (abs(n) > 192.0) {
        return s1 * s1;
    }
    let s2 = bitcast<f32>(e - g);
    return fma_x(s2, j, s2) * s1;
}

// silu_x is x / (1 + e^-x) as the CPU's SwiGLU computes it (ggml's
// ggml_vec_swiglu_f32 on AVX2): ggml_v_expf for the elements of whole
// blocks of 8 from the start of the row (gi < n8), the correctly rounded
// expf for the rest, and a correctly rounded division.
fn silu_x(x: f32, gi: u32, n8: u32) -> f32 {
    var e: f32;
    if (gi < n8) {
        e = vexpf(-x);
    } else {
        e = expf_rn(-x);
    }
    return div_rn(x, 1.0 + e);
}
