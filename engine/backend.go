package engine

import (
	"context"
	"errors"
	"fmt"
)

// ErrContextFull is wrapped by the error Eval returns when the tokens would
// run past the end of the context.
var ErrContextFull = errors.New("context full")

// KVType is the element type of a backend's key/value cache.
type KVType int

// The KV cache element types. The zero value, KVF16, is llama.cpp's default.
const (
	KVF16 KVType = iota // half precision, like llama.cpp's default cache
	KVF32               // single precision
)

// String returns "f16" or "f32".
func (t KVType) String() string {
	switch t {
	case KVF16:
		return "f16"
	case KVF32:
		return "f32"
	}
	return fmt.Sprintf("KVType(%d)", int(t))
}

// Options configures a Backend.
type Options struct {
	// Threads is the number of CPU threads to use; 0 means runtime.NumCPU().
	Threads int
	// ContextSize is the number of positions the KV cache holds; 0 means
	// DefaultContextSize(model).
	ContextSize int
	// KVType is the KV cache element type.
	KVType KVType
}

// DefaultContextSize is the context size used when Options.ContextSize is 0:
// the model's training context, capped at 4096 positions.
func DefaultContextSize(c Config) int {
	n := c.NCtxTrain
	if n <= 0 || n > 4096 {
		n = 4096
	}
	return n
}

// Backend runs the transformer. It owns the weights (resident on its device)
// and the KV cache. Calls on one Backend are not concurrent.
type Backend interface {
	// Name identifies the backend, such as "cpu".
	Name() string
	// Eval runs tokens at positions pos..pos+len(tokens)-1 as one batch and
	// appends their K/V to the cache (entries at >= pos are overwritten).
	// When logits != nil it receives the last token's logits (len NVocab).
	Eval(ctx context.Context, tokens []int32, pos int, logits []float32) error
	// Close releases the backend's resources. The Backend must not be used
	// afterwards.
	Close() error
}

// ArgmaxBackend is implemented by backends that can pick the greedy token on
// their device. EvalArgmax is Eval followed by the index of the largest
// logit of the last token (the lowest index among equal maxima).
type ArgmaxBackend interface {
	EvalArgmax(ctx context.Context, tokens []int32, pos int) (int32, error)
}

// TopKBackend is implemented by backends that can pick the most likely
// tokens on their device, so that sampling with a top-k cut (see
// sample.Sampler.TopKOnly) reads back k candidates instead of every
// logit. EvalTopK is Eval followed by the len(ids) largest logits of the
// last token and their token ids, in descending order with ties by
// ascending id (sample's order); len(logits) == len(ids), and len(ids)
// is at most MaxTopK() and at most the vocabulary size.
type TopKBackend interface {
	MaxTopK() int
	EvalTopK(ctx context.Context, tokens []int32, pos int, ids []int32, logits []float32) error
}

// CheckEval validates the arguments of Backend.Eval against a model
// configuration and a context size. Backends call it before doing any work.
func CheckEval(c *Config, contextSize int, tokens []int32, pos int, logits []float32) error {
	if len(tokens) == 0 {
		return fmt.Errorf("engine: eval: no tokens")
	}
	if pos < 0 {
		return fmt.Errorf("engine: eval: negative position %d", pos)
	}
	if pos+len(tokens) > contextSize {
		return fmt.Errorf("engine: eval: positions %d..%d exceed the context size %d: %w",
			pos, pos+len(tokens)-1, contextSize, ErrContextFull)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= c.NVocab {
			return fmt.Errorf("engine: eval: token %d (index %d) out of range [0, %d)", t, i, c.NVocab)
		}
	}
	if logits != nil && len(logits) != c.NVocab {
		return fmt.Errorf("engine: eval: logits has length %d, want %d", len(logits), c.NVocab)
	}
	return nil
}
