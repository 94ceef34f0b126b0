package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/reader"
)

// scriptReader answers with the first character, names a model per input
// the way reader.ScriptRouter does, and warns for questions in Chinese, the
// way reader/qamodel does for a model that does not cover them.
type scriptReader struct{}

const testWarning = `the model "english" does not cover Chinese: use a Chinese or multilingual question-answering model instead (--model)`

func (scriptReader) Describe() reader.Info { return reader.Info{ID: "english", Kind: reader.KindModel} }

func (scriptReader) Read(ctx context.Context, req reader.Request) (reader.Response, error) {
	out := reader.Response{Kind: reader.KindModel, Model: "english"}
	for _, in := range req.Inputs {
		rs := []rune(in.Passage)
		res := reader.Result{Answers: []reader.Answer{{Text: string(rs[0]), Score: 1, End: 1, ByteEnd: len(string(rs[0]))}}, Windows: 1}
		if reader.HasCJK(in.Question) {
			res.Model, res.Warning = "multilingual", testWarning
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}

func TestAnswersCarryModelAndWarning(t *testing.T) {
	ts := start(t, Options{Reader: scriptReader{}})
	zh := `{"question":"什么是人工智能？","context":"人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"}`
	en := `{"question":"What is AI?","context":"AI is a technology."}`

	r := do(t, "POST", ts.URL+"/api/ask", zh, "Content-Type", "application/json")
	var one api.AskAnswer
	if err := json.Unmarshal(r.body, &one); err != nil || r.status != 200 {
		t.Fatalf("/api/ask %d %s", r.status, r.body)
	}
	if one.Model != "multilingual" || one.Warning != testWarning || r.header.Get("Ask-Warning") != testWarning {
		t.Errorf("/api/ask: model %q, warning %q, header %q", one.Model, one.Warning, r.header.Get("Ask-Warning"))
	}

	r = do(t, "POST", ts.URL+"/api/ask", en, "Content-Type", "application/json")
	if strings.Contains(string(r.body), "warning") || r.header.Get("Ask-Warning") != "" || !strings.Contains(string(r.body), `"model":"english"`) {
		t.Errorf("/api/ask in English: %s, header %q", r.body, r.header.Get("Ask-Warning"))
	}

	// The pipeline's list shape has no field for it: the header says it.
	r = do(t, "POST", ts.URL+"/api/ask", "["+en+","+zh+"]", "Content-Type", "application/json")
	if r.status != 200 || r.header.Get("Ask-Warning") != testWarning {
		t.Errorf("/api/ask batch %d: header %q", r.status, r.header.Get("Ask-Warning"))
	}

	r = do(t, "POST", ts.URL+"/v1/answer", zh)
	var v1 api.AnswerResponse
	if err := json.Unmarshal(r.body, &v1); err != nil || r.status != 200 {
		t.Fatalf("/v1/answer %d %s", r.status, r.body)
	}
	if v1.Model != "multilingual" || v1.Warning != testWarning {
		t.Errorf("/v1/answer: model %q, warning %q", v1.Model, v1.Warning)
	}
}
