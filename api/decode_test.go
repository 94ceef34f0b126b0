package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func ip(v int) *int   { return &v }
func bp(v bool) *bool { return &v }

func TestDecodeAskShapes(t *testing.T) {
	pair := QAInput{Question: "Where?", Context: "In Paris."}
	for _, tc := range []struct {
		name   string
		body   string
		inputs []QAInput
		params Params
	}{
		{"seed", `{"question":"Where?","context":"In Paris."}`, []QAInput{pair}, Params{}},
		{"hf", `{"inputs":{"question":"Where?","context":"In Paris."},"parameters":{"top_k":3,"max_answer_len":30,
			"handle_impossible_answer":true,"doc_stride":64,"max_seq_len":256,"align_to_words":false,"max_question_len":64}}`,
			[]QAInput{pair}, Params{TopK: ip(3), MaxAnswerLen: ip(30), HandleImpossibleAnswer: bp(true), DocStride: ip(64),
				MaxSeqLen: ip(256), AlignToWords: bp(false), MaxQuestionLen: ip(64)}},
		{"top-level params", `{"question":"Where?","context":"In Paris.","top_k":2}`, []QAInput{pair}, Params{TopK: ip(2)}},
		{"topk alias", `{"question":"Where?","context":"In Paris.","parameters":{"topk":2}}`, []QAInput{pair}, Params{TopK: ip(2)}},
		{"nulls are defaults", `{"question":"Where?","context":"In Paris.","parameters":{"top_k":null},"options":null}`, []QAInput{pair}, Params{}},
		{"array", `[{"question":"Where?","context":"In Paris."},{"question":"Who?","context":"Ann."}]`,
			[]QAInput{pair, {"Who?", "Ann."}}, Params{}},
		{"inputs array", `{"inputs":[{"question":"Where?","context":"In Paris."}]}`, []QAInput{pair}, Params{}},
		{"lists zipped", `{"question":["a","b"],"context":["c","d"]}`, []QAInput{{"a", "c"}, {"b", "d"}}, Params{}},
		{"one question many contexts", `{"question":"a","context":["c","d"]}`, []QAInput{{"a", "c"}, {"a", "d"}}, Params{}},
		{"many questions one context", `{"question":["a","b"],"context":"c"}`, []QAInput{{"a", "c"}, {"b", "c"}}, Params{}},
		{"escapes and surrogate pairs", `{"question":"\u00e9\ud83e\udd17 \\u0041","context":"x\n\"y\""}`,
			[]QAInput{{"é🤗 \\u0041", "x\n\"y\""}}, Params{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeAsk([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			gi, _ := json.Marshal(got.Inputs)
			wi, _ := json.Marshal(tc.inputs)
			if string(gi) != string(wi) {
				t.Errorf("inputs %s, want %s", gi, wi)
			}
			gp, _ := json.Marshal(got.Params)
			wp, _ := json.Marshal(tc.params)
			if string(gp) != string(wp) {
				t.Errorf("params %s, want %s", gp, wp)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		body, code, mention string
	}{
		{``, CodeInvalidJSON, "empty"},
		{`{`, CodeInvalidJSON, "invalid JSON"},
		{`{"question":"q","context":"c"}{}`, CodeInvalidJSON, ""},
		{"{\"question\":\"\xc3\",\"context\":\"c\"}", CodeInvalidUTF8, "offset 13"},
		{`{"question":"\udc00","context":"c"}`, CodeInvalidUTF8, "surrogate"},
		{`{"question":"\ud800\u0041","context":"c"}`, CodeInvalidUTF8, "surrogate"},
		{`{"question":"\ud800","context":"c"}`, CodeInvalidUTF8, "surrogate"},
		{`null`, CodeWrongType, "got null"},
		{`[]`, CodeEmptyField, "at least one"},
		{`[1]`, CodeWrongType, "body[0]"},
		{`[{"question":"q"}]`, CodeMissingField, "body[0].context"},
		{`{"context":"c"}`, CodeMissingField, "question"},
		{`{"question":"","context":"c"}`, CodeEmptyField, "question"},
		{`{"question":["q",""],"context":"c"}`, CodeEmptyField, "question[1]"},
		{`{"question":[],"context":"c"}`, CodeEmptyField, "question"},
		{`{"question":["a","b"],"context":["c"]}`, CodeBadRequest, "differ in length"},
		{`{"question":true,"context":"c"}`, CodeWrongType, "boolean"},
		{`{"question":{"a":1},"context":"c"}`, CodeWrongType, "object"},
		{`{"inputs":"q"}`, CodeWrongType, "inputs"},
		{`{"inputs":null}`, CodeMissingField, "inputs"},
		{`{"inputs":[{"question":"q","context":"c","extra":1}]}`, CodeUnknownField, "inputs[0].extra"},
		{`{"inputs":{"question":"q","context":"c"},"context":"c"}`, CodeBadRequest, "not both"},
		{`{"question":"q","context":"c","parameters":[]}`, CodeWrongType, "parameters must be an object"},
		{`{"question":"q","context":"c","parameters":{"top_k":1e2}}`, CodeWrongType, "integer"},
		{`{"question":"q","context":"c","parameters":{"top_k":99999999999}}`, CodeInvalidParameter, "out of range"},
		{`{"question":"q","context":"c","parameters":{"top_k":101}}`, CodeInvalidParameter, "≤ 100"},
		{`{"question":"q","context":"c","parameters":{"top_k":-1}}`, CodeInvalidParameter, "≥ 1"},
		{`{"question":"q","context":"c","parameters":{"max_answer_len":0}}`, CodeInvalidParameter, "max_answer_len"},
		{`{"question":"q","context":"c","parameters":{"doc_stride":-1}}`, CodeInvalidParameter, "doc_stride"},
		{`{"question":"q","context":"c","parameters":{"doc_stride":129,"max_seq_len":128}}`, CodeInvalidParameter, "must not exceed"},
		{`{"question":"q","context":"c","parameters":{"handle_impossible_answer":1}}`, CodeWrongType, "boolean"},
		{`{"question":"q","context":"c","parameters":{"top_k":1,"topk":2}}`, CodeInvalidParameter, "twice"},
		{`{"question":"q","context":"c","top_k":1,"parameters":{"top_k":2}}`, CodeInvalidParameter, "twice"},
		{`{"question":"q","context":"c","options":1}`, CodeWrongType, "options"},
		{`{"question":"q","context":"c","b":1,"a":2}`, CodeUnknownField, `"a", "b"`},
	} {
		_, err := DecodeAsk([]byte(tc.body))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: err = %v, want *Error", tc.body, err)
			continue
		}
		if e.Status != 400 || e.Code != tc.code || !strings.Contains(e.Message, tc.mention) {
			t.Errorf("%s: got %d %s %q; want 400 %s mentioning %q", tc.body, e.Status, e.Code, e.Message, tc.code, tc.mention)
		}
	}
}

func TestDecodeAnswer(t *testing.T) {
	got, err := DecodeAnswer([]byte(`{"question":"q","context":"c","parameters":{"top_k":2}}`))
	if err != nil || got.Question != "q" || got.Context != "c" || got.Params.TopKValue() != 2 {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, body := range []string{`[]`, `{"question":"q"}`, `{"question":"q","context":"c","top_k":1}`,
		`{"question":"q","context":"c","parameters":{"top_k":0}}`, `{"question":"q","context":["c"]}`} {
		if _, err := DecodeAnswer([]byte(body)); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
}

func TestParamsDefaults(t *testing.T) {
	var p Params
	if p.TopKValue() != 1 || p.MaxAnswerLenValue() != 15 || p.HandleImpossibleAnswerValue() || !p.AlignToWordsValue() {
		t.Errorf("defaults %d %d %v %v", p.TopKValue(), p.MaxAnswerLenValue(), p.HandleImpossibleAnswerValue(), p.AlignToWordsValue())
	}
}

// FuzzDecodeAsk: any body decodes to a valid request or a 400 *Error; it
// never panics, and accepted text is valid UTF-8 and non-empty.
func FuzzDecodeAsk(f *testing.F) {
	for _, s := range []string{
		`{"question":"Where?","context":"In Paris."}`,
		`{"inputs":{"question":"q","context":"c"},"parameters":{"top_k":3,"doc_stride":10,"max_seq_len":20}}`,
		`[{"question":"q","context":"c"},{"question":"q2","context":"c2"}]`,
		`{"question":["a","b"],"context":"c","top_k":2,"align_to_words":false}`,
		`{"question":"\ud83e\udd17","context":"\u00e9"}`,
		`{"question":"\ud800","context":"c"}`,
		"{\"question\":\"\xff\"}", `{"inputs":[]}`, `null`, `[`, `{"question":1e999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeAsk(body)
		checkDecoded(t, string(body), err, func() []QAInput { return req.Inputs }, req.Params)
		one, err := DecodeAnswer(body)
		checkDecoded(t, string(body), err, func() []QAInput { return []QAInput{{one.Question, one.Context}} }, one.Params)
	})
}

func checkDecoded(t *testing.T, body string, err error, inputs func() []QAInput, p Params) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Code == "" || e.Message == "" {
			t.Fatalf("error %v is not a 400 *Error", err)
		}
		return
	}
	ins := inputs()
	if len(ins) == 0 {
		t.Fatal("accepted with no inputs")
	}
	for _, in := range ins {
		if strings.TrimSpace(in.Question) == "" || strings.TrimSpace(in.Context) == "" {
			t.Fatalf("accepted an empty field: %+v", in)
		}
		if !utf8.ValidString(in.Question) || !utf8.ValidString(in.Context) {
			t.Fatalf("accepted invalid UTF-8: %+v", in)
		}
		// The decoder must never invent U+FFFD (as encoding/json does for a
		// lone surrogate): one may appear only if the body spelt it.
		if strings.ContainsRune(in.Question+in.Context, utf8.RuneError) &&
			!strings.ContainsRune(body, utf8.RuneError) && !strings.Contains(strings.ToLower(body), `\ufffd`) {
			t.Fatalf("decoded text holds U+FFFD the body did not: %+v", in)
		}
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("accepted parameters that do not validate: %v", err)
	}
}
