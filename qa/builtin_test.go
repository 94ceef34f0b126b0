package qa_test

import (
	"context"
	"testing"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/engine"
	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/tokenizer"
)

// TestBuiltinMatchesTransformers runs each built-in QA model as shipped
// (int8 weights and word embeddings, see their READMEs) in float32
// (Quantize "none": the int8 weights dequantized and, for the English
// model, its activation factors folded back: the numbers transformers ran)
// through the pipeline and checks every answer and score against
// transformers' own pipeline on an independent dequantization
// (tools/quantize/builtin_goldens.py, tools/train/gen_multi_golden.py):
// held-out SQuAD questions and SQuAD 2.0 with the empty answer, and for the
// multilingual model the Chinese example and held-out CMRC 2018 and
// DRCD questions.
func TestBuiltinMatchesTransformers(t *testing.T) {
	for _, c := range []struct {
		name, golden string
		dir          func(cache string) (string, error)
	}{
		{"model", "testdata/builtin/golden.jsonl.gz", builtin.Dir},
		// Unpacked, the multilingual model is assembled: its tokenizer and
		// word embeddings come from the built-in embedder (shared.json).
		{"multilingual", "testdata/multilingual/golden.jsonl.gz", builtin.MultilingualDir},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "multilingual" {
				if _, ok := builtin.Multilingual(); !ok {
					t.Skip("this binary carries no multilingual model")
				}
			}
			dir, err := c.dir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			enc, err := engine.Load(dir, engine.Options{Quantize: "none"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { enc.Close() })
			tok, err := tokenizer.LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			p, err := qa.New(tok, enc)
			if err != nil {
				t.Fatal(err)
			}
			golden := readGolden(t, c.golden)
			bad := 0
			for _, g := range golden {
				got, errs := p.Answer(context.Background(), []qa.Request{{Question: g.Question, Context: g.Context, Params: paramsFromGolden(p, g.Params)}})
				ok, explained, msg := compare(got[0], errs[0], g)
				if !ok && !explained {
					bad++
					t.Errorf("%s: %s", g.ID, msg)
				}
			}
			t.Logf("%d golden answers, %d differ", len(golden), bad)
		})
	}
}
