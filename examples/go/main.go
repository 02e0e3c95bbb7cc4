// Command example shows Hearth's Go API: it loads a GGUF model, streams a
// continuation of a prompt to stdout and prints generation statistics.
//
//	go run ./examples/go MODEL.gguf "Once upon a time"
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/hearthllm/hearth"
	"github.com/hearthllm/hearth/engine/sample"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: example MODEL.gguf PROMPT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		// Every error carries a stable code, such as HEARTH_NOT_FOUND.
		fmt.Fprintf(os.Stderr, "example: %v (%s)\n", err, hearth.CodeOf(err))
		os.Exit(1)
	}
}

func run(path, text string) error {
	m, err := hearth.Load(path, hearth.Options{Backend: "cpu", ContextSize: 512})
	if err != nil {
		return err
	}
	defer m.Close()

	// addSpecial: add BOS as the model asks; parseSpecial: leave "<s>" as text.
	prompt, err := m.Tokenize(text, true, false)
	if err != nil {
		return err
	}

	// Ctrl-C ends the generation early (StopReason "abort").
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	opts := hearth.GenerateOptions{
		MaxTokens: 128,
		Sampling:  sample.DefaultOptions(), // temperature 0.8, top-k 40, top-p 0.95, min-p 0.05
		Stop:      []string{"\n\n"},
	}
	opts.Sampling.Seed = 42
	fmt.Print(text)
	res, err := m.Generate(ctx, prompt, opts, func(id int32, piece []byte) bool {
		os.Stdout.Write(piece) // pieces never split a UTF-8 character
		return true
	})
	if err != nil {
		return err
	}
	in := m.Info()
	fmt.Printf("\n\n[%s, %s, %d tokens, stop: %s, %.1f tok/s]\n", in.Name, in.FileType,
		len(res.Tokens), res.StopReason, float64(len(res.Tokens))/res.GenDuration.Seconds())
	return nil
}
