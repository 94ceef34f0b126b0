package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/askqa/ask/config"
	"github.com/askqa/ask/hub/hubtest"
	"github.com/askqa/ask/server"
)

func TestParseFlagsInterleaves(t *testing.T) {
	for _, c := range []struct {
		args    []string
		pos     []string
		n       int
		verbose bool
		name    string
	}{
		{nil, []string{}, 0, false, ""},
		{[]string{"a", "--n", "3", "b"}, []string{"a", "b"}, 3, false, ""},
		{[]string{"--n", "3", "a", "-v"}, []string{"a"}, 3, true, ""},
		{[]string{"a", "--name=x", "b", "--v"}, []string{"a", "b"}, 0, true, "x"},
		// A flag's value is the next argument whatever it looks like.
		{[]string{"--name", "-v", "a"}, []string{"a"}, 0, false, "-v"},
		{[]string{"--n", "-1", "a"}, []string{"a"}, -1, false, ""},
		{[]string{"-", "--v"}, []string{"-"}, 0, true, ""},
		// "--" ends the flags.
		{[]string{"a", "--", "--n", "5", "-v"}, []string{"a", "--n", "5", "-v"}, 0, false, ""},
		{[]string{"--v", "--", "--"}, []string{"--"}, 0, true, ""},
	} {
		fs := newFlags(Env{Stdout: io.Discard, Stderr: io.Discard}, "t", "")
		n := fs.Int("n", 0, "")
		v := fs.Bool("v", false, "")
		name := fs.String("name", "", "")
		if err := parseFlags(fs, c.args); err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if pos := append([]string{}, fs.Args()...); !reflect.DeepEqual(pos, c.pos) || *n != c.n || *v != c.verbose || *name != c.name {
			t.Errorf("%q: args %q n %d v %v name %q; want %q %d %v %q", c.args, pos, *n, *v, *name, c.pos, c.n, c.verbose, c.name)
		}
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"a", "--bogus"}, "unknown flag --bogus"},
		{[]string{"--n", "x"}, `invalid value "x" for flag -n`},
		{[]string{"a", "--n"}, "flag needs an argument: -n"},
	} {
		fs := newFlags(Env{Stdout: io.Discard, Stderr: io.Discard}, "t", "A B\n\nmore")
		fs.Int("n", 0, "")
		err := parseFlags(fs, c.args)
		var ue *usageError
		if !errors.As(err, &ue) || !errors.Is(err, errUsage) || !strings.Contains(ue.msg, c.want) || ue.synopsis != "A B" {
			t.Errorf("%q: %#v, want a usage error saying %q", c.args, err, c.want)
		}
	}
}

