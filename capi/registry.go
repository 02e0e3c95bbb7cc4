package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hearthllm/hearth"
	"github.com/hearthllm/hearth/engine/sample"
)

// entry is one loaded model.
type entry struct {
	model *hearth.Model

	// use is read-locked by every call that touches model and write-locked by
	// free, so the model is closed only when no call is using it.
	use sync.RWMutex
	// gen serializes generations on this model.
	gen sync.Mutex

	mu     sync.Mutex         // guards closed and cancel
	closed bool               // set by free
	cancel context.CancelFunc // of the running generation, nil when idle
}

// registry maps handles to models. Handles are never reused.
type registry struct {
	mu     sync.Mutex
	next   uint64
	models map[uint64]*entry
}

// models is the library's only package-level mutable state (see the package doc).
var models = &registry{models: make(map[uint64]*entry)}

func (r *registry) add(m *hearth.Model) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.models[r.next] = &entry{model: m}
	return r.next
}

func (r *registry) lookup(h uint64) (*entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.models[h]; ok {
		return e, nil
	}
	if h != 0 && h <= r.next {
		return nil, errorf(statusClosed, "hearth: model %d was freed", h)
	}
	return nil, errorf(statusInvalidHandle, "hearth: %d is not a model handle", h)
}

func (r *registry) remove(h uint64) (*entry, error) {
	e, err := r.lookup(h)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models[h] != e {
		return nil, errorf(statusClosed, "hearth: model %d was freed", h)
	}
	delete(r.models, h)
	return e, nil
}

// acquire looks h up and read-locks its model; release with e.use.RUnlock.
func acquire(h uint64) (*entry, error) {
	e, err := models.lookup(h)
	if err != nil {
		return nil, err
	}
	e.use.RLock()
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		e.use.RUnlock()
		return nil, errorf(statusClosed, "hearth: model %d was freed", h)
	}
	return e, nil
}

