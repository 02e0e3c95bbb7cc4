package tokenizer

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spmVocab is a hand-made SentencePiece vocabulary; the expectations below
// follow from llama.cpp's algorithm by hand (highest-scoring pair first).
func spmVocab(abScore, spaceAScore float32) Vocab {
	return Vocab{
		Model:  "llama",
		Tokens: []string{"<unk>", "<s>", "</s>", "<0xE2>", "<0x82>", "<0xAC>", "▁", "a", "b", "▁a", "ab", "<tool>"},
		Scores: []float32{0, 0, 0, 0, 0, 0, -1, -2, -3, spaceAScore, abScore, 0},
		Types: []TokenType{TypeUnknown, TypeControl, TypeControl, TypeByte, TypeByte, TypeByte,
			TypeNormal, TypeNormal, TypeNormal, TypeNormal, TypeNormal, TypeUserDefined},
	}
}

func TestSPMPlainData(t *testing.T) {
	abFirst, err := New(spmVocab(-0.5, -1.5))
	require.NoError(t, err)
	spaceFirst, err := New(spmVocab(-1.5, -0.5))
	require.NoError(t, err)
	tests := []struct {
		name                     string
		tok                      *Tokenizer
		text                     string
		addSpecial, parseSpecial bool
		want                     []int32
	}{
		{"ab scores higher", abFirst, "ab", false, false, []int32{6, 10}},
		{"▁a scores higher", spaceFirst, "ab", false, false, []int32{9, 8}},
		{"byte fallback", abFirst, "€", false, false, []int32{6, 3, 4, 5}},
		{"bos added", abFirst, "a", true, false, []int32{1, 9}},
		{"empty with bos", abFirst, "", true, false, []int32{1}},
		{"empty", abFirst, "", false, false, []int32{}},
		{"control is text without parseSpecial", abFirst, "<s>", false, false, nil},
		{"control parsed", abFirst, "<s>a", false, true, []int32{1, 9}},
		{"user-defined always parsed", abFirst, "a<tool>a", false, false, []int32{9, 11, 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.tok.Encode(tc.text, tc.addSpecial, tc.parseSpecial)
			if tc.want == nil {
				assert.NotContains(t, got, int32(1))
				return
			}
			assert.Equal(t, tc.want, got)
		})
	}
	assert.Equal(t, " ab", abFirst.Decode([]int32{1, 6, 10, 2}))
	assert.Equal(t, "€", abFirst.Decode([]int32{3, 4, 5}))
	assert.Equal(t, "<tool>", string(abFirst.Piece(11)))
	assert.Empty(t, abFirst.Piece(1))
	assert.Equal(t, "<s>", string(abFirst.PieceSpecial(1)))
	assert.True(t, abFirst.IsEOG(2))
	assert.False(t, abFirst.IsEOG(1))
	assert.Equal(t, int32(1), abFirst.BOS())
	assert.True(t, abFirst.AddBOS())
	assert.Equal(t, TypeByte, abFirst.TokenType(3))
	assert.Equal(t, "▁a", abFirst.TokenText(9))
	assert.Equal(t, 12, abFirst.NVocab())
}

func TestBPEPlainData(t *testing.T) {
	tok, err := New(Vocab{
		Model:  "gpt2",
		Pre:    "gpt-2",
		Tokens: []string{"a", "b", "c", "ab", "abc", "Ġ", "Ġa", "<|endoftext|>"},
		Types:  []TokenType{1, 1, 1, 1, 1, 1, 1, TypeControl},
		Merges: []string{"a b", "ab c", "Ġ a"},
	})
	require.NoError(t, err)
	// "abc" merges a+b (rank 0) then ab+c; "Ġab" merges a+b before Ġ+a, and
	// Ġ+ab is no merge.
	assert.Equal(t, []int32{4, 5, 3}, tok.Encode("abc ab", false, false))
	assert.Equal(t, []int32{4, 7}, tok.Encode("abc<|endoftext|>", false, true))
	assert.Equal(t, "abc ab", tok.Decode([]int32{4, 5, 3}))
	assert.True(t, tok.IsEOG(7), "<|endoftext|> ends generation")
	assert.False(t, tok.AddBOS(), "gpt-2 does not add BOS")
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		v    Vocab
		want string
	}{
		{"bert", Vocab{Model: "bert", Tokens: []string{"a"}}, "unsupported tokenizer model"},
		{"unknown pre", Vocab{Model: "gpt2", Pre: "nope", Tokens: []string{"a"}, Merges: []string{}}, "unknown pre-tokenizer"},
		{"no merges", Vocab{Model: "gpt2", Tokens: []string{"a"}}, "merges"},
		{"duplicate", Vocab{Model: "llama", Tokens: []string{"<unk>", "<s>", "</s>", "<s>"}}, "duplicate"},
		{"empty", Vocab{Model: "llama"}, "empty"},
		{"short scores", Vocab{Model: "llama", Tokens: []string{"a", "b", "c"}, Scores: []float32{1}}, "scores"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.v)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestConcurrentEncode: a Tokenizer is safe for concurrent use.
func TestConcurrentEncode(t *testing.T) {
	tok := loadTok(t, vocabPath(t, "llama-bpe"))
	texts := genTexts(3, 200)
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = tok.Encode(s, true, true)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, s := range texts {
				assert.Equal(t, want[i], tok.Encode(s, true, true))
			}
		})
	}
	wg.Wait()
}
