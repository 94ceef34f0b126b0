package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/chunk"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/embed/embedtest"
	"github.com/askqa/ask/kb"
)

// fakeModels stands in for the embedding model: the fake embedder under the
// name "fake", words as tokens.
func fakeModels(loaded *[]string) *kbModels {
	return &kbModels{embedder: func(_ context.Context, ref string) (embed.Embedder, chunk.Tokenizer, func() error, error) {
		if loaded != nil {
			*loaded = append(*loaded, ref)
		}
		if ref != "fake" {
			return nil, nil, nil, errors.New("no model " + ref)
		}
		return embedtest.Fake{}, chunk.Words{}, func() error { return nil }, nil
	}}
}

func kbRun(t *testing.T, f func(context.Context, Env, []string, *kbModels) error, models *kbModels, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err := f(context.Background(), env, args, models)
	return out.String(), errb.String(), err
}

func docsRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err := runDocs(context.Background(), env, args)
	return out.String(), err
}

func TestAddSearchDocs(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	files := map[string]string{
		"rome.md":    "# Rome\n\nRome is the capital of Italy. The Colosseum stands in its centre.",
		"paris.html": "<title>Paris</title><nav>menu</nav><p>Paris is the capital of France.</p>",
		"zh.txt":     "长城是中国古代的军事防御工程。",
		"skip.bin":   "x",
		"bad.txt":    "caf\xe9",
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var loaded []string
	m := fakeModels(&loaded)
	out, errs, err := kbRun(t, addCmd, m, "--data", data, "--embed-model", "fake", "--collection", "world", dir)
	if err == nil || !strings.Contains(err.Error(), "1 documents failed") {
		t.Errorf("add with one bad file: %v, want an error counting it", err)
	}
	for _, want := range []string{"added " + filepath.ToSlash(filepath.Join(dir, "rome.md")) + " (1 chunks)", "zh.txt"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"skip " + filepath.Join(dir, "skip.bin"), "failed " + filepath.ToSlash(filepath.Join(dir, "bad.txt")), "not valid UTF-8", "documents, ", "chunks/s", "ETA"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}

	// Search in each mode; the collection's model is loaded by its name.
	for _, mode := range []string{"hybrid", "lexical", "dense"} {
		loaded = nil
		out, _, err = kbRun(t, searchCmd, m, "--data", data, "--collection", "world", "--mode", mode, "--top-k", "1", "--json", "capital of France")
		if err != nil {
			t.Fatalf("search --mode %s: %v", mode, err)
		}
		var res searchOutput
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("search --json: %v\n%s", err, out)
		}
		if len(res.Passages) != 1 || res.Passages[0].Title != "Paris" || string(res.Mode) != mode {
			t.Errorf("search --mode %s: %+v", mode, res)
		}
		p := res.Passages[0]
		if p.Text != "Paris is the capital of France." || p.Start != 0 || p.End != len(p.Text) {
			t.Errorf("passage %+v", p)
		}
		if wantLoad := mode != "lexical"; (len(loaded) == 1 && loaded[0] == "fake") != wantLoad {
			t.Errorf("mode %s loaded models %q", mode, loaded)
		}
	}
	out, _, err = kbRun(t, searchCmd, m, "--data", data, "--collection", "world", "长城")
	if err != nil || !strings.Contains(out, "1. 长城是中国古代的军事防御工程。") || !strings.Contains(out, "rrf; bm25 #1") {
		t.Errorf("text search output:\n%s\n%v", out, err)
	}
	out, _, err = kbRun(t, searchCmd, m, "--data", data, "--collection", "world", "--filter", "format=markdown", "--mode", "lexical", "capital")
	if err != nil || !strings.Contains(out, "Rome") || strings.Contains(out, "Paris") {
		t.Errorf("filtered search:\n%s\n%v", out, err)
	}

	// Re-adding changes nothing.
	out, _, _ = kbRun(t, addCmd, m, "--data", data, "--embed-model", "fake", "--collection", "world", filepath.Join(dir, "rome.md"))
	if !strings.HasPrefix(out, "unchanged ") {
		t.Errorf("re-add: %q", out)
	}

	out, err = docsRun(t, "--data", data, "--collection", "world")
	if err != nil || strings.Count(out, "\n") != 4 || !strings.Contains(out, "Paris") {
		t.Errorf("docs:\n%s\n%v", out, err)
	}
	out, err = docsRun(t, "--data", data, "--collections", "--json")
	if err != nil || !strings.Contains(out, `"name":"world"`) || !strings.Contains(out, `"documents":3`) {
		t.Errorf("docs --collections --json:\n%s\n%v", out, err)
	}
	rome := filepath.ToSlash(filepath.Join(dir, "rome.md"))
	if out, err = docsRun(t, "--data", data, "--collection", "world", "rm", rome); err != nil || out != "removed "+rome+"\n" {
		t.Errorf("docs rm: %q %v", out, err)
	}
	if _, err = docsRun(t, "--data", data, "--collection", "world", "rm", rome); err == nil {
		t.Error("removing twice: no error")
	}
	out, _ = docsRun(t, "--data", data, "--collection", "world")
	if strings.Contains(out, "rome.md") {
		t.Errorf("removed document still listed:\n%s", out)
	}
}

