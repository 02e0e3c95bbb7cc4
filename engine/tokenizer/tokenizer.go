// Package tokenizer implements the tokenizers that GGUF files describe in
// their tokenizer.ggml.* metadata, matching llama.cpp's llama-vocab.cpp:
// SentencePiece-style ("llama") and byte-level BPE ("gpt2") with the
// pre-tokenizers selected by tokenizer.ggml.pre.
//
// A Tokenizer is immutable after construction and safe for concurrent use.
package tokenizer

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hearthllm/hearth/gguf"
)

// TokenType is a GGUF token type (tokenizer.ggml.token_type).
type TokenType int32

// The GGUF token types (llama.cpp's llama_token_type).
const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3
	TypeUserDefined TokenType = 4
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

// Token attributes (llama.cpp's llama_token_attr), derived from the types.
const (
	attrUndefined   uint16 = 0
	attrUnknown     uint16 = 1 << 0
	attrUnused      uint16 = 1 << 1
	attrNormal      uint16 = 1 << 2
	attrControl     uint16 = 1 << 3
	attrUserDefined uint16 = 1 << 4
	attrByte        uint16 = 1 << 5
	attrLStrip      uint16 = 1 << 7
	attrRStrip      uint16 = 1 << 8
)

// None is the id that stands for "no token".
const None int32 = -1

// Vocab is a tokenizer's plain data: what a GGUF file's tokenizer.ggml.*
// keys hold. Optional fields are nil or empty when the key is absent.
type Vocab struct {
	Model  string      // tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (BPE)
	Pre    string      // tokenizer.ggml.pre (BPE only); "" = default
	Tokens []string    // tokenizer.ggml.tokens
	Scores []float32   // tokenizer.ggml.scores (may be nil)
	Types  []TokenType // tokenizer.ggml.token_type (may be nil: all normal)
	Merges []string    // tokenizer.ggml.merges (BPE), "left right" each

	// IDs holds the special token ids present in the metadata, keyed by the
	// key's suffix after "tokenizer.ggml.": "bos_token_id", "eos_token_id",
	// "eot_token_id", "eom_token_id", "unknown_token_id", "seperator_token_id",
	// "padding_token_id", "mask_token_id", "fim_pre_token_id", ...
	IDs map[string]uint32

	AddBOS         *bool // tokenizer.ggml.add_bos_token
	AddEOS         *bool // tokenizer.ggml.add_eos_token
	AddSpacePrefix *bool // tokenizer.ggml.add_space_prefix

	Name string // general.name (llama.cpp keys a few per-token quirks on it)
}

// specialKeys are the special-token id keys, in llama.cpp's order.
var specialKeys = []string{
	"bos_token_id", "eos_token_id", "eot_token_id", "eom_token_id", "unknown_token_id",
	"seperator_token_id", "padding_token_id", "mask_token_id",
	"fim_pre_token_id", "fim_suf_token_id", "fim_mid_token_id", "fim_pad_token_id",
	"fim_rep_token_id", "fim_sep_token_id",
	"prefix_token_id", "suffix_token_id", "middle_token_id",
}

type kind int

const (
	kindSPM kind = iota
	kindBPE
)

// Tokenizer converts between text and token ids.
type Tokenizer struct {
	kind   kind
	tokens []string
	scores []float32
	attrs  []uint16
	toID   *tokenTable

	merges       *mergeTable
	pre          []preStep
	ignoreMerges bool

	addBOS, addEOS, addSpacePrefix bool
	cleanSpaces                    bool // llama.cpp's clean_spaces (Detokenize)
	bos, eos, eot, eom, unk        int32
	eog                            map[int32]bool

	special []int32 // control/user-defined/unknown tokens, longest text first

	// pieces holds every token's output bytes (special = true rendering);
	// pieceOff[i]:pieceOff[i+1] is token i.
	pieces   []byte
	pieceOff []uint32
	byteTok  [256]int32 // byte-fallback token of each byte, None if absent
}

// metadata is what FromGGUF reads from a file.
type metadata interface {
	Has(key string) bool
	String(key string) (string, error)
	Strings(key string) ([]string, error)
	Float32s(key string) ([]float32, error)
	Int32s(key string) ([]int32, error)
	Uint32(key string) (uint32, error)
	Bool(key string) (bool, error)
}

// FromGGUF builds the tokenizer that f's tokenizer.ggml.* metadata describes.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	v, err := vocabFrom(f)
	if err != nil {
		return nil, err
	}
	return New(v)
}

// VocabFromGGUF reads the tokenizer.ggml.* metadata of f as plain data.
func VocabFromGGUF(f *gguf.File) (Vocab, error) { return vocabFrom(f) }

