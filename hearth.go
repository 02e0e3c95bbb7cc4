// Package hearth is Hearth's Go API: load a GGUF model, tokenize, generate.
//
//	m, err := hearth.Load("model.gguf", hearth.Options{})
//	if err != nil { ... }
//	defer m.Close()
//	prompt, _ := m.Tokenize("Once upon a time", true, false)
//	res, err := m.Generate(ctx, prompt, hearth.GenerateOptions{MaxTokens: 64}, nil)
//
// Every error returned by this package is an *Error with a stable code
// (see CodeOf).
package hearth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/engine/sample"
	"github.com/hearthllm/hearth/engine/tokenizer"
	"github.com/hearthllm/hearth/gguf"
)

// Options configures Load.
type Options struct {
	Backend     string // "cpu" (default when ""), "gpu", "auto"
	Threads     int    // 0 = runtime.NumCPU()
	ContextSize int    // 0 = min(model's training context, 4096)
	KVType      string // "f16" (default when "") or "f32"
}

// Info describes a loaded model.
type Info struct {
	Arch        string `json:"arch"`
	Name        string `json:"name"`
	FileType    string `json:"fileType"`
	Backend     string `json:"backend"`
	NVocab      int    `json:"nVocab"`
	NCtxTrain   int    `json:"nCtxTrain"`
	ContextSize int    `json:"contextSize"`
	NLayer      int    `json:"nLayer"`
	NEmbd       int    `json:"nEmbd"`
	NHead       int    `json:"nHead"`
	NHeadKV     int    `json:"nHeadKV"`
	NFF         int    `json:"nFF"`
	NParams     int64  `json:"nParams"`
	BOS         int32  `json:"bos"`
	EOS         int32  `json:"eos"`
	AddBOS      bool   `json:"addBOS"`
	FileSize    int64  `json:"fileSize"`
}

// GenerateOptions configures Model.Generate.
type GenerateOptions struct {
	MaxTokens int            // 0 = until EOS or context end; must be >= 0
	Sampling  sample.Options // Temperature 0 = greedy
	Stop      []string       // generation stops when the text contains one of these (non-empty) strings
}

// Result describes one generation.
type Result struct {
	PromptTokens []int32
	// Tokens are the generated ids, including a final end-of-generation
	// token (whose piece counts as empty) and the token that completed a stop string.
	Tokens []int32
	// Text is exactly the concatenated pieces of Tokens, except that when a
	// stop string ends generation it is cut just before the stop string.
	Text string
	// StopReason is "eos", "maxTokens", "stop", "abort" or "contextFull".
	StopReason                  string
	PromptDuration, GenDuration time.Duration
}

// Model is a loaded model. Its methods are safe for concurrent use; one
// generation (or Logits call) runs at a time, others wait.
type Model struct {
	path    string
	file    *gguf.File
	tok     *tokenizer.Tokenizer
	model   *engine.Model // nil for LoadVocab
	backend engine.Backend
	info    Info
	nVocab  int
	nCtx    int

	run sync.Mutex // held by a running Generate or Logits, and by Close

	mu           sync.Mutex // guards the fields below
	closed       bool
	cancel       context.CancelFunc // cancels the running generation, nil when idle
	inCallback   bool               // the running generation is inside onToken
	releaseOnEnd bool               // Close ran inside onToken: the run releases the resources
}

// openFile opens a GGUF file and maps errors to codes.
func openFile(path string) (*gguf.File, int64, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, 0, newError(CodeNotFound, nil, "model file %s not found", path)
	case err != nil:
		return nil, 0, newError(CodeIO, err, "cannot read model file %s", path)
	case st.IsDir():
		return nil, 0, newError(CodeBadModel, nil, "%s is a directory, not a GGUF file", path)
	}
	f, err := gguf.Open(path)
	if err != nil {
		var fe *gguf.FormatError
		if errors.As(err, &fe) {
			return nil, 0, newError(CodeBadModel, err, "%s is not a valid GGUF file", path)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, newError(CodeNotFound, nil, "model file %s not found", path)
		}
		if errors.Is(err, fs.ErrPermission) {
			return nil, 0, newError(CodeIO, err, "cannot read model file %s", path)
		}
		return nil, 0, newError(CodeBadModel, err, "cannot load %s", path)
	}
	return f, st.Size(), nil
}