// decodeStrict decodes a JSON object into v, rejecting unknown keys and
// naming the offending option.
func decodeStrict(what string, data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return errorf(statusInvalidOption, "hearth: %s option %q: expected %s, got %s", what, te.Field, te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return errorf(statusInvalidOption, "hearth: unknown %s option %s", what, strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return errorf(statusInvalidOption, "hearth: %s options: %v", what, err)
	}
	return nil
}

// loadOptions is the JSON form of hearth.Options.
type loadOptions struct {
	Backend     string `json:"backend"`
	Threads     int    `json:"threads"`
	ContextSize int    `json:"contextSize"`
	KVType      string `json:"kvType"`
}

func loadModel(path string, optsJSON []byte) (uint64, error) {
	var o loadOptions
	if err := decodeStrict("load", optsJSON, &o); err != nil {
		return 0, err
	}
	switch o.Backend {
	case "", "cpu", "gpu", "auto":
	default:
		return 0, errorf(statusInvalidOption, "hearth: option backend: %q is not one of cpu, gpu, auto", o.Backend)
	}
	switch o.KVType {
	case "", "f16", "f32":
	default:
		return 0, errorf(statusInvalidOption, "hearth: option kvType: %q is not one of f16, f32", o.KVType)
	}
	if o.Threads < 0 {
		return 0, errorf(statusInvalidOption, "hearth: option threads: %d is negative", o.Threads)
	}
	if o.ContextSize < 0 {
		return 0, errorf(statusInvalidOption, "hearth: option contextSize: %d is negative", o.ContextSize)
	}
	// A model in a cache blob holds a lease so that no cache evicts it (cache.go).
	lease, err := leaseModelFile(path)
	if err != nil {
		return 0, err
	}
	m, err := hearth.Load(path, hearth.Options{Backend: o.Backend, Threads: o.Threads, ContextSize: o.ContextSize, KVType: o.KVType})
	if err != nil {
		lease.Release()
		return 0, err
	}
	h := models.add(m)
	keepLease(h, lease)
	return h, nil
}

func freeModel(h uint64) error {
	e, err := models.remove(h)
	if err != nil {
		return err
	}
	defer releaseLease(h) // after the model is closed
	e.mu.Lock()
	e.closed = true
	if e.cancel != nil {
		e.cancel()
	}
	e.mu.Unlock()
	e.use.Lock() // waits for calls in flight, including a generation
	defer e.use.Unlock()
	if err := e.model.Close(); err != nil {
		return fmt.Errorf("hearth: closing model %d: %w", h, err)
	}
	return nil
}

func modelInfo(h uint64) ([]byte, error) {
	e, err := acquire(h)
	if err != nil {
		return nil, err
	}
	defer e.use.RUnlock()
	return json.Marshal(e.model.Info())
}

func tokenize(h uint64, text string, addSpecial, parseSpecial bool) ([]int32, error) {
	e, err := acquire(h)
	if err != nil {
		return nil, err
	}
	defer e.use.RUnlock()
	return e.model.Tokenize(text, addSpecial, parseSpecial)
}

func detokenize(h uint64, ids []int32) (string, error) {
	e, err := acquire(h)
	if err != nil {
		return "", err
	}
	defer e.use.RUnlock()
	return e.model.Detokenize(ids)
}

func cancel(h uint64) error {
	e, err := models.lookup(h)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancel != nil {
		e.cancel()
	}
	return nil
}

// genOptions is the JSON form of the generation options. Pointer fields tell
// "absent" (default) from zero.
type genOptions struct {
	MaxTokens        *int     `json:"maxTokens"`
	Temperature      *float32 `json:"temperature"`
	TopK             *int     `json:"topK"`
	TopP             *float32 `json:"topP"`
	MinP             *float32 `json:"minP"`
	RepeatPenalty    *float32 `json:"repeatPenalty"`
	RepeatLastN      *int     `json:"repeatLastN"`
	FrequencyPenalty *float32 `json:"frequencyPenalty"`
	PresencePenalty  *float32 `json:"presencePenalty"`
	Seed             *uint64  `json:"seed"`
	Stop             []string `json:"stop"`
	ParseSpecial     bool     `json:"parseSpecial"`
}

// parseGenOptions decodes options JSON into facade options; parseSpecial is
// returned separately because it applies to prompt tokenization.
func parseGenOptions(data []byte) (hearth.GenerateOptions, bool, error) {
	var o genOptions
	if err := decodeStrict("generate", data, &o); err != nil {
		return hearth.GenerateOptions{}, false, err
	}
	g := hearth.GenerateOptions{Stop: o.Stop, Sampling: sample.DefaultOptions()}
	s := &g.Sampling
	if o.MaxTokens != nil {
		if *o.MaxTokens < 0 {
			return g, false, errorf(statusInvalidOption, "hearth: option maxTokens: %d is negative", *o.MaxTokens)
		}
		g.MaxTokens = *o.MaxTokens
	}
	checkF := func(name string, p *float32, lo, hi float32, dst *float32) error {
		if p == nil {
			return nil
		}
		if !(*p >= lo && *p <= hi) {
			return errorf(statusInvalidOption, "hearth: option %s: %g is outside [%g, %g]", name, *p, lo, hi)
		}
		*dst = *p
		return nil
	}
	const big = 1e9
	for _, c := range []struct {
		name   string
		p      *float32
		lo, hi float32
		dst    *float32
	}{
		{"temperature", o.Temperature, 0, big, &s.Temperature},
		{"topP", o.TopP, 0, 1, &s.TopP},
		{"minP", o.MinP, 0, 1, &s.MinP},
		{"repeatPenalty", o.RepeatPenalty, 0, big, &s.RepeatPenalty},
		{"frequencyPenalty", o.FrequencyPenalty, -big, big, &s.FreqPenalty},
		{"presencePenalty", o.PresencePenalty, -big, big, &s.PresencePenalty},
	} {
		if err := checkF(c.name, c.p, c.lo, c.hi, c.dst); err != nil {
			return g, false, err
		}
	}
	if o.TopK != nil {
		if *o.TopK < 0 {
			return g, false, errorf(statusInvalidOption, "hearth: option topK: %d is negative", *o.TopK)
		}
		s.TopK = *o.TopK
	}
	if o.RepeatLastN != nil {
		if *o.RepeatLastN < -1 {
			return g, false, errorf(statusInvalidOption, "hearth: option repeatLastN: %d is below -1", *o.RepeatLastN)
		}
		s.RepeatLastN = *o.RepeatLastN
	}
	for i, st := range o.Stop {
		if st == "" {
			return g, false, errorf(statusInvalidOption, "hearth: option stop[%d] is empty", i)
		}
	}
	if o.Seed != nil {
		s.Seed = *o.Seed
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.Seed = binary.LittleEndian.Uint64(b[:])
	}
	return g, o.ParseSpecial, nil
}

// genRequest is one hearth_generate call.
type genRequest struct {
	useText bool
	text    string
	ids     []int32
	options []byte
	onToken func(id int32, piece []byte) bool
}

// timings is the JSON form of a generation's durations.
type timings struct {
	PromptMs              float64 `json:"promptMs"`
	GenerateMs            float64 `json:"generateMs"`
	PromptTokensPerSecond float64 `json:"promptTokensPerSecond"`
	TokensPerSecond       float64 `json:"tokensPerSecond"`
}

// genResult is the JSON answer of hearth_generate.
type genResult struct {
	Text         string  `json:"text"`
	Tokens       []int32 `json:"tokens"`
	StopReason   string  `json:"stopReason"`
	PromptTokens int     `json:"promptTokens"`
	Timings      timings `json:"timings"`
}

func perSecond(n int, ms float64) float64 {
	if ms <= 0 {
		return 0
	}
	return float64(n) * 1000 / ms
}

func generate(h uint64, req genRequest) ([]byte, error) {
	opts, parseSpecial, err := parseGenOptions(req.options)
	if err != nil {
		return nil, err
	}
	e, err := acquire(h)
	if err != nil {
		return nil, err
	}
	defer e.use.RUnlock()
	prompt := req.ids
	if req.useText {
		if prompt, err = e.model.Tokenize(req.text, true, parseSpecial); err != nil {
			return nil, err
		}
	}
	if len(prompt) == 0 {
		return nil, errorf(statusInvalidOption, "hearth: prompt is empty")
	}

	e.gen.Lock()
	defer e.gen.Unlock()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errorf(statusClosed, "hearth: model %d was freed", h)
	}
	e.cancel = stop
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.cancel = nil
		e.mu.Unlock()
	}()

	onToken := req.onToken
	if onToken == nil {
		onToken = func(int32, []byte) bool { return true }
	}
	r, err := e.model.Generate(ctx, prompt, opts, onToken)
	if err != nil {
		return nil, err
	}
	pms := float64(r.PromptDuration.Microseconds()) / 1000
	gms := float64(r.GenDuration.Microseconds()) / 1000
	out := genResult{
		Text:         r.Text,
		Tokens:       r.Tokens,
		StopReason:   r.StopReason,
		PromptTokens: len(r.PromptTokens),
		Timings: timings{
			PromptMs: pms, GenerateMs: gms,
			PromptTokensPerSecond: perSecond(len(r.PromptTokens), pms),
			TokensPerSecond:       perSecond(len(r.Tokens), gms),
		},
	}
	if out.Tokens == nil {
		out.Tokens = []int32{}
	}
	return json.Marshal(out)
}
