package qamodel

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/engine"
	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/sched"
	"github.com/askqa/ask/tokenizer"
)

// builtinPipeline loads the QA model built into ask.
func builtinPipeline(t *testing.T) *qa.Pipeline {
	t.Helper()
	dir, err := builtin.Dir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	enc, err := engine.Load(dir, engine.Options{})
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

func newReader(t *testing.T, p *qa.Pipeline, queue int) *Reader {
	t.Helper()
	b, err := sched.New(p.RunBatch, sched.Options{MaxBatchTokens: 8192, QueueSize: queue})
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
	return New(p, b, reader.Info{ID: "builtin"})
}

const (
	question = "Where was HuggingFace founded?"
	paris    = "HuggingFace is a company. HuggingFace was founded in Paris. It makes Transformers."
	rome     = "The Colosseum is in Rome. It was finished in 80 AD."
)

// Reading several passages in one request gives each the answers the
// pipeline gives it alone (the pipeline is exact to transformers; see
// qa's parity tests).
func TestReadMatchesPipeline(t *testing.T) {
	p := builtinPipeline(t)
	r := newReader(t, p, 64)
	resp, err := r.Read(context.Background(), reader.Request{
		Inputs: []reader.Input{{Question: question, Passage: paris}, {Question: question, Passage: rome}},
		Params: reader.Params{TopK: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Kind != reader.KindModel || resp.Model != "builtin" || len(resp.Results) != 2 {
		t.Fatalf("resp = %+v", resp)
	}
	par := p.DefaultParams()
	par.TopK = 2
	want, errs := p.Answer(context.Background(), []qa.Request{{Question: question, Context: paris, Params: par}, {Question: question, Context: rome, Params: par}})
	for i := range want {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		got := resp.Results[i]
		if len(got.Answers) != len(want[i].Answers) || got.Windows != want[i].Windows || got.PassageTokens != want[i].ContextTokens {
			t.Fatalf("input %d: %+v, pipeline %+v", i, got, want[i])
		}
		for k, a := range want[i].Answers {
			g := got.Answers[k]
			if g.Text != a.Answer || g.Score != a.Score || g.Start != a.Start || g.End != a.End || g.ByteStart != a.ByteStart || g.ByteEnd != a.ByteEnd {
				t.Errorf("input %d answer %d: %+v, pipeline %+v", i, k, g, a)
			}
		}
	}
	if !strings.Contains(resp.Results[0].Answers[0].Text, "Paris") {
		t.Errorf("best answer over the Paris passage: %+v", resp.Results[0].Answers[0])
	}
	if resp.Timings.Compute <= 0 || resp.Timings.Tokenize <= 0 {
		t.Errorf("timings %+v", resp.Timings)
	}
}

func TestReadErrors(t *testing.T) {
	p := builtinPipeline(t)
	r := newReader(t, p, 4)
	long := strings.Repeat(paris+" ", 200) // about 20 windows
	stride := 0
	for _, tc := range []struct {
		name    string
		req     reader.Request
		kind    reader.ErrorKind
		input   int
		limit   string
		mention string
	}{
		{"more windows than the queue holds", reader.Request{Inputs: []reader.Input{{Question: question, Passage: paris}, {Question: question, Passage: long}}},
			reader.TooLarge, -1, "queue-size", "queue holds at most 4"},
		{"question too long for the window", reader.Request{Inputs: []reader.Input{{Question: strings.Repeat("why ", 100), Passage: paris}}, Params: reader.Params{MaxSeqLen: 64, DocStride: &stride}},
			reader.QuestionTooLong, 0, "", "shorten the question"},
		{"empty passage", reader.Request{Inputs: []reader.Input{{Question: question}}}, reader.Invalid, 0, "", "must not be empty"},
		{"window over the positions", reader.Request{Inputs: []reader.Input{{Question: question, Passage: long}}, Params: reader.Params{MaxSeqLen: 100000}},
			reader.Invalid, 0, "", "max_seq_len"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Read(context.Background(), tc.req)
			e, ok := reader.AsError(err)
			if !ok || e.Kind != tc.kind || e.Input != tc.input || e.Limit != tc.limit || !strings.Contains(e.Msg, tc.mention) {
				t.Errorf("err = %#v, want kind %d input %d limit %q mentioning %q", err, tc.kind, tc.input, tc.limit, tc.mention)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Read(ctx, reader.Request{Inputs: []reader.Input{{Question: question, Passage: paris}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
