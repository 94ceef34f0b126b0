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

// multilingualDir is the built-in multilingual QA model as shipped
// (builtin/multilingual: int8 weights and word embeddings, see its README).
const multilingualDir = "../builtin/multilingual"

// TestBuiltinMultilingualMatchesTransformers runs the shipped multilingual
// model in float32 (Quantize "none": its int8 weights dequantized, the
// numbers transformers ran) through the pipeline and checks every answer
// and score against transformers' own pipeline on the exact dequantization
// (tools/train/gen_multi_golden.py): the Chinese example, held-out
// SQuAD, CMRC 2018 and DRCD questions, and SQuAD 2.0 with the empty answer.
func TestBuiltinMultilingualMatchesTransformers(t *testing.T) {
	if _, err := os.Stat(filepath.Join(multilingualDir, "model.safetensors")); err != nil {
		t.Skipf("no built-in multilingual model in this checkout: %v", err)
	}
	enc, err := engine.Load(multilingualDir, engine.Options{Quantize: "none"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	tok, err := tokenizer.LoadDir(multilingualDir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := qa.New(tok, enc)
	if err != nil {
		t.Fatal(err)
	}
	golden := readGolden(t, "testdata/multilingual/golden.jsonl.gz")
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
}
