package qa_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
	for _, c := range []struct{ dir, golden string }{
		{"../builtin/model", "testdata/builtin/golden.jsonl.gz"},
		{"../builtin/multilingual", "testdata/multilingual/golden.jsonl.gz"},
	} {
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(c.dir, "model.safetensors")); err != nil {
				t.Skipf("no %s in this checkout: %v", c.dir, err)
			}
			enc, err := engine.Load(c.dir, engine.Options{Quantize: "none"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { enc.Close() })
			tok, err := tokenizer.LoadDir(c.dir)
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
