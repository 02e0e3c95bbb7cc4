// The order argmax.wgsl and topk.wgsl pick logits in (engine/sample's
// byLogitDesc): a larger value first, equal values by lower index. NONE
// marks an empty candidate.

const NONE: u32 = 0xffffffffu;

// beats says whether candidate (v, i) comes before (w, j): a larger value,
// or the same value at a lower index; NONE comes after everything.
fn beats(v: f32, i: u32, w: f32, j: u32) -> bool {
    return i != NONE && (j == NONE || v > w || (v == w && i < j));
}