func vocabFrom(m metadata) (Vocab, error) {
	var v Vocab
	var err error
	wrap := func(err error) error { return fmt.Errorf("tokenizer: %w", err) }
	if v.Model, err = m.String("tokenizer.ggml.model"); err != nil {
		return v, wrap(err)
	}
	if m.Has("tokenizer.ggml.pre") {
		if v.Pre, err = m.String("tokenizer.ggml.pre"); err != nil {
			return v, wrap(err)
		}
	}
	if v.Tokens, err = m.Strings("tokenizer.ggml.tokens"); err != nil {
		return v, wrap(err)
	}
	if m.Has("tokenizer.ggml.scores") {
		if v.Scores, err = m.Float32s("tokenizer.ggml.scores"); err != nil {
			return v, wrap(err)
		}
	}
	if m.Has("tokenizer.ggml.token_type") {
		t, err := m.Int32s("tokenizer.ggml.token_type")
		if err != nil {
			return v, wrap(err)
		}
		v.Types = make([]TokenType, len(t))
		for i, x := range t {
			v.Types[i] = TokenType(x)
		}
	}
	if m.Has("tokenizer.ggml.merges") {
		if v.Merges, err = m.Strings("tokenizer.ggml.merges"); err != nil {
			return v, wrap(err)
		}
	}
	v.IDs = map[string]uint32{}
	for _, k := range specialKeys {
		if !m.Has("tokenizer.ggml." + k) {
			continue
		}
		id, err := m.Uint32("tokenizer.ggml." + k)
		if err != nil {
			return v, wrap(err)
		}
		v.IDs[k] = id
	}
	for key, dst := range map[string]**bool{
		"tokenizer.ggml.add_bos_token":    &v.AddBOS,
		"tokenizer.ggml.add_eos_token":    &v.AddEOS,
		"tokenizer.ggml.add_space_prefix": &v.AddSpacePrefix,
	} {
		if !m.Has(key) {
			continue
		}
		b, err := m.Bool(key)
		if err != nil {
			return v, wrap(err)
		}
		*dst = &b
	}
	if m.Has("general.name") {
		if v.Name, err = m.String("general.name"); err != nil {
			return v, wrap(err)
		}
	}
	return v, nil
}

// New builds a tokenizer from plain vocabulary data, applying llama.cpp's
// defaults and per-vocabulary fix-ups.
func New(v Vocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer: empty vocabulary")
	}
	if v.Scores != nil && len(v.Scores) < n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) < n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	t := &Tokenizer{
		tokens: make([]string, n),
		scores: make([]float32, n),
		attrs:  make([]uint16, n),
		eot:    None, eom: None,
	}
	var fimPad, fimRep, fimSep int32 = None, None, None
	switch v.Model {
	case "llama":
		t.kind = kindSPM
		t.bos, t.eos, t.unk = 1, 2, 0
		t.addSpacePrefix, t.addBOS = true, true
	case "gpt2":
		t.kind = kindBPE
		t.bos, t.eos, t.unk = 11, 11, None
		pt, err := lookupPre(v.Pre)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if t.pre, err = compileSteps(pt.steps); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		t.ignoreMerges, t.addBOS, t.cleanSpaces = pt.ignoreMerges, pt.addBOS, !pt.noClean
		if v.Merges == nil {
			return nil, errors.New("tokenizer: BPE vocabulary without tokenizer.ggml.merges")
		}
		// The merge table is independent of the rest: build it alongside.
		done := make(chan struct{})
		go func() {
			t.merges = newMergeTable(v.Merges)
			close(done)
		}()
		defer func() { <-done }()
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q", v.Model)
	}
	if v.AddSpacePrefix != nil {
		t.addSpacePrefix = *v.AddSpacePrefix
	}

	t.toID = newTokenTable(t.tokens)
	for i, w := range v.Tokens {
		if w == "" {
			w = fmt.Sprintf("[EMPTY_%d]", i)
		}
		t.tokens[i] = w
		if !t.toID.insert(int32(i)) {
			return nil, fmt.Errorf("tokenizer: duplicate token %q at id %d", w, i)
		}
		if v.Scores != nil {
			t.scores[i] = v.Scores[i]
		}
		t.attrs[i] = attrNormal
		if v.Types != nil {
			t.attrs[i] = typeAttr(v.Types[i])
		}
	}

	// Special token ids: defaults out of range are disabled, metadata ids in
	// range replace them.
	ids := map[string]*int32{
		"bos_token_id": &t.bos, "eos_token_id": &t.eos, "eot_token_id": &t.eot,
		"eom_token_id": &t.eom, "unknown_token_id": &t.unk,
		"fim_pad_token_id": &fimPad, "fim_rep_token_id": &fimRep, "fim_sep_token_id": &fimSep,
	}
	for _, k := range specialKeys {
		dst := ids[k]
		if dst == nil {
			continue
		}
		if *dst >= int32(n) {
			*dst = None
		}
		if id, ok := v.IDs[k]; ok && id < uint32(n) {
			*dst = int32(id)
		}
	}
	if v.AddBOS != nil {
		t.addBOS = *v.AddBOS
	}
	if v.AddEOS != nil {
		t.addEOS = *v.AddEOS
	}
	if t.addBOS && t.bos == None {
		return nil, errors.New("tokenizer: add_bos_token is true, but there is no bos_token_id")
	}
	if t.addEOS && t.eos == None {
		return nil, errors.New("tokenizer: add_eos_token is true, but there is no eos_token_id")
	}

	t.detectSpecial(&fimPad, &fimRep, &fimSep)

	for id := range n {
		if t.attrs[id]&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.special = append(t.special, int32(id))
		}
	}
	slices.SortStableFunc(t.special, func(a, b int32) int {
		return cmp.Compare(len(t.tokens[b]), len(t.tokens[a]))
	})

	for b := range 256 {
		t.byteTok[b] = t.findByteToken(byte(b))
	}
	t.buildPieces()

	name := strings.ToLower(v.Name)
	if strings.Contains(name, "phi-3") || strings.Contains(name, "phi3") {
		for _, id := range t.special {
			t.attrs[id] |= attrRStrip
		}
		t.setAttr("</s>", attrRStrip, true)
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			t.setAttr(s, attrRStrip, false)
		}
	}
	return t, nil
}

