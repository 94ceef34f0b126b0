package retrieve_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/embed/embedtest"
	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/kbtest"
	"github.com/askqa/ask/kb/sqlite"
	"github.com/askqa/ask/retrieve"
)

func hits(ids ...int64) []kb.Hit {
	out := make([]kb.Hit, len(ids))
	for i, id := range ids {
		out[i] = kb.Hit{Chunk: kb.Chunk{ID: id}, Score: float64(10 - i)}
	}
	return out
}

func TestFuse(t *testing.T) {
	got := retrieve.Fuse(60, hits(1, 2, 3), hits(3, 4, 1))
	// 1: 1/61 + 1/63; 3: 1/63 + 1/61 (tie: best rank 1 both, lower id
	// first); 2: 1/62; 4: 1/62 (tie: rank 2 both, lower id first).
	want := []struct {
		id       int64
		fused    float64
		lex, den int
	}{
		{1, 1.0/61 + 1.0/63, 1, 3},
		{3, 1.0/63 + 1.0/61, 3, 1},
		{2, 1.0 / 62, 2, 0},
		{4, 1.0 / 62, 0, 2},
	}
	if len(got) != len(want) {
		t.Fatalf("%d passages, want %d", len(got), len(want))
	}
	for i, w := range want {
		p := got[i]
		if p.ID != w.id || math.Abs(p.Score-w.fused) > 1e-15 || p.Scores.Fused != p.Score || p.Scores.LexicalRank != w.lex || p.Scores.DenseRank != w.den {
			t.Errorf("passage %d: id %d score %v ranks %d/%d, want id %d score %v ranks %d/%d",
				i, p.ID, p.Score, p.Scores.LexicalRank, p.Scores.DenseRank, w.id, w.fused, w.lex, w.den)
		}
	}
	if got[0].Scores.Lexical != 10 || got[0].Scores.Dense != 8 {
		t.Errorf("passage 1 keeps scores %+v, want lexical 10 dense 8", got[0].Scores)
	}
	if len(retrieve.Fuse(60, nil, nil)) != 0 {
		t.Error("fusing nothing gave passages")
	}
}

var docs = []kb.Document{
	{ID: "cats", Title: "Cats", Text: "Cats are small carnivorous mammals.\n\nThe domestic cat sleeps most of the day.", Metadata: map[string]string{"kind": "animal"}},
	{ID: "dogs", Title: "Dogs", Text: "Dogs were the first species to be domesticated.\n\nA dog barks at strangers.", Metadata: map[string]string{"kind": "animal"}},
	{ID: "rome", Title: "Rome", Text: "Rome is the capital of Italy.\n\nThe Colosseum is an amphitheatre in the centre of Rome.", Metadata: map[string]string{"kind": "city"}},
}

