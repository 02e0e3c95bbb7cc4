// Package sample picks the next token from a vector of logits, the way
// llama.cpp's common sampler chain does with its default order:
//
//	penalties -> top-k -> top-p -> min-p -> temperature -> dist
//
// With Temperature <= 0 the chain ends in greedy selection instead
// (penalties, then the token with the largest logit; ties go to the lowest id).
//
// Random draws come from xoshiro256** seeded through splitmix64 with
// Options.Seed, so the same seed, options, logits and history always give the
// same tokens. A Sampler preallocates everything it needs: Sample does not
// allocate.
package sample

import (
	"fmt"
	"math"
	"slices"
)

// DefaultRepeatLastN is the penalty window used when Options.RepeatLastN is 0
// (llama.cpp's default penalty_last_n).
const DefaultRepeatLastN = 64

// Options configures a Sampler. The zero value means greedy selection without
// penalties.
type Options struct {
	// Temperature divides the logits before the final draw; <= 0 selects greedily.
	Temperature float32
	// TopK keeps the K most likely tokens; 0 disables it. Must be >= 0.
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches P (nucleus sampling). Must be in [0, 1]; 0 and 1 disable it.
	TopP float32
	// MinP drops tokens less likely than MinP times the most likely token.
	// Must be in [0, 1]; 0 disables it.
	MinP float32
	// RepeatPenalty divides positive logits and multiplies negative ones of
	// tokens seen in the last RepeatLastN tokens. 0 and 1 disable it; must be >= 0.
	RepeatPenalty float32
	// FreqPenalty is subtracted once per occurrence of a token in the window.
	FreqPenalty float32
	// PresencePenalty is subtracted once from every token in the window.
	PresencePenalty float32
	// RepeatLastN is the penalty window in tokens: 0 means DefaultRepeatLastN,
	// -1 the whole history. Must be >= -1.
	RepeatLastN int
	// Seed seeds the random generator (every value, 0 included, is a fixed seed).
	Seed uint64
}

// DefaultOptions returns llama.cpp's default sampling settings (temperature
// 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalties, window 64) with seed 0.
func DefaultOptions() Options {
	return Options{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		RepeatPenalty: 1,
		RepeatLastN:   DefaultRepeatLastN,
	}
}

// OptionError reports an invalid sampling option. Option is the option's
// name as the JavaScript and C APIs spell it (for example "topP").
type OptionError struct {
	Option string
	Msg    string
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("sample: invalid option %s: %s", e.Option, e.Msg)
}

func finite(x float32) bool {
	return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
}

// Validate reports the first invalid option as an *OptionError.
func (o Options) Validate() error {
	switch {
	case !finite(o.Temperature):
		return &OptionError{"temperature", fmt.Sprintf("must be a finite number, got %v", o.Temperature)}
	case o.TopK < 0:
		return &OptionError{"topK", fmt.Sprintf("must be >= 0 (0 disables it), got %d", o.TopK)}
	case !finite(o.TopP) || o.TopP < 0 || o.TopP > 1:
		return &OptionError{"topP", fmt.Sprintf("must be in [0, 1], got %v", o.TopP)}
	case !finite(o.MinP) || o.MinP < 0 || o.MinP > 1:
		return &OptionError{"minP", fmt.Sprintf("must be in [0, 1], got %v", o.MinP)}
	case !finite(o.RepeatPenalty) || o.RepeatPenalty < 0:
		return &OptionError{"repeatPenalty", fmt.Sprintf("must be >= 0 (1 disables it), got %v", o.RepeatPenalty)}
	case !finite(o.FreqPenalty):
		return &OptionError{"frequencyPenalty", fmt.Sprintf("must be a finite number, got %v", o.FreqPenalty)}
	case !finite(o.PresencePenalty):
		return &OptionError{"presencePenalty", fmt.Sprintf("must be a finite number, got %v", o.PresencePenalty)}
	case o.RepeatLastN < -1:
		return &OptionError{"repeatLastN", fmt.Sprintf("must be >= -1 (-1 = whole history, 0 = %d), got %d", DefaultRepeatLastN, o.RepeatLastN)}
	}
	return nil
}

// cand is one candidate token during sampling.
type cand struct {
	id    int32
	logit float32
	p     float32
}

// Sampler picks tokens. It is not safe for concurrent use.
type Sampler struct {
	o       Options
	nVocab  int
	cands   []cand
	counts  []int32 // occurrences per token in the penalty window; all zero between calls
	touched []int32 // tokens whose counts are non-zero during a call
	r       rng
}

