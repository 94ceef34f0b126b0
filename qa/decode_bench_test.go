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
// reads Chinese with (reader.CJKMaxAnswerLen): the span search is
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
	var q, c string
	for _, g := range readGolden(b, "testdata/multilingual/golden.jsonl.gz") {
		if len(g.Context) > len(c) && g.Params["align_to_words"] == false {
			q, c = g.Question, g.Context
		}
	}
	for _, maxLen := range []int{15, 64} {
		par := p.DefaultParams()
		par.AlignToWords, par.MaxAnswerLen = false, maxLen
		prep, err := p.Prepare(qa.Request{Question: q, Context: c, Params: par})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.RunBatch(context.Background(), prep.Windows[:1]); err != nil {
			b.Fatal(err)
		}
		prep.Windows = prep.Windows[:1]
		b.Run(fmt.Sprintf("max_answer_len=%d/tokens=%d", maxLen, prep.Windows[0].Len()), func(b *testing.B) {
			for b.Loop() {
				p.Decode(prep)
			}
		})
	}
}