func store(t *testing.T, dim int) kb.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := kb.Collection{Name: "c"}
	if dim > 0 {
		c.Embedder, c.Dim = "fake", dim
	}
	if err := s.CreateCollection(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if _, err := s.PutDocument(ctx, "c", d, kbtest.Chunks(t, d.Text, dim)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestRetrievers(t *testing.T) {
	ctx := context.Background()
	s := store(t, 64)
	emb := embedtest.Fake{}
	for _, m := range []retrieve.Mode{retrieve.Lexical, retrieve.Dense, retrieve.Hybrid} {
		r, err := retrieve.New(m, s, emb)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := r.Retrieve(ctx, retrieve.Request{Collection: "c", Query: "Which dog barks at strangers?", K: 2})
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if len(ps) != 2 || ps[0].DocID != "dogs" || ps[0].Title != "Dogs" || ps[0].Collection != "c" {
			t.Fatalf("%s: %+v, want 2 passages, the barking dog first", m, ps)
		}
		sc := ps[0].Scores
		switch m {
		case retrieve.Lexical:
			if sc.LexicalRank != 1 || sc.Lexical != ps[0].Score || sc.DenseRank != 0 {
				t.Errorf("lexical scores %+v", sc)
			}
		case retrieve.Dense:
			if sc.DenseRank != 1 || sc.Dense != ps[0].Score || sc.LexicalRank != 0 {
				t.Errorf("dense scores %+v", sc)
			}
		case retrieve.Hybrid:
			if sc.LexicalRank == 0 || sc.DenseRank == 0 || sc.Fused != ps[0].Score {
				t.Errorf("hybrid scores %+v: want both ranks and the fused score", sc)
			}
		}
		// Filters reach the store.
		ps, err = r.Retrieve(ctx, retrieve.Request{Collection: "c", Query: "dog barks capital", K: 5, Filter: kb.Filter{Metadata: map[string]string{"kind": "city"}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.DocID != "rome" {
				t.Errorf("%s with a filter: passage of %s", m, p.DocID)
			}
		}
	}
	if _, err := retrieve.New(retrieve.Dense, s, nil); err == nil {
		t.Error("dense without an embedder: no error")
	}
	// Another model's query vectors are refused.
	r, _ := retrieve.New(retrieve.Dense, s, embedtest.Fake{Dim: 16})
	if _, err := r.Retrieve(ctx, retrieve.Request{Collection: "c", Query: "dog"}); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("another model: %v, want ErrInvalid", err)
	}
	if _, err := retrieve.ParseMode("fuzzy"); err == nil {
		t.Error("ParseMode(fuzzy): no error")
	}
}

func TestHybridLexicalOnlyCollection(t *testing.T) {
	s := store(t, 0)
	r, _ := retrieve.New(retrieve.Hybrid, s, embedtest.Fake{})
	ps, err := r.Retrieve(context.Background(), retrieve.Request{Collection: "c", Query: "capital of Italy", K: 1})
	if err != nil || len(ps) != 1 || ps[0].DocID != "rome" {
		t.Errorf("hybrid over a lexical-only collection: %+v, %v", ps, err)
	}
	d, _ := retrieve.New(retrieve.Dense, s, embedtest.Fake{})
	if _, err := d.Retrieve(context.Background(), retrieve.Request{Collection: "c", Query: "x"}); !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("dense over a lexical-only collection: %v, want ErrInvalid", err)
	}
}

// unreadable is an embedder that cannot read its texts: every token is
// its unknown token.
type unreadable struct{ embedtest.Fake }

func (u unreadable) Embed(ctx context.Context, texts []string, opts embed.Options) ([]embed.Result, error) {
	res, err := u.Fake.Embed(ctx, texts, opts)
	for i := range res {
		res[i].Unknown = 1
	}
	return res, err
}

// TestHybridUnreadableQuery: a query the embedding model cannot read is
// searched lexically only, so its meaningless vector cannot push the
// lexical hits down; explicit dense mode still uses the vector.
func TestHybridUnreadableQuery(t *testing.T) {
	ctx := context.Background()
	s := store(t, 64)
	req := retrieve.Request{Collection: "c", Query: "Which dog barks at strangers?", K: 5}
	lex, err := retrieve.LexicalRetriever{Store: s}.Retrieve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := retrieve.New(retrieve.Hybrid, s, unreadable{})
	ps, err := h.Retrieve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(lex) {
		t.Fatalf("hybrid gave %d passages, lexical %d", len(ps), len(lex))
	}
	for i, p := range ps {
		if p.ID != lex[i].ID || p.Scores.DenseRank != 0 || p.Scores.LexicalRank != i+1 {
			t.Errorf("passage %d: %+v, want lexical's %d with no dense rank", i, p.Scores, lex[i].ID)
		}
	}
	d, _ := retrieve.New(retrieve.Dense, s, unreadable{})
	if ps, err := d.Retrieve(ctx, req); err != nil || len(ps) == 0 || ps[0].Scores.DenseRank != 1 {
		t.Errorf("dense mode with an unreadable query: %+v, %v; want the vector used", ps, err)
	}
}
