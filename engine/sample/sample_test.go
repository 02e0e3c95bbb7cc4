package sample

import (
	"errors"
	"math"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitmix64KnownOutputs(t *testing.T) {
	// First outputs of splitmix64 from state 0, as published with Vigna's
	// reference implementation (and used by many ports as a test vector).
	x := uint64(0)
	assert.Equal(t, uint64(0xe220a8397b1dcdaf), splitmix64(&x))
	assert.Equal(t, uint64(0x6e789e6aa1b965f4), splitmix64(&x))
	assert.Equal(t, uint64(0x06c45d188009454f), splitmix64(&x))
}

func TestValidateNamesTheOption(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name   string
		mod    func(*Options)
		option string
	}{
		{"negative top-k", func(o *Options) { o.TopK = -1 }, "topK"},
		{"negative top-p", func(o *Options) { o.TopP = -0.1 }, "topP"},
		{"top-p above 1", func(o *Options) { o.TopP = 1.5 }, "topP"},
		{"NaN top-p", func(o *Options) { o.TopP = nan }, "topP"},
		{"negative min-p", func(o *Options) { o.MinP = -0.5 }, "minP"},
		{"min-p above 1", func(o *Options) { o.MinP = 2 }, "minP"},
		{"NaN temperature", func(o *Options) { o.Temperature = nan }, "temperature"},
		{"infinite temperature", func(o *Options) { o.Temperature = float32(math.Inf(1)) }, "temperature"},
		{"negative repeat penalty", func(o *Options) { o.RepeatPenalty = -1 }, "repeatPenalty"},
		{"NaN frequency penalty", func(o *Options) { o.FreqPenalty = nan }, "frequencyPenalty"},
		{"NaN presence penalty", func(o *Options) { o.PresencePenalty = nan }, "presencePenalty"},
		{"repeat-last-n below -1", func(o *Options) { o.RepeatLastN = -2 }, "repeatLastN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.mod(&o)
			_, err := New(o, 10)
			var oe *OptionError
			require.True(t, errors.As(err, &oe), "got %v", err)
			assert.Equal(t, tc.option, oe.Option)
			assert.Contains(t, err.Error(), tc.option)
		})
	}
	_, err := New(DefaultOptions(), 0)
	assert.Error(t, err)
	for _, o := range []Options{{}, DefaultOptions(), {Temperature: -1, RepeatLastN: -1, TopP: 1, MinP: 1}} {
		_, err := New(o, 10)
		assert.NoError(t, err, "%+v", o)
	}
}

func TestGreedyPicksFirstMaximum(t *testing.T) {
	s, err := New(Options{}, 6)
	require.NoError(t, err)
	assert.Equal(t, int32(4), s.Sample([]float32{0, 1, -3, 2, 5, 5}, nil))
	assert.Equal(t, int32(0), s.Sample([]float32{7, 1, -3, 2, 5, 5}, nil))
	assert.True(t, s.Greedy())
}

func TestSampleDoesNotModifyLogits(t *testing.T) {
	o := DefaultOptions()
	o.RepeatPenalty = 1.3
	s, err := New(o, 5)
	require.NoError(t, err)
	logits := []float32{1, 2, 3, -1, 0.5}
	orig := append([]float32(nil), logits...)
	s.Sample(logits, []int32{1, 2, 3})
	assert.Equal(t, orig, logits)
}

// refPenalties is llama.cpp's penalty formula in float64, written from its
// description: count occurrences in the window; for a token seen at least
// once, divide a positive logit (multiply a non-positive one) by the repeat
// penalty, then subtract count*freq + presence.
func refPenalties(logits []float32, window []int32, rp, freq, pres float64) []float64 {
	count := map[int32]int{}
	for _, t := range window {
		count[t]++
	}
	out := make([]float64, len(logits))
	for i, l := range logits {
		x := float64(l)
		if n := count[int32(i)]; n > 0 {
			if x <= 0 {
				x *= rp
			} else {
				x /= rp
			}
			x -= float64(n)*freq + pres
		}
		out[i] = x
	}
	return out
}

