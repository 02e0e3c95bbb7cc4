package tokenizer

import "unicode/utf8"

// Decoder turns a stream of token ids into text without ever splitting a
// UTF-8 character: bytes of an incomplete character (for example the first
// byte-fallback tokens of an emoji) are held until the character completes.
// Invalid sequences are passed through as they are, so the concatenation of
// all deltas and Flush equals Tokenizer.Decode of the same ids.
// A Decoder is not safe for concurrent use.
type Decoder struct {
	t       *Tokenizer
	pending []byte // bytes not yet returned
	out     []byte
}

// NewDecoder returns a streaming decoder.
func (t *Tokenizer) NewDecoder() *Decoder {
	return &Decoder{t: t, pending: make([]byte, 0, 8), out: make([]byte, 0, 64)}
}

// Add feeds one token and returns the text that became complete. The slice
// is valid until the next call on d.
func (d *Decoder) Add(id int32) []byte {
	d.pending = append(d.pending, d.t.Piece(id)...)
	n := completePrefix(d.pending)
	d.out = append(d.out[:0], d.pending[:n]...)
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return d.out
}

// Flush returns whatever is still held (an incomplete character at the end
// of the stream) and resets d.
func (d *Decoder) Flush() []byte {
	d.out = append(d.out[:0], d.pending...)
	d.pending = d.pending[:0]
	return d.out
}

// Reset drops held bytes.
func (d *Decoder) Reset() { d.pending = d.pending[:0] }

// completePrefix returns how many leading bytes of b can be emitted: all of
// b, except a trailing UTF-8 sequence that is valid so far but incomplete.
func completePrefix(b []byte) int {
	// A character is at most 4 bytes: look at the last 3 for a lead byte.
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		c := b[i]
		if c < 0x80 {
			return len(b) // ASCII: nothing pending after it
		}
		if c >= 0xC0 { // lead byte
			need := lenUTF8(c)
			have := len(b) - i
			if have >= need || c >= 0xF8 {
				return len(b)
			}
			// Held only while what we have could still become valid.
			if !utf8.FullRune(b[i:]) {
				return i
			}
			return len(b)
		}
	}
	return len(b)
}

// Detokenize is llama.cpp's llama_detokenize: the pieces of ids, with the
// SentencePiece dummy-prefix space of the first token removed, optionally
// without the BOS/EOS that Encode adds (removeSpecial) or with control tokens
// spelled out (unparseSpecial), and with BPE "clean up tokenization spaces"
// applied where the vocabulary asks for it.
func (t *Tokenizer) Detokenize(ids []int32, removeSpecial, unparseSpecial bool) string {
	removeSpace := t.addSpacePrefix
	if removeSpecial && t.addBOS && len(ids) > 0 && ids[0] == t.bos {
		removeSpace = false
		ids = ids[1:]
	}
	if removeSpecial && t.addEOS && len(ids) > 0 && ids[len(ids)-1] == t.eos {
		ids = ids[:len(ids)-1]
	}
	var text []byte
	for _, id := range ids {
		var p []byte
		if unparseSpecial {
			p = t.PieceSpecial(id)
		} else {
			p = t.Piece(id)
		}
		if removeSpace && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		removeSpace = false
		text = append(text, p...)
	}
	if t.cleanSpaces {
		text = cleanSpaces(text)
	}
	return string(text)
}

// cleanSpaces is llama.cpp's clean_up_tokenization_spaces: " ?", " !", " .",
// " ," lose their space; " ' " loses both spaces; " 's", " 'm", " 're", " 've"
// lose their space.
func cleanSpaces(text []byte) []byte {
	if len(text) == 0 {
		return text
	}
	// first pass: space before ?!.,
	n := 1
	for i := 1; i < len(text); i++ {
		x := text[i]
		if text[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			n--
		}
		text[n] = x
		n++
	}
	text = text[:n]
	// second pass: single apostrophe between spaces
	n = 1
	for i := 1; i < len(text); i++ {
		x := text[i]
		if x == '\'' && i+1 < len(text) && text[i-1] == ' ' && text[i+1] == ' ' {
			n--
			i++
			text[i] = 0 // the next space is dropped
		}
		text[n] = x
		n++
	}
	text = text[:n]
	// third pass: contractions
	n = 1
	for i := 1; i < len(text); i++ {
		x := text[i]
		if text[i-1] == ' ' && x == '\'' && i+1 < len(text) {
			x1 := text[i+1]
			switch {
			case x1 == 's' || x1 == 'm':
				n--
			case x1 == 't' || x1 == 'd':
			case i+2 < len(text):
				x2 := text[i+2]
				if (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e') {
					n--
				}
			}
		}
		text[n] = x
		n++
	}
	return text[:n]
}
