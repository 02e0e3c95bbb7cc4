package tokenizer

import "unicode/utf8"

// symbol is one node of the doubly linked list of text pieces that the merge
// loops shrink (llama.cpp's llm_symbol). start/n are byte offsets into the
// word being tokenized.
type symbol struct {
	prev, next int
	start, n   int
}

// bigram is a candidate merge of symbols left and right.
type bigram struct {
	left, right int
	score       float32 // SPM: token score (higher first)
	rank        int32   // BPE: merge rank (lower first)
	size        int
}

// spmLess orders SPM bigrams: higher score first, then leftmost.
func spmLess(a, b *bigram) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.left < b.left
}

// bpeLess orders BPE bigrams: lower rank first, then leftmost.
func bpeLess(a, b *bigram) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.left < b.left
}

func heapPush(h []bigram, b bigram, less func(a, b *bigram) bool) []bigram {
	h = append(h, b)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []bigram, less func(a, b *bigram) bool) (bigram, []bigram) {
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && less(&h[r], &h[l]) {
			m = r
		}
		if !less(&h[m], &h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
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
		id, ok := t.toID[s]
		if !ok {
			return
		}
		h = heapPush(h, bigram{left: l, right: r, score: t.scores[id], size: len(s)}, spmLess)
	}
	for i := 1; i < len(syms); i++ {
		try(i-1, i)
	}
	for len(h) > 0 {
		var b bigram
		b, h = heapPop(h, spmLess)
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		try(l.prev, b.left)
		try(b.left, l.next)
	}
	if len(syms) > 0 {
		for i := 0; i != -1; i = syms[i].next {
			s := text[syms[i].start : syms[i].start+syms[i].n]
			if id, ok := t.toID[s]; ok {
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
		if id, ok := t.toID[word]; ok {
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
		rank, ok := t.merges[mergeKey{word[ls.start : ls.start+ls.n], word[rs.start : rs.start+rs.n]}]
		if !ok {
			return
		}
		h = heapPush(h, bigram{left: l, right: r, rank: rank, size: ls.n + rs.n}, bpeLess)
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for len(h) > 0 {
		var b bigram
		b, h = heapPop(h, bpeLess)
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		add(l.prev, b.left)
		add(b.left, l.next)
	}
	for i := 0; i < len(syms); i++ {
		s := syms[i]
		if s.n == 0 {
			continue
		}
		str := word[s.start : s.start+s.n]
		if id, ok := t.toID[str]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(str); j++ {
			if id, ok := t.toID[str[j:j+1]]; ok {
				out = append(out, id)
			}
		}
	}
	sc.syms, sc.heap = syms, h
	return out
}
