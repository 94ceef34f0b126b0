package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/kbtest"
	"github.com/askqa/ask/kb/sqlite"
)

func open(t *testing.T) kb.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { kbtest.Run(t, open) }

// TestChineseRecall indexes the CMRC 2018 trial contexts (Simplified
// Chinese) and DRCD test contexts (Traditional) as documents, one chunk per
// paragraph, and checks that lexical search puts the question's own
// paragraph in the top 5 for most questions: CJK text without spaces is
// searchable.
func TestChineseRecall(t *testing.T) {
	for _, tc := range []struct {
		file string
		min  float64
	}{
		{"cmrc2018_trial.squad-style.json", 0.95},
		{"DRCD_test.json", 0.95},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "..", "shared", "data", "qa-zh", tc.file)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Skipf("the Chinese QA data is not here (%v): see ../shared/data/README.md", err)
			}
			var f struct {
				Data []struct {
					Paragraphs []struct {
						Context string `json:"context"`
						QAs     []struct {
							Question string `json:"question"`
						} `json:"qas"`
					} `json:"paragraphs"`
				} `json:"data"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			s := open(t)
			if err := s.CreateCollection(ctx, kb.Collection{Name: "zh"}); err != nil {
				t.Fatal(err)
			}
			type question struct{ q, doc string }
			var qs []question
			n := 0
			for _, a := range f.Data {
				for _, p := range a.Paragraphs {
					if n == 150 { // enough to measure, quick to index
						break
					}
					id := fmt.Sprint("p", n)
					n++
					d := kb.Document{ID: id, Text: p.Context}
					if _, err := s.PutDocument(ctx, "zh", d, []kb.Chunk{{Start: 0, End: len(d.Text), Text: d.Text}}); err != nil {
						t.Fatal(err)
					}
					for _, qa := range p.QAs {
						if qa.Question == "" {
							continue
						}
						qs = append(qs, question{qa.Question, id})
					}
				}
			}
			hit := 0
			for _, q := range qs {
				res, err := s.Search(ctx, "zh", kb.Query{Text: q.q, K: 5})
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range res.Lexical {
					if h.DocID == q.doc {
						hit++
						break
					}
				}
			}
			recall := float64(hit) / float64(len(qs))
			t.Logf("%s: recall@5 %.3f over %d questions on %d paragraphs", tc.file, recall, len(qs), n)
			if recall < tc.min {
				t.Errorf("recall@5 %.3f, want at least %.2f", recall, tc.min)
			}
		})
	}
}

// FuzzSearchText: any query text is searched as text, never as FTS5 syntax
// (no error, no panic).
func FuzzSearchText(f *testing.F) {
	for _, s := range []string{`"`, `a AND b`, `NEAR(a b)`, `col:x`, `*`, `^a`, `a OR`, "长城 \"x", "\x00", "ǅ ß İ"} {
		f.Add(s)
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "kb.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateCollection(ctx, kb.Collection{Name: "c"}); err != nil {
		f.Fatal(err)
	}
	text := "Some text AND more NEAR words 长城 ß"
	if _, err := s.PutDocument(ctx, "c", kb.Document{ID: "d", Text: text}, []kb.Chunk{{Start: 0, End: len(text), Text: text}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if q == "" {
			return
		}
		if _, err := s.Search(ctx, "c", kb.Query{Text: q}); err != nil {
			t.Errorf("Search(%q): %v", q, err)
		}
	})
}

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "kb")
	defer os.RemoveAll(dir)
	s, err := sqlite.Open(ctx, filepath.Join(dir, "kb.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	// A collection without vectors: lexical search only.
	s.CreateCollection(ctx, kb.Collection{Name: "notes"})
	text := "Rome is the capital of Italy.\n\n长城位于中国北方。"
	chunks := []kb.Chunk{
		{Start: 0, End: 29, Text: text[:29]},
		{Start: 31, End: len(text), Text: text[31:]},
	}
	r, err := s.PutDocument(ctx, "notes", kb.Document{ID: "n1", Title: "Notes", Text: text}, chunks)
	fmt.Println(r, err)
	for _, q := range []string{"capital of Italy", "长城"} {
		res, _ := s.Search(ctx, "notes", kb.Query{Text: q, K: 1})
		h := res.Lexical[0]
		fmt.Printf("%s → %s [%d:%d] %q\n", q, h.DocID, h.Start, h.End, h.Text)
	}
	// Output:
	// added <nil>
	// capital of Italy → n1 [0:29] "Rome is the capital of Italy."
	// 长城 → n1 [31:58] "长城位于中国北方。"
}
