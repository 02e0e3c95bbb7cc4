package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hearthllm/hearth"
	"github.com/hearthllm/hearth/engine/sample"
)

// modelFlags are the flags shared by the commands that load a full model.
type modelFlags struct {
	model   string
	backend string
	threads int
	ctx     int
	kv      string
}

func (m *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.model, "m", "", "model `FILE` (GGUF)")
	fs.StringVar(&m.backend, "backend", "cpu", "backend: cpu, gpu or auto")
	fs.IntVar(&m.threads, "threads", 0, "CPU threads (0 = all cores)")
	fs.IntVar(&m.ctx, "ctx", 0, "context size in tokens (0 = the model's training context, at most 4096)")
	fs.StringVar(&m.kv, "kv-type", "f16", "KV cache type: f16 or f32")
}

func (m *modelFlags) load() (*hearth.Model, error) {
	if m.model == "" {
		return nil, usagef("missing -m MODEL")
	}
	return hearth.Load(m.model, hearth.Options{Backend: m.backend, Threads: m.threads, ContextSize: m.ctx, KVType: m.kv})
}

// signalContext returns a context cancelled by SIGINT.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// tokPerSec returns n / d in tokens per second (0 when d is 0).
func tokPerSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// nonNil returns ids, or an empty slice for nil (so JSON shows []).
func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}

func cmdRun(e *env, args []string) error {
	fs := newFlags(e, "run")
	var mf modelFlags
	mf.register(fs)
	d := sample.DefaultOptions()
	n := fs.Int("n", -1, "tokens to generate (-1 = until end of text or the context end)")
	temp := fs.Float64("temp", float64(d.Temperature), "temperature (0 = greedy)")
	topK := fs.Int("top-k", d.TopK, "top-k sampling (0 = off)")
	topP := fs.Float64("top-p", float64(d.TopP), "top-p sampling (1 = off)")
	minP := fs.Float64("min-p", float64(d.MinP), "min-p sampling (0 = off)")
	rp := fs.Float64("repeat-penalty", float64(d.RepeatPenalty), "repetition penalty (1 = off)")
	rlast := fs.Int("repeat-last-n", d.RepeatLastN, "tokens the penalties look back (-1 = all)")
	freq := fs.Float64("frequency-penalty", 0, "frequency penalty (0 = off)")
	pres := fs.Float64("presence-penalty", 0, "presence penalty (0 = off)")
	seed := fs.Int64("seed", -1, "random seed (-1 = random)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of streaming text")
	special := fs.Bool("special", false, "parse special-token text such as <s> in the prompt")
	var stops stringList
	fs.Var(&stops, "stop", "stop `STRING` (repeatable)")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	promptArg, err := onePositional(pos, "PROMPT")
	if err != nil {
		return err
	}
	if *n < -1 {
		return usagef("-n must be >= -1, got %d", *n)
	}
	text, err := readArg(e, promptArg)
	if err != nil {
		return err
	}
	so := sample.Options{
		Temperature: float32(*temp), TopK: *topK, TopP: float32(*topP), MinP: float32(*minP),
		RepeatPenalty: float32(*rp), FreqPenalty: float32(*freq), PresencePenalty: float32(*pres),
		RepeatLastN: *rlast,
	}
	if *seed < 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		so.Seed = binary.LittleEndian.Uint64(b[:])
	} else {
		so.Seed = uint64(*seed)
	}
	if err := so.Validate(); err != nil {
		return usagef("%v", err)
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	prompt, err := m.Tokenize(text, true, *special)
	if err != nil {
		return err
	}
	if len(prompt) == 0 {
		return usagef("the prompt is empty (and the model adds no BOS)")
	}
	ctx, stop := signalContext()
	defer stop()
	var res hearth.Result
	if *n != 0 {
		var onToken func(int32, []byte) bool
		if !*asJSON {
			onToken = func(_ int32, piece []byte) bool {
				_, err := e.stdout.Write(piece)
				return err == nil
			}
		}
		res, err = m.Generate(ctx, prompt, hearth.GenerateOptions{MaxTokens: max(*n, 0), Sampling: so, Stop: stops}, onToken)
		if err != nil {
			return err
		}
	} else {
		res.PromptTokens = prompt
	}
	if !*asJSON {
		fmt.Fprintln(e.stdout)
		return nil
	}
	out := struct {
		PromptTokens []int32 `json:"prompt_tokens"`
		Tokens       []int32 `json:"tokens"`
		Text         string  `json:"text"`
		StopReason   string  `json:"stop_reason"`
		PromptTokS   float64 `json:"prompt_tok_s"`
		GenTokS      float64 `json:"gen_tok_s"`
	}{nonNil(prompt), nonNil(res.Tokens), res.Text, res.StopReason,
		tokPerSec(len(prompt), res.PromptDuration), tokPerSec(len(res.Tokens), res.GenDuration)}
	return writeJSON(e, out)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func writeJSON(e *env, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = e.stdout.Write(b)
	return err
}

func cmdTokenize(e *env, args []string) error {
	fs := newFlags(e, "tokenize")
	model := fs.String("m", "", "model or vocabulary `FILE` (GGUF)")
	noBOS := fs.Bool("no-bos", false, "do not add BOS/EOS even when the model asks for them")
	special := fs.Bool("special", false, "parse special-token text such as <s>")
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	arg, err := onePositional(pos, "TEXT")
	if err != nil {
		return err
	}
	if *model == "" {
		return usagef("missing -m MODEL")
	}
	text, err := readArg(e, arg)
	if err != nil {
		return err
	}
	m, err := hearth.LoadVocab(*model)
	if err != nil {
		return err
	}
	defer m.Close()
	ids, err := m.Tokenize(text, !*noBOS, *special)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e, nonNil(ids))
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	_, err = fmt.Fprintln(e.stdout, strings.Join(parts, " "))
	return err
}

