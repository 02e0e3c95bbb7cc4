// Tiled dequantize + matrix-matrix product for a batch of tokens (prefill):
// Y[tok][row] = sum_k W[row][k] * X[tok][k]. A workgroup owns BM weight
// rows x BN tokens. For every BK-column step it dequantizes its W tile
// once into workgroup memory (unit_store, derived from the type's
// unit_vals), loads the X tile next to it, and each thread accumulates a
// register block of (4*RB rows) x (4*CB tokens).
//
// Output modes (one of): STORE, ADD (residual), SILUMUL (y = silu(dot) * y)
// or SWIGLU (rows r and r+half of the weight: y = silu(gate) * up; the tile
// then holds BM/2 gate rows interleaved with their BM/2 up rows).
// BM, BN, BK, RB, CB, NR = BM/(4*RB), NC = BN/(4*CB), WG = NR*NC and the
// array sizes WSN = BK*WST, XSN = BK*XST come from prefill.go, which also
// writes the register-block code at the //@ lines (gemmRegisters), UNROLL
// steps of kk at a time. WST = BM/4 + PAD and XST = BN/4 + PAD are the tile
// rows' strides in vec4s (PAD = 1 moves consecutive k rows to other banks).
// XV = 0: the X tile loads one vec4 per token row per thread, consecutive
// threads on consecutive tokens; XV = n: n consecutive vec4s of a token row
// on consecutive threads (coalesced: 16n bytes per row). WC = 1: the W tile's
// units are handed out row-major (consecutive threads on consecutive units
// of one row, coalesced when a step holds several units of a row).
// RS = 1: the raw weight blocks under the tile are first copied into
// workgroup memory (Wr, consecutive threads on consecutive words of a row:
// coalesced), once per block, and unit_store reads them there (prefill.go
// points common.wgsl's readers at Wr). PF = 1 (with RS): see fetch.
// Split K (PART): the grid's x holds P.tiles row tiles for each of the
// splits; split p sums columns p*ks .. (p+1)*ks and stores its partial
// sums to slice p of Y (p*part_stride + tok*y_stride + row), which
// gemm_combine.wgsl folds in a fixed order into the real output.

//#include gemm_io

const NSUB: u32 = BLOCK_ELEMS / UNIT;
const BM4: u32 = BM / 4u;
const BN4: u32 = BN / 4u;

// Ws[k * WST + r / 4][r % 4]: W tile, transposed; Xs likewise for tokens.
// DB (double buffer): two of each, WSA = 2*WSN and XSA = 2*XSN.
var<workgroup> Ws: array<vec4<f32>, WSA>;
var<workgroup> Xs: array<vec4<f32>, XSA>;
var<private> wsb: u32; // Ws buffer being written
//#if RS
// raw blocks of one step (or of the block a step lies in): RW words per
// tile row, room for the blocks, a misaligned start and rd32's overshoot,
// made odd so that the threads of a warp (consecutive rows, same offset)
// read different banks
const RW: u32 = ((((BK + BLOCK_ELEMS - 1u) / BLOCK_ELEMS) * BLOCK_BYTES + 3u) / 4u + 1u) | 1u;
const RWN: u32 = BM * RW;
var<workgroup> Wr: array<u32, RWN>;
//#endif

// DQ threads share a unit: thread dq_sub stores elements
// dq_sub*UNIT/DQ .. (dq_sub+1)*UNIT/DQ - 1 of it.
var<private> dq_sub: u32;

fn dq_take(i: u32) -> bool {
    return i / (UNIT / DQ) == dq_sub;
}

fn ws_put(r: u32, k: u32, v: f32) {
    Ws[wsb + k * WST + r / 4u][r % 4u] = v;
}

//#include round

// load_tile dequantizes the W tile and loads the X tile of columns
// k0..k0+BK into buffer buf of Ws and Xs.
fn load_tile(k0: u32, buf: u32, lid: u32, rt: u32, t0: u32, ntok: u32) {
    let cols = P.cols;
    wsb = buf * WSN;
    let xsb = buf * XSN;
//#if RS
//#if PF
//#else
    // stage the raw blocks when this step starts a block (with blocks
    // longer than BK, later steps dequantize from the same copy)
    if (k0 % BLOCK_ELEMS == 0u) {
        for (var i = lid; i < BM * RW; i += WG) {
            let wr = wrow(rt, i / RW);
            if (wr.y == 1u) {
                let g0 = wr.x * P.row_bytes + (k0 / BLOCK_ELEMS) * BLOCK_BYTES;
                Wr[i] = W[(g0 >> 2u) + i % RW];
            }
        }
        workgroupBarrier();
    }
//#endif
//#endif
    // W tile: BM rows x BK/UNIT units
    for (var u0 = lid; u0 < BM * (BK / UNIT) * DQ; u0 += WG) {
        let u = u0 / DQ;
        dq_sub = u0 % DQ;
//#if WC
        let lr = u / (BK / UNIT);
        let su = u % (BK / UNIT);
//#else
        let lr = u % BM;
        let su = u / BM;
//#endif
        let c = k0 + su * UNIT;
        let wr = wrow(rt, lr);
        if (wr.y == 1u && c < cols) {
//#if RS
            // the same byte alignment as in W, so rd16 never straddles
            let g0 = wr.x * P.row_bytes + (k0 / BLOCK_ELEMS) * BLOCK_BYTES;
            let bo = lr * RW * 4u + (g0 & 3u) + (c / BLOCK_ELEMS - k0 / BLOCK_ELEMS) * BLOCK_BYTES;
//#else
            let bo = wr.x * P.row_bytes + (c / BLOCK_ELEMS) * BLOCK_BYTES;
//#endif
            unit_store(bo, (c % BLOCK_ELEMS) / UNIT, lr, su * UNIT);
        } else {
            for (var j = 0u; j < UNIT; j++) {
                if (dq_take(j)) {
                    ws_put(lr, su * UNIT + j, 0.0);
                }
            }
        }
    }
//#if PF
//#else
    // X tile: BN tokens x BK/4 vec4s
    for (var i = lid; i < BN * (BK / 4u); i += WG) {
        xs_put(xsb, i, x_get(k0, i, t0, ntok));
    }
//#endif
}