// New returns a Sampler for a vocabulary of nVocab tokens.
func New(o Options, nVocab int) (*Sampler, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if nVocab <= 0 {
		return nil, fmt.Errorf("sample: vocabulary size must be positive, got %d", nVocab)
	}
	if o.RepeatLastN == 0 {
		o.RepeatLastN = DefaultRepeatLastN
	}
	s := &Sampler{
		o:      o,
		nVocab: nVocab,
		cands:  make([]cand, nVocab),
		counts: make([]int32, nVocab),
	}
	if s.penalties() {
		win := o.RepeatLastN
		if win < 0 || win > nVocab {
			win = nVocab // distinct tokens never exceed the vocabulary
		}
		s.touched = make([]int32, 0, win)
	}
	s.r.seed(o.Seed)
	return s, nil
}

// Options returns the sampler's options (RepeatLastN with 0 resolved).
func (s *Sampler) Options() Options { return s.o }

// Reseed restarts the random sequence from seed.
func (s *Sampler) Reseed(seed uint64) {
	s.o.Seed = seed
	s.r.seed(seed)
}

// Greedy reports whether the sampler always picks the most likely token.
func (s *Sampler) Greedy() bool { return s.o.Temperature <= 0 }

func (s *Sampler) penalties() bool {
	return (s.o.RepeatPenalty != 1 && s.o.RepeatPenalty != 0) || s.o.FreqPenalty != 0 || s.o.PresencePenalty != 0
}

// Sample returns the next token for logits (len nVocab; it is not modified)
// given the tokens so far (history, prompt included; only the last
// RepeatLastN matter and only when a penalty is set). It panics when
// len(logits) differs from the vocabulary size given to New.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	if len(logits) != s.nVocab {
		panic(fmt.Sprintf("sample: got %d logits, vocabulary has %d tokens", len(logits), s.nVocab))
	}
	c := s.cands
	for i, l := range logits {
		c[i] = cand{id: int32(i), logit: l}
	}
	if s.penalties() {
		s.applyPenalties(c, history)
	}
	if s.o.Temperature <= 0 {
		best := 0
		for i := 1; i < len(c); i++ {
			if c[i].logit > c[best].logit {
				best = i
			}
		}
		return c[best].id
	}
	sorted := false
	if k := s.o.TopK; k > 0 && k < len(c) {
		selectTop(c, k)
		c = c[:k]
		slices.SortFunc(c, byLogitDesc)
		sorted = true
	}
	return s.pick(c, sorted)
}

// TopKOnly returns k when Sample's choice depends only on the k largest
// logits (by descending logit, ties by ascending id): sampling (not
// greedy) with a top-k cut below the vocabulary size and no penalties.
// Then SampleTopK on those k gives Sample's token. Otherwise it returns 0.
func (s *Sampler) TopKOnly() int {
	if s.o.Temperature <= 0 || s.penalties() || s.o.TopK <= 0 || s.o.TopK >= s.nVocab {
		return 0
	}
	return s.o.TopK
}

// SampleTopK is Sample given only the TopKOnly() largest logits: ids and
// logits hold them in descending order of logit, ties by ascending id (as
// engine.TopKBackend returns them). It returns the token Sample returns
// for the full logits and draws the same random number. It panics when
// TopKOnly() is 0 or differs from len(ids) or len(logits).
func (s *Sampler) SampleTopK(ids []int32, logits []float32) int32 {
	k := s.TopKOnly()
	if k == 0 || len(ids) != k || len(logits) != k {
		panic(fmt.Sprintf("sample: SampleTopK with %d ids and %d logits; the sampler takes the top %d (0: not top-k only)", len(ids), len(logits), k))
	}
	c := s.cands[:k]
	for i, id := range ids {
		c[i] = cand{id: id, logit: logits[i]}
	}
	return s.pick(c, true)
}

