// Weight prefetch of the mvd kernel (PF, HEARTH_GPU_MVD_PF=N): before the
// activation prep each thread loads one word of up to PF 32-byte sectors of
// its row (sectors tl, tl+TPR, ...), so the row's DRAM reads are in flight
// while the workgroup builds its input; the tasks then find the weights in
// the caches. The words feed only pf_sink, whose condition cannot hold
// (P.pad is 0), so results are unchanged.

struct PFV {
    a: vec4<u32>,
    b: vec4<u32>,
}

fn pf_word(o: u32, end: u32) -> u32 {
    if (o < end) {
//#if W4
        return W[o >> 4u].x;
//#else
        return W[o >> 2u];
//#endif
    }
    return 0u;
}

// pf_issue loads the sectors of the row bytes [rb, end) this thread covers.
fn pf_issue(rb: u32, end: u32, tl: u32) -> PFV {
    let s = rb + 32u * tl;
    let st = 32u * TPR;
    var v: PFV;
    v.a.x = pf_word(s, end);
    if (PF > 1u) { v.a.y = pf_word(s + st, end); }
    if (PF > 2u) { v.a.z = pf_word(s + 2u * st, end); }
    if (PF > 3u) { v.a.w = pf_word(s + 3u * st, end); }
    if (PF > 4u) { v.b.x = pf_word(s + 4u * st, end); }
    if (PF > 5u) { v.b.y = pf_word(s + 5u * st, end); }
    if (PF > 6u) { v.b.z = pf_word(s + 6u * st, end); }
    if (PF > 7u) { v.b.w = pf_word(s + 7u * st, end); }
    return v;
}

// pf_sink uses the loaded words; always false.
fn pf_sink(v: PFV) -> bool {
    let x = v.a ^ v.b;
    return ((x.x ^ x.y ^ x.z ^ x.w) & P.pad) == 1u;
}
