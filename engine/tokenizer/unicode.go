package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Codepoint classes used by the pre-tokenizers, as in llama.cpp's
// unicode_cpt_flags: \p{L}, \p{N}, \p{P} and \s (Unicode White_Space).
const (
	flagLetter uint8 = 1 << iota
	flagNumber
	flagPunct
	flagSpace
	flagValid // any codepoint in range (llama.cpp's as_uint() != 0)
)

// asciiFlags classifies the codepoints below 128.
var asciiFlags = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		t[c] = flagsSlow(rune(c))
	}
	return t
}()

// cjkExtI is CJK Unified Ideographs Extension I (Unicode 15.1, category Lo):
// llama.cpp's tables know it, Go's unicode package (Unicode 15.0) does not.
func cjkExtI(r rune) bool { return r >= 0x2EBF0 && r <= 0x2EE5D }

func flagsSlow(r rune) uint8 {
	f := flagValid
	switch {
	case unicode.IsLetter(r) || cjkExtI(r):
		f |= flagLetter
	case unicode.IsNumber(r):
		f |= flagNumber
	case unicode.IsPunct(r):
		f |= flagPunct
	}
	if unicode.Is(unicode.White_Space, r) {
		f |= flagSpace
	}
	return f
}

// cptFlags returns the class flags of r.
func cptFlags(r rune) uint8 {
	if r < 128 {
		return asciiFlags[r]
	}
	if r > unicode.MaxRune {
		return 0
	}
	return flagsSlow(r)
}

// lenUTF8 is llama.cpp's unicode_len_utf8: the length of the UTF-8 sequence
// that a lead byte announces (1 for continuation bytes).
func lenUTF8(b byte) int {
	return [16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}[b>>4]
}

// decodeCpts decodes text into codepoints the way llama.cpp's
// unicode_cpts_from_utf8 does: each invalid byte becomes U+FFFD.
func decodeCpts(dst []rune, text string) []rune {
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			dst = append(dst, rune(c))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		dst = append(dst, r) // RuneError with n == 1 for invalid input
		i += n
	}
	return dst
}

// byteEncoder is GPT-2's bytes_to_unicode table: every byte maps to a
// printable codepoint; bytes that are printable already map to themselves.
type byteEncoder struct {
	enc [256]rune
	dec [324]int16 // codepoint -> byte, -1 if the codepoint is not an encoding
}

// decode returns the byte that r encodes.
func (e *byteEncoder) decode(r rune) (byte, bool) {
	if r < 0 || int(r) >= len(e.dec) || e.dec[r] < 0 {
		return 0, false
	}
	return byte(e.dec[r]), true
}

func newByteEncoder() *byteEncoder {
	e := &byteEncoder{}
	for i := range e.dec {
		e.dec[i] = -1
	}
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			e.enc[b] = rune(b)
		} else {
			e.enc[b] = 256 + n
			n++
		}
		e.dec[e.enc[b]] = int16(b)
	}
	return e
}

// gpt2Bytes is the shared, immutable GPT-2 byte encoder.
var gpt2Bytes = newByteEncoder()