func (t *Tokenizer) setAttr(text string, a uint16, on bool) {
	id, ok := t.toID.find(text)
	if !ok {
		return
	}
	if on {
		t.attrs[id] |= a
	} else {
		t.attrs[id] &^= a
	}
}

func typeAttr(tt TokenType) uint16 {
	switch tt {
	case TypeUnknown:
		return attrUnknown
	case TypeUnused:
		return attrUnused
	case TypeNormal:
		return attrNormal
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeByte:
		return attrByte
	}
	return attrUndefined
}

// detectSpecial finds EOT/EOM/EOG tokens by their text and marks them as
// control tokens, as llama.cpp's vocabulary loader does.
func (t *Tokenizer) detectSpecial(fimPad, fimRep, fimSep *int32) {
	mark := func(id int32) { t.attrs[id] |= attrControl }
	find := func(dst *int32, texts ...string) {
		if *dst != None {
			return
		}
		// llama.cpp takes the first match in its unordered map's order; take
		// the first text of the list (the most specific) instead.
		for _, s := range texts {
			if id, ok := t.toID.find(s); ok {
				*dst = id
				mark(id)
				return
			}
		}
	}
	find(&t.eot, "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
		"<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>", "[|endofturn|]", "<|endofturn|>", "<|end_of_turn|>")
	find(&t.eom, "<|eom_id|>")
	var fimPre, fimSuf, fimMid int32 = None, None, None
	find(&fimPre, "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>")
	find(&fimSuf, "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>")
	find(&fimMid, "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>")
	find(fimPad, "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]")
	find(fimRep, "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>")
	find(fimSep, "<|file_sep|>")

	for id, s := range t.tokens {
		if t.attrs[id]&attrControl != 0 && strings.Contains(s, "unused") {
			t.attrs[id] |= attrUnused
		}
	}

	t.eog = map[int32]bool{}
	for _, id := range []int32{*fimPad, *fimRep, *fimSep} {
		if id != None {
			t.eog[id] = true
		}
	}
	for _, s := range []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
		"<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
		"<end_of_utterance>", "<｜end▁of▁sentence｜>", "</s>", "<eos>", "<turn|>", "<|tool_response>", "[e~[",
		"[|endofturn|]", "<|endofturn|>", "<|end_of_turn|>"} {
		if id, ok := t.toID.find(s); ok {
			t.eog[id] = true
			mark(id)
		}
	}
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := t.toID.find(s); ok {
			t.attrs[id] = attrUserDefined
		}
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id != None {
			t.eog[id] = true
		}
	}
	// o200k_harmony / solar-open: <|end|> is not end-of-generation there.
	has := func(s string) bool { id, ok := t.toID.find(s); return ok && t.eog[id] }
	if end, ok := t.toID.find("<|end|>"); ok && t.eog[end] &&
		((has("<|return|>") && (has("<|call|>") || has("<|calls|>"))) || ((has("<|call|>") || has("<|calls|>")) && has("<|flush|>"))) {
		delete(t.eog, end)
		t.attrs[end] = attrUserDefined
	}
	// gemma4 / paddleocr: </s> is not end-of-generation next to <|tool_response>.
	if s, ok := t.toID.find("</s>"); ok && t.eog[s] && has("<|tool_response>") {
		delete(t.eog, s)
		t.attrs[s] = attrNormal
	}
}