func TestPenaltiesFollowLlamaCppFormula(t *testing.T) {
	logits := []float32{2, -2, 0.5, -0.5, 3, 1, 0, 4}
	history := []int32{7, 7, 7, 1, 2, 2, 4, 6, 1, 1, 3}
	tests := []struct {
		name            string
		rp, freq, pres  float32
		lastN, winStart int
	}{
		{"repeat only", 1.3, 0, 0, 64, 0},
		{"frequency and presence", 1, 0.25, 0.5, 64, 0},
		{"all three", 1.1, 0.1, 0.2, -1, 0},
		{"window of 5", 1.5, 0.3, 0.1, 5, len(history) - 5},
		{"window of 1", 2, 0, 0, 1, len(history) - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{RepeatPenalty: tc.rp, FreqPenalty: tc.freq, PresencePenalty: tc.pres, RepeatLastN: tc.lastN}, len(logits))
			require.NoError(t, err)
			c := make([]cand, len(logits))
			for i, l := range logits {
				c[i] = cand{id: int32(i), logit: l}
			}
			s.applyPenalties(c, history)
			want := refPenalties(logits, history[tc.winStart:], float64(tc.rp), float64(tc.freq), float64(tc.pres))
			for i := range c {
				assert.InDelta(t, want[i], float64(c[i].logit), 1e-5, "token %d", i)
			}
			for _, n := range s.counts {
				require.Zero(t, n, "counts must be cleared after use")
			}
		})
	}
}

func TestPenaltiesChangeTheGreedyChoice(t *testing.T) {
	logits := []float32{1, 3, 2.5}
	plain, err := New(Options{}, 3)
	require.NoError(t, err)
	assert.Equal(t, int32(1), plain.Sample(logits, []int32{1, 1}))
	pen, err := New(Options{RepeatPenalty: 1.5}, 3) // 3/1.5 = 2 < 2.5
	require.NoError(t, err)
	assert.Equal(t, int32(2), pen.Sample(logits, []int32{1, 1}))
	// Outside the window of 1 token, token 1 is not penalized.
	win, err := New(Options{RepeatPenalty: 1.5, RepeatLastN: 1}, 3)
	require.NoError(t, err)
	assert.Equal(t, int32(1), win.Sample(logits, []int32{1, 0}))
}

// frequencies draws n tokens and returns their relative frequencies.
func frequencies(t *testing.T, o Options, logits []float32, n int) []float64 {
	t.Helper()
	s, err := New(o, len(logits))
	require.NoError(t, err)
	f := make([]float64, len(logits))
	for i := 0; i < n; i++ {
		f[s.Sample(logits, nil)]++
	}
	for i := range f {
		f[i] /= float64(n)
	}
	return f
}

// assertConverges checks every frequency against its probability within 5
// standard deviations of a binomial proportion.
func assertConverges(t *testing.T, want, got []float64, n int) {
	t.Helper()
	for i := range want {
		sd := math.Sqrt(want[i]*(1-want[i])/float64(n)) + 1e-12
		assert.InDelta(t, want[i], got[i], 5*sd+1e-9, "token %d: want p=%.4f got %.4f", i, want[i], got[i])
	}
}