// validate checks o and returns it with defaults applied.
func (o Options) validate() (Options, engine.KVType, error) {
	switch o.Backend {
	case "":
		o.Backend = "cpu"
	case "cpu", "gpu", "auto":
	default:
		return o, 0, invalidOption("backend", "must be cpu, gpu or auto, got %q", o.Backend)
	}
	if o.Threads < 0 {
		return o, 0, invalidOption("threads", "must be >= 0 (0 = all cores), got %d", o.Threads)
	}
	if o.Threads == 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.ContextSize < 0 {
		return o, 0, invalidOption("contextSize", "must be >= 0 (0 = the model's, at most 4096), got %d", o.ContextSize)
	}
	kv := engine.KVF16
	switch o.KVType {
	case "", "f16":
		o.KVType = "f16"
	case "f32":
		kv = engine.KVF32
	default:
		return o, 0, invalidOption("kvType", "must be f16 or f32, got %q", o.KVType)
	}
	return o, kv, nil
}

// Load opens the GGUF model at path (memory-mapped), builds its tokenizer and
// the backend o.Backend names.
func Load(path string, o Options) (*Model, error) {
	o, kv, err := o.validate()
	if err != nil {
		return nil, err
	}
	f, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
		}
	}()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, newError(CodeBadModel, err, "%s: cannot build the tokenizer", path)
	}
	em, err := engine.LoadModel(f)
	if err != nil {
		return nil, newError(CodeBadModel, err, "cannot load model")
	}
	nCtx := o.ContextSize
	if nCtx == 0 {
		nCtx = engine.DefaultContextSize(em.Config)
	}
	b, err := newBackend(o.Backend, em, engine.Options{Threads: o.Threads, ContextSize: nCtx, KVType: kv})
	if err != nil {
		var he *Error
		if errors.As(err, &he) {
			return nil, err
		}
		return nil, newError(CodeBadModel, err, "%s: cannot start the %s backend", path, o.Backend)
	}
	m := &Model{path: path, file: f, tok: tok, model: em, backend: b, nVocab: em.NVocab, nCtx: nCtx}
	m.info = m.buildInfo(size)
	m.info.Backend = b.Name()
	m.info.ContextSize = nCtx
	ok = true
	return m, nil
}

// LoadVocab opens only the tokenizer of the GGUF file at path (vocab-only
// GGUFs included). Tokenize, Detokenize, TokenPiece and Info work; Generate
// and Logits fail with CodeInvalidOption.
func LoadVocab(path string) (*Model, error) {
	f, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		_ = f.Close()
		return nil, newError(CodeBadModel, err, "%s: cannot build the tokenizer", path)
	}
	m := &Model{path: path, file: f, tok: tok}
	m.nVocab = tok.NVocab()
	m.info = m.buildInfo(size)
	return m, nil
}

// ftypeNames are llama.cpp's names of general.file_type values (enum llama_ftype).
var ftypeNames = map[uint32]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
	16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
	22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
	28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
}

// FileTypeName returns llama.cpp's name for a general.file_type value, such
// as "Q4_K_M", or "" when unknown.
func FileTypeName(ftype uint32) string { return ftypeNames[ftype] }