// pick is Sample after the top-k cut: top-p, min-p and the draw over c
// (sorted says c is in byLogitDesc order).
func (s *Sampler) pick(c []cand, sorted bool) int32 {
	if p := s.o.TopP; p > 0 && p < 1 {
		// Probabilities over all remaining candidates, then the most likely
		// ones in order until their sum reaches p. Without a preceding top-k
		// only a growing prefix is selected and sorted, not the whole vocabulary.
		softmax(c, 1)
		k := len(c)
		if !sorted {
			k = min(64, len(c))
		}
		for {
			if !sorted {
				if k < len(c) {
					selectTop(c, k)
				}
				slices.SortFunc(c[:k], byLogitDesc)
			}
			var cum float32
			cut := -1
			for i := range c[:k] {
				cum += c[i].p
				if cum >= p {
					cut = i + 1
					break
				}
			}
			if cut >= 0 {
				c = c[:cut]
				break
			}
			if k == len(c) {
				break // rounding kept the sum below p: keep everything
			}
			k = min(2*k, len(c))
		}
		sorted = true
	}
	if p := s.o.MinP; p > 0 && len(c) > 0 {
		if sorted {
			min := c[0].logit + float32(math.Log(float64(p)))
			for i := 1; i < len(c); i++ {
				if c[i].logit < min {
					c = c[:i]
					break
				}
			}
		} else {
			max := c[0].logit
			for _, x := range c[1:] {
				if x.logit > max {
					max = x.logit
				}
			}
			min := max + float32(math.Log(float64(p)))
			n := 0
			for _, x := range c {
				if x.logit >= min {
					c[n] = x
					n++
				}
			}
			c = c[:n]
		}
	}
	sum := softmax(c, s.o.Temperature)
	u := float32(s.r.float64()) * sum
	var cum float32
	for i := range c {
		cum += c[i].p
		if u < cum {
			return c[i].id
		}
	}
	// Rounding can leave u == sum: pick the last candidate with p > 0.
	for i := len(c) - 1; i > 0; i-- {
		if c[i].p > 0 {
			return c[i].id
		}
	}
	return c[0].id
}

// applyPenalties applies llama.cpp's repetition penalties to c (indexed by
// token id) for the last RepeatLastN tokens of history.
func (s *Sampler) applyPenalties(c []cand, history []int32) {
	win := history
	if n := s.o.RepeatLastN; n >= 0 && len(win) > n {
		win = win[len(win)-n:]
	}
	s.touched = s.touched[:0]
	for _, t := range win {
		if t < 0 || int(t) >= s.nVocab {
			continue
		}
		if s.counts[t] == 0 {
			s.touched = append(s.touched, t) // capacity covers every distinct token
		}
		s.counts[t]++
	}
	rp := s.o.RepeatPenalty
	if rp == 0 {
		rp = 1
	}
	for _, t := range s.touched {
		n := s.counts[t]
		s.counts[t] = 0
		l := c[t].logit
		if l <= 0 {
			l *= rp
		} else {
			l /= rp
		}
		l -= float32(n)*s.o.FreqPenalty + s.o.PresencePenalty
		c[t].logit = l
	}
}

// byLogitDesc orders candidates by descending logit, ties by ascending id.
func byLogitDesc(a, b cand) int {
	switch {
	case a.logit > b.logit:
		return -1
	case a.logit < b.logit:
		return 1
	}
	return int(a.id) - int(b.id)
}

// softmax sets c[i].p to exp(logit/temp) normalized over c and returns the
// sum of the p values as accumulated in float32 (about 1; 0 when c is empty),
// so that a draw in [0, sum) always lands on a candidate.
func softmax(c []cand, temp float32) float32 {
	if len(c) == 0 {
		return 0
	}
	max := c[0].logit
	for _, x := range c[1:] {
		if x.logit > max {
			max = x.logit
		}
	}
	var sum float64
	for i := range c {
		e := math.Exp(float64(c[i].logit-max) / float64(temp))
		c[i].p = float32(e)
		sum += e
	}
	var total float32
	for i := range c {
		c[i].p = float32(float64(c[i].p) / sum)
		total += c[i].p
	}
	return total
}

// selectTop reorders c so that its first k elements are the k largest under
// byLogitDesc (in no particular order). It is Hoare's quickselect with a
// median-of-three pivot; the order is total, so the chosen set is unique.
func selectTop(c []cand, k int) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if byLogitDesc(c[mid], c[lo]) < 0 {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if byLogitDesc(c[hi], c[lo]) < 0 {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if byLogitDesc(c[hi], c[mid]) < 0 {
			c[hi], c[mid] = c[mid], c[hi]
		}
		pivot := c[mid]
		i, j := lo, hi
		for i <= j {
			for byLogitDesc(c[i], pivot) < 0 {
				i++
			}
			for byLogitDesc(pivot, c[j]) < 0 {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		// Now c[lo..j] <= pivot-side and c[i..hi] >= pivot-side.
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}