// refDist is softmax(logits/temp) restricted to keep, in float64.
func refDist(logits []float32, temp float64, keep func(i int) bool) []float64 {
	out := make([]float64, len(logits))
	var sum float64
	for i, l := range logits {
		if keep(i) {
			out[i] = math.Exp(float64(l) / temp)
			sum += out[i]
		}
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func TestSamplingFrequenciesConverge(t *testing.T) {
	probs := []float64{0.4, 0.25, 0.15, 0.1, 0.06, 0.04}
	logits := make([]float32, len(probs))
	for i, p := range probs {
		logits[i] = float32(math.Log(p))
	}
	all := func(int) bool { return true }
	const n = 200000
	tests := []struct {
		name string
		o    Options
		want []float64
	}{
		{"temperature 1", Options{Temperature: 1, Seed: 1}, refDist(logits, 1, all)},
		{"temperature 0.5", Options{Temperature: 0.5, Seed: 2}, refDist(logits, 0.5, all)},
		{"temperature 2", Options{Temperature: 2, Seed: 3}, refDist(logits, 2, all)},
		{"top-k 3 then temperature 0.7", Options{Temperature: 0.7, TopK: 3, Seed: 4}, refDist(logits, 0.7, func(i int) bool { return i < 3 })},
		// cumulative 0.4, 0.65, 0.80: top-p 0.7 keeps three tokens.
		{"top-p 0.7", Options{Temperature: 1, TopP: 0.7, Seed: 5}, refDist(logits, 1, func(i int) bool { return i < 3 })},
		// min-p 0.3: keep p >= 0.12, i.e. tokens 0, 1, 2; temperature applies after.
		{"min-p 0.3 then temperature 1.5", Options{Temperature: 1.5, MinP: 0.3, Seed: 6}, refDist(logits, 1.5, func(i int) bool { return i < 3 })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := frequencies(t, tc.o, logits, n)
			assertConverges(t, tc.want, got, n)
		})
	}
}

// refKeep returns the token set the chain keeps for logits (float64
// reference: top-k, then top-p on the softmax of the kept tokens, then min-p
// relative to the best kept token).
func refKeep(logits []float32, o Options) map[int32]bool {
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if o.TopK > 0 && o.TopK < len(idx) {
		idx = idx[:o.TopK]
	}
	if o.TopP > 0 && o.TopP < 1 {
		var sum float64
		for _, i := range idx {
			sum += math.Exp(float64(logits[i] - logits[idx[0]]))
		}
		var cum float64
		for j, i := range idx {
			cum += math.Exp(float64(logits[i]-logits[idx[0]])) / sum
			if cum >= float64(o.TopP) {
				idx = idx[:j+1]
				break
			}
		}
	}
	if o.MinP > 0 {
		best := float64(logits[idx[0]])
		var kept []int
		for _, i := range idx {
			if math.Exp(float64(logits[i])-best) >= float64(o.MinP) {
				kept = append(kept, i)
			}
		}
		idx = kept
	}
	keep := map[int32]bool{}
	for _, i := range idx {
		keep[int32(i)] = true
	}
	return keep
}

func TestFiltersNeverPickExcludedTokens(t *testing.T) {
	var r rng
	r.seed(99)
	const vocab = 2000
	logits := make([]float32, vocab)
	for i := range logits {
		// Spread-out logits so that no cut lands within rounding of a boundary.
		logits[i] = float32(r.float64()*12 - 6)
	}
	tests := []Options{
		{Temperature: 1.5, TopK: 7},
		{Temperature: 3, TopP: 0.5},
		{Temperature: 3, MinP: 0.2},
		{Temperature: 2, TopK: 100, TopP: 0.9, MinP: 0.05},
		{Temperature: 2, TopK: 0, TopP: 0.95, MinP: 0.01},
	}
	for _, o := range tests {
		keep := refKeep(logits, o)
		require.NotEmpty(t, keep)
		s, err := New(o, vocab)
		require.NoError(t, err)
		seen := map[int32]bool{}
		for i := 0; i < 3000; i++ {
			id := s.Sample(logits, nil)
			require.True(t, keep[id], "options %+v picked excluded token %d", o, id)
			seen[id] = true
		}
		assert.Greater(t, len(seen), 1, "options %+v: sampling collapsed to one token", o)
	}
}

func TestDeterministicPerSeed(t *testing.T) {
	var r rng
	r.seed(7)
	logits := make([]float32, 500)
	for i := range logits {
		logits[i] = float32(r.float64() * 4)
	}
	o := DefaultOptions()
	o.Temperature = 1.2
	o.RepeatPenalty = 1.1
	o.Seed = 42
	draw := func(o Options) []int32 {
		s, err := New(o, len(logits))
		require.NoError(t, err)
		var hist []int32
		for i := 0; i < 300; i++ {
			hist = append(hist, s.Sample(logits, hist))
		}
		return hist
	}
	a, b := draw(o), draw(o)
	assert.Equal(t, a, b)
	o.Seed = 43
	assert.NotEqual(t, a, draw(o))

	s, err := New(DefaultOptions(), len(logits))
	require.NoError(t, err)
	first := make([]int32, 50)
	for i := range first {
		first[i] = s.Sample(logits, nil)
	}
	s.Reseed(0)
	for i := range first {
		require.Equal(t, first[i], s.Sample(logits, nil), "draw %d after Reseed", i)
	}
}

func TestSampleDoesNotAllocate(t *testing.T) {
	var r rng
	r.seed(3)
	logits := make([]float32, 32000)
	for i := range logits {
		logits[i] = float32(r.float64()*10 - 5)
	}
	hist := make([]int32, 200)
	for i := range hist {
		hist[i] = int32(r.next() % 32000)
	}
	for _, o := range []Options{
		{},
		{Temperature: 1, TopP: 0.5},
		{RepeatPenalty: 1.1, FreqPenalty: 0.1, PresencePenalty: 0.1},
		DefaultOptions(),
		{Temperature: 0.9, TopP: 0.9, RepeatPenalty: 1.2, RepeatLastN: -1},
		{Temperature: 0.9, MinP: 0.1},
	} {
		s, err := New(o, len(logits))
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(20, func() { s.Sample(logits, hist) })
		assert.Zero(t, allocs, "options %+v", o)
	}
}

func TestSelectTopMatchesSort(t *testing.T) {
	var r rng
	r.seed(5)
	for trial := 0; trial < 200; trial++ {
		n := 1 + int(r.next()%300)
		c := make([]cand, n)
		for i := range c {
			// Few distinct values, so ties are common.
			c[i] = cand{id: int32(i), logit: float32(r.next() % 7)}
		}
		k := 1 + int(r.next()%uint64(n))
		ref := append([]cand(nil), c...)
		sort.Slice(ref, func(a, b int) bool { return byLogitDesc(ref[a], ref[b]) < 0 })
		selectTop(c, k)
		got := map[int32]bool{}
		for _, x := range c[:k] {
			got[x.id] = true
		}
		for _, x := range ref[:k] {
			require.True(t, got[x.id], "trial %d n %d k %d: missing id %d", trial, n, k, x.id)
		}
	}
}

func BenchmarkSample32k(b *testing.B) {
	var r rng
	r.seed(3)
	logits := make([]float32, 32000)
	for i := range logits {
		logits[i] = float32(r.float64()*10 - 5)
	}
	s, _ := New(DefaultOptions(), len(logits))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Sample(logits, nil)
	}
}

