package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/config"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/server"
)

// lockedBuffer collects a command's stderr while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs serve on a free loopback port and returns its base URL.
func startServe(t *testing.T, load readerLoader, getenv func(string) string, args ...string) (url string, stderr *lockedBuffer, stop func() error) {
	t.Helper()
	pr, pw := io.Pipe()
	stderr = &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	env := Env{Stdin: strings.NewReader(""), Stdout: pw, Stderr: stderr, Getenv: getenv}
	// The knowledge base goes to a temporary folder, never the user's.
	dataDir := t.TempDir()
	done := make(chan error, 1)
	go func() {
		err := serve(ctx, env, append([]string{"--addr", "127.0.0.1:0", "--data", dataDir}, args...), load)
		pw.Close()
		done <- err
	}()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		_, rest, ok := strings.Cut(line, "listening on ")
		if !ok {
			t.Fatalf("unexpected stdout line %q", line)
		}
		url, _, _ = strings.Cut(rest, " ")
	case err := <-done:
		t.Fatalf("serve exited: %v\n%s", err, stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not print its address\n%s", stderr)
	}
	var once sync.Once
	var serveErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
		})
		return serveErr
	}
	t.Cleanup(func() { _ = stop() })
	return url, stderr, stop
}

func noEnv(string) string { return "" }

