// The interface and outputs shared by gemm.wgsl and gemm_kt.wgsl: the GP
// uniform and the bindings, PART's slice offset, the SwiGLU activation,
// the per-mode stores of a thread's register block and the weight row of a
// tile row. The including kernel includes round.wgsl too and defines BM and
// one of the mode defines (STORE, PART, ADD, SILUMUL, SWIGLU).

struct GP {
    rows: u32,       // output rows in this dispatch
    cols: u32,       // elements per row
    row_bytes: u32,  // bytes per weight row
    y_off: u32,      // first output element
    y_stride: u32,   // output elements per token
    half: u32,       // SWIGLU: row offset of the up half
    ks: u32,         // columns per split (a multiple of BK), or >= cols
    tiles: u32,      // row tiles (grid x is tiles * splits)
    part_stride: u32, // PART: elements between the splits' slices of Y
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: GP;
@group(0) @binding(4) var<storage, read> S: Step;

var<private> part_off: u32; // PART: this split's slice of Y

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
