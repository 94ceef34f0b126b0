// Package cli implements the ask command line: one file per command, each a
// function from arguments and streams to an error, so commands are tested
// without a process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/askqa/ask/tensor"
)

// Env is what a command may touch of its process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

type command struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":    {"run the HTTP server", runServe},
		"infer":    {"run a model on JSON lines of token ids", runInfer},
		"bench":    {"time the model's forward pass", runBench},
		"tokenize": {"tokenize JSON lines of text", runTokenize},
		"answer":   {"answer a question over a text", runAnswer},
		"eval":     {"evaluate on a SQuAD-format file", runEval},
		"pull":     {"download a model from the Hugging Face Hub", runPull},
		"list":     {"list cached models", runList},
		"rm":       {"remove a cached model", runRm},
		"add":      {"add files and folders to a knowledge-base collection", runAdd},
		"search":   {"search a knowledge-base collection", runSearch},
		"docs":     {"list or remove the documents of a collection", runDocs},
		"embed":    {"embed JSON lines of text as sentence vectors", runEmbed},
		"quantize": {"write an int8 copy of a checkpoint", runQuantize},
	}
}

// errUsage marks an error whose message is the usage text already printed.
var errUsage = errors.New("usage")

// Run executes the command named by args[0] and returns the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if err := tensor.CheckKernelChoice(env.Getenv("ASK_GEMM_KERNEL")); err != nil {
		fmt.Fprintf(env.Stderr, "ask: %v\n", err)
		return 2
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "ask: unknown command %q\n\n", args[0])
		usage(env.Stderr, cmds)
		return 2
	}
	if err := c.run(ctx, env, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(env.Stderr, "ask %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: ask <command> [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-9s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'ask <command> -h' for a command's flags.\n")
	io.WriteString(w, b.String())
}

// newFlags returns a FlagSet that reports errors to env.Stderr instead of
// exiting, so a bad flag is an error value like any other.
func newFlags(env Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("ask "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: ask %s %s\n\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and maps a parse failure to errUsage (the FlagSet
// has already printed why).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// errNotImplemented is returned by commands whose issue has not landed yet.
func errNotImplemented(name string) error {
	return fmt.Errorf("%s: not implemented yet", name)
}