// buildInfo fills everything in Info that the file and the engine model know.
func (m *Model) buildInfo(size int64) Info {
	f := m.file
	in := Info{NVocab: m.nVocab, FileSize: size, BOS: -1, EOS: -1}
	in.Arch, _ = f.String("general.architecture")
	in.Name, _ = f.String("general.name")
	if ft, err := f.Uint32("general.file_type"); err == nil {
		in.FileType = FileTypeName(ft)
	}
	counts := map[gguf.TensorType]int64{}
	for _, t := range f.Tensors() {
		in.NParams += int64(t.Elements())
		if len(t.Dims) >= 2 {
			counts[t.Type] += int64(t.Elements())
		}
	}
	if in.FileType == "" && len(counts) > 0 {
		// Like llama.cpp's guess: the type holding most weight elements.
		var best gguf.TensorType
		for t, n := range counts {
			if n > counts[best] || (n == counts[best] && t < best) {
				best = t
			}
		}
		in.FileType = best.String() + " (guessed)"
	}
	if m.model != nil {
		c := m.model.Config
		in.NCtxTrain, in.NLayer, in.NEmbd, in.NHead, in.NHeadKV, in.NFF = c.NCtxTrain, c.NLayer, c.NEmbd, c.NHead, c.NHeadKV, c.NFF
	} else if in.Arch != "" {
		if n, err := f.Uint32(in.Arch + ".context_length"); err == nil {
			in.NCtxTrain = int(n)
		}
	}
	if m.tok != nil {
		in.BOS, in.EOS, in.AddBOS = m.tok.BOS(), m.tok.EOS(), m.tok.AddBOS()
	}
	return in
}

// Info describes the model.
func (m *Model) Info() Info { return m.info }

// Path returns the file the model was loaded from.
func (m *Model) Path() string { return m.path }

// File returns the model's GGUF file (valid until Close).
func (m *Model) File() *gguf.File { return m.file }

func (m *Model) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func errClosed() error { return &Error{Code: CodeClosed, Msg: "model is closed"} }

// Tokenize converts text to token ids. addSpecial adds BOS (and EOS) as the
// model's GGUF asks; parseSpecial turns special-token text such as "<s>"
// into its id.
func (m *Model) Tokenize(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	if m.isClosed() {
		return nil, errClosed()
	}
	return m.tok.Encode(text, addSpecial, parseSpecial), nil
}

// checkIDs reports the first id outside the vocabulary.
func (m *Model) checkIDs(option string, ids []int32) error {
	for i, id := range ids {
		if id < 0 || int(id) >= m.nVocab {
			return invalidOption(option, "token %d (index %d) is outside the vocabulary [0, %d)", id, i, m.nVocab)
		}
	}
	return nil
}

// Detokenize returns the concatenated pieces of ids (end-of-generation
// tokens contribute nothing).
func (m *Model) Detokenize(ids []int32) (string, error) {
	if m.isClosed() {
		return "", errClosed()
	}
	if err := m.checkIDs("tokens", ids); err != nil {
		return "", err
	}
	var b []byte
	for _, id := range ids {
		if m.tok.IsEOG(id) {
			continue
		}
		b = append(b, m.tok.Piece(id)...)
	}
	return string(b), nil
}

// TokenPiece returns the bytes of one token (byte-fallback tokens decoded).
func (m *Model) TokenPiece(id int32) ([]byte, error) {
	if m.isClosed() {
		return nil, errClosed()
	}
	if err := m.checkIDs("token", []int32{id}); err != nil {
		return nil, err
	}
	return append([]byte(nil), m.tok.Piece(id)...), nil
}

// runnable reports why the model cannot evaluate: closed, or vocabulary-only.
func (m *Model) runnable() error {
	if m.isClosed() {
		return errClosed()
	}
	if m.model == nil {
		return invalidOption("model", "loaded vocabulary-only (LoadVocab); it cannot evaluate")
	}
	return nil
}