// parseIDs parses a comma- or space-separated list of token ids.
func parseIDs(s string) ([]int32, error) {
	var ids []int32
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, usagef("bad token id %q in --tokens", f)
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}

func cmdEval(e *env, args []string) error {
	fs := newFlags(e, "eval")
	var mf modelFlags
	mf.register(fs)
	asJSON := fs.Bool("json", false, `print {"tokens":[...],"logits":[...]}`)
	tokens := fs.String("tokens", "", "evaluate these comma-separated token `IDS` instead of a PROMPT")
	special := fs.Bool("special", false, "parse special-token text such as <s> in the prompt")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	var ids []int32
	if *tokens != "" {
		if len(pos) > 0 {
			return usagef("give either --tokens or a PROMPT, not both")
		}
		if ids, err = parseIDs(*tokens); err != nil {
			return err
		}
	}
	var text string
	if *tokens == "" {
		arg, err := onePositional(pos, "PROMPT")
		if err != nil {
			return err
		}
		if text, err = readArg(e, arg); err != nil {
			return err
		}
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	if *tokens == "" {
		if ids, err = m.Tokenize(text, true, *special); err != nil {
			return err
		}
	}
	ctx, stop := signalContext()
	defer stop()
	logits, err := m.Logits(ctx, ids)
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			Tokens []int32   `json:"tokens"`
			Logits []float64 `json:"logits"`
		}{nonNil(ids), make([]float64, len(logits))}
		for i, l := range logits {
			out.Logits[i] = float64(l)
			if math.IsNaN(out.Logits[i]) || math.IsInf(out.Logits[i], 0) {
				return fmt.Errorf("logit %d is %v", i, l)
			}
		}
		return writeJSON(e, out)
	}
	fmt.Fprintf(e.stdout, "tokens: %v\ntop logits:\n", ids)
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	for _, i := range idx[:min(10, len(idx))] {
		piece, _ := m.TokenPiece(int32(i))
		fmt.Fprintf(e.stdout, "  %6d %10.4f %q\n", i, logits[i], piece)
	}
	return nil
}

func cmdBench(e *env, args []string) error {
	fs := newFlags(e, "bench")
	var mf modelFlags
	mf.register(fs)
	p := fs.Int("p", 128, "prompt tokens, evaluated as one batch")
	n := fs.Int("n", 64, "generated tokens, one at a time")
	asJSON := fs.Bool("json", false, `print {"pp_tok_s":x,"tg_tok_s":y}`)
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *p < 0 || *n < 0 {
		return usagef("-p and -n must be >= 0")
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	ctx, stop := signalContext()
	defer stop()
	r, err := m.Bench(ctx, *p, *n)
	if err != nil {
		return err
	}
	pp, tg := tokPerSec(r.PromptTokens, r.PromptDuration), tokPerSec(r.GenTokens, r.GenDuration)
	if *asJSON {
		return writeJSON(e, map[string]float64{"pp_tok_s": pp, "tg_tok_s": tg})
	}
	in := m.Info()
	fmt.Fprintf(e.stdout, "model %s (%s, %s), backend %s, threads %d\n", mf.model, in.Name, in.FileType, in.Backend, mf.threads)
	fmt.Fprintf(e.stdout, "pp%d: %.2f tok/s\ntg%d: %.2f tok/s\n", *p, pp, *n, tg)
	return nil
}
