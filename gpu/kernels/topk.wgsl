// Top-k pick for sampling: R[0..KMAX) = the indexes of the KMAX largest of
// L[0..n) in descending order (ties by ascending index, the sampler's
// order: engine/sample byLogitDesc), R[KMAX..2*KMAX) their values' bits,
// R[2*KMAX] = the step's token count; the host samples among the first k,
// so only these few hundred bytes come back per token. Slots past n hold
// nothing (index NONE).
//
// Workgroup w takes the pieces of PIECE logits w, w + nwg, ...: each piece
// is sorted into runs of KMAX in workgroup memory (a bitonic network's
// first stages), the runs merged pairwise down to the piece's first KMAX
// (the slot-wise better of two runs sorted opposite ways holds their
// first KMAX and is bitonic, so one bitonic merge sorts it), and that
// merged with the workgroup's running first KMAX. The workgroup leaves
// those in C; the last workgroup to finish (counted in C[0], as
// argmax.wgsl does) merges every workgroup's run the same way and writes
// the first KMAX. The order is total, so the result does not depend on
// which workgroup finishes when. A full sort of each piece and of the
// final candidates took about 150 barrier-separated steps; this takes
// about 90.

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
var<workgroup> sv: array<f32, SLOTS>;
var<workgroup> si: array<u32, SLOTS>;
var<workgroup> last: u32;

//#include pick

// A run is KMAX consecutive slots, sorted: by the convention here run r
// is sorted so that each slot beats the next when r is even ("down") and
// the other way when r is odd, as a bitonic network leaves its blocks.

// order_pair puts slots a and b (a < b) in the order of a run that goes
// down (each slot beats the next) or up.
fn order_pair(a: u32, b: u32, down: bool) {
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

// sort_runs sorts slots [0, m) (m a multiple of KMAX) into runs of KMAX
// with a bitonic network's first stages; every thread takes part (call it
// in uniform control flow).
fn sort_runs(lid: u32, m: u32) {
    workgroupBarrier();
    for (var k = 2u; k <= KMAX; k <<= 1u) {
        for (var j = k >> 1u; j > 0u; j >>= 1u) {
            for (var t = lid; t < m / 2u; t += WG) {
                let a = 2u * t - (t & (j - 1u));
                order_pair(a, a + j, (a & k) == 0u);
            }
            workgroupBarrier();
        }
    }
}

// merge_runs halves nr runs (a power of two, 2 <= nr <= 32) in slots
// [0, nr*KMAX): runs 2i (down) and 2i+1 (up) become run i holding the
// first KMAX of both, down for even i, up for odd, down when it is the
// only one. The slot-wise better of a down and an up run is bitonic and
// holds their first KMAX; a bitonic merge sorts it.
fn merge_runs(lid: u32, nr: u32) {
    let np = nr / 2u * KMAX; // slots of the result
    var bv: array<f32, 4>;   // np <= 16 * KMAX = 4 * WG
    var bi: array<u32, 4>;
    for (var q = 0u; q < 4u; q++) {
        let t = lid + q * WG;
        if (t < np) {
            let a = (t / KMAX) * 2u * KMAX + t % KMAX;
            let b = a + KMAX;
            let ta = beats(sv[a], si[a], sv[b], si[b]);
            bv[q] = select(sv[b], sv[a], ta);
            bi[q] = select(si[b], si[a], ta);
        }
    }
    workgroupBarrier();
    for (var q = 0u; q < 4u; q++) {
        let t = lid + q * WG;
        if (t < np) {
            sv[t] = bv[q];
            si[t] = bi[q];
        }
    }
    workgroupBarrier();
    for (var j = KMAX / 2u; j > 0u; j >>= 1u) {
        for (var t = lid; t < np / 2u; t += WG) {
            let a = 2u * t - (t & (j - 1u));
            order_pair(a, a + j, ((a / KMAX) & 1u) == 0u);
        }
        workgroupBarrier();
    }
}

// reduce_runs merges nr runs (a power of two) into one, down.
fn reduce_runs(lid: u32, nr: u32) {
    for (var r = nr; r > 1u; r >>= 1u) {
        merge_runs(lid, r);
    }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>,
        @builtin(num_workgroups) nwv: vec3<u32>) {
    let lid = lidv.x;
    let n = P.n;
    let nwg = nwv.x;
    // the running first KMAX live in slots [PIECE, PIECE + KMAX), down
    for (var j = lid; j < KMAX; j += WG) {
        sv[PIECE + j] = 0.0;
        si[PIECE + j] = NONE;
    }
    let pieces = (n + PIECE - 1u) / PIECE;
    for (var p = wid.x; p < pieces; p += nwg) {
        for (var j = lid; j < PIECE; j += WG) {
            let i = p * PIECE + j;
            sv[j] = select(0.0, L[min(i, n - 1u)], i < n);
            si[j] = select(NONE, i, i < n);
        }
        sort_runs(lid, PIECE);
        reduce_runs(lid, PIECE / KMAX);
        // the piece's first KMAX (down, run 0) and the running ones
        // reversed (up, run 1) merged into the running ones
        for (var j = lid; j < KMAX; j += WG) {
            sv[2u * KMAX - 1u - j] = sv[PIECE + j];
            si[2u * KMAX - 1u - j] = si[PIECE + j];
        }
        workgroupBarrier();
        merge_runs(lid, 2u);
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
    // every workgroup's run (down), the odd ones reversed (up), padded
    // to a power of two of runs with empty ones, merged into one
    var nr = 1u;
    while (nr < nwg) {
        nr <<= 1u;
    }
    for (var t = lid; t < nr * KMAX; t += WG) {
        let r = t / KMAX;
        let j = t % KMAX;
        let dst = select(t, r * KMAX + KMAX - 1u - j, (r & 1u) == 1u);
        if (r < nwg) {
            sv[dst] = bitcast<f32>(atomicLoad(&C[1u + 2u * t]));
            si[dst] = atomicLoad(&C[2u + 2u * t]);
        } else {
            sv[dst] = 0.0;
            si[dst] = NONE;
        }
    }
    workgroupBarrier();
    if (nr > 1u) {
        reduce_runs(lid, nr);
    }
    for (var j = lid; j < KMAX; j += WG) {
        R[j] = si[j];
        R[KMAX + j] = bitcast<u32>(sv[j]);
    }
    if (lid == 0u) {
        atomicStore(&C[0], 0u); // ready for the next step
        R[2u * KMAX] = S.n_tok;
    }
}
