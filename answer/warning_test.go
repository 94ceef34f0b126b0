package answer

import (
	"context"
	"testing"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/retrieve"
)

// warningReader is scriptedReader naming another model and warning, as a
// reader.ScriptRouter over a model that does not cover the question does.
type warningReader struct{ scriptedReader }

func (w *warningReader) Read(ctx context.Context, req reader.Request) (reader.Response, error) {
	resp, err := w.scriptedReader.Read(ctx, req)
	for i := range resp.Results {
		resp.Results[i].Model, resp.Results[i].Warning = "multilingual", "does not cover Chinese"
	}
	return resp, err
}

func TestAskCarriesModelAndWarning(t *testing.T) {
	store := newStore(t, kb.Document{ID: "d", Text: "HuggingFace was founded in Paris."})
	rd := &warningReader{scriptedReader{spans: map[string]float64{"Paris": 0.9}}}
	a := &Asker{Retriever: retrieve.LexicalRetriever{Store: store}, Reader: rd, Store: store}
	resp, err := a.Ask(context.Background(), Request{Collection: "c", Question: "HuggingFace founded"})
	if err != nil {
		t.Fatal(err)
	}
	out := APIResponse(resp, "lexical")
	if out.Model != "multilingual" || out.Warning != "does not cover Chinese" {
		t.Errorf("model %q, warning %q", out.Model, out.Warning)
	}
}
