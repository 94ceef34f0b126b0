package ingest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/askqa/ask/embed/embedtest"
	"github.com/askqa/ask/ingest"
	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/sqlite"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFilesGlobs(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"a.md": "a", "b.txt": "b", "c.bin": "c", ".hidden.md": "h",
		"sub/d.html": "d", "sub/e.md": "e", "drafts/f.md": "f", "node_modules/g.md": "g", ".git/config.txt": "x",
	})
	ids := func(g ingest.Globs) ([]string, []string) {
		t.Helper()
		files, skipped, err := ingest.Files([]string{dir}, g)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range files {
			rel, _ := filepath.Rel(filepath.ToSlash(dir), f.ID)
			out = append(out, filepath.ToSlash(rel))
		}
		var sk []string
		for _, s := range skipped {
			sk = append(sk, filepath.Base(s))
		}
		return out, sk
	}
	got, skipped := ids(ingest.Globs{})
	if want := []string{"a.md", "b.txt", "drafts/f.md", "node_modules/g.md", "sub/d.html", "sub/e.md"}; !slices.Equal(got, want) {
		t.Errorf("all: %q, want %q", got, want)
	}
	if !slices.Equal(skipped, []string{"c.bin"}) {
		t.Errorf("skipped %q, want [c.bin]", skipped)
	}
	got, _ = ids(ingest.Globs{Include: []string{"*.md"}, Exclude: []string{"node_modules", "drafts/**"}})
	if want := []string{"a.md", "sub/e.md"}; !slices.Equal(got, want) {
		t.Errorf("globs: %q, want %q", got, want)
	}
	got, _ = ids(ingest.Globs{Include: []string{"sub/*"}})
	if want := []string{"sub/d.html", "sub/e.md"}; !slices.Equal(got, want) {
		t.Errorf("path glob: %q, want %q", got, want)
	}
	if _, _, err := ingest.Files([]string{dir}, ingest.Globs{Include: []string{"[x"}}); err == nil {
		t.Error("a malformed glob: no error")
	}
	if _, _, err := ingest.Files([]string{filepath.Join(dir, "c.bin")}, ingest.Globs{}); !errors.Is(err, ingest.ErrUnsupported) {
		t.Errorf("an unsupported file named directly: %v, want ErrUnsupported", err)
	}
	if _, _, err := ingest.Files([]string{filepath.Join(dir, "missing.md")}, ingest.Globs{}); err == nil {
		t.Error("a missing path: no error")
	}
}

func newIngester(t *testing.T) (*ingest.Ingester, kb.Store) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	in := &ingest.Ingester{Store: s, Embedder: embedtest.Fake{}, Batch: 4}
	if err := in.EnsureCollection(context.Background(), "docs"); err != nil {
		t.Fatal(err)
	}
	return in, s
}

type events []ingest.Event

func (e *events) add(ev ingest.Event) { *e = append(*e, ev) }

