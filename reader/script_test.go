package reader

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// echo answers each question with its own text and names itself; it
// refuses an empty passage.
type echo struct {
	id    string
	ready error
}

func (e echo) Describe() Info { return Info{ID: e.id, Kind: KindModel, Description: "echo"} }
func (e echo) Ready() error   { return e.ready }
func (e echo) Read(ctx context.Context, req Request) (Response, error) {
	out := Response{Kind: KindModel, Model: e.id}
	for i, in := range req.Inputs {
		if in.Passage == "" {
			return Response{}, Errorf(Empty, i, "passage must not be empty")
		}
		out.Results = append(out.Results, Result{Answers: []Answer{{Text: in.Question}}})
	}
	return out, ctx.Err()
}

func TestScriptRouter(t *testing.T) {
	r := NewScriptRouter(echo{id: "en"}, echo{id: "multi"})
	for _, c := range []struct {
		questions []string
		models    []string
	}{
		{[]string{"Who?", "What?"}, []string{"en", "en"}},
		{[]string{"谁？", "什么？"}, []string{"multi", "multi"}},
		{[]string{"Who?", "谁？", "What is 人工智能?", "誰ですか", "누구", "Кто?"}, []string{"en", "multi", "multi", "multi", "multi", "en"}},
	} {
		req := Request{}
		for _, q := range c.questions {
			req.Inputs = append(req.Inputs, Input{Question: q, Passage: "p"})
		}
		resp, err := r.Read(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for i, res := range resp.Results {
			if res.Model != c.models[i] || res.Answers[0].Text != c.questions[i] {
				t.Errorf("%q: result %d is %q by %q, want %q by %q", c.questions, i, res.Answers[0].Text, res.Model, c.questions[i], c.models[i])
			}
		}
	}
}

// spans answers with the parameters the router passed it: whether it asked
// for subword spans, and the answer length limit.
type spans struct{ id string }

func (s spans) Describe() Info { return Info{ID: s.id, Kind: KindModel} }
func (s spans) Read(ctx context.Context, req Request) (Response, error) {
	out := Response{Kind: KindModel, Model: s.id}
	for range req.Inputs {
		text := fmt.Sprintf("subword=%v skip_echoes=%v max_answer_len=%d", req.Params.SubwordSpans, req.Params.SkipEchoes, req.Params.MaxAnswerLen)
		out.Results = append(out.Results, Result{Answers: []Answer{{Text: text}}})
	}
	return out, nil
}

// TestScriptRouterCJKParams: the CJK reader is asked for subword spans
// (Chinese has no spaces to align answers to), no echoes of the question
// and, unless the caller set a limit, CJKMaxAnswerLen, alone or beside the
// default reader, which gets the caller's parameters unchanged.
func TestScriptRouterCJKParams(t *testing.T) {
	r := NewScriptRouter(spans{id: "en"}, spans{id: "multi"})
	for _, c := range []struct {
		maxAnswerLen int // the caller's
		en, multi    string
	}{
		{0, "subword=false skip_echoes=false max_answer_len=0", fmt.Sprintf("subword=true skip_echoes=true max_answer_len=%d", CJKMaxAnswerLen)},
		{7, "subword=false skip_echoes=false max_answer_len=7", "subword=true skip_echoes=true max_answer_len=7"},
	} {
		for _, qs := range [][]string{{"谁？"}, {"Who?", "谁？"}} {
			req := Request{Params: Params{MaxAnswerLen: c.maxAnswerLen}}
			for _, q := range qs {
				req.Inputs = append(req.Inputs, Input{Question: q, Passage: "p"})
			}
			resp, err := r.Read(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			for i, res := range resp.Results {
				want := c.en
				if res.Model == "multi" {
					want = c.multi
				}
				if res.Answers[0].Text != want {
					t.Errorf("max_answer_len %d, %q: %s read %q with %s, want %s", c.maxAnswerLen, qs, res.Model, qs[i], res.Answers[0].Text, want)
				}
			}
		}
	}
}

func TestScriptRouterRefusalNamesTheInput(t *testing.T) {
	r := NewScriptRouter(echo{id: "en"}, echo{id: "multi"})
	_, err := r.Read(context.Background(), Request{Inputs: []Input{
		{Question: "Who?", Passage: "p"}, {Question: "谁？", Passage: "p"}, {Question: "What?", Passage: "p"}, {Question: "什么？", Passage: ""},
	}})
	e, ok := AsError(err)
	if !ok || e.Input != 3 || !strings.HasPrefix(e.Error(), "input 3:") {
		t.Fatalf("error %v, want input 3's refusal", err)
	}
}

func TestScriptRouterDescribeReady(t *testing.T) {
	if r := NewScriptRouter(echo{id: "en"}, nil); r.Describe().ID != "en" {
		t.Errorf("with no CJK reader: %+v", r.Describe())
	}
	r := NewScriptRouter(echo{id: "en"}, echo{id: "multi", ready: errors.New("reloading")})
	if d := r.Describe(); d.ID != "en" || !strings.Contains(d.Description, "read by multi") {
		t.Errorf("Describe = %+v", d)
	}
	if err := r.(ReadyChecker).Ready(); err == nil || !strings.Contains(err.Error(), "reloading") {
		t.Errorf("Ready = %v, want the CJK reader's error", err)
	}
}

func ExampleNewScriptRouter() {
	// english and multilingual would be reader/qamodel Readers.
	var english, multilingual Reader = echo{id: "english"}, echo{id: "multilingual"}
	r := NewScriptRouter(english, multilingual)
	resp, _ := r.Read(context.Background(), Request{Inputs: []Input{
		{Question: "What is AI?", Passage: "…"},
		{Question: "什么是人工智能？", Passage: "…"},
	}})
	for _, res := range resp.Results {
		fmt.Println(res.Model)
	}
	// Output:
	// english
	// multilingual
}
