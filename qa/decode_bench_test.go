package qa_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/qa"
)

// BenchmarkDecode times turning one window's logits into answers, with the
// pipeline's max_answer_len and with the longer limit the script router
// reads Chinese with (reader.CJKMaxAnswerLen), and with SkipEchoes, which
// the router adds (it keys the whole context once per request, then looks
// up each span that would enter the top k): the span search is
// O(window × limit), next to a forward pass that takes tens of
// milliseconds. The window is the longest held-out CMRC 2018 context in
// the multilingual golden file, read by the built-in multilingual model.
func BenchmarkDecode(b *testing.B) {
	if _, ok := builtin.Multilingual(); !ok {
		b.Skip("this binary carries no multilingual model")
	}
	dir, err := builtin.MultilingualDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	p := loadPipeline(b, dir)
	var q, ctxt string
	for _, g := range readGolden(b, "testdata/multilingual/golden.jsonl.gz") {
		if len(g.Context) > len(ctxt) && g.Params["align_to_words"] == false {
			q, ctxt = g.Question, g.Context
		}
	}
	for _, c := range []struct {
		maxLen int
		skip   bool
	}{{15, false}, {64, false}, {64, true}} {
		par := p.DefaultParams()
		par.AlignToWords, par.MaxAnswerLen, par.SkipEchoes = false, c.maxLen, c.skip
		prep, err := p.Prepare(qa.Request{Question: q, Context: ctxt, Params: par})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.RunBatch(context.Background(), prep.Windows[:1]); err != nil {
			b.Fatal(err)
		}
		prep.Windows = prep.Windows[:1]
		b.Run(fmt.Sprintf("max_answer_len=%d/skip_echoes=%v/tokens=%d", c.maxLen, c.skip, prep.Windows[0].Len()), func(b *testing.B) {
			for b.Loop() {
				p.Decode(prep)
			}
		})
	}
}
