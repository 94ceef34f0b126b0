package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/reader"
)

// FuzzHandler sends arbitrary bodies through the whole handler (middleware
// included) with the lexical reader: a client's bytes must never produce a
// 500, and every non-200 reply must be the JSON error shape.
func FuzzHandler(f *testing.F) {
	s, err := New(Options{Reader: reader.NewLexical(), MaxBodyBytes: 1 << 16, MaxContextChars: 2000, MaxBatchInputs: 4})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	for _, seed := range []string{
		`{"question":"Where was HuggingFace founded?","context":"HuggingFace was founded in Paris."}`,
		`{"inputs":{"question":"Who?","context":"Ann did it. Bob did not."},"parameters":{"top_k":2,"handle_impossible_answer":true}}`,
		`[{"question":"a","context":"b. c."},{"question":"c","context":"d"}]`,
		`{"question":["a","b"],"context":"c","top_k":3}`,
		`{"question":"\ud800","context":"c"}`, "\xff", `{"question":"q","context":"` + "\u0085\u2028" + `"}`,
	} {
		f.Add(0, []byte(seed))
		f.Add(1, []byte(seed))
	}
	f.Fuzz(func(t *testing.T, route int, body []byte) {
		path := "/api/ask"
		if route%2 == 1 {
			path = "/v1/answer"
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: reply is not JSON: %s", path, body, rec.Body)
		}
		if rec.Code != http.StatusOK {
			var eb api.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == nil || eb.Error.Code == "" {
				t.Fatalf("%s %q: %d without the error shape: %s", path, body, rec.Code, rec.Body)
			}
		}
	})
}
