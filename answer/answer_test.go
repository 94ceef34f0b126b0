package answer

import (
	"cmp"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/embed/embedtest"
	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/sqlite"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/retrieve"
)

// scriptedReader answers each passage with the spans a test gives it for a
// word of that passage, so ranking, merging and thresholds are exact.
type scriptedReader struct {
	// spans maps a word to the score of the span that word is.
	spans map[string]float64
	// null is the no-answer entry's score (0: 0.001, the passages hold
	// answers).
	null  float64
	calls int
}

func (s *scriptedReader) Describe() reader.Info {
	return reader.Info{ID: "scripted", Kind: reader.KindModel}
}

func (s *scriptedReader) Read(ctx context.Context, req reader.Request) (reader.Response, error) {
	s.calls++
	out := reader.Response{Kind: reader.KindModel, Model: "scripted", Results: make([]reader.Result, len(req.Inputs))}
	for i, in := range req.Inputs {
		for w, score := range s.spans {
			b := strings.Index(in.Passage, w)
			if b < 0 {
				continue
			}
			start := utf8.RuneCountInString(in.Passage[:b])
			out.Results[i].Answers = append(out.Results[i].Answers, reader.Answer{
				Text: w, Score: score, Start: start, End: start + utf8.RuneCountInString(w), ByteStart: b, ByteEnd: b + len(w)})
		}
		if req.Params.HandleImpossibleAnswer {
			// A model reader's no-answer entry: low, the passages hold spans.
			out.Results[i].Answers = append(out.Results[i].Answers, reader.Answer{Score: cmp.Or(s.null, 0.001)})
		}
	}
	return out, nil
}

