// Top-k pick for sampling: R[0..KMAX) = the indexes of the KMAX largest of
// L[0..n) in descending order (ties by ascending index, the sampler's
// order: engine/sample byLogitDesc), R[KMAX..2*KMAX) their values' bits,
// R[2*KMAX] = the step's token count; the host samples among the first k,
// so only these few hundred bytes come back per token. Slots past n hold
// nothing (index NONE).
//
// Workgroup w takes the pieces of PIECE logits w, w + nwg, ...: each piece
// is sorted in workgroup memory (a bitonic network) and its first KMAX
// merged with the workgroup's running first KMAX (a sort of 2*KMAX). The
// workgroup leaves those in C; the last workgroup to finish (counted in
// C[0], as argmax.wgsl does) sorts every workgroup's KMAX and writes the
// first K. The order is total, so the result does not depend on which
// workgroup finishes when.

struct KP {
    n: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> L: array<f32>;
@group(0) @binding(1) var<storage, read_write> R: array<u32>;
@group(0) @binding(2) var<uniform> P: KP;
@group(0) @binding(3) var<storage, read> S: Step;
// C[0] counts finished workgroups; workgroup w's candidates: value bits at
// 1 + 2*(w*KMAX + j), index at 2 + 2*(w*KMAX + j) (through atomics: the
// last workgroup must not read a stale cache line)
@group(0) @binding(4) var<storage, read_write> C: array<atomic<u32>>;

const WG: u32 = 256u;
const KMAX: u32 = 64u;
const PIECE: u32 = 1024u;
const SLOTS: u32 = 2048u; // workgroup memory: a piece and a running list, or the final sort
const NONE: u32 = 0xffffffffu;
var<workgroup> sv: array<f32, SLOTS>;
var<workgroup> si: array<u32, SLOTS>;
var<workgroup> last: u32;

// beats says whether candidate (v, i) comes before (w, j): a larger value,
// or the same value at a lower index; NONE comes after everything.
fn beats(v: f32, i: u32, w: f32, j: u32) -> bool {
    return i != NONE && (j == NONE || v > w || (v == w && i < j));
}

// sort_desc sorts slots [0, m) (m a power of two, at most SLOTS) so that
// each slot beats the next, with a bitonic network; every thread takes
// part (it must be called in uniform control flow).
fn sort_desc(lid: u32, m: u32) {
    workgroupBarrier();
    for (var k = 2u; k <= m; k <<= 1u) {
        for (var j = k >> 1u; j > 0u; j >>= 1u) {
            for (var t = lid; t < m / 2u; t += WG) {
                // pair (a, a + j) of the m/2 comparisons
                let a = 2u * t - (t & (j - 1u));
                let b = a + j;
                // blocks of k alternate direction so that each k-block is
                // bitonic for the next merge; the whole ends descending
                let down = (a & k) == 0u;
                let swap = select(beats(sv[a], si[a], sv[b], si[b]), beats(sv[b], si[b], sv[a], si[a]), down);
                if (swap) {
                    let tv = sv[a];
                    let ti = si[a];
                    sv[a] = sv[b];
                    si[a] = si[b];
                    sv[b] = tv;
                    si[b] = ti;
                }
            }
            workgroupBarrier();
        }
    }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>,
        @builtin(num_workgroups) nwv: vec3<u32>) {
    let lid = lidv.x;
    let n = P.n;
    let nwg = nwv.x;
    // the running first KMAX live in slots [PIECE, PIECE + KMAX)
    for (var j = lid; j < KMAX; j += WG) {
        sv[PIECE + j] = 0.0;
        si[PIECE + j] = NONE;
    }
    let pieces = (n + PIECE - 1u) / PIECE;
    for (var p = wid.x; p < pieces; p += nwg) {
        // the piece into [0, PIECE)
        for (var j = lid; j < PIECE; j += WG) {
            let i = p * PIECE + j;
            sv[j] = select(0.0, L[min(i, n - 1u)], i < n);
            si[j] = select(NONE, i, i < n);
        }
        sort_desc(lid, PIECE);
        // its first KMAX next to the running ones, sorted together
        for (var j = lid; j < KMAX; j += WG) {
            sv[KMAX + j] = sv[PIECE + j];
            si[KMAX + j] = si[PIECE + j];
        }
        sort_desc(lid, 2u * KMAX);
        for (var j = lid; j < KMAX; j += WG) {
            sv[PIECE + j] = sv[j];
            si[PIECE + j] = si[j];
        }
        workgroupBarrier();
    }
    for (var j = lid; j < KMAX; j += WG) {
        let c = 1u + 2u * (wid.x * KMAX + j);
        atomicStore(&C[c], bitcast<u32>(sv[PIECE + j]));
        atomicStore(&C[c + 1u], si[PIECE + j]);
    }
    // the candidates before the count; the count before the last
    // workgroup's reads
    storageBarrier();
    if (lid == 0u) {
        last = select(0u, 1u, atomicAdd(&C[0], 1u) == nwg - 1u);
    }
    if (workgroupUniformLoad(&last) == 0u) {
        return;
    }
    storageBarrier();
    var m = KMAX;
    while (m < nwg * KMAX) {
        m <<= 1u;
    }
    for (var j = lid; j < m; j += WG) {
        if (j < nwg * KMAX) {
            sv[j] = bitcast<f32>(atomicLoad(&C[1u + 2u * j]));
            si[j] = atomicLoad(&C[2u + 2u * j]);
        } else {
            sv[j] = 0.0;
            si[j] = NONE;
        }
    }
    sort_desc(lid, m);
    for (var j = lid; j < KMAX; j += WG) {
        R[j] = si[j];
        R[KMAX + j] = bitcast<u32>(sv[j]);
    }
    if (lid == 0u) {
        atomicStore(&C[0], 0u); // ready for the next step
        R[2u * KMAX] = S.n_tok;
    }
}
