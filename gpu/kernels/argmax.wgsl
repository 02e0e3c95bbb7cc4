// Greedy pick: R[0] = index of the largest of L[0..n) (lowest index among
// equal maxima), R[1] = its value's bits, R[2] = the step's token count;
// the step S becomes the next greedy one. Workgroup w takes the UNR*WG
// logits from w*UNR*WG on, UNR loads in flight a thread, and leaves its
// candidate in C; the last workgroup to finish (counted in C[0]) picks
// among them. One workgroup with all the logits took 16 us on an H100 for
// 32,000 of them: 16 rounds of loads one after another. The ordering rule
// `beats` makes the result independent of the order in which candidates
// meet.

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
// C[0] counts finished workgroups; workgroup w's candidate: value bits at
// 1 + 2w, index at 2 + 2w (through atomics: the last workgroup must not
// read a stale cache line)
@group(0) @binding(4) var<storage, read_write> C: array<atomic<u32>>;

const WG: u32 = 256u;
const UNR: u32 = 4u;
var<workgroup> bv: array<f32, WG>;
var<workgroup> bi: array<u32, WG>;
var<workgroup> last: u32;

//#include pick

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

// pick leaves the workgroup's best candidate (from v, i of each thread)
// in bv[0], bi[0].
fn pick(lid: u32, v: f32, i: u32) {
    bv[lid] = v;
    bi[lid] = i;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if (lid < k && beats(bv[lid + k], bi[lid + k], bv[lid], bi[lid])) {
            bv[lid] = bv[lid + k];
            bi[lid] = bi[lid + k];
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>,
        @builtin(num_workgroups) nwv: vec3<u32>) {
    let lid = lidv.x;
    let n = P.n;
    // UNR = 4 candidates in named variables (an array indexed by a loop
    // counter may live in local memory)
    var v0 = -3.4e38; var v1 = -3.4e38; var v2 = -3.4e38; var v3 = -3.4e38;
    var i0 = NONE; var i1 = NONE; var i2 = NONE; var i3 = NONE;
    let b = wid.x * WG * UNR + lid;
    take(&v0, &i0, b, n);
    take(&v1, &i1, b + WG, n);
    take(&v2, &i2, b + 2u * WG, n);
    take(&v3, &i3, b + 3u * WG, n);
    merge(&v0, &i0, v1, i1);
    merge(&v2, &i2, v3, i3);
    merge(&v0, &i0, v2, i2);
    pick(lid, v0, i0);
    if (lid == 0u) {
        atomicStore(&C[1u + 2u * wid.x], bitcast<u32>(bv[0]));
        atomicStore(&C[2u + 2u * wid.x], bi[0]);
    }
    // the candidate before the count; the count before the last
    // workgroup's reads
    storageBarrier();
    if (lid == 0u) {
        last = select(0u, 1u, atomicAdd(&C[0], 1u) == nwv.x - 1u);
    }
    if (workgroupUniformLoad(&last) == 0u) {
        return;
    }
    storageBarrier();
    var v = -3.4e38;
    var i = NONE;
    for (var w = lid; w < nwv.x; w += WG) {
        merge(&v, &i, bitcast<f32>(atomicLoad(&C[1u + 2u * w])), atomicLoad(&C[2u + 2u * w]));
    }
    pick(lid, v, i);
    if (lid == 0u) {
        atomicStore(&C[0], 0u); // ready for the next step
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
