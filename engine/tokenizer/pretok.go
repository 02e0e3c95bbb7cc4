package tokenizer

import (
	"fmt"
	"regexp"
	"unicode/utf8"
)

// A pre-tokenizer splits text into words before BPE, like llama.cpp's
// unicode_regex_split: a list of steps, each refining the segmentation that the
// previous step produced (a step sees one segment at a time; both its matches
// and the text between them become segments). Segments are lengths in
// codepoints.

type stepKind int

const (
	stepGPT2   stepKind = iota // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
	stepLlama3                 // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
	stepQwen2                  // as llama3 but \p{N} alone
	stepRegex                  // a lookahead-free regular expression
)

type preStep struct {
	kind stepKind
	re   *regexp.Regexp
}

// ws is llama.cpp's \s after it maps every non-ASCII whitespace codepoint to
// U+000B before running std::regex: Go's \s lacks \v, so spell it out.
const ws = `[\t\n\v\f\r ]`

// deepseekLetters is the letter class of the deepseek-llm pre-tokenizer
// (llama.cpp spells it with literal characters; codepoints here so that no
// editor normalizes them).
const deepseekLetters = `[\x{0041}-\x{005A}\x{0061}-\x{007A}\x{00B5}\x{00C0}-\x{00D6}\x{00D8}-\x{00F6}\x{00F8}-\x{01BA}\x{01BC}-\x{01BF}\x{01C4}-\x{0293}\x{0295}-\x{02AF}\x{0370}-\x{0373}\x{0376}-\x{0377}\x{037B}-\x{037D}\x{037F}\x{0386}\x{0388}-\x{038A}\x{038C}\x{038E}-\x{03A1}\x{03A3}-\x{03F5}\x{03F7}-\x{0481}\x{048A}-\x{052F}\x{0531}-\x{0556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}-\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}-\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+`

// preTypes maps tokenizer.ggml.pre to the pre-tokenizer and its flags, as in
// llama.cpp's llama_vocab::impl::load and llm_tokenizer_bpe.
type preType struct {
	steps        []string // "gpt2", "llama3", "qwen2" or a Go regexp
	ignoreMerges bool
	addBOS       bool
	noClean      bool // clean_spaces = false
}

var (
	cjk        = `[\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+`
	preDefault = []string{`[\p{P}$+<=>^~|]+`, "gpt2", `\p{N}+`, `[0-9][0-9][0-9]`}
	preGPT2    = []string{"gpt2"}
	preLlama3  = []string{"llama3"}
	preStar    = []string{`\p{N}`, "gpt2"}
	preQwen2   = []string{"qwen2"}
)

func lookupPre(name string) (preType, error) {
	switch name {
	case "", "default":
		return preType{steps: preDefault}, nil
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
		return preType{steps: preLlama3, ignoreMerges: true, addBOS: true}, nil
	case "dbrx", "smaug-bpe":
		return preType{steps: preLlama3}, nil
	case "deepseek-llm":
		return preType{noClean: true, steps: []string{`[\r\n]`, ws + `?` + deepseekLetters, ws + `?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+`, ws + `+$`, cjk, `\p{N}+`}}, nil
	case "deepseek-coder":
		return preType{noClean: true, steps: []string{`[\r\n]`, ws + `?\p{L}+`, ws + `?\p{P}+`, cjk, `\p{N}`}}, nil
	case "falcon":
		return preType{steps: []string{"[\\p{P}$+<=>^~|`]+", "gpt2", `[0-9][0-9][0-9]`}}, nil
	case "command-r", "smollm":
		return preType{steps: preStar, noClean: true}, nil
	case "starcoder", "refact", "codeshell", "exaone", "minerva-7b":
		return preType{steps: preStar}, nil
	case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
		"mpt", "olmo", "jais", "trillion", "exaone4", "jina-v1-en", "jina-v2-code", "roberta-bpe":
		return preType{steps: preGPT2}, nil
	case "qwen2", "deepseek-r1-qwen", "kormo":
		return preType{steps: preQwen2, noClean: true}, nil
	case "stablelm2", "megrez":
		return preType{steps: preQwen2}, nil
	}
	return preType{}, fmt.Errorf("unknown pre-tokenizer type %q", name)
}