func BenchmarkSample32kTopPOnly(b *testing.B) {
	var r rng
	r.seed(3)
	logits := make([]float32, 32000)
	for i := range logits {
		logits[i] = float32(r.float64()*10 - 5)
	}
	s, _ := New(Options{Temperature: 0.8, TopP: 0.95}, len(logits))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Sample(logits, nil)
	}
}

// TestSampleTopKMatchesSample requires SampleTopK, given only the top k
// logits (found here by sorting the whole vocabulary, independently of
// selectTop), to pick what Sample picks from every logit, step after step
// with the same seed, over option sets that exercise top-p, min-p and the
// temperature, on logits with many ties and -Inf.
func TestSampleTopKMatchesSample(t *testing.T) {
	const nVocab = 300
	r := rng{}
	r.seed(77)
	logits := make([]float32, nVocab)
	for _, o := range []Options{
		{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1},
		{Temperature: 1.5, TopK: 1},
		{Temperature: 0.3, TopK: 64, TopP: 0.5},
		{Temperature: 1, TopK: 7, MinP: 0.3},
		{Temperature: 2, TopK: 299},
	} {
		full, err := New(o, nVocab)
		require.NoError(t, err)
		top, err := New(o, nVocab)
		require.NoError(t, err)
		k := top.TopKOnly()
		require.Equal(t, o.TopK, k, "%+v", o)
		ids, vals := make([]int32, k), make([]float32, k)
		for step := range 200 {
			for i := range logits {
				// coarse values: many ties
				logits[i] = float32(int(r.float64()*40)) / 4
				if r.float64() < 0.05 {
					logits[i] = float32(math.Inf(-1))
				}
			}
			order := make([]cand, nVocab)
			for i, l := range logits {
				order[i] = cand{id: int32(i), logit: l}
			}
			sort.SliceStable(order, func(a, b int) bool { return byLogitDesc(order[a], order[b]) < 0 })
			for i := range k {
				ids[i], vals[i] = order[i].id, order[i].logit
			}
			want := full.Sample(logits, nil)
			got := top.SampleTopK(ids, vals)
			require.Equal(t, want, got, "%+v step %d", o, step)
		}
	}
}

// TestTopKOnly checks when a sampler needs only the top k logits: not when
// greedy, with a penalty, without a top-k cut or with one that keeps the
// whole vocabulary; and that SampleTopK refuses the wrong count.
func TestTopKOnly(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want int
	}{
		{DefaultOptions(), 40},
		{Options{Temperature: 0, TopK: 40}, 0},
		{Options{Temperature: 0.8, TopK: 40, RepeatPenalty: 1.1}, 0},
		{Options{Temperature: 0.8, TopK: 40, PresencePenalty: 0.5}, 0},
		{Options{Temperature: 0.8, TopK: 40, FreqPenalty: 0.5}, 0},
		{Options{Temperature: 0.8}, 0},
		{Options{Temperature: 0.8, TopK: 100}, 0},
		{Options{Temperature: 0.8, TopK: 99}, 99},
	} {
		s, err := New(c.o, 100)
		require.NoError(t, err)
		assert.Equal(t, c.want, s.TopKOnly(), "%+v", c.o)
	}
	s, err := New(DefaultOptions(), 100)
	require.NoError(t, err)
	assert.Panics(t, func() { s.SampleTopK(make([]int32, 39), make([]float32, 39)) })
	g, err := New(Options{}, 100)
	require.NoError(t, err)
	assert.Panics(t, func() { g.SampleTopK(make([]int32, 40), make([]float32, 40)) })
}