// findByteToken is llama.cpp's byte_to_token for byte-fallback lookups.
func (t *Tokenizer) findByteToken(b byte) int32 {
	if t.kind == kindSPM {
		if id, ok := t.toID.find(fmt.Sprintf("<0x%02X>", b)); ok {
			return id
		}
		if id, ok := t.toID.find(string([]byte{b})); ok {
			return id
		}
		return None
	}
	if id, ok := t.toID.find(string(gpt2Bytes.enc[b])); ok {
		return id
	}
	return None
}

// buildPieces renders every token to its output bytes once (llama.cpp's
// token_to_piece cache, special = true).
func (t *Tokenizer) buildPieces() {
	total := 0
	for _, s := range t.tokens {
		total += len(s)
	}
	t.pieces = make([]byte, 0, total)
	t.pieceOff = make([]uint32, len(t.tokens)+1)
	for id, s := range t.tokens {
		a := t.attrs[id]
		switch {
		case a&(attrUnknown|attrControl|attrUserDefined) != 0:
			t.pieces = append(t.pieces, s...)
		case a&attrNormal != 0 && t.kind == kindSPM:
			for len(s) > 0 {
				if strings.HasPrefix(s, "▁") {
					t.pieces = append(t.pieces, ' ')
					s = s[len("▁"):]
					continue
				}
				t.pieces = append(t.pieces, s[0])
				s = s[1:]
			}
		case a&attrNormal != 0:
			for _, r := range s {
				if b, ok := gpt2Bytes.decode(r); ok {
					t.pieces = append(t.pieces, b)
				} else {
					t.pieces = utf8.AppendRune(t.pieces, r)
				}
			}
		case a&attrByte != 0:
			if b, ok := parseByteToken(s); ok {
				t.pieces = append(t.pieces, b)
			}
		}
		t.pieceOff[id+1] = uint32(len(t.pieces))
	}
}

// parseByteToken reads "<0xNN>".
func parseByteToken(s string) (byte, bool) {
	if len(s) < 5 || s[:3] != "<0x" {
		return 0, false
	}
	var v byte
	for _, c := range []byte(s[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// NVocab returns the number of tokens.
func (t *Tokenizer) NVocab() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence token, or None.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence token, or None.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT returns the end-of-turn token, or None.
func (t *Tokenizer) EOT() int32 { return t.eot }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// AddEOS reports whether Encode with addSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// IsEOG reports whether id ends generation (EOS, EOT, EOM and the other
// end-of-generation tokens llama.cpp recognizes).
func (t *Tokenizer) IsEOG(id int32) bool { return id != None && t.eog[id] }

// IsControl reports whether id is a control token.
func (t *Tokenizer) IsControl(id int32) bool {
	return t.valid(id) && t.attrs[id]&attrControl != 0
}

// TokenText returns the vocabulary string of id ("" when out of range).
func (t *Tokenizer) TokenText(id int32) string {
	if !t.valid(id) {
		return ""
	}
	return t.tokens[id]
}

// TokenType returns the type of id as llama.cpp sees it after its fix-ups
// (for example EOG tokens are control tokens).
func (t *Tokenizer) TokenType(id int32) TokenType {
	if !t.valid(id) {
		return TypeUndefined
	}
	a := t.attrs[id]
	switch {
	case a&attrUnused != 0:
		return TypeUnused
	case a&attrControl != 0:
		return TypeControl
	case a&attrUserDefined != 0:
		return TypeUserDefined
	case a&attrUnknown != 0:
		return TypeUnknown
	case a&attrByte != 0:
		return TypeByte
	case a&attrNormal != 0:
		return TypeNormal
	}
	return TypeUndefined
}

func (t *Tokenizer) valid(id int32) bool { return id >= 0 && int(id) < len(t.tokens) }

// Piece returns the bytes token id stands for in output text: SentencePiece
// "▁" becomes a space, byte tokens their byte, GPT-2 byte-level strings their
// bytes. Control and unknown tokens render as nothing (llama.cpp's
// token_to_piece with special = false). The slice is shared: do not modify it.
func (t *Tokenizer) Piece(id int32) []byte {
	if !t.valid(id) || t.attrs[id]&(attrUnknown|attrControl) != 0 {
		return nil
	}
	return t.pieces[t.pieceOff[id]:t.pieceOff[id+1]:t.pieceOff[id+1]]
}

// PieceSpecial is Piece, except that control and unknown tokens render as
// their text (llama.cpp's token_to_piece with special = true).
func (t *Tokenizer) PieceSpecial(id int32) []byte {
	if !t.valid(id) {
		return nil
	}
	return t.pieces[t.pieceOff[id]:t.pieceOff[id+1]:t.pieceOff[id+1]]
}

// Decode concatenates the pieces of ids.
func (t *Tokenizer) Decode(ids []int32) string {
	var b []byte
	for _, id := range ids {
		b = append(b, t.Piece(id)...)
	}
	return string(b)
}