func compileSteps(steps []string) ([]preStep, error) {
	out := make([]preStep, len(steps))
	for i, s := range steps {
		switch s {
		case "gpt2":
			out[i] = preStep{kind: stepGPT2}
		case "llama3":
			out[i] = preStep{kind: stepLlama3}
		case "qwen2":
			out[i] = preStep{kind: stepQwen2}
		default:
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, fmt.Errorf("pre-tokenizer regexp %q: %w", s, err)
			}
			out[i] = preStep{kind: stepRegex, re: re}
		}
	}
	return out, nil
}

// preSplit returns the segment lengths (in codepoints) of cpts, and the
// spare buffer for reuse.
func preSplit(steps []preStep, cpts []rune, segs, tmp []int) ([]int, []int) {
	segs = append(segs[:0], len(cpts))
	for _, st := range steps {
		tmp = tmp[:0]
		switch st.kind {
		case stepGPT2:
			tmp = splitGPT2(cpts, segs, tmp)
		case stepLlama3:
			tmp = splitLlama3(cpts, segs, tmp, 3)
		case stepQwen2:
			tmp = splitLlama3(cpts, segs, tmp, 1)
		case stepRegex:
			tmp = splitRegex(st.re, cpts, segs, tmp)
		}
		segs, tmp = tmp, segs
	}
	return segs, tmp
}

// span walks one segment [ini, end) of cpts, collecting token lengths.
type span struct {
	cpts     []rune
	ini, end int
	prev     int
	out      []int
}

const outOfRange = -1

func (s *span) cpt(pos int) rune {
	if pos >= s.ini && pos < s.end {
		return s.cpts[pos]
	}
	return outOfRange
}

func (s *span) flags(pos int) uint8 {
	if pos >= s.ini && pos < s.end {
		return cptFlags(s.cpts[pos])
	}
	return 0
}

func (s *span) add(end int) int {
	n := end - s.prev
	if n > 0 {
		s.out = append(s.out, n)
	}
	s.prev = end
	return n
}

// splitGPT2 is llama.cpp's unicode_regex_split_custom_gpt2.
func splitGPT2(cpts []rune, segs, out []int) []int {
	start := 0
	for _, n := range segs {
		s := span{cpts: cpts, ini: start, end: start + n, prev: start, out: out}
		start += n
		for pos := s.ini; pos < s.end; {
			c := s.cpt(pos)
			f := s.flags(pos)
			if c == '\'' && pos+1 < s.end {
				next := s.cpt(pos + 1)
				if next == 's' || next == 't' || next == 'm' || next == 'd' {
					pos += s.add(pos + 2)
					continue
				}
				if pos+2 < s.end {
					nn := s.cpt(pos + 2)
					if (next == 'r' && nn == 'e') || (next == 'v' && nn == 'e') || (next == 'l' && nn == 'l') {
						pos += s.add(pos + 3)
						continue
					}
				}
			}
			f2 := f
			if c == ' ' {
				f2 = s.flags(pos + 1)
			}
			if f2&flagLetter != 0 {
				if c == ' ' {
					pos++
				}
				for f2&flagLetter != 0 {
					pos++
					f2 = s.flags(pos)
				}
				s.add(pos)
				continue
			}
			if f2&flagNumber != 0 {
				if c == ' ' {
					pos++
				}
				for f2&flagNumber != 0 {
					pos++
					f2 = s.flags(pos)
				}
				s.add(pos)
				continue
			}
			if f2&(flagSpace|flagLetter|flagNumber) == 0 && f2 != 0 {
				if c == ' ' {
					pos++
				}
				for f2&(flagSpace|flagLetter|flagNumber) == 0 && f2 != 0 {
					pos++
					f2 = s.flags(pos)
				}
				s.add(pos)
				continue
			}
			nws := 0
			for s.flags(pos+nws)&flagSpace != 0 {
				nws++
			}
			if nws > 1 && s.cpt(pos+nws) != outOfRange {
				pos += nws - 1
				s.add(pos)
				continue
			}
			if nws > 0 {
				pos += nws
				s.add(pos)
				continue
			}
			pos++
			s.add(pos)
		}
		out = s.out
	}
	return out
}

func lowerASCII(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + ('a' - 'A')
	}
	return r
}

