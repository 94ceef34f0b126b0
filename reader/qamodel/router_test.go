package qamodel

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/askqa/ask/engine"
	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/sched"
	"github.com/askqa/ask/tokenizer"
)

// testModel assembles one of qa/testdata's random-weight QA checkpoints
// (tools/reference/gen_qa_goldens.py) with the real tokenizer files it
// pairs with from ../shared/data/tokenizers, and loads it as a pipeline.
func testModel(t *testing.T, name string) *qa.Pipeline {
	t.Helper()
	src := filepath.Join("../../qa/testdata", name)
	tokName, err := os.ReadFile(filepath.Join(src, "tokenizer_source.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tokDir := filepath.Join("../../../shared/data/tokenizers", strings.TrimSpace(string(tokName)))
	if _, err := os.Stat(tokDir); err != nil {
		t.Skipf("%s is absent (../shared/data comes with the project's CI checkout)", tokDir)
	}
	dir := t.TempDir()
	for _, d := range []string{tokDir, src} { // the checkpoint's own files win
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(d, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	enc, err := engine.Load(dir, engine.Options{Threads: 1})
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
	return p
}

func newReaderInfo(t *testing.T, p *qa.Pipeline, info reader.Info) *Reader {
	t.Helper()
	b, err := sched.New(p.RunBatch, sched.Options{MaxBatchTokens: 8192, QueueSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return New(p, b, info)
}

// TestScriptRouterPicksByScript holds two small random-weight models, an
// English one (bert, bert-base-cased vocabulary) and a Chinese one
// (bert-chinese, bert-base-chinese vocabulary), and reads a batch that
// mixes English and Chinese questions: each is read by the model of its
// script, with the same answers as that model alone gives, and the
// response names the model.
func TestScriptRouterPicksByScript(t *testing.T) {
	en := newReaderInfo(t, testModel(t, "bert"), reader.Info{ID: "tiny-english"})
	zh := newReaderInfo(t, testModel(t, "bert-chinese"), reader.Info{ID: "tiny-chinese"})
	router := reader.NewScriptRouter(en, zh)
	inputs := []reader.Input{
		{Question: question, Passage: paris},
		{Question: zhQuestion, Passage: zhContext},
		{Question: "Where is the Colosseum?", Passage: rome},
		{Question: "人工智能通过什么实现？", Passage: zhContext},
	}
	ctx := context.Background()
	got, err := router.Read(ctx, reader.Request{Inputs: inputs})
	if err != nil {
		t.Fatal(err)
	}
	wantModel := []string{"tiny-english", "tiny-chinese", "tiny-english", "tiny-chinese"}
	for i, res := range got.Results {
		if res.Model != wantModel[i] {
			t.Errorf("input %d: read by %q, want %q", i, res.Model, wantModel[i])
		}
		if res.Warning != "" {
			t.Errorf("input %d: warning %q from the model of its script", i, res.Warning)
		}
		alone := map[string]reader.Reader{"tiny-english": en, "tiny-chinese": zh}[wantModel[i]]
		var par reader.Params // the router reads Chinese as reader.ScriptRouter says
		if alone == zh {
			par = reader.Params{SubwordSpans: true, SkipEchoes: true, MaxAnswerLen: reader.CJKMaxAnswerLen}
		}
		direct, err := alone.Read(ctx, reader.Request{Inputs: inputs[i : i+1], Params: par})
		if err != nil {
			t.Fatal(err)
		}
		// The same spans; scores to float32 rounding, since a batch pads
		// its windows to its longest.
		if !sameAnswers(res.Answers, direct.Results[0].Answers) {
			t.Errorf("input %d: routed answers %+v, the model alone %+v", i, res.Answers, direct.Results[0].Answers)
		}
	}

	// One model only (no multilingual one): today's behaviour, and the
	// English model's answer to the Chinese question carries a warning.
	single := reader.NewScriptRouter(en, nil)
	if single != reader.Reader(en) {
		t.Fatalf("NewScriptRouter(en, nil) = %T, want the English reader itself", single)
	}
	one, err := single.Read(ctx, reader.Request{Inputs: inputs[:2]})
	if err != nil {
		t.Fatal(err)
	}
	if one.Results[0].Model != "tiny-english" || one.Results[1].Model != "tiny-english" {
		t.Errorf("models %q, %q; want tiny-english for both", one.Results[0].Model, one.Results[1].Model)
	}
	if w := one.Results[1].Warning; !strings.Contains(w, "does not cover Chinese") {
		t.Errorf("the English model's answer to a Chinese question: warning %q", w)
	}
}

// TestScriptRouterRemapsRefusals: a refusal of the second Chinese input
// names its index in the whole request.
func TestScriptRouterRemapsRefusals(t *testing.T) {
	en := newReaderInfo(t, testModel(t, "bert"), reader.Info{ID: "tiny-english"})
	zh := newReaderInfo(t, testModel(t, "bert-chinese"), reader.Info{ID: "tiny-chinese"})
	_, err := reader.NewScriptRouter(en, zh).Read(context.Background(), reader.Request{Inputs: []reader.Input{
		{Question: question, Passage: paris},
		{Question: zhQuestion, Passage: zhContext},
		{Question: "人工智能？", Passage: ""},
	}})
	e, ok := reader.AsError(err)
	if !ok || e.Input != 2 {
		t.Fatalf("error %v (%T), want a *reader.Error about input 2", err, err)
	}
}

func sameAnswers(a, b []reader.Answer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Text != y.Text || x.Start != y.Start || x.End != y.End || math.Abs(x.Score-y.Score) > 1e-5 {
			return false
		}
	}
	return true
}
