package server

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/embed/embedtest"
	"github.com/askqa/ask/ingest"
	"github.com/askqa/ask/kb/sqlite"
	"github.com/askqa/ask/reader"
)

func startKB(t *testing.T) *testServer {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	emb := embedtest.Fake{}
	k := &Knowledge{Store: store, Embedder: emb, Ingester: &ingest.Ingester{Store: store, Embedder: emb}, MaxUploadBytes: 1 << 20}
	return start(t, Options{Reader: reader.NewLexical(), Knowledge: k})
}

func upload(t *testing.T, url string, files map[string]string) reply {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for name, content := range files {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(content))
	}
	mw.Close()
	return do(t, http.MethodPost, url, body.String(), "Content-Type", mw.FormDataContentType())
}

func decode[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return v
}

func TestCollectionsLifecycle(t *testing.T) {
	ts := startKB(t)
	base := ts.URL + "/v1/collections"
	if r := do(t, http.MethodPost, base, `{"name":"docs"}`); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodPost, base, `{"name":"docs"}`); r.status != http.StatusConflict {
		t.Errorf("create twice: %d %s", r.status, r.body)
	}
	files := map[string]string{
		"paris.md":    "# Hugging Face\n\nHuggingFace was founded in Paris. Its café serves crème brûlée.\n\nThe company later moved to New York.",
		"rivers.html": "<html><head><title>Rivers</title><script>var x = 'founded';</script></head><body><nav>menu</nav><p>The Seine flows through Paris.</p></body></html>",
	}
	r := upload(t, base+"/docs/documents", files)
	if r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	added := decode[api.AddDocumentsResponse](t, r)
	if len(added.Documents) != 2 || added.Documents[0].Status != "added" || added.Documents[0].Chunks == 0 {
		t.Errorf("upload reply %+v", added)
	}
	if again := decode[api.AddDocumentsResponse](t, upload(t, base+"/docs/documents", files)); again.Documents[0].Status != "unchanged" {
		t.Errorf("re-upload: %+v", again)
	}
	list := decode[api.DocumentList](t, do(t, http.MethodGet, base+"/docs/documents", ""))
	if len(list.Documents) != 2 {
		t.Errorf("documents: %+v", list)
	}
	html := decode[api.Document](t, do(t, http.MethodGet, base+"/docs/documents/rivers.html", ""))
	if html.Title != "Rivers" || strings.Contains(html.Text, "var x") || strings.Contains(html.Text, "menu") {
		t.Errorf("HTML document %+v: want title, no script or nav", html)
	}
	sr := decode[api.SearchResponse](t, do(t, http.MethodPost, base+"/docs/search", `{"query":"where was huggingface founded","top_k":3,"mode":"lexical"}`))
	if sr.Mode != "lexical" || len(sr.Passages) == 0 || sr.Passages[0].DocID != "paris.md" || sr.Passages[0].Scores.LexicalRank != 1 {
		t.Errorf("search: %+v", sr)
	}
	if hy := decode[api.SearchResponse](t, do(t, http.MethodPost, base+"/docs/search", `{"query":"Seine Paris"}`)); hy.Mode != "hybrid" {
		t.Errorf("default mode with vectors: %q", hy.Mode)
	}
	for _, url := range []string{base + "/docs/ask", ts.URL + "/api/ask"} {
		body := `{"question":"Where was HuggingFace founded?"}`
		if strings.HasSuffix(url, "/api/ask") {
			body = `{"question":"Where was HuggingFace founded?","collection":"docs"}`
		}
		ar := decode[api.CollectionAskResponse](t, do(t, http.MethodPost, url, body))
		if ar.NoAnswer || len(ar.Answers) == 0 || ar.Reader != reader.KindLexical {
			t.Fatalf("%s: %+v", url, ar)
		}
		c := ar.Answers[0].Citation
		doc := decode[api.Document](t, do(t, http.MethodGet, base+"/docs/documents/"+c.DocID, ""))
		if got := string([]rune(doc.Text)[c.Start:c.End]); got != ar.Answer || !strings.Contains(got, "Paris") {
			t.Errorf("%s: citation [%d:%d] of %s holds %q, answer %q", url, c.Start, c.End, c.DocID, got, ar.Answer)
		}
		if got := doc.Text[c.ByteStart:c.ByteEnd]; got != ar.Answer {
			t.Errorf("%s: byte citation holds %q", url, got)
		}
	}
	if r := do(t, http.MethodDelete, base+"/docs/documents/paris.md", ""); r.status != 200 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodGet, base+"/docs/documents/paris.md", ""); r.status != http.StatusNotFound {
		t.Errorf("deleted document: %d", r.status)
	}
	if c := decode[api.Collection](t, do(t, http.MethodGet, base+"/docs", "")); c.Documents != 1 || c.Dim != 64 {
		t.Errorf("collection: %+v", c)
	}
}

