package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/embed/embedtest"
)

func TestEmbeddingsOpenAIShape(t *testing.T) {
	ts := start(t, Options{Reader: echoReader(), Embedder: embedtest.Fake{Dim: 8}})
	for _, tc := range []struct {
		body   string
		n      int
		base64 bool
	}{
		{`{"input":"hello world","model":"fake"}`, 1, false},
		{`{"input":["a b","c"],"encoding_format":"float","dimensions":8}`, 2, false},
		{`{"input":["a b","c","d"],"encoding_format":"base64","user":"u1","input_type":"query"}`, 3, true},
	} {
		r := do(t, http.MethodPost, ts.URL+"/v1/embeddings", tc.body)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.body, r.status, r.body)
		}
		var resp api.EmbeddingsResponse
		if err := json.Unmarshal(r.body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Object != "list" || resp.Model != "fake" || len(resp.Data) != tc.n || resp.Usage.PromptTokens == 0 || resp.Usage.TotalTokens != resp.Usage.PromptTokens {
			t.Errorf("%s: %+v", tc.body, resp)
		}
		for i, d := range resp.Data {
			if d.Object != "embedding" || d.Index != i || len(d.Embedding.Values) != 8 || d.Embedding.Base64 != tc.base64 {
				t.Errorf("%s: data[%d] = %+v", tc.body, i, d)
			}
		}
	}
	var models api.ModelList
	json.Unmarshal(do(t, http.MethodGet, ts.URL+"/v1/models", "").body, &models)
	if len(models.Models) != 2 || models.Models[1].Reader != api.ReaderEmbedding {
		t.Errorf("models: %+v", models)
	}
}

func TestEmbedTEIShape(t *testing.T) {
	ts := start(t, Options{Reader: echoReader(), Embedder: embedtest.Fake{Dim: 4, MaxSeqLen: 8}})
	r := do(t, http.MethodPost, ts.URL+"/embed", `{"inputs":["one two","three"],"normalize":true}`)
	var vecs [][]float32
	if err := json.Unmarshal(r.body, &vecs); err != nil || r.status != 200 || len(vecs) != 2 || len(vecs[0]) != 4 {
		t.Fatalf("%d %s (%v)", r.status, r.body, err)
	}
	long := `{"inputs":"` + strings.Repeat("w ", 20) + `"}`
	if r := do(t, http.MethodPost, ts.URL+"/embed", long); r.status != http.StatusRequestEntityTooLarge || !strings.Contains(errorOf(t, r).Message, `"truncate": true`) {
		t.Errorf("long input without truncate: %d %s", r.status, r.body)
	}
	long = `{"inputs":"` + strings.Repeat("w ", 20) + `","truncate":true}`
	if r := do(t, http.MethodPost, ts.URL+"/embed", long); r.status != http.StatusOK {
		t.Errorf("long input with truncate: %d %s", r.status, r.body)
	}
}

// TestEmbeddingsAlias accepts the embedder's alias (the --embed-model
// reference, "builtin") as well as its own name as the request's model, and
// answers with its own name.
func TestEmbeddingsAlias(t *testing.T) {
	ts := start(t, Options{Reader: echoReader(), Embedder: embedtest.Fake{Dim: 8}, EmbedderAlias: "builtin"})
	for body, status := range map[string]int{
		`{"input":"a","model":"builtin"}`: http.StatusOK,
		`{"input":"a","model":"fake"}`:    http.StatusOK,
		`{"input":"a","model":"other"}`:   http.StatusNotFound,
	} {
		r := do(t, http.MethodPost, ts.URL+"/v1/embeddings", body)
		if r.status != status {
			t.Errorf("%s: status %d, want %d: %s", body, r.status, status, r.body)
			continue
		}
		var resp api.EmbeddingsResponse
		if status == http.StatusOK && (json.Unmarshal(r.body, &resp) != nil || resp.Model != "fake") {
			t.Errorf("%s: %s, want the model named fake", body, r.body)
		}
	}
}

func TestEmbeddingsBadInput(t *testing.T) {
	ts := start(t, Options{Reader: echoReader(), Embedder: embedtest.Fake{}, MaxEmbedInputs: 100, MaxContextChars: 1000})
	many := `{"input":[` + strings.Repeat(`"x",`, 100) + `"x"]}`
	for _, tc := range []struct {
		path, body string
		status     int
		code, want string
	}{
		{"/v1/embeddings", `{"input":""}`, 400, api.CodeEmptyField, "input must not be empty"},
		{"/v1/embeddings", `{"input":["a",""]}`, 400, api.CodeEmptyField, "input[1]"},
		{"/v1/embeddings", `{"input":[]}`, 400, api.CodeEmptyField, "empty list"},
		{"/v1/embeddings", `{"input":["a",3]}`, 400, api.CodeWrongType, "input[1] must be a string"},
		{"/v1/embeddings", `{"input":[1,2,3]}`, 400, api.CodeWrongType, "token ids"},
		{"/v1/embeddings", `{"input":[[1,2]]}`, 400, api.CodeWrongType, "token ids"},
		{"/v1/embeddings", `{}`, 400, api.CodeMissingField, "input is required"},
		{"/v1/embeddings", `{"input":"a","encoding_format":"int8"}`, 400, api.CodeInvalidParameter, `"float" or "base64"`},
		{"/v1/embeddings", `{"input":"a","dimensions":256}`, 400, api.CodeInvalidParameter, "cannot shorten"},
		{"/v1/embeddings", `{"input":"a","model":"text-embedding-3-small"}`, 404, api.CodeNotFound, `embeds with "fake"`},
		{"/v1/embeddings", `{"input":"a","prompt_name":"query"}`, 400, api.CodeInvalidParameter, "unknown prompt"},
		{"/v1/embeddings", `{"input":"a","inputs":"b"}`, 400, api.CodeUnknownField, `"inputs"`},
		{"/v1/embeddings", "{\"input\":\"bad \xff\"}", 400, api.CodeInvalidUTF8, "UTF-8"},
		{"/v1/embeddings", many, 413, api.CodeTooManyInputs, "at most 100"},
		{"/v1/embeddings", `{"input":"` + strings.Repeat("é", 1001) + `"}`, 413, api.CodeContextTooLong, "1001 characters"},
		{"/embed", `{"inputs":"a","normalize":"yes"}`, 400, api.CodeWrongType, "normalize must be a boolean"},
		{"/embed", `{"inputs":"a","truncation_direction":"Left"}`, 400, api.CodeInvalidParameter, "on the right"},
		{"/embed", `["a"]`, 400, api.CodeWrongType, "JSON object"},
	} {
		r := do(t, http.MethodPost, ts.URL+tc.path, tc.body)
		if r.status != tc.status {
			t.Errorf("%s %.60s: status %d, want %d: %s", tc.path, tc.body, r.status, tc.status, r.body)
			continue
		}
		if e := errorOf(t, r); e.Code != tc.code || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s %.60s: %s %q, want %s mentioning %q", tc.path, tc.body, e.Code, e.Message, tc.code, tc.want)
		}
	}
}

func TestEmbeddingsWithoutEmbedder(t *testing.T) {
	ts := start(t, Options{Reader: echoReader()})
	for _, p := range []string{"/v1/embeddings", "/embed"} {
		r := do(t, http.MethodPost, ts.URL+p, `{"input":"a","inputs":"a"}`)
		if r.status != http.StatusNotFound || !strings.Contains(errorOf(t, r).Message, "--embed-model") {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
}