func TestKBCommandErrors(t *testing.T) {
	data := t.TempDir()
	m := fakeModels(nil)
	if _, _, err := kbRun(t, searchCmd, m, "--data", data, "query"); err == nil || !strings.Contains(err.Error(), "add documents first") {
		t.Errorf("search without a knowledge base: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha beta"), 0o644)
	if _, _, err := kbRun(t, addCmd, m, "--data", data, "--embed-model", "none", dir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", data, "--collection", "nope", "x"}, "not found"},
		{[]string{"--data", data, "--mode", "fuzzy", "x"}, "want hybrid, lexical or dense"},
		{[]string{"--data", data, "--mode", "dense", "x"}, "--mode lexical"},
		{[]string{"--data", data, "--filter", "novalue", "x"}, "KEY=VALUE"},
		{[]string{"--data", data, "--top-k", "0", "x"}, "--top-k"},
	} {
		if _, _, err := kbRun(t, searchCmd, m, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("search %q: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
	// A lexical-only collection answers hybrid searches lexically.
	out, _, err := kbRun(t, searchCmd, m, "--data", data, "beta")
	if err != nil || !strings.Contains(out, "alpha beta") {
		t.Errorf("hybrid over a lexical-only collection: %q %v", out, err)
	}
	if _, _, err := kbRun(t, addCmd, m, "--data", data, "--embed-model", "fake", dir); err == nil || !strings.Contains(err.Error(), "use the same model, or another collection") {
		t.Errorf("another model into the collection: %v", err)
	}
	if _, _, err := kbRun(t, addCmd, m, "--data", data, "--collection", "../x", "--embed-model", "none", dir); err == nil {
		t.Error("a bad collection name: no error")
	}
	if _, _, err := kbRun(t, addCmd, m, "--data", data); !errors.Is(err, errUsage) {
		t.Errorf("add without a path: %v, want usage", err)
	}
}

func TestDataDir(t *testing.T) {
	env := func(kv map[string]string) Env { return Env{Getenv: func(k string) string { return kv[k] }} }
	for _, tc := range []struct {
		flag string
		env  map[string]string
		want string
	}{
		{"/x", map[string]string{"ASK_DATA": "/y"}, "/x"},
		{"", map[string]string{"ASK_DATA": "/y", "XDG_DATA_HOME": "/z"}, "/y"},
		{"", map[string]string{"XDG_DATA_HOME": "/z"}, filepath.Join("/z", "ask")},
		{"", map[string]string{"HOME": "/h"}, filepath.Join("/h", ".local", "share", "ask")},
	} {
		if got, err := dataDir(env(tc.env), tc.flag); err != nil || got != tc.want {
			t.Errorf("dataDir(%q, %v) = %q, %v; want %q", tc.flag, tc.env, got, err, tc.want)
		}
	}
}

// TestAddSearchBuiltinEmbedder runs add and search with the real built-in
// embedder (multilingual-e5-small) and its tokenizer: dense search finds a
// passage that shares no word with the query.
func TestAddSearchBuiltinEmbedder(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the built-in embedder: not in -short")
	}
	data, dir := t.TempDir(), t.TempDir()
	for n, b := range map[string]string{
		"felines.txt": "Domestic cats purr when they are content and hunt mice at night.",
		"finance.txt": "The central bank raised interest rates to curb inflation.",
		"cooking.txt": "Knead the dough, let it rise for an hour, then bake the bread.",
	} {
		os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644)
	}
	env := Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
	if err := addCmd(context.Background(), env, []string{"--data", data, "--threads", "1", dir}, nil); err != nil {
		t.Fatalf("add: %v\n%s", err, env.Stderr)
	}
	var out bytes.Buffer
	env.Stdout = &out
	if err := searchCmd(context.Background(), env, []string{"--data", data, "--mode", "dense", "--top-k", "1", "--json", "kitten"}, nil); err != nil {
		t.Fatal(err)
	}
	var res searchOutput
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Passages) != 1 || !strings.HasSuffix(res.Passages[0].DocID, "felines.txt") || res.Passages[0].Scores.Dense <= 0.2 {
		t.Errorf("dense search for kitten: %+v, want felines.txt", res.Passages)
	}
	docs, err := docsRun(t, "--data", data, "--collections")
	if err != nil || !strings.Contains(docs, builtin.EmbedderID) {
		t.Errorf("the collection records its embedder: %q %v", docs, err)
	}

	// A collection of an ask before 2026-12-06 records "builtin", whose
	// vectors were all-MiniLM-L6-v2's: this ask's built-in embedder must
	// not search or extend it as if they were its own.
	store, err := openKB(context.Background(), env, data, "", false)
	if err != nil {
		t.Fatal(err)
	}
	err = store.CreateCollection(context.Background(), kb.Collection{Name: "old", Embedder: "builtin", Dim: 384})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	err = searchCmd(context.Background(), env, []string{"--data", data, "--collection", "old", "--mode", "dense", "kitten"}, nil)
	if err == nil || !strings.Contains(err.Error(), `"builtin"`) || !strings.Contains(err.Error(), "--from-collection old") {
		t.Errorf("dense search of a collection of the old built-in embedder: %v, want an error that says to re-add", err)
	}
	err = addCmd(context.Background(), env, []string{"--data", data, "--collection", "old", "--threads", "1", dir}, nil)
	if err == nil || !strings.Contains(err.Error(), `"builtin"`) {
		t.Errorf("adding to a collection of the old built-in embedder: %v, want an error", err)
	}
}

