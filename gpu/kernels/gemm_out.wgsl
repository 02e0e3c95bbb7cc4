// GEMM outputs shared by gemm.wgsl and gemm_kt.wgsl (included after
// round.wgsl): the SwiGLU activation, the per-mode stores of a thread's
// register block and the weight row of a tile row. The including kernel
// defines BM, the GP uniform P, Y, part_off and one of the mode defines
// (STORE, PART, ADD, SILUMUL, SWIGLU).
// silu is the CPU's SwiGLU activation bit for bit (round.wgsl's silu_x:
// ggml_v_expf on whole blocks of 8 of the row, expf after); gi is the
// element's index in its token's row of y_stride elements.
fn silu(x: f32, gi: u32) -> f32 {
    return silu_x(x, gi, P.y_stride / 8u * 8u);
}

// put writes the 4 tokens tb.. of output row o (bounds-checked).
fn put(o: u32, tb: u32, ntok: u32, v: vec4<f32>) {
    if (o >= P.rows) {
        return;
    }
    for (var e = 0u; e < 4u; e++) {
        if (tb + e >= ntok) {
            return;
        }
        let yi = P.y_off + (tb + e) * P.y_stride + o;
//#if STORE
        Y[yi] = v[e];
//#endif
//#if PART
        Y[part_off + yi] = v[e];
//#endif
//#if ADD
        Y[yi] = Y[yi] + v[e];
//#endif
//#if SILUMUL
        Y[yi] = silu(v[e], P.y_off + o) * Y[yi];
//#endif
//#if SWIGLU
        Y[yi] = v[e];
//#endif
    }
}

// store writes row group g (tile rows 4g..4g+3) for tokens tb..tb+3.
fn store(rt: u32, g: u32, tb: u32, ntok: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>) {
//#if SWIGLU
    let o = rt * (BM / 2u) + 2u * g;
    put(o, tb, ntok, silu4(a0, P.y_off + o) * a2);
    put(o + 1u, tb, ntok, silu4(a1, P.y_off + o + 1u) * a3);
//#else
    let o = rt * BM + 4u * g;
    put(o, tb, ntok, a0);
    put(o + 1u, tb, ntok, a1);
    put(o + 2u, tb, ntok, a2);
    put(o + 3u, tb, ntok, a3);
//#endif
}

// silu4 is silu of one row's element gi for four tokens.
fn silu4(x: vec4<f32>, gi: u32) -> vec4<f32> {
    return vec4<f32>(silu(x.x, gi), silu(x.y, gi), silu(x.z, gi), silu(x.w, gi));
}

// wrow maps (logical) tile row lr of row tile rt to (weight row, valid).
fn wrow(rt: u32, lr: u32) -> vec2<u32> {
//#if SWIGLU
    // groups of 4 tile rows: gate rows o, o+1, then up rows o, o+1
    let o = rt * (BM / 2u) + 2u * (lr / 4u) + (lr % 2u);
    let up = select(0u, P.half, (lr % 4u) >= 2u);
    return vec2<u32>(o + up, select(0u, 1u, o < P.rows));
//#else
    let o = rt * BM + lr;
    return vec2<u32>(o, select(0u, 1u, o < P.rows));
//#endif
}
