package tokenizer

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearthllm/hearth/gguf"
	"github.com/stretchr/testify/require"
)

// englishText is about n bytes of ordinary English prose.
func englishText(n int) string {
	const para = "It was a bright cold day in April, and the clocks were striking thirteen. " +
		"Winston Smith, his chin nuzzled into his breast in an effort to escape the vile wind, " +
		"slipped quickly through the glass doors of Victory Mansions, though not quickly enough " +
		"to prevent a swirl of gritty dust from entering along with him. The hallway smelt of " +
		"boiled cabbage and old rag mats. At one end of it a coloured poster, too large for indoor " +
		"display, had been tacked to the wall. It depicted simply an enormous face, more than a " +
		"metre wide: the face of a man of about forty-five, with a heavy black moustache and " +
		"ruggedly handsome features. They're 100% sure it's 3.14159, aren't they?\n\n"
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(para)
	}
	return b.String()[:n]
}

func benchVocab(b *testing.B, name string) Vocab {
	f, err := gguf.Open(vocabPath(b, name))
	require.NoError(b, err)
	defer f.Close()
	v, err := VocabFromGGUF(f)
	require.NoError(b, err)
	return v
}

// BenchmarkBuild measures New (maps, merges, pieces) from already-read
// metadata.
func BenchmarkBuild(b *testing.B) {
	for _, name := range []string{"llama-spm", "llama-bpe"} {
		b.Run(name, func(b *testing.B) {
			v := benchVocab(b, name)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start, _ := threadCPU()
			for b.Loop() {
				if _, err := New(v); err != nil {
					b.Fatal(err)
				}
			}
			cpuMetric(b, start)
		})
	}
}

// BenchmarkFromGGUF measures reading the metadata and building.
func BenchmarkFromGGUF(b *testing.B) {
	for _, name := range []string{"llama-spm", "llama-bpe"} {
		b.Run(name, func(b *testing.B) {
			path := vocabPath(b, name)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start, _ := threadCPU()
			for b.Loop() {
				f, err := gguf.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := FromGGUF(f); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			cpuMetric(b, start)
		})
	}
}

// BenchmarkEncode10KB tokenizes 10 KB of English text.
func BenchmarkEncode10KB(b *testing.B) {
	text := englishText(10 << 10)
	for _, name := range []string{"llama-spm", "llama-bpe", "gpt-2"} {
		b.Run(name, func(b *testing.B) {
			tok := loadTok(b, vocabPath(b, name))
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start, _ := threadCPU()
			for b.Loop() {
				tok.Encode(text, true, false)
			}
			cpuMetric(b, start)
		})
	}
}

// BenchmarkDecoder streams ids through a Decoder.
func BenchmarkDecoder(b *testing.B) {
	tok := loadTok(b, vocabPath(b, "llama-bpe"))
	ids := tok.Encode(englishText(10<<10), false, false)
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, _ := threadCPU()
	for b.Loop() {
		d := tok.NewDecoder()
		for _, id := range ids {
			d.Add(id)
		}
	}
	cpuMetric(b, start)
}

// cpuMetric reports the thread CPU time per op next to the wall time;
// call it with the goroutine locked to its thread.
func cpuMetric(b *testing.B, start time.Duration) {
	if end, ok := threadCPU(); ok {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}
