package tokenizer

import (
	"math"
	"unicode/utf8"
)

// symbol is one node of the doubly linked list of text pieces that the merge
// loops shrink (llama.cpp's llm_symbol). start/n are byte offsets into the
// word being tokenized.
type symbol struct {
	prev, next int
	start, n   int
}

// bigram is a candidate merge of symbols left and right. key orders the
// queue (smallest first): SPM puts the negated score in the high half
// (highest score first), BPE the merge rank; both the left index in the low
// half (leftmost first), like llama.cpp's comparators.
type bigram struct {
	key         uint64
	left, right int32
	size        int32
}

// spmKey orders by score descending, then left ascending.
func spmKey(score float32, left int) uint64 {
	b := math.Float32bits(score)
	if b&0x80000000 != 0 {
		b = ^b
	} else {
		b |= 0x80000000
	}
	return uint64(^b)<<32 | uint64(uint32(left))
}

// bpeKey orders by rank ascending, then left ascending.
func bpeKey(rank int32, left int) uint64 {
	return uint64(uint32(rank))<<32 | uint64(uint32(left))
}

func heapPush(h []bigram, b bigram) []bigram {
	h = append(h, b)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].key <= b.key {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = b
	return h
}

func heapPop(h []bigram) (bigram, []bigram) {
	top := h[0]
	last := len(h) - 1
	x := h[last]
	h = h[:last]
	n := len(h)
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].key < h[l].key {
			m = r
		}
		if h[m].key >= x.key {
			break
		}
		h[i] = h[m]
		i = m
	}
	if n > 0 {
		h[i] = x
	}
	return top, h
}

// splitSymbols cuts word into UTF-8 characters by lead byte, like llama.cpp.
func splitSymbols(syms []symbol, word string) []symbol {
	syms = syms[:0]
	for off := 0; off < len(word); {
		n := min(lenUTF8(word[off]), len(word)-off)
		next := len(syms) + 1
		if off+n == len(word) {
			next = -1
		}
		syms = append(syms, symbol{prev: len(syms) - 1, next: next, start: off, n: n})
		off += n
	}
	return syms
}

// encodeSPM is llama.cpp's llm_tokenizer_spm_session::tokenize on text whose
// spaces are already "▁".
func (t *Tokenizer) encodeSPM(sc *scratch, text string, out []int32) []int32 {
	syms := splitSymbols(sc.syms, text)
	h := sc.heap[:0]
	try := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].start : syms[l].start+syms[l].n+syms[r].n]
		id, ok := t.toID.find(s)
		if !ok {
			return
		}
		h = heapPush(h, bigram{key: spmKey(t.scores[id], l), left: int32(l), right: int32(r), size: int32(len(s))})
	}
	for i := 1; i < len(syms); i++ {
		try(i-1, i)
	}
	for len(h) > 0 {
		var b bigram
		b, h = heapPop(h)
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != int(b.size) {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = int(b.left)
		}
		try(l.prev, int(b.left))
		try(int(b.left), l.next)
	}
	if len(syms) > 0 {
		for i := 0; i != -1; i = syms[i].next {
			s := text[syms[i].start : syms[i].start+syms[i].n]
			if id, ok := t.toID.find(s); ok {
				out = append(out, id)
				continue
			}
			for j := 0; j < len(s); j++ {
				if id := t.byteTok[s[j]]; id != None {
					out = append(out, id)
				} else if t.unk != None {
					out = append(out, t.unk)
				}
			}
		}
	}
	sc.syms, sc.heap = syms, h
	return out
}

// encodeBPE is llama.cpp's llm_tokenizer_bpe_session::tokenize.
func (t *Tokenizer) encodeBPE(sc *scratch, text string, out []int32) []int32 {
	sc.cpts = decodeCpts(sc.cpts[:0], text)
	sc.segs, sc.tmp = preSplit(t.pre, sc.cpts, sc.segs, sc.tmp)
	cp := 0
	for _, n := range sc.segs {
		// Byte-encode the word (GPT-2 bytes_to_unicode over its UTF-8 bytes).
		w := sc.word[:0]
		var tmp [4]byte
		for _, r := range sc.cpts[cp : cp+n] {
			k := utf8.EncodeRune(tmp[:], r)
			for _, b := range tmp[:k] {
				w = utf8.AppendRune(w, gpt2Bytes.enc[b])
			}
		}
		cp += n
		sc.word = w
		word := string(w)
		out = t.bpeWord(sc, word, out)
	}
	return out
}

func (t *Tokenizer) bpeWord(sc *scratch, word string, out []int32) []int32 {
	if t.ignoreMerges {
		if id, ok := t.toID.find(word); ok {
			return append(out, id)
		}
	}
	syms := splitSymbols(sc.syms, word)
	h := sc.heap[:0]
	add := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		ls, rs := &syms[l], &syms[r]
		rank, ok, key := t.merges.rank(word[ls.start:ls.start+ls.n], word[rs.start:rs.start+rs.n], sc.key)
		sc.key = key
		if !ok {
			return
		}
		h = heapPush(h, bigram{key: bpeKey(rank, l), left: int32(l), right: int32(r), size: int32(ls.n + rs.n)})
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for len(h) > 0 {
		var b bigram
		b, h = heapPop(h)
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != int(b.size) {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = int(b.left)
		}
		add(l.prev, int(b.left))
		add(int(b.left), l.next)
	}
	for i := 0; i < len(syms); i++ {
		s := syms[i]
		if s.n == 0 {
			continue
		}
		str := word[s.start : s.start+s.n]
		if id, ok := t.toID.find(str); ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(str); j++ {
			if id, ok := t.toID.find(str[j : j+1]); ok {
				out = append(out, id)
			}
		}
	}
	sc.syms, sc.heap = syms, h
	return out
}
