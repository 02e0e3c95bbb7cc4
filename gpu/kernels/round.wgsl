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

fn f16round(v: f32) -> f32 {
    return unpack2x16float(pack2x16float(vec2<f32>(v, 0.0))).x;
}

fn bf16round(v: f32) -> f32 {
    let u = bitcast<u32>(v);
    return bitcast<f32>((u + 0x7fffu + ((u >> 16u) & 1u)) & 0xffff0000u);
}

// opaque returns x unchanged in a way the compiler cannot see through
// (S.pad0 is always 0): shader compilers treat float arithmetic as
// associative unless told otherwise (Mesa's NIR folds (p + c) - p to c),
// which would turn the error terms below into 0, and may contract a*b+c.
fn opaque(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ S.pad0);
}

// two_sum returns (s, e) with s = a + b rounded and a + b = s + e exactly.
fn two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = opaque(a + b);
    let bb = s - a;
    return vec2<f32>(s, (a - (s - bb)) + (b - bb));
}

// two_prod returns (p, e) with p = a * b rounded and a * b = p + e exactly.
fn two_prod(a: f32, b: f32) -> vec2<f32> {
    let p = opaque(a * b);
    if (FMA_NATIVE) {
        return vec2<f32>(p, fma(a, b, -p));
    }
    // halves of at most 12 significant bits multiply exactly (Veltkamp's
    // t - (t - a) split would be folded to a by the compiler)
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
        return fma(a, b, c);
    }
    let p = two_prod(a, b);
    let s = two_sum(p.x, c);
    return s.x + (s.y + p.y);
}

// div_rn returns a/b correctly rounded (one Newton correction of the
// hardware quotient, which WebGPU allows to be 2.5 ulp off).
fn div_rn(a: f32, b: f32) -> f32 {
    let q = a / b;
    return q + fma_x(-q, b, a) / b;
}

// sqrt_rn returns sqrt(x) correctly rounded (x > 0).
fn sqrt_rn(x: f32) -> f32 {
    let s = sqrt(x);
    return s + fma_x(-s, s, x) / (2.0 * s);
}

// mean_rn returns (hi + lo) / n correctly rounded for a compensated sum
// (hi, lo) with |lo| <= ulp(hi): the CPU's float64 mean of squares rounded
// to float32.
fn mean_rn(tot: vec2<f32>, n: f32) -> f32 {
    let q = tot.x / n;
    return q + (fma_x(-q, n, tot.x) + tot.y) / n;
}

// Double-float32 (hi, lo) arithmetic, about 48 bits.

// quick_two_sum normalizes a + b with |a| >= |b|.
fn quick_two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = opaque(a + b);
    return vec2<f32>(s, b - (s - a));
}

fn df_add(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let s = two_sum(a.x, b.x);
    return quick_two_sum(s.x, s.y + (a.y + b.y));
}

fn df_mul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let p = two_prod(a.x, b.x);
    return quick_two_sum(p.x, p.y + (opaque(a.x * b.y) + opaque(a.y * b.x)));
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
    let u = opaque(b * b);
    let j = fma_x(fma_x(fma_x(0x1.0e402p-7f, b, 0x1.573e2ep-5f), u, fma_x(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
        u, opaque(0x1.ffffecp-1f * b));
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