func TestCollectionsBadInput(t *testing.T) {
	ts := startKB(t)
	base := ts.URL + "/v1/collections"
	if r := upload(t, base+"/docs/documents", map[string]string{"a.txt": "Some text about rivers."}); r.status != http.StatusCreated {
		t.Fatalf("seed: %d %s", r.status, r.body)
	}
	count := func() int { return decode[api.Collection](t, do(t, http.MethodGet, base+"/docs", "")).Documents }
	for _, tc := range []struct {
		name   string
		r      func() reply
		status int
		code   string
	}{
		{"unknown collection", func() reply { return do(t, http.MethodPost, base+"/nope/search", `{"query":"x"}`) }, 404, api.CodeNotFound},
		{"ask unknown collection", func() reply { return do(t, http.MethodPost, ts.URL+"/api/ask", `{"question":"x","collection":"nope"}`) }, 404, api.CodeNotFound},
		{"bad name", func() reply { return do(t, http.MethodPost, base, `{"name":"../x"}`) }, 400, api.CodeInvalidParameter},
		{"unsupported type", func() reply { return upload(t, base+"/docs/documents", map[string]string{"b.exe": "MZ"}) }, 415, api.CodeUnsupportedType},
		{"corrupt pdf", func() reply {
			return upload(t, base+"/docs/documents", map[string]string{"c.pdf": "%PDF-1.4 not really"})
		}, 400, api.CodeCorruptFile},
		{"one bad file of two", func() reply {
			return upload(t, base+"/docs/documents", map[string]string{"d.txt": "fine", "e.bin": "x"})
		}, 415, api.CodeUnsupportedType},
		{"invalid UTF-8 text", func() reply { return upload(t, base+"/docs/documents", map[string]string{"f.txt": "bad \xff\xfe"}) }, 400, api.CodeCorruptFile},
		{"too large", func() reply {
			return upload(t, base+"/docs/documents", map[string]string{"g.txt": strings.Repeat("x", 2<<20)})
		}, 413, api.CodeBodyTooLarge},
		{"json without text", func() reply {
			return do(t, http.MethodPost, base+"/docs/documents", `{"documents":[{"id":"h"}]}`, "Content-Type", "application/json")
		}, 400, api.CodeEmptyField},
		{"wrong content type", func() reply {
			return do(t, http.MethodPost, base+"/docs/documents", `x`, "Content-Type", "application/octet-stream")
		}, 415, api.CodeUnsupportedType},
		{"empty question", func() reply { return do(t, http.MethodPost, base+"/docs/ask", `{"question":" "}`) }, 400, api.CodeEmptyField},
		{"bad mode", func() reply { return do(t, http.MethodPost, base+"/docs/search", `{"query":"x","mode":"fuzzy"}`) }, 400, api.CodeInvalidParameter},
		{"top_k too large", func() reply { return do(t, http.MethodPost, base+"/docs/search", `{"query":"x","top_k":1000}`) }, 400, api.CodeInvalidParameter},
		{"unknown field", func() reply { return do(t, http.MethodPost, base+"/docs/ask", `{"question":"x","k":3}`) }, 400, api.CodeUnknownField},
	} {
		r := tc.r()
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
			continue
		}
		if e := errorOf(t, r); e.Code != tc.code {
			t.Errorf("%s: code %s, want %s (%s)", tc.name, e.Code, tc.code, e.Message)
		}
	}
	if n := count(); n != 1 {
		t.Errorf("bad uploads changed the collection: %d documents, want 1", n)
	}
	// An upload name with a path is only ever an ID.
	r := upload(t, base+"/docs/documents", map[string]string{"../../etc/passwd.txt": "root text"})
	if got := decode[api.AddDocumentsResponse](t, r); r.status != 201 || got.Documents[0].ID != "passwd.txt" {
		t.Errorf("traversal name: %d %s", r.status, r.body)
	}
}

func TestCollectionsWithoutKnowledge(t *testing.T) {
	ts := start(t, Options{Reader: echoReader()})
	r := do(t, http.MethodGet, ts.URL+"/v1/collections", "")
	if r.status != http.StatusNotFound || !strings.Contains(errorOf(t, r).Message, "no knowledge base") {
		t.Errorf("%d %s", r.status, r.body)
	}
}
