package tokenizer

import (
	"strings"
	"sync"
)

// fragment is a piece of the input: raw text [off, off+n) or a special token.
type fragment struct {
	tok    int32 // None for raw text
	off, n int
}

// partition splits text around special tokens like llama.cpp's
// tokenizer_st_partition: every control/user-defined/unknown token (user
// defined ones only, unless parseSpecial), longest first, is cut out of the
// raw text fragments.
func (t *Tokenizer) partition(text string, parseSpecial bool, frags []fragment) []fragment {
	frags = append(frags[:0], fragment{tok: None, off: 0, n: len(text)})
	var next []fragment
	for _, id := range t.special {
		a := t.attrs[id]
		if !parseSpecial && a&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.tokens[id]
		// Quick reject: does any raw fragment contain tok?
		found := false
		for _, f := range frags {
			if f.tok == None && strings.Contains(text[f.off:f.off+f.n], tok) {
				found = true
				break
			}
		}
		if !found {
			continue
		}
		next = next[:0]
		for _, f := range frags {
			if f.tok != None {
				next = append(next, f)
				continue
			}
			off, n := f.off, f.n
			for n > 0 {
				i := strings.Index(text[off:off+n], tok)
				if i < 0 {
					next = append(next, fragment{tok: None, off: off, n: n})
					break
				}
				left := i
				if a&attrLStrip != 0 {
					for left > 0 && isSpaceC(text[off+left-1]) {
						left--
					}
				}
				if left > 0 {
					next = append(next, fragment{tok: None, off: off, n: left})
				}
				next = append(next, fragment{tok: id})
				roff := off + i + len(tok)
				rn := n - i - len(tok)
				if a&attrRStrip != 0 {
					for rn > 0 && isSpaceC(text[roff]) {
						roff++
						rn--
					}
				}
				off, n = roff, rn
			}
		}
		frags, next = next, frags
	}
	return frags
}

// isSpaceC is C's isspace in the "C" locale.
func isSpaceC(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// scratch holds per-call buffers, pooled across Encode calls.
type scratch struct {
	frags  []fragment
	syms   []symbol
	heap   []bigram
	cpts   []rune
	segs   []int
	tmp    []int
	word   []byte
	key    []byte
	escape strings.Builder
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Encode tokenizes text. With addSpecial the tokenizer adds BOS (and EOS)
// when the vocabulary asks for them; with parseSpecial, text spelling a
// control token (like "<s>" or "<|eot_id|>") becomes that token, otherwise it
// is plain text. User-defined tokens are always matched whole.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	out := make([]int32, 0, len(text)/3+2)
	if addSpecial && t.addBOS {
		out = append(out, t.bos)
	}
	if text != "" {
		sc.frags = t.partition(text, parseSpecial, sc.frags)
	} else {
		sc.frags = sc.frags[:0]
	}
	prevSpecial := true
	for _, f := range sc.frags {
		if f.tok != None {
			out = append(out, f.tok)
			prevSpecial = true
			continue
		}
		raw := text[f.off : f.off+f.n]
		if t.kind == kindSPM {
			sc.escape.Reset()
			if t.addSpacePrefix && prevSpecial {
				sc.escape.WriteString("▁")
			}
			for i := 0; i < len(raw); i++ {
				if raw[i] == ' ' {
					sc.escape.WriteString("▁")
				} else {
					sc.escape.WriteByte(raw[i])
				}
			}
			out = t.encodeSPM(sc, sc.escape.String(), out)
		} else {
			out = t.encodeBPE(sc, raw, out)
		}
		prevSpecial = false
	}
	if addSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	return out
}
