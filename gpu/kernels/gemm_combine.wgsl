// Split-K combine for the prefill GEMM (gemm.wgsl's PART mode): output
// row o of token t is the sum of the splits' partial sums, folded in split
// order (deterministic), then stored (STORE) or added to Y (ADD).

struct CP {
    rows: u32,        // output rows
    y_off: u32,       // first output element
    y_stride: u32,    // output elements per token
    splits: u32,      // number of partial slices
    part_stride: u32, // elements between slices (each slice: tok * rows + row)
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> Pt: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> C: CP;
@group(0) @binding(3) var<storage, read> S: Step;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let o = wid.x * 256u + lid.x;
    let t = wid.y;
    if (o >= C.rows || t >= S.n_tok) {
        return;
    }
    let pi = t * C.rows + o;
    var s = Pt[pi];
    for (var p = 1u; p < C.splits; p++) {
        s = s + Pt[p * C.part_stride + pi];
    }
    let yi = C.y_off + t * C.y_stride + o;
//#if STORE
    Y[yi] = s;
//#endif
//#if ADD
    Y[yi] = Y[yi] + s;
//#endif
}