func newStore(t *testing.T, docs ...kb.Document) kb.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateCollection(ctx, kb.Collection{Name: "c"}); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		// One chunk per paragraph, byte offsets into the text.
		var chunks []kb.Chunk
		off := 0
		for i, para := range strings.Split(d.Text, "\n\n") {
			chunks = append(chunks, kb.Chunk{DocID: d.ID, Seq: i, Start: off, End: off + len(para), Text: para, Tokens: len(strings.Fields(para))})
			off += len(para) + 2
		}
		if _, err := s.PutDocument(ctx, "c", d, chunks); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestAskRanksMergesAndCites(t *testing.T) {
	store := newStore(t,
		kb.Document{ID: "paris", Title: "Paris", Source: "paris.md", Text: "Ünïcode first. Café society.\n\nHuggingFace was founded in Paris by three French entrepreneurs."},
		kb.Document{ID: "nyc", Title: "New York", Text: "HuggingFace later moved to New York.\n\nIt was founded in Paris, France, in 2016."},
	)
	rd := &scriptedReader{spans: map[string]float64{"Paris": 0.9, "New York": 0.3, "2016": 0.01}}
	a := &Asker{Retriever: retrieve.LexicalRetriever{Store: store}, Reader: rd, Store: store}
	resp, err := a.Ask(context.Background(), Request{Collection: "c", Question: "Where was HuggingFace founded?", TopK: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rd.calls != 1 {
		t.Errorf("reader called %d times, want one request for all passages", rd.calls)
	}
	if resp.NoAnswer || len(resp.Answers) != 2 {
		t.Fatalf("answers %+v (no answer %v): want Paris and New York, 2016 under the threshold", resp.Answers, resp.NoAnswer)
	}
	best := resp.Answers[0]
	if best.Text != "Paris" || best.Support != 2 || resp.Answers[1].Text != "New York" {
		t.Errorf("answers %+v", resp.Answers)
	}
	// The citation's offsets hold the answer in the document, in
	// characters and in bytes, whichever passage ranked first.
	doc, err := store.Document(context.Background(), "c", best.Citation.DocID)
	if err != nil {
		t.Fatal(err)
	}
	c := best.Citation
	if got := string([]rune(doc.Text)[c.Start:c.End]); got != "Paris" {
		t.Errorf("document[%d:%d] = %q", c.Start, c.End, got)
	}
	if got := doc.Text[c.ByteStart:c.ByteEnd]; got != "Paris" {
		t.Errorf("document bytes [%d:%d] = %q", c.ByteStart, c.ByteEnd, got)
	}
	if got := string([]rune(doc.Text)[c.PassageStart:c.PassageEnd]); got != c.Passage {
		t.Errorf("passage offsets [%d:%d] hold %q, not the passage", c.PassageStart, c.PassageEnd, got)
	}
	if got := string([]rune(c.Passage)[c.AnswerStart:c.AnswerEnd]); got != "Paris" {
		t.Errorf("passage[%d:%d] = %q", c.AnswerStart, c.AnswerEnd, got)
	}
	if best.PassageRank < 1 || best.PassageRank > len(resp.Passages) {
		t.Errorf("passage rank %d of %d", best.PassageRank, len(resp.Passages))
	}
}

func TestAskSaysNoAnswer(t *testing.T) {
	store := newStore(t, kb.Document{ID: "d", Text: "Nothing relevant is written here about founding."})
	a := &Asker{Retriever: retrieve.LexicalRetriever{Store: store}, Reader: &scriptedReader{spans: map[string]float64{"Nothing": 0.01}, null: 0.9}, Store: store}
	resp, err := a.Ask(context.Background(), Request{Collection: "c", Question: "Who was the founding president of the company?"})
	if err != nil || !resp.NoAnswer || len(resp.Answers) != 0 || len(resp.Passages) != 1 {
		t.Errorf("low score: %+v, %v", resp, err)
	}
	resp, err = a.Ask(context.Background(), Request{Collection: "c", Question: "zebra"})
	if err != nil || !resp.NoAnswer || len(resp.Passages) != 0 {
		t.Errorf("nothing retrieved: %+v, %v", resp, err)
	}
	a.MinScore = -1
	resp, err = a.Ask(context.Background(), Request{Collection: "c", Question: "Who was the founding president of the company?"})
	if err != nil || resp.NoAnswer {
		t.Errorf("MinScore -1 must always answer: %+v, %v", resp, err)
	}
	if _, err := a.Ask(context.Background(), Request{Collection: "c", Question: "  "}); !errors.Is(err, ErrEmptyQuestion) {
		t.Errorf("empty question: %v", err)
	}
	if _, err := a.Ask(context.Background(), Request{Collection: "nope", Question: "x"}); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("unknown collection: %v", err)
	}
}

func TestAskHybridWithFakeEmbedder(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	emb := embedtest.Fake{}
	if err := s.CreateCollection(ctx, kb.Collection{Name: "c", Embedder: emb.Info().Name, Dim: emb.Info().Dim}); err != nil {
		t.Fatal(err)
	}
	text := "The cat sat on the mat."
	v, _ := emb.Embed(ctx, []string{text}, embedOpts())
	if _, err := s.PutDocument(ctx, "c", kb.Document{ID: "d", Text: text}, []kb.Chunk{{DocID: "d", End: len(text), Text: text, Tokens: 6, Vector: v[0].Vector}}); err != nil {
		t.Fatal(err)
	}
	a := &Asker{Retriever: retrieve.HybridRetriever{Store: s, Embedder: emb}, Reader: &scriptedReader{spans: map[string]float64{"the mat": 0.8}}, Store: s}
	resp, err := a.Ask(ctx, Request{Collection: "c", Question: "Where did the cat sit?"})
	if err != nil || len(resp.Answers) != 1 || resp.Answers[0].Text != "the mat" {
		t.Fatalf("%+v, %v", resp, err)
	}
	if sc := resp.Passages[0].Scores; sc.LexicalRank != 1 || sc.DenseRank != 1 || sc.Fused == 0 {
		t.Errorf("hybrid scores %+v", sc)
	}
}

func embedOpts() embed.Options { return embed.Options{Role: embed.RoleDocument} }
