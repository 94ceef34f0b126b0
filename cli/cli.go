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
		"convert":  {"write model.safetensors from a pytorch_model.bin checkpoint", runConvert},
	}
}

// errUsage marks a mistake in the command line, which exits with status 2.
// A bare errUsage means the usage text was printed already; a usageError
// (which matches it) carries the message Run prints.
var errUsage = errors.New("usage")

// usageError is a command line mistake: what was wrong, and the command's
// synopsis to show under it.
type usageError struct {
	msg, synopsis string
}

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

// usageErrorf reports a command line mistake of fs's command.
func usageErrorf(fs *flag.FlagSet, format string, args ...any) error {
	e := &usageError{msg: fmt.Sprintf(format, args...)}
	if h, ok := fs.Output().(*cmdOutput); ok {
		e.synopsis, _, _ = strings.Cut(h.synopsis, "\n")
	}
	return e
}

// Run executes the command named by args[0] and returns the process exit
// code: 0, 1 for a failure, 2 for a mistake in the command line.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	cmds := commands()
	if len(args) == 0 {
		usage(env.Stderr, cmds)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 1 || args[0] != "help" {
			usage(env.Stdout, cmds)
			return 0
		}
		if _, ok := cmds[args[1]]; !ok || len(args) > 2 {
			fmt.Fprintf(env.Stderr, "ask help: %q is not a command\n\n", strings.Join(args[1:], " "))
			usage(env.Stderr, cmds)
			return 2
		}
		// The command's own -h prints its help to stdout.
		args = []string{args[1], "-h"}
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
	err := c.run(ctx, env, args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "ask %s: %s\n", args[0], ue.msg)
		if ue.synopsis != "" {
			fmt.Fprintf(env.Stderr, "usage: ask %s %s\n", args[0], ue.synopsis)
		}
		fmt.Fprintf(env.Stderr, "Run 'ask help %s' for its flags.\n", args[0])
		return 2
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(env.Stderr, "ask %s: %v\n", args[0], err)
	return 1
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: ask <command> [flags] [arguments]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-9s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'ask help <command>' for a command's flags. Flags may come before or after\narguments; '--' ends the flags.\n")
	io.WriteString(w, b.String())
}

// cmdOutput is a FlagSet's output: errors and usage go to stderr, while
// -h asks for the help on stdout (parseFlags switches). It remembers the
// command's synopsis for usage errors.
type cmdOutput struct {
	stdout, stderr io.Writer
	help           bool // writing the help that -h asked for
	synopsis       string
}

func (o *cmdOutput) Write(p []byte) (int, error) {
	if o.help {
		return o.stdout.Write(p)
	}
	return o.stderr.Write(p)
}

// newFlags returns a FlagSet that reports errors to env.Stderr instead of
// exiting, so a bad flag is an error value like any other; -h prints its
// help to env.Stdout. synopsis follows "usage: ask NAME" on the first line.
func newFlags(env Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("ask "+name, flag.ContinueOnError)
	fs.SetOutput(&cmdOutput{stdout: env.Stdout, stderr: env.Stderr, synopsis: synopsis})
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ask %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args with flags anywhere among the positional
// arguments ("ask eval FILE --predictions OUT"), which the flag package
// alone stops at; "--" ends the flags. The positional arguments are then
// fs.Args(). -h prints the help to stdout and returns flag.ErrHelp; a bad
// flag returns a usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		// A flag that takes a value takes the next argument, whatever it
		// looks like, exactly as the flag package would.
		if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	// The flag package prints errors and the whole usage itself; the error
	// is reported by Run instead, with the synopsis and a pointer to help.
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	// Flags first, on their own, so a value flag left without its value
	// is reported as such; then "--" and the arguments, for fs.Args().
	err := fs.Parse(flags)
	if err == nil {
		err = fs.Parse(append([]string{"--"}, pos...))
	}
	fs.SetOutput(out)
	fs.Usage = usage
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		if o, ok := out.(*cmdOutput); ok {
			o.help = true
			defer func() { o.help = false }()
		}
		fs.Usage()
		return flag.ErrHelp
	}
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		return usageErrorf(fs, "unknown flag --%s", name)
	}
	return usageErrorf(fs, "%v", err)
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parseInterleaved is parseFlags returning the positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

// flagSet reports whether the flag called name was given on the command
// line (as opposed to keeping its default, or a default from the
// environment).
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// modelArg lets a command whose one positional argument is its model (or
// tokenizer) take it that way ("ask bench DIR") as well as with the flag
// called flagName: ref is that flag's value, which the argument replaces.
func modelArg(fs *flag.FlagSet, ref *string, flagName string) error {
	switch fs.NArg() {
	case 0:
		return nil
	case 1:
		if flagSet(fs, flagName) {
			return usageErrorf(fs, "the %s is named twice (--%s %s and argument %q): give one", flagName, flagName, *ref, fs.Arg(0))
		}
		*ref = fs.Arg(0)
		return nil
	}
	return usageErrorf(fs, "unexpected argument %q: expected at most one argument, the %s (the same as --%s)", fs.Arg(1), flagName, flagName)
}

// missingFlags reports every required flag that was not given, all in one
// message ("missing --question and --context (or --context-file)").
func missingFlags(fs *flag.FlagSet, required ...flagNeed) error {
	var miss []string
	for _, r := range required {
		if r.missing {
			miss = append(miss, r.name)
		}
	}
	switch len(miss) {
	case 0:
		return nil
	case 1:
		return usageErrorf(fs, "missing %s", miss[0])
	}
	return usageErrorf(fs, "missing %s and %s", strings.Join(miss[:len(miss)-1], ", "), miss[len(miss)-1])
}

// flagNeed is one required flag for missingFlags.
type flagNeed struct {
	name    string
	missing bool
}