// begin takes the run lock for a generation or evaluation and returns a
// context that Close cancels, and the function that ends the run.
func (m *Model) begin(ctx context.Context) (context.Context, func(), error) {
	if err := m.runnable(); err != nil {
		return nil, nil, err
	}
	m.run.Lock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.run.Unlock()
		return nil, nil, errClosed()
	}
	ctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	m.mu.Unlock()
	return ctx, func() {
		m.mu.Lock()
		m.cancel = nil
		release := m.releaseOnEnd
		m.mu.Unlock()
		cancel()
		if release {
			_ = m.release()
		}
		m.run.Unlock()
	}, nil
}

// Generate runs prompt (ids, BOS already included by Tokenize(addSpecial=true))
// and streams each generated token to onToken (may be nil) with a UTF-8-safe
// text delta (possibly empty; text that might begin a stop string is held
// back until it is known not to). onToken returning false stops with
// StopReason "abort"; ctx cancellation (or Close) also stops with "abort",
// not an error. One generation per Model runs at a time; a second concurrent
// call waits. A prompt longer than the context fails with
// CodeContextOverflow before any work.
func (m *Model) Generate(ctx context.Context, prompt []int32, o GenerateOptions, onToken func(id int32, piece []byte) bool) (Result, error) {
	if err := m.runnable(); err != nil {
		return Result{}, err
	}
	if o.MaxTokens < 0 {
		return Result{}, invalidOption("maxTokens", "must be >= 0 (0 = until EOS or the context end), got %d", o.MaxTokens)
	}
	for i, s := range o.Stop {
		if s == "" {
			return Result{}, invalidOption("stop", "stop string %d is empty", i)
		}
	}
	if err := o.Sampling.Validate(); err != nil {
		var oe *sample.OptionError
		if errors.As(err, &oe) {
			return Result{}, invalidOption(oe.Option, "%s", oe.Msg)
		}
		return Result{}, newError(CodeInvalidOption, err, "invalid sampling options")
	}
	if len(prompt) == 0 {
		return Result{}, invalidOption("prompt", "is empty")
	}
	if err := m.checkIDs("prompt", prompt); err != nil {
		return Result{}, err
	}
	if len(prompt) > m.nCtx {
		return Result{}, &Error{Code: CodeContextOverflow, Msg: fmt.Sprintf("prompt has %d tokens but the context holds %d", len(prompt), m.nCtx)}
	}
	ctx, end, err := m.begin(ctx)
	if err != nil {
		return Result{}, err
	}
	defer end()
	if onToken != nil {
		user := onToken
		onToken = func(id int32, piece []byte) bool {
			m.mu.Lock()
			m.inCallback = true
			m.mu.Unlock()
			ok := user(id, piece)
			m.mu.Lock()
			m.inCallback = false
			m.mu.Unlock()
			return ok
		}
	}
	r, err := engine.Generate(ctx, m.backend, m.tok, prompt, engine.GenerateOptions{
		MaxTokens:   o.MaxTokens,
		Sampling:    o.Sampling,
		Stop:        o.Stop,
		NVocab:      m.nVocab,
		ContextSize: m.nCtx,
	}, onToken)
	res := Result{
		PromptTokens: r.PromptTokens, Tokens: r.Tokens, Text: r.Text, StopReason: r.StopReason,
		PromptDuration: r.PromptDuration, GenDuration: r.GenDuration,
	}
	if err != nil {
		if errors.Is(err, engine.ErrPromptTooLong) {
			return res, newError(CodeContextOverflow, err, "prompt does not fit in the context")
		}
		return res, newError(CodeInternal, err, "generation failed")
	}
	return res, nil
}