// splitLlama3 is llama.cpp's unicode_regex_split_custom_llama3 (maxDigits 3);
// with maxDigits 1 it is the Qwen2 pattern (\p{N} instead of \p{N}{1,3}).
func splitLlama3(cpts []rune, segs, out []int, maxDigits int) []int {
	start := 0
	for _, n := range segs {
		s := span{cpts: cpts, ini: start, end: start + n, prev: start, out: out}
		start += n
		for pos := s.ini; pos < s.end; {
			c := s.cpt(pos)
			f := s.flags(pos)
			if c == '\'' && pos+1 < s.end {
				next := lowerASCII(s.cpt(pos + 1))
				if next == 's' || next == 't' || next == 'm' || next == 'd' {
					pos += s.add(pos + 2)
					continue
				}
				if pos+2 < s.end {
					nn := lowerASCII(s.cpt(pos + 2))
					if (next == 'r' && nn == 'e') || (next == 'v' && nn == 'e') || (next == 'l' && nn == 'l') {
						pos += s.add(pos + 3)
						continue
					}
				}
			}
			// [^\r\n\p{L}\p{N}]?\p{L}+
			if !(c == '\r' || c == '\n' || f&flagNumber != 0) {
				if f&flagLetter != 0 || s.flags(pos+1)&flagLetter != 0 {
					pos++
					for s.flags(pos)&flagLetter != 0 {
						pos++
					}
					s.add(pos)
					continue
				}
			}
			// \p{N}{1,maxDigits}
			if f&flagNumber != 0 {
				ini := pos
				for s.flags(pos)&flagNumber != 0 {
					pos++
					if pos-ini >= maxDigits {
						s.add(pos)
						ini = pos
					}
				}
				s.add(pos)
				continue
			}
			// <space>?[^\s\p{L}\p{N}]+[\r\n]*
			f2 := f
			if c == ' ' {
				f2 = s.flags(pos + 1)
			}
			if f2&(flagSpace|flagLetter|flagNumber) == 0 && f != 0 {
				if c == ' ' {
					pos++
				}
				for f2&(flagSpace|flagLetter|flagNumber) == 0 && f2 != 0 {
					pos++
					f2 = s.flags(pos)
				}
				c2 := s.cpt(pos)
				for c2 == '\r' || c2 == '\n' {
					pos++
					c2 = s.cpt(pos)
				}
				s.add(pos)
				continue
			}
			nws := 0
			lastRN := 0
			for s.flags(pos+nws)&flagSpace != 0 {
				c2 := s.cpt(pos + nws)
				if c2 == '\r' || c2 == '\n' {
					lastRN = pos + nws + 1
				}
				nws++
			}
			// \s*[\r\n]+
			if lastRN > 0 {
				pos = lastRN
				s.add(pos)
				continue
			}
			// \s+(?!\S)
			if nws > 1 && s.cpt(pos+nws) != outOfRange {
				pos += nws - 1
				s.add(pos)
				continue
			}
			// \s+
			if nws > 0 {
				pos += nws
				s.add(pos)
				continue
			}
			pos++
			s.add(pos)
		}
		out = s.out
	}
	return out
}

// splitRegex runs re over each segment like llama.cpp's
// unicode_regex_split_stl: matches and the gaps between them become segments.
// Non-ASCII whitespace is seen as U+000B, as llama.cpp does before running
// std::regex.
func splitRegex(re *regexp.Regexp, cpts []rune, segs, out []int) []int {
	var buf []byte
	var idx []int // byte offset -> codepoint index within the segment
	start := 0
	for _, n := range segs {
		seg := cpts[start : start+n]
		start += n
		buf = buf[:0]
		idx = idx[:0]
		for i, r := range seg {
			if r >= 128 && cptFlags(r)&flagSpace != 0 {
				r = '\v'
			}
			for range utf8.RuneLen(r) {
				idx = append(idx, i)
			}
			buf = utf8.AppendRune(buf, r)
		}
		idx = append(idx, n)
		prev := 0
		for _, m := range re.FindAllIndex(buf, -1) {
			a, b := idx[m[0]], idx[m[1]]
			if a > prev {
				out = append(out, a-prev)
			}
			if b > a {
				out = append(out, b-a)
			}
			prev = b
		}
		if prev < n {
			out = append(out, n-prev)
		}
	}
	return out
}