// TestArguments checks each command's argument handling up to the point
// where it would load a model: exit code, and what stdout or stderr says.
func TestArguments(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args   []string
		code   int
		stream string // "out" or "err"
		says   []string
	}{
		{nil, 2, "err", []string{"usage: ask <command>", "serve"}},
		{[]string{"help"}, 0, "out", []string{"usage: ask <command>", "'--' ends the flags"}},
		{[]string{"--help"}, 0, "out", []string{"usage: ask <command>"}},
		{[]string{"help", "nope"}, 2, "err", []string{`"nope" is not a command`}},
		{[]string{"nope"}, 2, "err", []string{`unknown command "nope"`}},

		{[]string{"answer"}, 2, "err", []string{"ask answer: missing --question and --context (or --context-file)", "usage: ask answer [MODEL]", "ask help answer"}},
		{[]string{"answer", "--question", "q"}, 2, "err", []string{"missing --context (or --context-file)"}},
		{[]string{"answer", "--context", "c"}, 2, "err", []string{"missing --question\n"}},
		{[]string{"answer", "--question", "q", "--context", "c", "--context-file", file}, 2, "err", []string{"not both"}},
		{[]string{"answer", "m1", "m2", "--question", "q", "--context", "c"}, 2, "err", []string{`unexpected argument "m2"`}},
		{[]string{"answer", "m1", "--model", "m2", "--question", "q", "--context", "c"}, 2, "err", []string{"named twice"}},
		{[]string{"help", "answer"}, 0, "out", []string{"usage: ask answer", "-context-file"}},
		{[]string{"answer", "-h"}, 0, "out", []string{"usage: ask answer"}},
		{[]string{"answer", "--top-k"}, 2, "err", []string{"flag needs an argument"}},

		{[]string{"eval"}, 2, "err", []string{"missing the SQuAD file"}},
		{[]string{"eval", "a.json", "b.json"}, 2, "err", []string{`unexpected argument "b.json"`}},
		{[]string{"eval", "a.json", "--version", "3"}, 1, "err", []string{"a.json"}}, // the file is read first
		{[]string{"help", "eval"}, 0, "out", []string{"FILE.json", "-predictions"}},

		{[]string{"tokenize"}, 2, "err", []string{"missing the tokenizer"}},
		{[]string{"tokenize", "a", "b"}, 2, "err", []string{`unexpected argument "b"`}},
		{[]string{"tokenize", "a", "--tokenizer", "b"}, 2, "err", []string{"tokenizer is named twice"}},

		{[]string{"infer", "a", "b"}, 2, "err", []string{`unexpected argument "b"`, "the model"}},
		{[]string{"infer", "--threads", "x"}, 2, "err", []string{"invalid value"}},
		{[]string{"infer", file}, 1, "err", []string{"is a file, not a model folder"}},

		{[]string{"bench", "a", "b"}, 2, "err", []string{`unexpected argument "b"`}},
		{[]string{"bench", "--runs", "0"}, 2, "err", []string{"at least 1"}},
		{[]string{"bench", "./no-such-model", "--runs", "1"}, 1, "err", []string{"no such folder"}},

		{[]string{"pull", "a/b", "c/d"}, 2, "err", []string{`unexpected argument "c/d"`}},
		{[]string{"pull", "--bogus"}, 2, "err", []string{"unknown flag --bogus", "usage: ask pull"}},
		{[]string{"list", "x"}, 2, "err", []string{`unexpected argument "x": list takes no arguments`}},
		{[]string{"rm"}, 2, "err", []string{"missing the model to remove"}},
		{[]string{"rm", "a/b", "c/d"}, 2, "err", []string{`unexpected argument "c/d"`}},
		{[]string{"help", "rm"}, 0, "out", []string{"usage: ask rm", "-cache-dir"}},

		{[]string{"serve", "a", "b"}, 2, "err", []string{`unexpected argument "b"`}},
		{[]string{"serve", "a", "--model", "b"}, 2, "err", []string{"named twice"}},
		{[]string{"help", "serve"}, 0, "out", []string{"usage: ask serve [flags] [MODEL]", "ASK_ADDR"}},
	} {
		code, out, errs := runCLI(t, map[string]string{"HF_HUB_OFFLINE": "1", "HOME": t.TempDir()}, c.args...)
		text := errs
		if c.stream == "out" {
			text = out
		}
		ok := code == c.code
		for _, s := range c.says {
			ok = ok && strings.Contains(text, s)
		}
		if !ok {
			t.Errorf("ask %q: exit %d, stdout %q, stderr %q; want exit %d and std%s saying %q", c.args, code, out, errs, c.code, c.stream, c.says)
		}
		if c.stream == "out" && errs != "" {
			t.Errorf("ask %q: stderr %q, want nothing there", c.args, errs)
		}
	}
}