// Logits evaluates tokens from position 0 and returns the logits (len NVocab)
// at the last position.
func (m *Model) Logits(ctx context.Context, tokens []int32) ([]float32, error) {
	if err := m.runnable(); err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, invalidOption("tokens", "is empty")
	}
	if err := m.checkIDs("tokens", tokens); err != nil {
		return nil, err
	}
	if len(tokens) > m.nCtx {
		return nil, &Error{Code: CodeContextOverflow, Msg: fmt.Sprintf("%d tokens but the context holds %d", len(tokens), m.nCtx)}
	}
	ctx, end, err := m.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	logits := make([]float32, m.nVocab)
	for i := 0; i < len(tokens); i += engine.DefaultBatchSize {
		j := min(i+engine.DefaultBatchSize, len(tokens))
		var out []float32
		if j == len(tokens) {
			out = logits
		}
		if err := m.backend.Eval(ctx, tokens[i:j], i, out); err != nil {
			if ctx.Err() != nil {
				return nil, newError(CodeInternal, ctx.Err(), "evaluation cancelled")
			}
			return nil, newError(CodeInternal, err, "evaluation failed")
		}
	}
	return logits, nil
}

// Close cancels a running generation, waits for it to end and releases the
// backend and the file mapping. Later calls fail with CodeClosed. Close is
// idempotent. While the running generation is inside onToken (Close may be
// called from onToken itself, where waiting would deadlock), Close returns
// at once instead: no further onToken call starts, and the generation
// releases the resources itself when it ends.
func (m *Model) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	if m.cancel != nil {
		m.cancel()
		if m.inCallback {
			m.releaseOnEnd = true
			m.mu.Unlock()
			return nil
		}
	}
	m.mu.Unlock()
	m.run.Lock()
	defer m.run.Unlock()
	return m.release()
}

// release frees the backend and the file mapping.
func (m *Model) release() error {
	var errs []error
	if m.backend != nil {
		errs = append(errs, m.backend.Close())
	}
	errs = append(errs, m.file.Close())
	if err := errors.Join(errs...); err != nil {
		return newError(CodeInternal, err, "close")
	}
	return nil
}

// BenchResult holds the timings of Model.Bench.
type BenchResult struct {
	PromptTokens, GenTokens     int
	PromptDuration, GenDuration time.Duration
}

// Bench measures the backend: it evaluates nPrompt tokens as one batch, then,
// from an empty context, nGen tokens one at a time (each the greedy choice
// after the previous one), like llama-bench's pp and tg tests. The token ids
// are arbitrary but fixed.
func (m *Model) Bench(ctx context.Context, nPrompt, nGen int) (BenchResult, error) {
	var r BenchResult
	if err := m.runnable(); err != nil {
		return r, err
	}
	if nPrompt < 0 || nGen < 0 {
		return r, invalidOption("tokens", "prompt and generation lengths must be >= 0, got %d and %d", nPrompt, nGen)
	}
	if nPrompt > m.nCtx || nGen > m.nCtx {
		return r, &Error{Code: CodeContextOverflow, Msg: fmt.Sprintf("%d prompt or %d generated tokens do not fit in the context of %d", nPrompt, nGen, m.nCtx)}
	}
	ctx, end, err := m.begin(ctx)
	if err != nil {
		return r, err
	}
	defer end()
	logits := make([]float32, m.nVocab)
	if nPrompt > 0 {
		toks := make([]int32, nPrompt)
		for i := range toks {
			toks[i] = int32((i*7919 + 1) % m.nVocab)
		}
		start := time.Now()
		if err := m.backend.Eval(ctx, toks, 0, logits); err != nil {
			return r, newError(CodeInternal, err, "prompt evaluation failed")
		}
		r.PromptTokens, r.PromptDuration = nPrompt, time.Since(start)
	}
	one := []int32{m.info.BOS}
	if one[0] < 0 || int(one[0]) >= m.nVocab {
		one[0] = 0
	}
	start := time.Now()
	for i := 0; i < nGen; i++ {
		if err := m.backend.Eval(ctx, one, i, logits); err != nil {
			return r, newError(CodeInternal, err, "token evaluation failed")
		}
		best := 0
		for j, l := range logits {
			if l > logits[best] {
				best = j
			}
		}
		one[0] = int32(best)
	}
	r.GenTokens, r.GenDuration = nGen, time.Since(start)
	return r, nil
}
