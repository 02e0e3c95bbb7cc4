package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hearthllm/hearth/internal/llamacpp"
	"github.com/stretchr/testify/require"
)

// textGen makes test strings that stress tokenizers: many scripts,
// whitespace runs, code, emoji sequences, numbers, contractions and text
// that looks like special tokens.
type textGen struct{ r *rand.Rand }

var (
	genRanges = [][2]rune{
		{0x20, 0x7E}, {0x20, 0x7E}, {0x20, 0x7E}, {0xA0, 0xFF}, {0x100, 0x24F}, {0x370, 0x3FF},
		{0x400, 0x4FF}, {0x531, 0x556}, {0x5D0, 0x5EA}, {0x620, 0x64A}, {0x660, 0x669}, {0x900, 0x97F},
		{0xE01, 0xE3A}, {0x1100, 0x1112}, {0x3041, 0x3096}, {0x30A1, 0x30FA}, {0x4E00, 0x9FA5},
		{0xAC00, 0xD7A3}, {0x1F300, 0x1F5FF}, {0x1F600, 0x1F64F}, {0x2200, 0x22FF}, {0x2000, 0x206F},
		{0x300, 0x36F}, {0xFF01, 0xFF5E}, {0x2460, 0x24FF}, {0x1D400, 0x1D4FF}, {0x10A0, 0x10C5},
		{0x0E80, 0x0EFF}, {0x3000, 0x303F}, {0x1E00, 0x1EFF}, {0x2150, 0x218B},
	}
	genWords = []string{
		"the", "The", "hello", "world", "Hello", "tokenizer", "llama", "a", "I", "is", "ok", "HTTP",
		"naïve", "café", "Zürich", "straße", "日本語", "中文", "한국어", "Привет", "мир", "γειά", "שלום",
		"مرحبا", "नमस्ते", "ไทย", "ℌ𝔢𝔩𝔩𝔬", "ﬁnance", "Ⅻ", "½", "x²", "µs", "ǅ", "İstanbul",
	}
	genSpaces = []string{
		" ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\t\t", "\u00a0", "\u3000", "\v",
		"\f", "\u2003", "\u200b", "\u0085", "\u2028", "    \n", "\n   ", " \t\n\r ",
	}
	genCode = []string{
		"func main() {\n\tfmt.Println(\"hi\")\n}", "for (int i = 0; i < n; ++i) { a[i] += b[i]; }",
		"def f(x):\n    return x**2  # square", "if x != nil && y >= 3 { return }", "<div class=\"a\">&amp;</div>",
		"SELECT * FROM t WHERE id = 42;", "x := []int{1, 2, 3}", "#include <stdio.h>", "$ ls -la ~/.config",
		"{\"key\": [1, 2.5e-3, null, true]}", "a->b::c", "/* comment */ // line", "`backtick` ~tilde~ ^caret^",
		"@decorator\nclass A(B):", "   indented\n\t\ttabs", "x=1;y=2;z=x+y", "0x1F 0b1010 1_000_000",
	}
	genEmoji = []string{
		"😀", "👍", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸", "🇯🇵", "❤️", "🧑🏿‍💻", "👩‍❤️‍💋‍👨", "🦙", "🔥🔥🔥", "✨", "⚡️", "☃",
	}
	genContractions = []string{
		"I'm", "don't", "they're", "we've", "she'll", "he'd", "IT'S", "'S", "'s", "'t", "'re", "'ve", "'m",
		"'ll", "'d", "'LL", "'Re", "o'clock", "rock 'n' roll", "''", "'", "' s", "can't've",
	}
	genSpecial = []string{
		"<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>",
		"<|end_header_id|>", "<0x41>", "<0x0A>", "<|endoftext|>", "<|im_start|>", "<s", "s>", "<</s>>",
		"<|reserved_special_token_5|>", "<|python_tag|>", "<|eom_id|>", "▁", "▁▁hello",
	}
)

func (g textGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g textGen) number() string {
	var b strings.Builder
	n := 1 + g.r.IntN(20)
	for range n {
		b.WriteByte(byte('0' + g.r.IntN(10)))
	}
	switch g.r.IntN(6) {
	case 0:
		b.WriteString("." + string(rune('0'+g.r.IntN(10))))
	case 1:
		b.WriteString(",000")
	case 2:
		b.WriteString(string([]rune{'٣', '४', '５', '๓', '²'}[g.r.IntN(5)]))
	}
	return b.String()
}