// When not even the built-in model can be used (here: its cache folder
// cannot be created), serve starts with the lexical reader, says so, and
// answers the README's curl request.
func TestServeLexicalFallback(t *testing.T) {
	unusable := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(unusable, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "XDG_CACHE_HOME" {
			return filepath.Join(unusable, "cache") // a folder under a file
		}
		return ""
	}
	url, stderr, stop := startServe(t, loadModelReader, env)
	resp, err := http.Post(url+"/api/ask", "application/x-www-form-urlencoded", // what curl -d sends
		strings.NewReader(`{"question":"Where was HuggingFace founded?","context":"HuggingFace was founded in Paris."}`))
	if err != nil {
		t.Fatal(err)
	}
	var a api.AskAnswer
	err = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || a.Answer.Answer != "HuggingFace was founded in Paris." {
		t.Fatalf("%d %+v %v", resp.StatusCode, a, err)
	}
	resp, err = http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var rd api.Readiness
	err = json.NewDecoder(resp.Body).Decode(&rd)
	resp.Body.Close()
	if err != nil || rd.Reader != "lexical" || rd.ModelLoaded || !strings.Contains(rd.Message, "ask pull distilbert/distilbert-base-cased-distilled-squad") ||
		!strings.Contains(rd.Message, "--model DIR") {
		t.Errorf("readyz = %+v, %v", rd, err)
	}
	if err := stop(); err != nil {
		t.Errorf("serve returned %v on shutdown", err)
	}
	logs := stderr.String()
	for _, want := range []string{"listening", "127.0.0.1:", "reader=lexical", "no model loaded", "shutdown complete"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// A loader that works puts its reader behind the server; flags and env
// reach the server (here: the API key from the environment).
func TestServeWithModelReader(t *testing.T) {
	closed := make(chan struct{})
	load := func(ctx context.Context, env Env, cfg config.Config, deps loaderDeps) (server.Reader, func(context.Context) error, error) {
		if cfg.BatchTokens != 1234 || deps.SchedHooks.Batch == nil || deps.Logger == nil {
			t.Errorf("loader got cfg %+v deps %+v", cfg, deps)
		}
		return fakeModel{}, func(context.Context) error { close(closed); return nil }, nil
	}
	getenv := func(k string) string {
		return map[string]string{"ASK_API_KEY": "k", "ASK_LOG_FORMAT": "json"}[k]
	}
	url, stderr, stop := startServe(t, load, getenv, "--batch-tokens", "1234")
	c, err := api.NewClient(url, api.ClientOptions{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Answer(context.Background(), api.AnswerRequest{Question: "q", Context: "c"})
	if err != nil || resp.Reader != "model" || resp.Model != "fake/model" {
		t.Fatalf("Answer = %+v, %v", resp, err)
	}
	rd, err := c.Ready(context.Background())
	if err != nil || !rd.ModelLoaded || rd.Model != "fake/model" || rd.Message != "" {
		t.Errorf("Ready = %+v, %v", rd, err)
	}
	if _, err := api.NewClient(url, api.ClientOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	default:
		t.Error("the reader was not closed after shutdown")
	}
	if !strings.Contains(stderr.String(), `"msg":"listening"`) {
		t.Errorf("json logs expected:\n%s", stderr)
	}
}

type fakeModel struct{}

func (fakeModel) Read(ctx context.Context, req reader.Request) (reader.Response, error) {
	res := make([]reader.Result, len(req.Inputs))
	for i := range res {
		res[i] = reader.Result{Answers: []reader.Answer{{Text: "c", Score: 0.9, End: 1, ByteEnd: 1}}, Windows: 1, PassageTokens: 1}
	}
	return reader.Response{Results: res}, nil
}

func (fakeModel) Describe() reader.Info {
	return reader.Info{ID: "fake/model", Kind: reader.KindModel}
}

func TestServeReaderChoice(t *testing.T) {
	noModel := func(context.Context, Env, config.Config, loaderDeps) (server.Reader, func(context.Context) error, error) {
		return nil, nil, errNoModel
	}
	broken := func(context.Context, Env, config.Config, loaderDeps) (server.Reader, func(context.Context) error, error) {
		return nil, nil, errors.New("config.json: unknown model_type")
	}
	deps := loaderDeps{Logger: newLogger(io.Discard, config.Default())}
	for _, tc := range []struct {
		name    string
		reader  string
		model   string
		load    readerLoader
		want    string // "lexical", "model" or "error"
		mention string
	}{
		{"auto without model falls back", config.ReaderAuto, "", noModel, "lexical", "no model loaded"},
		{"lexical asked for", config.ReaderLexical, "", broken, "lexical", "--reader lexical"},
		{"model required", config.ReaderModel, "", noModel, "error", "no model available"},
		{"explicit model must load", config.ReaderAuto, "/no/such/dir", noModel, "error", "/no/such/dir"},
		{"broken model is fatal", config.ReaderAuto, "", broken, "error", "unknown model_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Reader, cfg.Model = tc.reader, tc.model
			r, _, notice, err := pickReader(context.Background(), Env{}, cfg, tc.load, deps)
			switch tc.want {
			case "error":
				if err == nil || !strings.Contains(err.Error(), tc.mention) {
					t.Errorf("err = %v, want one mentioning %q", err, tc.mention)
				}
			default:
				if err != nil || r.Describe().Kind != tc.want || !strings.Contains(notice, tc.mention) {
					t.Errorf("reader %v, notice %q, err %v", r, notice, err)
				}
			}
		})
	}
}

func TestServeHelpAndBadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := Env{Stdout: &stdout, Stderr: &stderr, Getenv: noEnv}
	if code := Run(context.Background(), []string{"serve", "--help"}, env); code != 0 {
		t.Errorf("serve --help exit %d", code)
	}
	for _, name := range config.EnvNames() {
		if !strings.Contains(stdout.String(), name) {
			t.Errorf("help (on stdout) lacks %s", name)
		}
	}
	env.Stdout = io.Discard
	stderr.Reset()
	if code := Run(context.Background(), []string{"serve", "--batch-tokens", "x"}, env); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
	stderr.Reset()
	if code := Run(context.Background(), []string{"serve", "--addr", "bogus"}, env); code != 1 || !strings.Contains(stderr.String(), "addr") {
		t.Errorf("bad addr: exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	env.Getenv = func(k string) string { return map[string]string{"ASK_REQUEST_TIMEOUT": "forever"}[k] }
	if code := Run(context.Background(), []string{"serve"}, env); code != 1 || !strings.Contains(stderr.String(), "ASK_REQUEST_TIMEOUT") {
		t.Errorf("bad env: exit %d: %s", code, stderr.String())
	}
}