func (e events) count(k ingest.EventKind) int {
	n := 0
	for _, ev := range e {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func TestAddFiles(t *testing.T) {
	ctx := context.Background()
	in, s := newIngester(t)
	dir := t.TempDir()
	long := strings.Repeat("Glaciers carve valleys over thousands of years. ", 80)
	write(t, dir, map[string]string{
		"alps.md":      "# Alps\n\n" + long,
		"rome.html":    "<title>Rome</title><p>Rome is the capital of Italy.</p>",
		"bad.txt":      "caf\xe9",
		"bulk.jsonl":   `{"id":"r1","title":"One","text":"Zebras have stripes.","metadata":{"lang":"en","year":2024}}` + "\n\n" + `{"id":"r2","text":"Pandas eat bamboo."}` + "\n",
		"broken.jsonl": `{"id":"ok","text":"fine"}` + "\n" + `{"title":"no id"}` + "\n",
	})
	files, _, err := ingest.Files([]string{dir}, ingest.Globs{})
	if err != nil {
		t.Fatal(err)
	}
	var ev events
	if err := in.AddFiles(ctx, "docs", files, ev.add); err != nil {
		t.Fatal(err)
	}
	if ev.count(ingest.Done) != 5 || ev.count(ingest.Failed) != 2 {
		t.Fatalf("events %+v: want 5 done (alps, rome, r1, r2, ok), 2 failed (bad.txt, the line without id)", ev)
	}
	for _, e := range ev {
		if e.Kind == ingest.Failed && !errors.Is(e.Err, ingest.ErrCorrupt) {
			t.Errorf("failure %v: want ErrCorrupt", e.Err)
		}
	}
	alpsID := filepath.ToSlash(filepath.Join(dir, "alps.md"))
	d, err := s.Document(ctx, "docs", alpsID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Alps" || d.Chunks < 2 || d.Metadata["format"] != "markdown" {
		t.Errorf("alps: %+v: want title Alps, several chunks, format markdown", d)
	}
	chunks, _ := s.Chunks(ctx, "docs", alpsID)
	for _, c := range chunks {
		if d.Text[c.Start:c.End] != c.Text || c.Tokens == 0 || c.Tokens > 192 {
			t.Errorf("chunk %d: offsets or tokens wrong: %+v", c.Seq, c)
		}
	}
	r1, err := s.Document(ctx, "docs", "r1")
	if err != nil || r1.Title != "One" || r1.Metadata["lang"] != "en" || r1.Metadata["year"] != "2024" {
		t.Errorf("r1: %+v, %v", r1, err)
	}
	res, err := s.Search(ctx, "docs", kb.Query{Text: "capital of Italy", K: 1, Filter: kb.Filter{Metadata: map[string]string{"format": "html"}}})
	if err != nil || len(res.Lexical) != 1 || res.Lexical[0].Title != "Rome" {
		t.Errorf("search: %+v, %v", res.Lexical, err)
	}

	// Again: nothing changes. Then one file changes: it alone is replaced.
	ev = nil
	if err := in.AddFiles(ctx, "docs", files, ev.add); err != nil {
		t.Fatal(err)
	}
	if ev.count(ingest.Unchanged) != 5 || ev.count(ingest.Done) != 0 {
		t.Errorf("re-add: %+v, want 5 unchanged", ev)
	}
	write(t, dir, map[string]string{"rome.html": "<title>Rome</title><p>Rome has the Colosseum.</p>"})
	ev = nil
	if err := in.AddFiles(ctx, "docs", files, ev.add); err != nil {
		t.Fatal(err)
	}
	if ev.count(ingest.Done) != 1 || ev.count(ingest.Unchanged) != 4 {
		t.Errorf("after a change: %+v, want 1 done, 4 unchanged", ev)
	}
	for _, e := range ev {
		if e.Kind == ingest.Done && e.Result != kb.Replaced {
			t.Errorf("the changed file: %v, want replaced", e.Result)
		}
	}
}

func TestEnsureCollectionMismatch(t *testing.T) {
	in, s := newIngester(t)
	other := &ingest.Ingester{Store: s, Embedder: embedtest.Fake{Dim: 8}}
	if err := other.EnsureCollection(context.Background(), "docs"); err == nil {
		t.Error("another dimension into the same collection: no error")
	}
	lex := &ingest.Ingester{Store: s}
	if err := lex.EnsureCollection(context.Background(), "docs"); err == nil {
		t.Error("a lexical-only ingest into an embedded collection: no error")
	}
	if err := in.EnsureCollection(context.Background(), "docs"); err != nil {
		t.Errorf("the same embedder again: %v", err)
	}
	if err := in.EnsureCollection(context.Background(), "../x"); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("a bad name: %v, want ErrInvalid", err)
	}
}

func TestAddDocument(t *testing.T) {
	ctx := context.Background()
	in, s := newIngester(t)
	res, n, err := in.AddDocument(ctx, "docs", kb.Document{ID: "up", Title: "Upload", Text: "Uploaded text about owls."})
	if err != nil || res != kb.Added || n != 1 {
		t.Fatalf("AddDocument: %v %d %v", res, n, err)
	}
	if res, _, _ := in.AddDocument(ctx, "docs", kb.Document{ID: "up", Text: "Uploaded text about owls."}); res != kb.Unchanged {
		t.Errorf("the same text again: %v, want unchanged", res)
	}
	r, _ := s.Search(ctx, "docs", kb.Query{Text: "owls"})
	if len(r.Lexical) != 1 {
		t.Errorf("search: %+v", r.Lexical)
	}
	if _, _, err := in.AddDocument(ctx, "nope", kb.Document{ID: "x", Text: "y"}); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("unknown collection: %v, want ErrNotFound", err)
	}
}
