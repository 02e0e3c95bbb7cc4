// Command hearth runs, inspects, quantizes and benchmarks GGUF models.
//
//	hearth run -m MODEL [flags] PROMPT       generate a continuation
//	hearth tokenize -m MODEL [flags] TEXT    print token ids
//	hearth eval -m MODEL [flags] PROMPT      logits at the last prompt position
//	hearth inspect MODEL [--json]            metadata and tensor table
//	hearth quantize IN OUT TYPE              requantize a model
//	hearth synth --preset P --type T --vocab V -o OUT   random-weight llama
//	hearth bench -m MODEL [flags]            prompt and generation speed
//
// Flags may come before or after the positional arguments; "--" ends the
// flags. User errors print one line "hearth: ..." on stderr and exit with
// status 1 (2 for usage errors).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// usageError is an error in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // the synopsis after "hearth "
	// run parses args with its own flag set and runs the command.
	run func(env *env, args []string) error
}

// env is the process environment a command sees (replaced in tests).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func commands() []*command {
	return []*command{
		{"run", "generate a continuation of a prompt", "run -m MODEL [flags] PROMPT", cmdRun},
		{"tokenize", "print the token ids of a text", "tokenize -m MODEL [--no-bos] [--special] [--json] TEXT", cmdTokenize},
		{"eval", "print the logits at the last prompt position", "eval -m MODEL [--backend B] [--threads N] [--ctx N] [--json] PROMPT", cmdEval},
		{"inspect", "print a GGUF file's metadata and tensors", "inspect MODEL [--json]", cmdInspect},
		{"quantize", "convert a model to another weight type", "quantize [--threads N] IN OUT TYPE", cmdQuantize},
		{"synth", "write a random-weight llama model", "synth --preset tinyllama-1.1b|tiny --type TYPE --vocab VOCAB.gguf [--seed S] -o OUT", cmdSynth},
		{"bench", "measure prompt processing and generation speed", "bench -m MODEL [-p 128] [-n 64] [--threads N] [--backend B] [--ctx N] [--json]", cmdBench},
	}
}

func mainUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: hearth COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "hearth COMMAND --help" for a command's flags.`)
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(realMain(e, os.Args[1:]))
}

// realMain runs the command line args and returns the exit status.
func realMain(e *env, args []string) int {
	if len(args) == 0 {
		mainUsage(e.stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			return realMain(e, []string{args[1], "--help"})
		}
		mainUsage(e.stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(e, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		}
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(e.stderr, "hearth: %s: %s (see hearth %s --help)\n", c.name, msg, c.name)
			return 2
		}
		fmt.Fprintf(e.stderr, "hearth: %s: %s\n", c.name, msg)
		return 1
	}
	fmt.Fprintf(e.stderr, "hearth: unknown command %q (see hearth --help)\n", args[0])
	return 2
}

// newFlags returns a flag set for command c whose --help prints to stdout.
func newFlags(e *env, c string) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args with fs, allowing flags and positional arguments in any
// order ("--" ends the flags), and returns the positional arguments. On
// --help it prints the command's usage to stdout and returns flag.ErrHelp.
func parse(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(e.stdout, fs)
				return nil, flag.ErrHelp
			}
			return nil, &usageError{err.Error()}
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// printUsage prints a command's synopsis and flags.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	for _, c := range commands() {
		if c.name == fs.Name() {
			fmt.Fprintf(w, "usage: hearth %s\n\n%s.\n\nflags:\n", c.usage, strings.ToUpper(c.summary[:1])+c.summary[1:])
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		name, usage := flag.UnquoteUsage(f)
		line := "  " + dash + f.Name
		if name != "" {
			line += " " + name
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "%-28s %s%s\n", line, usage, def)
	})
}

// readArg returns s, or all of stdin when s is "-".
func readArg(e *env, s string) (string, error) {
	if s != "-" {
		return s, nil
	}
	b, err := io.ReadAll(e.stdin)
	if err != nil {
		return "", fmt.Errorf("reading stdin: %w", err)
	}
	return string(b), nil
}

// onePositional checks that exactly one positional argument named what was given.
func onePositional(pos []string, what string) (string, error) {
	switch len(pos) {
	case 0:
		return "", usagef("missing %s", what)
	case 1:
		return pos[0], nil
	}
	return "", usagef("expected one %s argument, got %d (quote it)", what, len(pos))
}
