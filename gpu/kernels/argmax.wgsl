// Greedy pick: R[0] = index of the largest of L[0..n) (lowest index among
// equal maxima), R[1] = its value's bits, R[2] = the step's token count;
// the step S becomes the next greedy one. One workgroup. Each thread keeps
// UNR candidates from interleaved stripes, so UNR loads are in flight at a
// time instead of one (a single chain of 125 dependent steps took 16 us on
// an H100 for 32,000 logits); the ordering rule `beats` makes the result
// independent of the order in which candidates meet.

struct XP {
    n: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> L: array<f32>;
@group(0) @binding(1) var<storage, read_write> R: array<u32>;
@group(0) @binding(2) var<uniform> P: XP;
@group(0) @binding(3) var<storage, read_write> S: Step;

const WG: u32 = 256u;
const UNR: u32 = 8u;
const NONE: u32 = 0xffffffffu;
var<workgroup> bv: array<f32, WG>;
var<workgroup> bi: array<u32, WG>;

// beats says whether candidate (v, i) wins over (w, j): a larger value, or
// the same value at a lower index; NONE never wins and always loses.
fn beats(v: f32, i: u32, w: f32, j: u32) -> bool {
    return i != NONE && (j == NONE || v > w || (v == w && i < j));
}

// take offers logit i (if it exists) to the candidate (*pv, *pi).
fn take(pv: ptr<function, f32>, pi: ptr<function, u32>, i: u32, n: u32) {
    if (i < n) {
        let x = L[i];
        if (beats(x, i, *pv, *pi)) {
            *pv = x;
            *pi = i;
        }
    }
}

// merge folds candidate (w, j) into (*pv, *pi).
fn merge(pv: ptr<function, f32>, pi: ptr<function, u32>, w: f32, j: u32) {
    if (beats(w, j, *pv, *pi)) {
        *pv = w;
        *pi = j;
    }
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lidv: vec3<u32>) {
    let lid = lidv.x;
    let n = P.n;
    // UNR = 8 candidates in named variables (an array indexed by a loop
    // counter may live in local memory)
    var v0 = -3.4e38; var v1 = -3.4e38; var v2 = -3.4e38; var v3 = -3.4e38;
    var v4 = -3.4e38; var v5 = -3.4e38; var v6 = -3.4e38; var v7 = -3.4e38;
    var i0 = NONE; var i1 = NONE; var i2 = NONE; var i3 = NONE;
    var i4 = NONE; var i5 = NONE; var i6 = NONE; var i7 = NONE;
    for (var b = lid; b < n; b += WG * UNR) {
        take(&v0, &i0, b, n);
        take(&v1, &i1, b + WG, n);
        take(&v2, &i2, b + 2u * WG, n);
        take(&v3, &i3, b + 3u * WG, n);
        take(&v4, &i4, b + 4u * WG, n);
        take(&v5, &i5, b + 5u * WG, n);
        take(&v6, &i6, b + 6u * WG, n);
        take(&v7, &i7, b + 7u * WG, n);
    }
    merge(&v0, &i0, v1, i1);
    merge(&v2, &i2, v3, i3);
    merge(&v4, &i4, v5, i5);
    merge(&v6, &i6, v7, i7);
    merge(&v0, &i0, v2, i2);
    merge(&v4, &i4, v6, i6);
    merge(&v0, &i0, v4, i4);
    bv[lid] = v0;
    bi[lid] = i0;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if (lid < k && beats(bv[lid + k], bi[lid + k], bv[lid], bi[lid])) {
            bv[lid] = bv[lid + k];
            bi[lid] = bi[lid + k];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        R[0] = bi[0];
        R[1] = bitcast<u32>(bv[0]);
        let n_tok = S.n_tok;
        R[2] = n_tok;
        // Leave the next greedy step in the step buffer (one token, the one
        // chosen, at the next position) so that the host can submit it
        // before reading this result back. Argmax is the program's last
        // dispatch: nothing after it reads the step.
        S.toks[0] = bi[0];
        S.pos = S.pos + n_tok;
        S.n_tok = 1u;
    }
}
