package tokenizer

import (
	"hash/maphash"
	"math/bits"
	"strings"
)

// mergeTable maps a BPE merge (left, right) to its rank, like llama.cpp's
// bpe_ranks keyed by the pair from splitting each merge line at its first
// space after position 0. It is an open-addressing table over the merge
// lines themselves, so building it allocates two slices and no strings.
type mergeTable struct {
	seed  maphash.Seed
	lines []string
	slots []uint64 // hash tag << 32 | (rank + 1); 0 = empty
	mask  uint64
}

func newMergeTable(lines []string) *mergeTable {
	n := uint64(1) << bits.Len64(uint64(len(lines))*2+1)
	m := &mergeTable{seed: maphash.MakeSeed(), lines: lines, slots: make([]uint64, n), mask: n - 1}
	for i, line := range lines {
		if len(line) < 2 || strings.IndexByte(line[1:], ' ') < 0 {
			continue // llama.cpp keys it ("", ""): never looked up
		}
		h := maphash.String(m.seed, line)
		tag := h >> 32
		for j := h & m.mask; ; j = (j + 1) & m.mask {
			s := m.slots[j]
			if s == 0 {
				m.slots[j] = tag<<32 | uint64(i+1)
				break
			}
			if s>>32 == tag && lines[uint32(s)-1] == line {
				break // duplicate: the first rank stays
			}
		}
	}
	return m
}

// rank returns the rank of merging left and right; key is a scratch buffer
// that rank returns for reuse.
func (m *mergeTable) rank(left, right string, key []byte) (int32, bool, []byte) {
	key = append(append(append(key[:0], left...), ' '), right...)
	h := maphash.Bytes(m.seed, key)
	tag := h >> 32
	for j := h & m.mask; ; j = (j + 1) & m.mask {
		s := m.slots[j]
		if s == 0 {
			return 0, false, key
		}
		if s>>32 == tag && m.lines[uint32(s)-1] == string(key) {
			// The line splits at its first space after position 0: that
			// must be the space between left and right.
			if strings.IndexByte(left[1:], ' ') >= 0 {
				return 0, false, key
			}
			return int32(uint32(s) - 1), true, key
		}
	}
}

// tokenTable maps token text to id: an open-addressing table over the
// token strings.
type tokenTable struct {
	seed  maphash.Seed
	texts []string
	slots []uint64 // hash tag << 32 | (id + 1); 0 = empty
	mask  uint64
}

func newTokenTable(texts []string) *tokenTable {
	n := uint64(1) << bits.Len64(uint64(len(texts))*2+1)
	return &tokenTable{seed: maphash.MakeSeed(), texts: texts, slots: make([]uint64, n), mask: n - 1}
}

// insert adds texts[id]; it reports false when the text is already present.
func (t *tokenTable) insert(id int32) bool {
	s := t.texts[id]
	h := maphash.String(t.seed, s)
	tag := h >> 32
	for j := h & t.mask; ; j = (j + 1) & t.mask {
		v := t.slots[j]
		if v == 0 {
			t.slots[j] = tag<<32 | uint64(id+1)
			return true
		}
		if v>>32 == tag && t.texts[uint32(v)-1] == s {
			return false
		}
	}
}

// find returns the id of the token spelled s.
func (t *tokenTable) find(s string) (int32, bool) {
	h := maphash.String(t.seed, s)
	tag := h >> 32
	for j := h & t.mask; ; j = (j + 1) & t.mask {
		v := t.slots[j]
		if v == 0 {
			return None, false
		}
		if v>>32 == tag && t.texts[uint32(v)-1] == s {
			return int32(uint32(v) - 1), true
		}
	}
}
