// Package kbtest is the conformance suite every kb.Store backend must
// pass: a backend's test calls Run with a function that opens an empty
// store.
package kbtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/embed/embedtest"
	"github.com/askqa/ask/kb"
)

// Dim is the vector length of the collections the suite creates.
const Dim = 32

var fake = embedtest.Fake{Dim: Dim}

// Run runs the suite; open returns a new, empty store for each subtest and
// arranges its closing (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) kb.Store) {
	tests := []struct {
		name string
		f    func(*testing.T, kb.Store)
	}{
		{"Collections", testCollections},
		{"PutGet", testPutGet},
		{"ContentHashNoOp", testHashNoOp},
		{"Replace", testReplace},
		{"Delete", testDelete},
		{"DocumentsPaged", testPaging},
		{"BadInput", testBadInput},
		{"Lexical", testLexical},
		{"LexicalChinese", testChinese},
		{"Vector", testVector},
		{"Filters", testFilters},
		{"LexicalOnlyCollection", testLexicalOnly},
		{"ConcurrentReplace", testConcurrentReplace},
		{"DeleteCollection", testDeleteCollection},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, open(t)) })
	}
}

// Chunks cuts text into chunks at blank lines, with fake vectors when dim
// is set (the suite's stand-in for ingest).
func Chunks(t testing.TB, text string, dim int) []kb.Chunk {
	t.Helper()
	var out []kb.Chunk
	start := 0
	for start < len(text) {
		end := strings.Index(text[start:], "\n\n")
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		if end > start {
			out = append(out, kb.Chunk{Start: start, End: end, Text: text[start:end], Tokens: len(strings.Fields(text[start:end]))})
		}
		start = end + 2
	}
	if dim > 0 {
		texts := make([]string, len(out))
		for i, c := range out {
			texts[i] = c.Text
		}
		res, err := embedtest.Fake{Dim: dim}.Embed(context.Background(), texts, embed.Options{Role: embed.RoleDocument})
		if err != nil {
			t.Fatal(err)
		}
		for i := range out {
			out[i].Vector = res[i].Vector
		}
	}
	return out
}

func queryVector(t testing.TB, q string) []float32 {
	t.Helper()
	res, err := fake.Embed(context.Background(), []string{q}, embed.Options{Role: embed.RoleQuery})
	if err != nil {
		t.Fatal(err)
	}
	return res[0].Vector
}

func newCollection(t *testing.T, s kb.Store, name string) {
	t.Helper()
	if err := s.CreateCollection(context.Background(), kb.Collection{Name: name, Embedder: "fake", Dim: Dim}); err != nil {
		t.Fatalf("CreateCollection(%q): %v", name, err)
	}
}

func put(t *testing.T, s kb.Store, coll string, d kb.Document) kb.PutResult {
	t.Helper()
	r, err := s.PutDocument(context.Background(), coll, d, Chunks(t, d.Text, Dim))
	if err != nil {
		t.Fatalf("PutDocument(%q): %v", d.ID, err)
	}
	return r
}

func docIDs(hits []kb.Hit) []string {
	var out []string
	for _, h := range hits {
		if !slices.Contains(out, h.DocID) {
			out = append(out, h.DocID)
		}
	}
	return out
}

func testCollections(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "b-docs")
	newCollection(t, s, "a.docs_1")
	if err := s.CreateCollection(ctx, kb.Collection{Name: "a.docs_1", Embedder: "fake", Dim: Dim}); !errors.Is(err, kb.ErrExists) {
		t.Errorf("creating a collection twice: %v, want ErrExists", err)
	}
	for _, bad := range []string{"", ".hidden", "a/b", "a b", "../x", strings.Repeat("x", 65)} {
		if err := s.CreateCollection(ctx, kb.Collection{Name: bad}); !errors.Is(err, kb.ErrInvalid) {
			t.Errorf("CreateCollection(%q): %v, want ErrInvalid", bad, err)
		}
	}
	if err := s.CreateCollection(ctx, kb.Collection{Name: "x", Embedder: "m"}); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("an embedder without a dimension: %v, want ErrInvalid", err)
	}
	cols, err := s.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"a.docs_1", "b-docs"}) {
		t.Errorf("Collections: %q, want [a.docs_1 b-docs]", names)
	}
	put(t, s, "b-docs", kb.Document{ID: "d", Text: "one\n\ntwo"})
	c, err := s.Collection(ctx, "b-docs")
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedder != "fake" || c.Dim != Dim || c.Documents != 1 || c.Chunks != 2 || c.Created.IsZero() {
		t.Errorf("Collection: %+v, want embedder fake, dim %d, 1 document, 2 chunks, a creation time", c, Dim)
	}
	if _, err := s.Collection(ctx, "nope"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("Collection(unknown): %v, want ErrNotFound", err)
	}
}