// TestEvalCollectionRetrievalOnly runs ask eval --collection --retrieval-only
// over a small collection: recall counts a question whose gold answer is in
// a retrieved passage, and an empty question (CMRC 2018's trial set has
// two) is a miss instead of an error that stops the run.
func TestEvalCollectionRetrievalOnly(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	for n, b := range map[string]string{
		"paris.md": "Paris is the capital of France.",
		"rome.md":  "Rome is the capital of Italy.",
	} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := kbRun(t, addCmd, fakeModels(nil), "--data", data, "--embed-model", "fake", "--collection", "world", dir); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "q.json")
	q := `{"version":"1.1","data":[{"title":"t","paragraphs":[{"context":"x","qas":[
		{"id":"a","question":"What is the capital of France?","answers":[{"text":"Paris","answer_start":0}]},
		{"id":"b","question":"  ","answers":[{"text":"Rome","answer_start":0}]},
		{"id":"c","question":"Which city is the capital of Italy?","answers":[{"text":"Rome","answer_start":0}]},
		{"id":"d","question":"capital","answers":[{"text":"Berlin","answer_start":0}]}]}]}]}`
	if err := os.WriteFile(file, []byte(q), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := run(t, "", "eval", file, "--data", data, "--collection", "world", "--mode", "lexical", "--retrieval-only", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Questions int                `json:"questions"`
		Empty     int                `json:"empty_questions"`
		Retrieval map[string]float64 `json:"retrieval"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Questions != 4 || res.Empty != 1 || res.Retrieval["recall@20"] != 50 || !strings.Contains(errs, "1 questions have no text") {
		t.Errorf("got %+v (want 4 questions, 1 empty, recall@20 50: a and c found, b empty, d absent); stderr:\n%s", res, errs)
	}
}

// TestAddFromCollection copies a collection into a new one embedded by
// another model: every document arrives with its ID, title and text, the
// new collection records the new model, the old one is untouched, and a
// second run changes nothing.
func TestAddFromCollection(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	for n, b := range map[string]string{
		"a.md":   "# Alpha\n\nAlpha beta gamma. Delta epsilon.",
		"zh.txt": "长城是中国古代的军事防御工程。",
	} {
		os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644)
	}
	m := fakeModels(nil)
	if _, errs, err := kbRun(t, addCmd, m, "--data", data, "--collection", "old", "--embed-model", "none", dir); err != nil {
		t.Fatalf("add: %v\n%s", err, errs)
	}
	out, errs, err := kbRun(t, addCmd, m, "--data", data, "--from-collection", "old", "--collection", "new", "--embed-model", "fake")
	if err != nil || strings.Count(out, "added ") != 2 || !strings.Contains(errs, "2 documents of old copied into new") {
		t.Fatalf("copy: %v\nstdout %q\nstderr %q", err, out, errs)
	}
	if out, _, err := kbRun(t, addCmd, m, "--data", data, "--from-collection", "old", "--collection", "new", "--embed-model", "fake"); err != nil || strings.Count(out, "unchanged ") != 2 {
		t.Errorf("second copy: %v %q, want 2 unchanged", err, out)
	}
	store, err := openKB(context.Background(), Env{Getenv: func(string) string { return "" }}, data, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	oldC, err1 := store.Collection(ctx, "old")
	newC, err2 := store.Collection(ctx, "new")
	if err1 != nil || err2 != nil || oldC.Embedder != "" || newC.Embedder != "fake" || newC.Documents != 2 || newC.Chunks == 0 {
		t.Fatalf("collections: old %+v %v, new %+v %v", oldC, err1, newC, err2)
	}
	docs, err := store.Documents(ctx, "old", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		a, err1 := store.Document(ctx, "old", d.ID)
		b, err2 := store.Document(ctx, "new", d.ID)
		if err1 != nil || err2 != nil || a.Text != b.Text || a.Title != b.Title || a.Source != b.Source || a.Hash != b.Hash {
			t.Errorf("document %s: old %+v %v, new %+v %v", d.ID, a, err1, b, err2)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from-collection", "old", "--collection", "new", dir}, "not both"},
		{[]string{"--from-collection", "old", "--collection", "old"}, "is --collection itself"},
		{[]string{"--from-collection", "nope", "--collection", "x"}, "--from-collection nope"},
	} {
		if _, _, err := kbRun(t, addCmd, m, append([]string{"--data", data, "--embed-model", "fake"}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("add %q: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}
