package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/hearthllm/hearth/engine/sample"
)

// ErrPromptTooLong is wrapped by the error Generate returns when the prompt
// does not fit in the context. Generate checks this before any work.
var ErrPromptTooLong = errors.New("prompt longer than the context")

// Stop reasons reported in Result.StopReason.
const (
	StopEOS         = "eos"         // the model produced an end-of-generation token
	StopMaxTokens   = "maxTokens"   // GenerateOptions.MaxTokens tokens were generated
	StopString      = "stop"        // the text reached one of GenerateOptions.Stop
	StopAbort       = "abort"       // onToken returned false or ctx was cancelled
	StopContextFull = "contextFull" // prompt and generated tokens fill the context
)

// DefaultBatchSize is the prompt batch size used when GenerateOptions.BatchSize is 0.
const DefaultBatchSize = 512

// Vocab is what Generate needs from a tokenizer; *tokenizer.Tokenizer
// implements it.
type Vocab interface {
	// Piece returns the bytes of token id (byte-fallback tokens decoded).
	Piece(id int32) []byte
	// IsEOG reports whether id ends generation (EOS, EOT, ...).
	IsEOG(id int32) bool
}

// GenerateOptions configures Generate.
type GenerateOptions struct {
	// MaxTokens bounds the number of generated tokens; <= 0 means until an
	// end-of-generation token, a stop string or the end of the context.
	MaxTokens int
	// Sampling selects tokens; Temperature <= 0 is greedy.
	Sampling sample.Options
	// Stop ends generation when the generated text contains one of these
	// strings (matched across token boundaries). Empty strings are invalid.
	Stop []string
	// NVocab is the number of logits per position (the model's vocabulary size). Required.
	NVocab int
	// ContextSize is the number of positions the backend's KV cache holds.
	// Required unless the backend has a ContextSize() int method.
	ContextSize int
	// BatchSize is the number of prompt tokens evaluated per Backend.Eval
	// call; 0 means DefaultBatchSize.
	BatchSize int
}

// Result describes one generation.
type Result struct {
	PromptTokens []int32
	// Tokens are the generated ids, including the end-of-generation token
	// (whose piece counts as empty) and the token that completed a stop string.
	Tokens []int32
	// Text is the concatenated pieces of Tokens; when a stop string ended
	// generation it is cut just before the stop string.
	Text string
	// StopReason is one of the Stop* constants.
	StopReason string
	// PromptDuration is the time spent evaluating the prompt, GenDuration
	// the time spent generating after it.
	PromptDuration, GenDuration time.Duration
}