const alpine = "Alpine lakes\n\nThe glaciers carved deep valleys in the Alps.\n\nMany lakes formed behind moraines."

func testPutGet(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	d := kb.Document{ID: "docs/alps.md", Title: "Alps", Source: "/tmp/alps.md", Metadata: map[string]string{"lang": "en", "topic": "geo"}, Text: alpine}
	if r := put(t, s, "c", d); r != kb.Added {
		t.Errorf("first put: %v, want added", r)
	}
	got, err := s.Document(ctx, "c", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != d.ID || got.Title != d.Title || got.Source != d.Source || got.Text != d.Text ||
		got.Hash != kb.ContentHash(d.Text) || fmt.Sprint(got.Metadata) != fmt.Sprint(d.Metadata) || got.Added.IsZero() || got.Chunks != 3 {
		t.Errorf("Document: %+v\nwant the stored fields, hash %s, an added time and 3 chunks", got, kb.ContentHash(d.Text))
	}
	chunks, err := s.Chunks(ctx, "c", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := Chunks(t, alpine, 0)
	if len(chunks) != len(want) {
		t.Fatalf("%d chunks, want %d", len(chunks), len(want))
	}
	for i, c := range chunks {
		if c.Seq != i || c.Start != want[i].Start || c.End != want[i].End || c.Text != want[i].Text || c.DocID != d.ID || c.Tokens != want[i].Tokens {
			t.Errorf("chunk %d: %+v, want %+v", i, c, want[i])
		}
		if got.Text[c.Start:c.End] != c.Text {
			t.Errorf("chunk %d: offsets do not select its text", i)
		}
	}
	if _, err := s.Document(ctx, "c", "missing"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("Document(missing): %v, want ErrNotFound", err)
	}
	if _, err := s.Document(ctx, "nope", d.ID); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("Document in an unknown collection: %v, want ErrNotFound", err)
	}
}

func testHashNoOp(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	d := kb.Document{ID: "a", Title: "first", Text: alpine}
	put(t, s, "c", d)
	before, _ := s.Document(ctx, "c", "a")
	d.Title = "second"
	if r := put(t, s, "c", d); r != kb.Unchanged {
		t.Errorf("same hash: %v, want unchanged", r)
	}
	after, _ := s.Document(ctx, "c", "a")
	if after.Title != "first" || !after.Added.Equal(before.Added) {
		t.Errorf("an unchanged put wrote: title %q added %v, want %q %v", after.Title, after.Added, "first", before.Added)
	}
	// A caller-given hash (of the source file, say) is what counts.
	d2 := kb.Document{ID: "b", Hash: "h1", Text: "one"}
	put(t, s, "c", d2)
	d2.Text = "two"
	if r := put(t, s, "c", d2); r != kb.Unchanged {
		t.Errorf("same caller hash, other text: %v, want unchanged", r)
	}
}

func testReplace(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	put(t, s, "c", kb.Document{ID: "a", Text: "zebras graze\n\nzebras run\n\nzebras sleep"})
	old, _ := s.Chunks(ctx, "c", "a")
	if r := put(t, s, "c", kb.Document{ID: "a", Text: "giraffes browse"}); r != kb.Replaced {
		t.Errorf("changed text: %v, want replaced", r)
	}
	chunks, _ := s.Chunks(ctx, "c", "a")
	if len(chunks) != 1 || chunks[0].Text != "giraffes browse" {
		t.Fatalf("after replace: %+v, want one chunk", chunks)
	}
	if chunks[0].ID == old[0].ID {
		t.Errorf("a replaced chunk kept its id %d", old[0].ID)
	}
	res, err := s.Search(ctx, "c", kb.Query{Text: "zebras", Vector: queryVector(t, "zebras"), K: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Lexical) != 0 {
		t.Errorf("lexical search finds replaced chunks: %+v", res.Lexical)
	}
	for _, h := range res.Vector {
		if strings.Contains(h.Text, "zebras") {
			t.Errorf("vector search finds a replaced chunk: %+v", h)
		}
	}
	res, _ = s.Search(ctx, "c", kb.Query{Text: "giraffes", K: 10})
	if len(res.Lexical) != 1 {
		t.Errorf("lexical search for the new text: %d hits, want 1", len(res.Lexical))
	}
	c, _ := s.Collection(ctx, "c")
	if c.Documents != 1 || c.Chunks != 1 {
		t.Errorf("after replace the collection counts %d documents, %d chunks; want 1, 1", c.Documents, c.Chunks)
	}
}

func testDelete(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	put(t, s, "c", kb.Document{ID: "a", Text: "quokkas smile"})
	put(t, s, "c", kb.Document{ID: "b", Text: "wombats dig"})
	// Index first, then delete: the vector index must drop it too.
	if _, err := s.Search(ctx, "c", kb.Query{Vector: queryVector(t, "quokkas"), K: 5}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDocument(ctx, "c", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDocument(ctx, "c", "a"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if err := s.DeleteDocument(ctx, "nope", "b"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("deleting from an unknown collection: %v, want ErrNotFound", err)
	}
	if _, err := s.Document(ctx, "c", "a"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("a deleted document: %v, want ErrNotFound", err)
	}
	res, err := s.Search(ctx, "c", kb.Query{Text: "quokkas", Vector: queryVector(t, "quokkas"), K: 5})
	if err != nil {
		t.Fatal(err)
	}
	if ids := append(docIDs(res.Lexical), docIDs(res.Vector)...); slices.Contains(ids, "a") {
		t.Errorf("a deleted document is found: %q", ids)
	}
	// Deleted and re-added: found again.
	put(t, s, "c", kb.Document{ID: "a", Text: "quokkas smile"})
	res, _ = s.Search(ctx, "c", kb.Query{Text: "quokkas", Vector: queryVector(t, "quokkas"), K: 1})
	if !slices.Equal(docIDs(res.Lexical), []string{"a"}) || !slices.Equal(docIDs(res.Vector), []string{"a"}) {
		t.Errorf("re-added document: lexical %q vector %q, want [a] [a]", docIDs(res.Lexical), docIDs(res.Vector))
	}
}

func testPaging(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	var want []string
	for i := range 25 {
		id := fmt.Sprintf("doc%02d", i)
		want = append(want, id)
		put(t, s, "c", kb.Document{ID: id, Title: "t" + id, Text: "text of " + id})
	}
	var got []string
	after := ""
	for {
		page, err := s.Documents(ctx, "c", after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 10 {
			t.Fatalf("a page of %d documents, limit 10", len(page))
		}
		for _, d := range page {
			if d.Text != "" || d.Title != "t"+d.ID || d.Chunks != 1 {
				t.Errorf("listed %+v: want its title, 1 chunk and no text", d)
			}
			got = append(got, d.ID)
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages: %q, want %q", got, want)
	}
}

func testBadInput(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	put(t, s, "c", kb.Document{ID: "keep", Text: alpine})
	good := Chunks(t, alpine, Dim)
	shifted := slices.Clone(good)
	shifted[1].Start++
	short := slices.Clone(good)
	short[0].Vector = short[0].Vector[:Dim-1]
	cases := []struct {
		name   string
		coll   string
		doc    kb.Document
		chunks []kb.Chunk
		want   error
	}{
		{"unknown collection", "nope", kb.Document{ID: "x", Text: alpine}, good, kb.ErrNotFound},
		{"empty id", "c", kb.Document{Text: alpine}, good, kb.ErrInvalid},
		{"offsets", "c", kb.Document{ID: "keep", Text: alpine + "!"}, shifted, kb.ErrInvalid},
		{"past the end", "c", kb.Document{ID: "keep", Text: alpine[:10]}, good, kb.ErrInvalid},
		{"vector length", "c", kb.Document{ID: "keep", Text: alpine + "!"}, short, kb.ErrInvalid},
		{"invalid utf-8 text", "c", kb.Document{ID: "x", Text: "a\xffb"}, nil, kb.ErrInvalid},
		{"invalid utf-8 id", "c", kb.Document{ID: "x\xff", Text: "ab"}, nil, kb.ErrInvalid},
		{"invalid utf-8 metadata", "c", kb.Document{ID: "x", Text: "ab", Metadata: map[string]string{"k": "\xff"}}, nil, kb.ErrInvalid},
	}
	for _, tc := range cases {
		if _, err := s.PutDocument(ctx, tc.coll, tc.doc, tc.chunks); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// Nothing changed.
	d, err := s.Document(ctx, "c", "keep")
	if err != nil || d.Text != alpine || d.Chunks != len(good) {
		t.Errorf("after rejected puts: %+v, %v; want the original document", d, err)
	}
	c, _ := s.Collection(ctx, "c")
	if c.Documents != 1 {
		t.Errorf("after rejected puts the collection has %d documents, want 1", c.Documents)
	}
	if _, err := s.Search(ctx, "c", kb.Query{}); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("an empty query: %v, want ErrInvalid", err)
	}
	if _, err := s.Search(ctx, "c", kb.Query{Vector: make([]float32, Dim+1)}); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("a query vector of the wrong length: %v, want ErrInvalid", err)
	}
	if _, err := s.Search(ctx, "nope", kb.Query{Text: "x"}); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("search of an unknown collection: %v, want ErrNotFound", err)
	}
	// Query syntax of the backend is not the user's: quotes, operators and
	// punctuation are searched as text.
	for _, q := range []string{`"`, `a AND`, `NEAR(`, `*`, `-x`, `col:val`, `)(`, "'; DROP TABLE x; --", "!!!"} {
		if _, err := s.Search(ctx, "c", kb.Query{Text: q}); err != nil {
			t.Errorf("Search(%q): %v", q, err)
		}
	}
}

var english = []kb.Document{
	{ID: "cats", Title: "Cats", Text: "Cats are small carnivorous mammals.\n\nThe domestic cat sleeps most of the day."},
	{ID: "dogs", Title: "Dogs", Text: "Dogs were the first species to be domesticated.\n\nA dog barks at strangers."},
	{ID: "rome", Title: "Rome", Text: "Rome is the capital of Italy.\n\nThe Colosseum is an amphitheatre in the centre of Rome."},
}

func testLexical(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	for _, d := range english {
		put(t, s, "c", d)
	}
	res, err := s.Search(ctx, "c", kb.Query{Text: "What is the capital of Italy?", K: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Lexical) == 0 || res.Lexical[0].DocID != "rome" || !strings.Contains(res.Lexical[0].Text, "capital") {
		t.Fatalf("lexical hits %+v, want the Rome capital chunk first", res.Lexical)
	}
	h := res.Lexical[0]
	if h.Title != "Rome" || h.Score <= 0 {
		t.Errorf("hit %+v: want its document's title and a positive score", h)
	}
	for i := 1; i < len(res.Lexical); i++ {
		if res.Lexical[i].Score > res.Lexical[i-1].Score {
			t.Errorf("hits not best first: %v after %v", res.Lexical[i].Score, res.Lexical[i-1].Score)
		}
	}
	if res.Vector != nil {
		t.Errorf("a text-only query returned vector hits")
	}
	// Case does not matter; K bounds the hits.
	res, _ = s.Search(ctx, "c", kb.Query{Text: "ROME colosseum", K: 1})
	if len(res.Lexical) != 1 || res.Lexical[0].DocID != "rome" {
		t.Errorf("K=1 search: %+v", res.Lexical)
	}
	res, _ = s.Search(ctx, "c", kb.Query{Text: "xylophone", K: 3})
	if len(res.Lexical) != 0 {
		t.Errorf("a word in no document found %+v", res.Lexical)
	}
}

// Chinese texts (written for this test) without spaces between words.
var chinese = []kb.Document{
	{ID: "greatwall", Title: "长城", Text: "长城是中国古代的军事防御工程。\n\n它东起山海关，西至嘉峪关，全长两万多公里。"},
	{ID: "panda", Title: "大熊猫", Text: "大熊猫主要生活在四川的竹林里。\n\n它们每天要吃很多竹子。"},
	{ID: "tea", Title: "茶", Text: "中國是茶的故鄉，飲茶的習慣已有數千年。"},
}

func testChinese(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "zh")
	for _, d := range chinese {
		put(t, s, "zh", d)
	}
	for _, tc := range []struct{ q, doc, in string }{
		{"长城全长多少公里？", "greatwall", "公里"},
		{"它们每天吃竹子吗", "panda", "竹子"},
		{"熊猫", "panda", "熊猫"},
		{"山海关", "greatwall", "山海关"},
		{"飲茶", "tea", "飲茶"},
	} {
		res, err := s.Search(ctx, "zh", kb.Query{Text: tc.q, K: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Lexical) == 0 || res.Lexical[0].DocID != tc.doc || !strings.Contains(res.Lexical[0].Text, tc.in) {
			t.Errorf("Search(%q): %+v, want first a chunk of %s holding %q", tc.q, res.Lexical, tc.doc, tc.in)
		}
	}
}

func testVector(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	for _, d := range english {
		put(t, s, "c", d)
	}
	q := queryVector(t, "a dog barks")
	res, err := s.Search(ctx, "c", kb.Query{Vector: q, K: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Vector) != 2 || res.Vector[0].DocID != "dogs" || !strings.Contains(res.Vector[0].Text, "barks") {
		t.Fatalf("vector hits %+v, want 2, the barking chunk first", res.Vector)
	}
	// The score is the dot product of the stored vector and the query.
	c := Chunks(t, english[1].Text, Dim)[1]
	var want float64
	for i := range q {
		want += float64(q[i]) * float64(c.Vector[i])
	}
	if h := res.Vector[0]; h.Score < want-1e-5 || h.Score > want+1e-5 || h.Title != "Dogs" || h.Vector != nil {
		t.Errorf("hit %+v: want score %v (the dot product), title Dogs, no vector", h, want)
	}
	if res.Vector[1].Score > res.Vector[0].Score {
		t.Errorf("vector hits not best first")
	}
	if res.Lexical != nil {
		t.Errorf("a vector-only query returned lexical hits")
	}
	// All chunks when K exceeds them.
	res, _ = s.Search(ctx, "c", kb.Query{Vector: q, K: 100})
	if len(res.Vector) != 6 {
		t.Errorf("K=100: %d hits, want all 6 chunks", len(res.Vector))
	}
}

func testFilters(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	for i, d := range english {
		d.Metadata = map[string]string{"kind": []string{"animal", "animal", "city"}[i], "n": fmt.Sprint(i)}
		put(t, s, "c", d)
	}
	text := "the cat dog Rome capital barks sleeps"
	for _, tc := range []struct {
		name string
		f    kb.Filter
		want []string
	}{
		{"none", kb.Filter{}, []string{"cats", "dogs", "rome"}},
		{"metadata", kb.Filter{Metadata: map[string]string{"kind": "animal"}}, []string{"cats", "dogs"}},
		{"two keys", kb.Filter{Metadata: map[string]string{"kind": "animal", "n": "1"}}, []string{"dogs"}},
		{"no match", kb.Filter{Metadata: map[string]string{"kind": "plant"}}, nil},
		{"unknown key", kb.Filter{Metadata: map[string]string{"colour": "red"}}, nil},
		{"ids", kb.Filter{DocIDs: []string{"rome", "cats", "missing"}}, []string{"cats", "rome"}},
		{"ids and metadata", kb.Filter{DocIDs: []string{"rome", "cats"}, Metadata: map[string]string{"kind": "city"}}, []string{"rome"}},
	} {
		res, err := s.Search(ctx, "c", kb.Query{Text: text, Vector: queryVector(t, text), K: 10, Filter: tc.f})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for mode, hits := range map[string][]kb.Hit{"lexical": res.Lexical, "vector": res.Vector} {
			got := docIDs(hits)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s, %s: documents %q, want %q", tc.name, mode, got, tc.want)
			}
		}
	}
}

func testLexicalOnly(t *testing.T, s kb.Store) {
	ctx := context.Background()
	if err := s.CreateCollection(ctx, kb.Collection{Name: "lex"}); err != nil {
		t.Fatal(err)
	}
	d := english[2]
	if _, err := s.PutDocument(ctx, "lex", d, Chunks(t, d.Text, Dim)); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("vectors into a lexical-only collection: %v, want ErrInvalid", err)
	}
	if _, err := s.PutDocument(ctx, "lex", d, Chunks(t, d.Text, 0)); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(ctx, "lex", kb.Query{Text: "Colosseum"})
	if err != nil || len(res.Lexical) != 1 {
		t.Errorf("lexical search: %+v, %v", res.Lexical, err)
	}
	if _, err := s.Search(ctx, "lex", kb.Query{Vector: make([]float32, Dim)}); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("a vector search in a lexical-only collection: %v, want ErrInvalid", err)
	}
}

// testConcurrentReplace replaces a document between two versions of
// different chunk counts while searchers check that every search sees
// exactly one whole version.
func testConcurrentReplace(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	version := func(v, n int) kb.Document {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("shared marker words v%d part%d", v, i)
		}
		return kb.Document{ID: "doc", Text: strings.Join(parts, "\n\n")}
	}
	put(t, s, "c", version(0, 3))
	put(t, s, "c", kb.Document{ID: "other", Text: "unrelated text"})
	const rounds = 30
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	q := queryVector(t, "shared marker words")
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				res, err := s.Search(ctx, "c", kb.Query{Text: "shared marker words", Vector: q, K: 20})
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				seen := map[string]string{}
				for mode, hits := range map[string][]kb.Hit{"lexical": res.Lexical, "vector": res.Vector} {
					var vs []string
					for _, h := range hits {
						if h.DocID == "doc" {
							vs = append(vs, strings.Fields(h.Text)[3])
						}
					}
					if len(vs) == 0 {
						errs <- fmt.Errorf("%s: the document is missing during a replace", mode)
						return
					}
					n := map[string]int{"v0": 3, "v1": 5}[vs[0]]
					if len(vs) != n || slices.ContainsFunc(vs, func(v string) bool { return v != vs[0] }) {
						errs <- fmt.Errorf("%s: a search saw %q, want one whole version", mode, vs)
						return
					}
					seen[mode] = vs[0]
				}
				if seen["lexical"] != seen["vector"] {
					errs <- fmt.Errorf("one search saw version %s lexically and %s by vector, want one snapshot", seen["lexical"], seen["vector"])
					return
				}
			}
		}()
	}
	for i := range rounds {
		v := version(0, 3)
		if i%2 == 0 {
			v = version(1, 5)
		}
		if _, err := s.PutDocument(ctx, "c", v, Chunks(t, v.Text, Dim)); err != nil {
			t.Error(err)
			break
		}
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testDeleteCollection(t *testing.T, s kb.Store) {
	ctx := context.Background()
	newCollection(t, s, "c")
	newCollection(t, s, "d")
	put(t, s, "c", english[0])
	put(t, s, "d", english[0])
	if _, err := s.Search(ctx, "c", kb.Query{Text: "cat", Vector: queryVector(t, "cat")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCollection(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCollection(ctx, "c"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if _, err := s.Document(ctx, "c", "cats"); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("a document of a deleted collection: %v, want ErrNotFound", err)
	}
	// Recreated empty; the other collection untouched.
	newCollection(t, s, "c")
	res, err := s.Search(ctx, "c", kb.Query{Text: "cat", Vector: queryVector(t, "cat")})
	if err != nil || len(res.Lexical)+len(res.Vector) != 0 {
		t.Errorf("a recreated collection finds %+v, %v", res, err)
	}
	res, _ = s.Search(ctx, "d", kb.Query{Text: "cat", Vector: queryVector(t, "cat")})
	if len(res.Lexical) == 0 || len(res.Vector) == 0 {
		t.Errorf("deleting c emptied d")
	}
}
