package sentence

import (
	"bytes"
	"context"
	"errors"
	"github.com/askqa/ask/embed"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/askqa/ask/sched"
)

func loadCase(t *testing.T, name string, opts LoadOptions) *Model {
	t.Helper()
	m, err := Load(assemble(t, name), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestPromptSelection(t *testing.T) {
	m := loadCase(t, "e5", LoadOptions{Threads: 1})
	for _, tc := range []struct {
		opts embed.Options
		want string
	}{
		{embed.Options{}, ""},
		{embed.Options{Role: embed.RoleQuery}, "query: "},
		{embed.Options{Role: embed.RoleDocument}, "passage: "},
		{embed.Options{Prompt: "passage", Role: embed.RoleQuery}, "passage: "},
	} {
		got, err := m.prompt(tc.opts)
		if err != nil || got != tc.want {
			t.Errorf("prompt(%+v) = %q, %v; want %q", tc.opts, got, err, tc.want)
		}
	}
	_, err := m.Embed(context.Background(), []string{"x"}, embed.Options{Prompt: "nope"})
	if !errors.Is(err, embed.ErrUnknownPrompt) || !strings.Contains(err.Error(), "passage, query") {
		t.Errorf("unknown prompt: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	m := loadCase(t, "bge", LoadOptions{Threads: 1})
	_, err := m.Embed(context.Background(), []string{"fine", "bad \xff"}, embed.Options{})
	if !errors.Is(err, embed.ErrInput) || !strings.Contains(err.Error(), "text 1") {
		t.Errorf("invalid UTF-8: %v", err)
	}
	// A megabyte of text is cut to max_seq_length, not refused.
	res, err := m.Embed(context.Background(), []string{strings.Repeat("word ", 200_000)}, embed.Options{})
	if err != nil || !res[0].Truncated || res[0].Tokens != m.Info().MaxSeqLen {
		t.Errorf("1 MB text: %+v, %v", res, err)
	}
	if _, err := m.Embed(context.Background(), []string{"short", strings.Repeat("word ", 100)}, embed.Options{NoTruncate: true}); !errors.Is(err, embed.ErrTooLong) || !strings.Contains(err.Error(), "text 1") {
		t.Errorf("NoTruncate: %v", err)
	}
	raw, err := m.Embed(context.Background(), []string{"some words"}, embed.Options{Unnormalized: true})
	if err != nil {
		t.Fatal(err)
	}
	var ss float64
	for _, v := range raw[0].Vector {
		ss += float64(v) * float64(v)
	}
	if ss > 0.99 && ss < 1.01 {
		t.Errorf("Unnormalized vector has unit length (%v): the Normalize module ran", ss)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Embed(ctx, []string{"x"}, embed.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := Load(file, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing"), LoadOptions{}); err == nil {
		t.Error("missing folder loaded")
	}
	for _, tc := range []struct{ file, body, want string }{
		{"modules.json", `[{"path":"","type":"sentence_transformers.models.Dense"}]`, "not supported"},
		{"modules.json", `{`, "modules.json"},
		{"modules.json", `[{"path":"","type":"sentence_transformers.models.Transformer"}]`, "no sentence_transformers.models.Pooling"},
	} {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, tc.file), []byte(tc.body), 0o644)
		if _, err := Load(d, LoadOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.file, tc.body, err, tc.want)
		}
	}
	d := assemble(t, "xlmr")
	os.WriteFile(filepath.Join(d, "1_Pooling", "config.json"), []byte(`{"pooling_mode":"median"}`), 0o644)
	if _, err := Load(d, LoadOptions{}); err == nil || !strings.Contains(err.Error(), `unknown pooling mode "median"`) {
		t.Errorf("unknown mode: %v", err)
	}
}

func TestPlainFolderSaysSoOnce(t *testing.T) {
	var buf bytes.Buffer
	m := loadCase(t, "plain", LoadOptions{Threads: 1, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	m.Embed(context.Background(), []string{"a", "b"}, embed.Options{})
	if n := strings.Count(buf.String(), "no modules.json"); n != 1 {
		t.Errorf("logged %d times: %s", n, buf.String())
	}
	if info := m.Info(); info.Pooling != "mean" || info.Normalized {
		t.Errorf("plain folder info %+v", info)
	}
}

// TestBatchedMatchesDirect runs concurrent requests through a scheduler:
// batch-mates must not change anyone's vectors beyond rounding.
func TestBatchedMatchesDirect(t *testing.T) {
	m := loadCase(t, "e5", LoadOptions{Threads: 1})
	g := readGolden(t, "testdata/e5/reference.json.gz")
	b, err := sched.New(m.Compute, sched.Options{MaxBatchTokens: 512, MaxBatchSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	e := NewBatched(m, b)
	var wg sync.WaitGroup
	for _, c := range g.Calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var opts embed.Options
			if c.PromptName != nil {
				opts.Prompt = *c.PromptName
			}
			got, err := e.Embed(context.Background(), c.Texts, opts)
			if err != nil {
				t.Error(err)
				return
			}
			for i, r := range got {
				for j, v := range r.Vector {
					if d := float64(v) - c.Embeddings[i][j]; d > maxDelta || d < -maxDelta {
						t.Errorf("text %d dim %d: %v vs %v", i, j, v, c.Embeddings[i][j])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