// TestModelAsArgument runs the commands that take their model as an
// argument, with flags after it.
func TestModelAsArgument(t *testing.T) {
	dir, words := tinyQAModel(t)
	env := map[string]string{"HF_HUB_OFFLINE": "1"}

	code, out, errs := runCLI(t, env, "bench", dir, "--runs", "1", "--warmup", "0", "--seq", "8", "--json")
	var r benchResult
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Model != dir || r.Runs != 1 || !strings.HasSuffix(out, "}\n") {
		t.Errorf("bench DIR --runs 1: exit %d, %q, %s", code, out, errs)
	}

	var stdout, stderr strings.Builder
	c := Run(context.Background(), []string{"infer", dir, "--threads", "1"}, Env{Stdin: strings.NewReader(`{"input_ids":[2,9,3]}`), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }})
	if c != 0 || !strings.Contains(stdout.String(), "start_logits") {
		t.Errorf("infer DIR: exit %d, %q, %s", c, stdout.String(), stderr.String())
	}

	ctx := words[0] + " " + words[1] + " " + words[2] + "."
	code, out, errs = runCLI(t, env, "answer", dir, "--question", words[1]+"?", "--context", ctx, "--json")
	if code != 0 || !json.Valid([]byte(out)) || !strings.HasSuffix(out, "\n") {
		t.Errorf("answer DIR --json: exit %d, %q, %s", code, out, errs)
	}

	squadFile := filepath.Join(t.TempDir(), "dev.json")
	squadJSON := `{"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "` + ctx + `", "qas": [{"id": "q1", "question": "` + words[1] + `?", "answers": [{"text": "` + words[1] + `", "answer_start": 0}]}]}]}]}`
	if err := os.WriteFile(squadFile, []byte(squadJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	preds := filepath.Join(t.TempDir(), "preds.json")
	code, out, errs = runCLI(t, env, "eval", squadFile, "--predictions", preds, "--model", dir, "--json")
	if code != 0 || !json.Valid([]byte(out)) || !strings.HasSuffix(out, "\n") {
		t.Errorf("eval FILE --predictions OUT: exit %d, %q, %s", code, out, errs)
	}
	if b, err := os.ReadFile(preds); err != nil || !strings.Contains(string(b), `"q1"`) {
		t.Errorf("predictions: %q, %v", b, err)
	}

	code, out, errs = runCLI(t, env, "tokenize", dir, "--no-special-tokens")
	if code != 0 || out != "" {
		t.Errorf("tokenize DIR (no input): exit %d, %q, %s", code, out, errs)
	}
}

// TestServeModelArgument: "ask serve DIR" is "ask serve --model DIR", and
// wins over ASK_MODEL.
func TestServeModelArgument(t *testing.T) {
	var got []string
	load := func(_ context.Context, _ Env, cfg config.Config, _ loaderDeps) (server.Reader, func(context.Context) error, error) {
		got = append(got, cfg.Model)
		return nil, nil, errors.New("stop here")
	}
	env := Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string {
		return map[string]string{"ASK_MODEL": "from/env"}[k]
	}}
	for _, args := range [][]string{{"--addr", "127.0.0.1:0", "some/dir"}, {"some/dir", "--addr", "127.0.0.1:0"}, {"--model", "some/dir"}, nil} {
		if err := serve(context.Background(), env, args, load); err == nil || !strings.Contains(err.Error(), "stop here") {
			t.Fatalf("serve %q: %v", args, err)
		}
	}
	if want := []string{"some/dir", "some/dir", "some/dir", "from/env"}; !reflect.DeepEqual(got, want) {
		t.Errorf("models %q, want %q", got, want)
	}
}

// TestPullFromHangingHub: a Hub that never answers ends the pull within
// seconds, with one line on what was tried and how to fix it.
func TestPullFromHangingHub(t *testing.T) {
	srv := hubtest.New(t, hubtest.TinyModel("acme/tiny-qa"))
	srv.AddFault(hubtest.Fault{Host: "hub", Hang: true})
	env := map[string]string{"HF_ENDPOINT": srv.URL, "HF_HUB_CACHE": t.TempDir(), "HF_HUB_ETAG_TIMEOUT": "0.2"}
	code, out, errs := runCLI(t, env, "pull", "acme/tiny-qa")
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	last := lines[len(lines)-1]
	if code != 1 || out != "" || !strings.HasPrefix(last, "ask pull: could not reach "+srv.URL) || !strings.Contains(last, "HF_HUB_OFFLINE=1") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "waiting for") || !strings.Contains(errs, "retrying in") {
		t.Errorf("no progress while waiting:\n%s", errs)
	}
}
