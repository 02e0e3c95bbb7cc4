// Greedy pick: R[0] = index of the largest of L[0..n) (lowest index among
// equal maxima), R[1] = its value's bits. One workgroup.

struct XP {
    n: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> L: array<f32>;
@group(0) @binding(1) var<storage, read_write> R: array<u32>;
@group(0) @binding(2) var<uniform> P: XP;
@group(0) @binding(3) var<storage, read> S: Step;

const WG: u32 = 256u;
var<workgroup> bv: array<f32, WG>;
var<workgroup> bi: array<u32, WG>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lidv: vec3<u32>) {
    let lid = lidv.x;
    var v = -3.4e38;
    var idx = 0xffffffffu;
    for (var i = lid; i < P.n; i += WG) {
        let x = L[i];
        if (x > v || idx == 0xffffffffu) {
            v = x;
            idx = i;
        }
    }
    bv[lid] = v;
    bi[lid] = idx;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if (lid < k) {
            let ov = bv[lid + k];
            let oi = bi[lid + k];
            if (oi != 0xffffffffu && (bi[lid] == 0xffffffffu || ov > bv[lid] || (ov == bv[lid] && oi < bi[lid]))) {
                bv[lid] = ov;
                bi[lid] = oi;
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        R[0] = bi[0];
        R[1] = bitcast<u32>(bv[0]);
        R[2] = S.n_tok;
    }
}
