// Helpers shared by every weight type. W is the weight buffer holding raw
// GGUF blocks as little-endian u32 words; blocks need not be 4-byte aligned,
// so bytes and halves are cut out of the words that hold them. Buffers are
// padded with one spare word so rd32 may read past the last block.

fn rd8(b: u32) -> u32 {
    return (W[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

// rd16 reads a u16 at an even byte offset (never straddles a word).
fn rd16(b: u32) -> u32 {
    return (W[b >> 2u] >> ((b & 2u) * 8u)) & 0xffffu;
}

// rd32 reads four bytes at any byte offset.
fn rd32(b: u32) -> u32 {
    let s = (b & 3u) * 8u;
    let w0 = W[b >> 2u];
    if (s == 0u) {
        return w0;
    }
    return (w0 >> s) | (W[(b >> 2u) + 1u] << (32u - s));
}

fn f16at(b: u32) -> f32 {
    return unpack2x16float(rd16(b)).x;
}

fn i8of(v: u32) -> f32 {
    return f32(i32(v << 24u) >> 24u);
}
