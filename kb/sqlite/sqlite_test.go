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