func (g textGen) randomRunes() string {
	rg := genRanges[g.r.IntN(len(genRanges))]
	n := 1 + g.r.IntN(8)
	rs := make([]rune, n)
	for i := range rs {
		rs[i] = rg[0] + rune(g.r.IntN(int(rg[1]-rg[0]+1)))
	}
	return string(rs)
}

func (g textGen) text() string {
	var b strings.Builder
	parts := 1 + g.r.IntN(8)
	for i := range parts {
		if i > 0 && g.r.IntN(3) > 0 {
			b.WriteString(g.pick(genSpaces))
		}
		switch g.r.IntN(9) {
		case 0, 1:
			b.WriteString(g.randomRunes())
		case 2:
			b.WriteString(g.pick(genWords))
		case 3:
			b.WriteString(g.pick(genSpaces))
		case 4:
			b.WriteString(g.pick(genCode))
		case 5:
			b.WriteString(g.pick(genEmoji))
		case 6:
			b.WriteString(g.number())
		case 7:
			b.WriteString(g.pick(genContractions))
		case 8:
			b.WriteString(g.pick(genSpecial))
		}
	}
	return b.String()
}

func genTexts(seed uint64, n int) []string {
	g := textGen{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
	texts := make([]string, n)
	for i := range texts {
		texts[i] = g.text()
	}
	return texts
}

type tokenizeReq struct {
	Op         string   `json:"op"`
	Model      string   `json:"model"`
	Texts      []string `json:"texts"`
	AddSpecial bool     `json:"addSpecial"`
	Special    bool     `json:"special"`
}

// TestReferenceTokenize compares Encode with llama.cpp on generated strings:
// thousands for llama-spm and llama-bpe, fewer for every other vocabulary,
// plus parse_special / add_special variants.
func TestReferenceTokenize(t *testing.T) {
	if testing.Short() {
		t.Skip("llama.cpp reference test skipped in -short mode")
	}
	type job struct {
		vocab                string
		texts                []string
		addSpecial, parseSpc bool
	}
	var jobs []job
	for _, v := range []struct {
		name string
		n    int
	}{
		{"llama-spm", 2500}, {"llama-bpe", 2500}, {"phi-3", 300}, {"baichuan", 300}, {"gpt-2", 300},
		{"gpt-neox", 300}, {"mpt", 300}, {"falcon", 300}, {"starcoder", 300}, {"refact", 300},
		{"deepseek-coder", 300}, {"deepseek-llm", 300},
	} {
		seed := uint64(len(v.name))*1000 + 7
		jobs = append(jobs,
			job{v.name, genTexts(seed, v.n), false, false},
			job{v.name, genTexts(seed+1, 150), true, true},
			job{v.name, genTexts(seed+2, 100), true, false},
			job{v.name, genTexts(seed+3, 100), false, true},
		)
	}
	reqs := make([]any, len(jobs))
	for i, j := range jobs {
		reqs[i] = tokenizeReq{Op: "tokenize", Model: vocabPath(t, j.vocab), Texts: j.texts, AddSpecial: j.addSpecial, Special: j.parseSpc}
	}
	results := llamacpp.Batch[struct {
		Tokens [][]int32 `json:"tokens"`
	}](t, reqs)
	require.Len(t, results, len(jobs))

	for i, j := range jobs {
		tok := loadTok(t, vocabPath(t, j.vocab))
		want := results[i].Tokens
		require.Len(t, want, len(j.texts))
		pass, shown := 0, 0
		for k, text := range j.texts {
			got := tok.Encode(text, j.addSpecial, j.parseSpc)
			if slicesEqual(got, want[k]) {
				pass++
				continue
			}
			if shown < 5 {
				shown++
				t.Errorf("%s addSpecial=%v parseSpecial=%v: text %q\n got %v\nwant %v", j.vocab, j.addSpecial, j.parseSpc, text, got, want[k])
			}
		}
		t.Logf("%-15s addSpecial=%-5v parseSpecial=%-5v %4d/%d match llama.cpp", j.vocab, j.addSpecial, j.parseSpc, pass, len(j.texts))
	}
}

func slicesEqual(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var allVocabs = []string{
	"llama-spm", "llama-bpe", "phi-3", "baichuan", "gpt-2", "gpt-neox", "mpt", "falcon", "starcoder",
	"refact", "deepseek-coder", "deepseek-llm",
}

// TestReferenceVocab compares every token's attributes (after llama.cpp's
// fix-ups: EOG tokens made control, "unused" control tokens, phi-3 rstrip),
// the end-of-generation set, BOS/EOS and the add-BOS/EOS flags with llama.cpp.
func TestReferenceVocab(t *testing.T) {
	if testing.Short() {
		t.Skip("llama.cpp reference test skipped in -short mode")
	}
	type vocabReq struct {
		Op    string `json:"op"`
		Model string `json:"model"`
		N     int    `json:"n"`
	}
	reqs := make([]any, len(allVocabs))
	for i, v := range allVocabs {
		reqs[i] = vocabReq{Op: "vocab", Model: vocabPath(t, v), N: loadTok(t, vocabPath(t, v)).NVocab()}
	}
	results := llamacpp.Batch[struct {
		Attrs  []uint16 `json:"attrs"`
		EOG    []bool   `json:"eog"`
		BOS    *int32   `json:"bos"`
		EOS    *int32   `json:"eos"`
		EOT    *int32   `json:"eot"`
		AddBOS bool     `json:"addBos"`
		AddEOS bool     `json:"addEos"`
	}](t, reqs)
	require.Len(t, results, len(allVocabs))
	id := func(p *int32) int32 {
		if p == nil {
			return None
		}
		return *p
	}
	for i, v := range allVocabs {
		t.Run(v, func(t *testing.T) {
			tok := loadTok(t, vocabPath(t, v))
			r := results[i]
			require.Len(t, r.Attrs, tok.NVocab())
			bad := 0
			for k := range r.Attrs {
				if tok.attrs[k] != r.Attrs[k] || tok.IsEOG(int32(k)) != r.EOG[k] {
					if bad < 5 {
						t.Errorf("token %d %q: attrs %#x eog %v, llama.cpp %#x eog %v", k, tok.tokens[k], tok.attrs[k], tok.IsEOG(int32(k)), r.Attrs[k], r.EOG[k])
					}
					bad++
				}
			}
			require.Zero(t, bad, "tokens whose attributes differ")
			require.Equal(t, id(r.BOS), tok.BOS(), "bos")
			require.Equal(t, id(r.EOS), tok.EOS(), "eos")
			require.Equal(t, id(r.EOT), tok.EOT(), "eot")
			require.Equal(t, r.AddBOS, tok.AddBOS(), "add_bos")
			require.Equal(t, r.AddEOS, tok.AddEOS(), "add_eos")
		})
	}
}

// TestReferenceUnicodeClasses sweeps the codepoints of planes 0-3 and the
// start of plane 14 through
// the Llama 3 pre-tokenizer next to letters, digits and spaces, so that any
// codepoint that llama.cpp classifies differently (letter, number,
// whitespace, other) changes the tokens.
func TestReferenceUnicodeClasses(t *testing.T) {
	if testing.Short() {
		t.Skip("llama.cpp reference test skipped in -short mode")
	}
	var texts []string
	var b strings.Builder
	for c := rune(0x80); c < 0xE1000; c++ {
		if (c >= 0xD800 && c < 0xE000) || (c >= 0x40000 && c < 0xE0000) {
			continue
		}
		b.WriteString("a")
		b.WriteRune(c)
		b.WriteString("1 ")
		b.WriteRune(c)
		b.WriteRune(c)
		b.WriteString("'s")
		b.WriteRune(c)
		if c%32 == 31 {
			texts = append(texts, b.String())
			b.Reset()
		}
	}
	// llama-bpe: the Llama 3 splitter (letter, number, whitespace, other);
	// deepseek-coder: regexes over \p{L}, \p{P}, \p{N} and \s.
	vocabs := []string{"llama-bpe", "deepseek-coder"}
	reqs := make([]any, len(vocabs))
	for i, v := range vocabs {
		reqs[i] = tokenizeReq{Op: "tokenize", Model: vocabPath(t, v), Texts: texts}
	}
	results := llamacpp.Batch[struct {
		Tokens [][]int32 `json:"tokens"`
	}](t, reqs)
	require.Len(t, results, len(vocabs))
	for vi, v := range vocabs {
		want := results[vi].Tokens
		require.Len(t, want, len(texts))
		tok := loadTok(t, vocabPath(t, v))
		bad := 0
		for i, text := range texts {
			if got := tok.Encode(text, false, false); !slicesEqual(got, want[i]) {
				if bad++; bad <= 10 {
					rs := []rune(text)
					t.Errorf("%s: codepoints %U..%U differ:\n got %v\nwant %v", v, rs[1], rs[len(rs)-1], got, want[i])
				}
			}
		}
		t.Logf("%s: %d/%d blocks of 32 codepoints match llama.cpp", v, len(texts)-bad, len(texts))
	}
}