// x_tk maps X tile element i (a vec4) to (token, vec4 column).
fn x_tk(i: u32) -> vec2<u32> {
//#if XV
    // XV consecutive vec4s of one token row on consecutive threads
    return vec2<u32>((i / XV) % BN, (i / (XV * BN)) * XV + i % XV);
//#else
    // consecutive threads on consecutive tokens
    return vec2<u32>(i % BN, i / BN);
//#endif
}

// x_get reads X tile element i of the step at column k0 (0 outside X).
fn x_get(k0: u32, i: u32, t0: u32, ntok: u32) -> vec4<f32> {
    let tk = x_tk(i);
    var v = vec4<f32>(0.0);
    if (t0 + tk.x < ntok && k0 + 4u * tk.y < P.cols) {
        v = X[(t0 + tk.x) * (P.cols / 4u) + k0 / 4u + tk.y];
    }
    return v;
}

// xs_put stores X tile element i, transposed, into the buffer at xsb.
fn xs_put(xsb: u32, i: u32, v: vec4<f32>) {
    let tk = x_tk(i);
    let b = xsb + 4u * tk.y * XST + tk.x / 4u;
    let e = tk.x % 4u;
    Xs[b][e] = v.x;
    Xs[b + XST][e] = v.y;
    Xs[b + 2u * XST][e] = v.z;
    Xs[b + 3u * XST][e] = v.w;
}

//#if PF
// PF: the next step's global loads (its raw blocks when it starts a block,
// and its X tile) go to registers before this step's multiply and to
// workgroup memory after it, so their latency hides behind the FMAs.
const NPF: u32 = (RWN + WG - 1u) / WG;
const XN: u32 = BN * (BK / 4u);
const XPF: u32 = (XN + WG - 1u) / WG;
var<private> rw: array<u32, NPF>;
var<private> xr: array<vec4<f32>, XPF>;

fn fetch(k0: u32, lid: u32, rt: u32, t0: u32, ntok: u32) {
    if (k0 % BLOCK_ELEMS == 0u) {
        for (var j = 0u; j < NPF; j++) {
            let i = lid + j * WG;
            var v = 0u;
            if (i < RWN) {
                let wr = wrow(rt, i / RW);
                if (wr.y == 1u) {
                    let g0 = wr.x * P.row_bytes + (k0 / BLOCK_ELEMS) * BLOCK_BYTES;
                    v = W[(g0 >> 2u) + i % RW];
                }
            }
            rw[j] = v;
        }
    }
    for (var j = 0u; j < XPF; j++) {
        let i = lid + j * WG;
        var v = vec4<f32>(0.0);
        if (i < XN) {
            v = x_get(k0, i, t0, ntok);
        }
        xr[j] = v;
    }
}

fn put_fetched(k0: u32, lid: u32) {
    if (k0 % BLOCK_ELEMS == 0u) {
        for (var j = 0u; j < NPF; j++) {
            let i = lid + j * WG;
            if (i < RWN) {
                Wr[i] = rw[j];
            }
        }
    }
    for (var j = 0u; j < XPF; j++) {
        let i = lid + j * WG;
        if (i < XN) {
            xs_put(0u, i, xr[j]);
        }
    }
}
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
    let lid = lidv.x;
    let part = wid.x / P.tiles;
    let rt = wid.x % P.tiles;
    part_off = part * P.part_stride;
    let t0 = wid.y * BN;
    let ntok = S.n_tok;
    if (t0 >= ntok) {
        return;
    }
    let tr = lid % NR;
    let tc = lid / NR;
    let kb = part * P.ks;
    let ke = min(P.cols, kb + P.ks);

    // acc_R_J: tile row group R (4 rows), token group J (4 tokens)
//@DECL

    var cur = 0u;
//#if PF
    fetch(kb, lid, rt, t0, ntok);
//#endif
//#if DB
    // double buffer: tile k+1 loads while tile k is multiplied
    load_tile(kb, 0u, lid, rt, t0, ntok);
    workgroupBarrier();
//#endif
    for (var k0 = kb; k0 < ke; k0 += BK) {
//#if DB
        if (k0 + BK < ke) {
            load_tile(k0 + BK, 1u - cur, lid, rt, t0, ntok);
        }
//#else
//#if NOLOAD
        if (k0 == kb) {
//#endif
//#if PF
        put_fetched(k0, lid);
        workgroupBarrier();
        load_tile(k0, 0u, lid, rt, t0, ntok);
        if (k0 + BK < ke) {
            fetch(k0 + BK, lid, rt, t0, ntok);
        }
//#else
        load_tile(k0, 0u, lid, rt, t0, ntok);
//#endif
        workgroupBarrier();
//#if NOLOAD
        }
//#endif
//#endif
//#if NOCOMP
        if (k0 == kb) {
//#endif
        for (var kk = 0u; kk < BK; kk += UNROLL) {
            let wb = cur * WSN + kk * WST + tr;
            let xb = cur * XSN + kk * XST + tc;
//@COMPUTE
        }
//#if NOCOMP
        }
//#endif
        workgroupBarrier();
//#if DB
        cur = 1u - cur;
//#endif
    }

//@STORE
}