// Generate evaluates prompt on b (in batches of o.BatchSize, starting at
// position 0) and then samples tokens one at a time until a stop condition.
//
// onToken (may be nil) is called once per generated token with a text delta:
// the deltas never split a UTF-8 character and never include any part of a
// stop string, so text that might begin a stop string is held back until it
// is known not to. Concatenated, the deltas equal Result.Text, except that
// when generation is aborted the bytes still held back appear only in
// Result.Text (and an incomplete UTF-8 sequence at the very end is flushed
// as is). Returning false from onToken stops generation with StopAbort.
// Cancelling ctx also ends with StopAbort and no error.
//
// Apart from amortized growth of the result buffers, the token loop does not
// allocate (given a Backend and Vocab that do not).
func Generate(ctx context.Context, b Backend, tok Vocab, prompt []int32, o GenerateOptions, onToken func(id int32, piece []byte) bool) (res Result, err error) {
	res.PromptTokens = prompt
	if len(prompt) == 0 {
		return res, errors.New("engine: generate: empty prompt")
	}
	if o.NVocab <= 0 {
		return res, fmt.Errorf("engine: generate: NVocab must be positive, got %d", o.NVocab)
	}
	nCtx := o.ContextSize
	if nCtx <= 0 {
		if cs, ok := b.(interface{ ContextSize() int }); ok {
			nCtx = cs.ContextSize()
		}
	}
	if nCtx <= 0 {
		return res, errors.New("engine: generate: context size unknown")
	}
	if len(prompt) > nCtx {
		return res, fmt.Errorf("engine: generate: prompt has %d tokens, context holds %d: %w", len(prompt), nCtx, ErrPromptTooLong)
	}
	for i, t := range prompt {
		if t < 0 || int(t) >= o.NVocab {
			return res, fmt.Errorf("engine: generate: prompt token %d (index %d) out of range [0, %d)", t, i, o.NVocab)
		}
	}
	stops := make([][]byte, len(o.Stop))
	maxStop := 0
	for i, s := range o.Stop {
		if s == "" {
			return res, errors.New("engine: generate: empty stop string")
		}
		stops[i] = []byte(s)
		maxStop = max(maxStop, len(s))
	}
	smp, err := sample.New(o.Sampling, o.NVocab)
	if err != nil {
		return res, fmt.Errorf("engine: generate: %w", err)
	}
	batch := o.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}

	// Greedy sampling without penalties can let the backend pick the token.
	so := smp.Options()
	argmax, useArgmax := b.(ArgmaxBackend)
	useArgmax = useArgmax && so.Temperature <= 0 &&
		(so.RepeatPenalty == 1 || so.RepeatPenalty == 0) && so.FreqPenalty == 0 && so.PresencePenalty == 0

	// Sampling that looks only at the top k logits can let the backend
	// pick those k (TopKBackend), so the full logits never leave it.
	topk, useTopK := b.(TopKBackend)
	k := smp.TopKOnly()
	useTopK = useTopK && !useArgmax && k > 0 && k <= topk.MaxTopK()
	var topIDs []int32
	var topLogits []float32
	if useTopK {
		topIDs, topLogits = make([]int32, k), make([]float32, k)
	}

	room := nCtx - len(prompt) // tokens that fit after the prompt
	if o.MaxTokens > 0 {
		room = min(room, o.MaxTokens)
	}
	history := make([]int32, len(prompt), len(prompt)+room+1)
	copy(history, prompt)
	text := make([]byte, 0, 8*room+64)
	var logits []float32
	if !useArgmax && !useTopK {
		logits = make([]float32, o.NVocab)
	}
	one := make([]int32, 1)

	// Prompt.
	start := time.Now()
	var next int32
	aborted := false
	for i := 0; i < len(prompt); i += batch {
		if ctx.Err() != nil {
			aborted = true
			break
		}
		j := min(i+batch, len(prompt))
		last := j == len(prompt)
		switch {
		case last && useArgmax:
			next, err = argmax.EvalArgmax(ctx, prompt[i:j], i)
		case last && useTopK:
			err = topk.EvalTopK(ctx, prompt[i:j], i, topIDs, topLogits)
		case last:
			err = b.Eval(ctx, prompt[i:j], i, logits)
		default:
			err = b.Eval(ctx, prompt[i:j], i, nil)
		}
		if err != nil {
			if ctx.Err() != nil {
				aborted = true
				break
			}
			return res, fmt.Errorf("engine: generate: prompt: %w", err)
		}
	}
	res.PromptDuration = time.Since(start)
	start = time.Now()
	defer func() { res.GenDuration = time.Since(start) }()
	if aborted {
		res.StopReason = StopAbort
		return res, nil
	}

	emitted := 0 // bytes of text already passed to onToken
	for {
		n := len(history) - len(prompt)
		if o.MaxTokens > 0 && n >= o.MaxTokens {
			res.StopReason = StopMaxTokens
			break
		}
		if len(history) >= nCtx {
			res.StopReason = StopContextFull
			break
		}
		if ctx.Err() != nil {
			res.StopReason = StopAbort
			break
		}
		id := next
		switch {
		case useTopK:
			id = smp.SampleTopK(topIDs, topLogits)
		case !useArgmax:
			id = smp.Sample(logits, history)
		}
		history = append(history, id)
		eog := tok.IsEOG(id)
		pieceLen := 0
		if !eog {
			p := tok.Piece(id)
			pieceLen = len(p)
			text = append(text, p...)
		}

		// Decide whether this token ends generation before streaming it, so
		// that the final delta can flush everything held back.
		final := ""
		cut := -1
		switch {
		case eog:
			final = StopEOS
		default:
			if maxStop > 0 {
				cut = findStop(text, stops, len(text)-pieceLen-maxStop+1)
			}
			switch {
			case cut >= 0:
				final = StopString
				text = text[:cut]
			case o.MaxTokens > 0 && n+1 >= o.MaxTokens:
				final = StopMaxTokens
			case len(history) >= nCtx:
				final = StopContextFull
			}
		}
		safe := len(text)
		if final == "" {
			safe = safeEnd(text, emitted, stops)
		}
		if onToken != nil {
			if !onToken(id, text[emitted:safe]) && final == "" {
				final = StopAbort
			}
		}
		emitted = safe
		if final != "" {
			res.StopReason = final
			break
		}

		one[0] = id
		switch {
		case useArgmax:
			next, err = argmax.EvalArgmax(ctx, one, len(history)-1)
		case useTopK:
			err = topk.EvalTopK(ctx, one, len(history)-1, topIDs, topLogits)
		default:
			err = b.Eval(ctx, one, len(history)-1, logits)
		}
		if err != nil {
			if ctx.Err() != nil {
				res.StopReason = StopAbort
				break
			}
			res.Tokens = history[len(prompt):]
			res.Text = string(text)
			return res, fmt.Errorf("engine: generate: token %d at position %d: %w", id, len(history)-1, err)
		}
	}
	res.Tokens = history[len(prompt):len(history):len(history)]
	res.Text = string(text)
	return res, nil
}

// findStop returns the index of the earliest occurrence of any stop string
// in text that starts at or after from, or -1.
func findStop(text []byte, stops [][]byte, from int) int {
	from = max(from, 0)
	best := -1
	for _, s := range stops {
		if i := bytes.Index(text[from:], s); i >= 0 && (best < 0 || from+i < best) {
			best = from + i
		}
	}
	return best
}

// safeEnd returns how much of text may be streamed: not past a trailing
// incomplete UTF-8 sequence, and not into a suffix that could begin a stop
// string. The result is at least emitted.
func safeEnd(text []byte, emitted int, stops [][]byte) int {
	end := len(text)
	// Hold back a trailing incomplete UTF-8 sequence (at most 3 bytes).
	for k := 1; k <= 3 && k <= end-emitted; k++ {
		c := text[end-k]
		if c < 0x80 {
			break // ASCII: complete
		}
		if c >= 0xC0 { // the leading byte of the last sequence
			if !utf8.FullRune(text[end-k:]) {
				end -= k
			}
			break
		}
	}
	// Hold back the longest suffix that is a proper prefix of a stop string.
	hold := 0
	for _, s := range stops {
		for k := min(len(s)-1, len(text)); k > hold; k-- {
			if bytes.HasSuffix(text, s[:k]) {
				hold = k
				break
			}
		}
	}
	end = min(end, len(text)-hold)
	return max(end, emitted)
}
