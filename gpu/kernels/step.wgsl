// Per-Eval parameters, written once per Eval with a single queue write.
struct Step {
    n_tok: u32,  // tokens in this batch
    pos: u32,    // position of the first token
    pad0: u32,
    pad1: u32,
    toks: array<u32>,  // token ids
}
