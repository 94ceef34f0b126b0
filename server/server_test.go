package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/sched"
)

// fakeReader answers through a function, so each test scripts the reader.
type fakeReader struct {
	fn   answerFunc
	info api.ModelInfo
}

// echoReader returns top_k spans: the first k characters of the context,
// one per answer, with descending scores.
func echoReader() *fakeReader {
	return &fakeReader{
		info: api.ModelInfo{ID: "test/model", Reader: api.ReaderModel},
		fn: func(ctx context.Context, req api.AnswerRequest) (api.AnswerResponse, error) {
			k := req.Params.TopKValue()
			rs := []rune(req.Context)
			var spans []api.Span
			for i := 0; i < k && i < len(rs); i++ {
				spans = append(spans, api.Span{Answer: string(rs[i]), Score: 1 / float64(i+1), Start: i, End: i + 1})
			}
			return api.AnswerResponse{Answers: spans, Windows: 1, ContextTokens: len(rs)}, nil
		},
	}
}

// syncBuffer is a log sink the server's goroutines may write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	*Server
	URL  string
	logs *syncBuffer
}

// start serves opts over real HTTP on a loopback port.
func start(t *testing.T, opts Options) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testServer{Server: s, URL: hs.URL, logs: logs}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

// errorOf checks that a reply is the JSON error shape and returns it.
func errorOf(t *testing.T, r reply) api.Error {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q", ct)
	}
	var eb api.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil || eb.Error == nil || eb.Error.Code == "" || eb.Error.Message == "" {
		t.Fatalf("not an error body (%v): %s", err, r.body)
	}
	if eb.Error.RequestID == "" || eb.Error.RequestID != r.header.Get("X-Request-ID") {
		t.Errorf("error request id %q, header %q", eb.Error.RequestID, r.header.Get("X-Request-ID"))
	}
	return *eb.Error
}

func TestAskSeedWithLexicalReader(t *testing.T) {
	ts := start(t, Options{Reader: reader.NewLexical(), Notice: "no model loaded"})
	r := do(t, "POST", ts.URL+"/api/ask", `{"question":"Where was HuggingFace founded?","context":"HuggingFace was founded in Paris."}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got["answer"] != "HuggingFace was founded in Paris." || got["start"] != 0.0 || got["end"] != 33.0 {
		t.Errorf("answer = %s", r.body)
	}
	if _, ok := got["score"].(float64); !ok {
		t.Errorf("no score: %s", r.body)
	}
	if _, ok := got["timings"].(map[string]any); !ok {
		t.Errorf("no timings: %s", r.body)
	}
	if r.header.Get("X-Request-ID") == "" || !strings.Contains(r.header.Get("Server-Timing"), "total;dur=") {
		t.Errorf("headers %v", r.header)
	}
	rd := do(t, "GET", ts.URL+"/readyz", "")
	var ready api.Readiness
	if err := json.Unmarshal(rd.body, &ready); err != nil || rd.status != 200 || ready.Reader != "lexical" || ready.ModelLoaded || ready.Message != "no model loaded" {
		t.Errorf("readyz %d %s", rd.status, rd.body)
	}
}

// The response shape follows the Python pipeline: exactly one answer to a
// single input is an object; otherwise a list; a batch is a list of those.
func TestAskShapes(t *testing.T) {
	ts := start(t, Options{Reader: echoReader()})
	for _, tc := range []struct {
		name, body, want string
	}{
		{"seed", `{"question":"q","context":"abc"}`, `{"answer":"a","score":1,"start":0,"end":1}`},
		{"hf top_k 2", `{"inputs":{"question":"q","context":"abc"},"parameters":{"top_k":2}}`,
			`[{"answer":"a","score":1,"start":0,"end":1},{"answer":"b","score":0.5,"start":1,"end":2}]`},
		{"top-level top_k", `{"question":"q","context":"abc","top_k":2}`,
			`[{"answer":"a","score":1,"start":0,"end":1},{"answer":"b","score":0.5,"start":1,"end":2}]`},
		{"top_k above answers", `{"question":"q","context":"x","parameters":{"top_k":5}}`, `{"answer":"x","score":1,"start":0,"end":1}`},
		{"batch array", `[{"question":"q","context":"ab"},{"question":"q","context":"cd"}]`,
			`[{"answer":"a","score":1,"start":0,"end":1},{"answer":"c","score":1,"start":0,"end":1}]`},
		{"batch of one is single", `{"inputs":[{"question":"q","context":"ab"}]}`, `{"answer":"a","score":1,"start":0,"end":1}`},
		{"inputs list top_k 2", `{"inputs":[{"question":"q","context":"ab"},{"question":"q","context":"c"}],"parameters":{"top_k":2}}`,
			`[[{"answer":"a","score":1,"start":0,"end":1},{"answer":"b","score":0.5,"start":1,"end":2}],{"answer":"c","score":1,"start":0,"end":1}]`},
		{"question list", `{"question":["q1","q2"],"context":"zz"}`,
			`[{"answer":"z","score":1,"start":0,"end":1},{"answer":"z","score":1,"start":0,"end":1}]`},
		{"options ignored", `{"inputs":{"question":"q","context":"abc"},"options":{"wait_for_model":true}}`, `{"answer":"a","score":1,"start":0,"end":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", ts.URL+"/api/ask", tc.body, "Content-Type", "application/json")
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if m, ok := got.(map[string]any); ok {
				if m["model"] != "test/model" {
					t.Errorf("model %v, want test/model", m["model"])
				}
				delete(m, "timings")
				delete(m, "model")
			}
			var want any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if !bytes.Equal(gj, wj) {
				t.Errorf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}

func TestV1Answer(t *testing.T) {
	ts := start(t, Options{Reader: echoReader()})
	r := do(t, "POST", ts.URL+"/v1/answer", `{"question":"q","context":"é🤗x","parameters":{"top_k":3}}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var resp api.AnswerResponse
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		t.Fatal(err)
	}
	if resp.Reader != "model" || resp.Model != "test/model" || len(resp.Answers) != 3 || resp.Windows != 1 ||
		resp.ContextTokens != 3 || resp.Timings.TotalMS <= 0 {
		t.Errorf("resp = %+v", resp)
	}
	models := do(t, "GET", ts.URL+"/v1/models", "")
	var ml api.ModelList
	if err := json.Unmarshal(models.body, &ml); err != nil || len(ml.Models) != 1 || ml.Models[0].ID != "test/model" {
		t.Errorf("models %s", models.body)
	}
}

// Every class of client mistake is a 4xx with the JSON error shape, never a
// 500; server-side failures map to their statuses.
func TestErrors(t *testing.T) {
	var mode atomic.Value
	mode.Store("")
	reader := &fakeReader{info: api.ModelInfo{ID: "m", Reader: api.ReaderModel},
		fn: func(ctx context.Context, req api.AnswerRequest) (api.AnswerResponse, error) {
			switch req.Question {
			case "client-error":
				return api.AnswerResponse{}, api.Errorf(400, api.CodeInvalidParameter, "max_seq_len 9999 exceeds the model's 512 positions")
			case "queue-full":
				return api.AnswerResponse{}, fmt.Errorf("qa: submit: %w", sched.ErrQueueFull)
			case "too-large":
				return api.AnswerResponse{}, fmt.Errorf("qa: %w", sched.ErrTooLarge)
			case "closed":
				return api.AnswerResponse{}, fmt.Errorf("qa: %w", sched.ErrClosed)
			case "broken":
				return api.AnswerResponse{}, errors.New("tensor shape mismatch")
			case "slow":
				<-ctx.Done()
				return api.AnswerResponse{}, ctx.Err()
			case "nan":
				return api.AnswerResponse{Answers: []api.Span{{Score: nanScore()}}}, nil
			}
			return api.AnswerResponse{Answers: []api.Span{{Answer: "ok", Score: 1}}}, nil
		}}
	ts := start(t, Options{Reader: reader, MaxBodyBytes: 2048, MaxContextChars: 100, MaxBatchInputs: 2,
		RequestTimeout: 200 * time.Millisecond})
	long := strings.Repeat("é", 101)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, mention            string
	}{
		{"invalid json", "POST", "/api/ask", `{"question":`, 400, api.CodeInvalidJSON, "invalid JSON"},
		{"trailing garbage", "POST", "/api/ask", `{"question":"q","context":"c"} x`, 400, api.CodeInvalidJSON, ""},
		{"empty body", "POST", "/api/ask", ``, 400, api.CodeInvalidJSON, "empty"},
		{"invalid utf8", "POST", "/api/ask", "{\"question\":\"q\xff\",\"context\":\"c\"}", 400, api.CodeInvalidUTF8, "UTF-8"},
		{"lone surrogate", "POST", "/api/ask", `{"question":"q\ud800","context":"c"}`, 400, api.CodeInvalidUTF8, "surrogate"},
		{"missing question", "POST", "/api/ask", `{"context":"c"}`, 400, api.CodeMissingField, "question"},
		{"null context", "POST", "/api/ask", `{"question":"q","context":null}`, 400, api.CodeMissingField, "context"},
		{"empty context", "POST", "/api/ask", `{"question":"q","context":"  "}`, 400, api.CodeEmptyField, "context"},
		{"number question", "POST", "/api/ask", `{"question":5,"context":"c"}`, 400, api.CodeWrongType, "question must be a string, got number"},
		{"string top_k", "POST", "/api/ask", `{"question":"q","context":"c","parameters":{"top_k":"3"}}`, 400, api.CodeWrongType, "parameters.top_k"},
		{"float top_k", "POST", "/api/ask", `{"question":"q","context":"c","parameters":{"top_k":1.5}}`, 400, api.CodeWrongType, "integer"},
		{"zero top_k", "POST", "/api/ask", `{"question":"q","context":"c","parameters":{"top_k":0}}`, 400, api.CodeInvalidParameter, "top_k"},
		{"stride above seq", "POST", "/api/ask", `{"question":"q","context":"c","parameters":{"doc_stride":300,"max_seq_len":256}}`, 400, api.CodeInvalidParameter, "doc_stride"},
		{"bool as string", "POST", "/api/ask", `{"question":"q","context":"c","parameters":{"align_to_words":"yes"}}`, 400, api.CodeWrongType, "boolean"},
		{"unknown field", "POST", "/api/ask", `{"qestion":"q","context":"c"}`, 400, api.CodeUnknownField, "qestion"},
		{"unknown parameter", "POST", "/api/ask", `{"question":"q","context":"c","parameters":{"temperature":1}}`, 400, api.CodeUnknownField, "temperature"},
		{"both shapes", "POST", "/api/ask", `{"inputs":{"question":"q","context":"c"},"question":"q"}`, 400, api.CodeBadRequest, "inputs"},
		{"body is a string", "POST", "/api/ask", `"hello"`, 400, api.CodeWrongType, "request body"},
		{"v1 with a list", "POST", "/v1/answer", `[{"question":"q","context":"c"}]`, 400, api.CodeWrongType, ""},
		{"v1 top-level param", "POST", "/v1/answer", `{"question":"q","context":"c","top_k":2}`, 400, api.CodeUnknownField, "top_k"},
		{"body too large", "POST", "/api/ask", `{"question":"q","context":"` + strings.Repeat("a", 3000) + `"}`, 413, api.CodeBodyTooLarge, "2048"},
		{"context too long", "POST", "/api/ask", `{"question":"q","context":"` + long + `"}`, 413, api.CodeContextTooLong, "at most 100"},
		{"v1 context too long", "POST", "/v1/answer", `{"question":"q","context":"` + long + `"}`, 413, api.CodeContextTooLong, "101 characters"},
		{"too many inputs", "POST", "/api/ask", `[{"question":"q","context":"c"},{"question":"q","context":"c"},{"question":"q","context":"c"}]`, 413, api.CodeTooManyInputs, "at most 2"},
		{"not found", "GET", "/nope", ``, 404, api.CodeNotFound, "/nope"},
		{"wrong method", "GET", "/api/ask", ``, 405, api.CodeMethodNotAllowed, "POST"},
		{"options without cors", "OPTIONS", "/api/ask", ``, 405, api.CodeMethodNotAllowed, ""},
		{"reader client error", "POST", "/api/ask", `{"question":"client-error","context":"c"}`, 400, api.CodeInvalidParameter, "512"},
		{"queue full", "POST", "/api/ask", `{"question":"queue-full","context":"c"}`, 429, api.CodeQueueFull, "busy"},
		{"window too large", "POST", "/v1/answer", `{"question":"too-large","context":"c"}`, 413, api.CodeInputTooLarge, "budget"},
		{"shutting down", "POST", "/v1/answer", `{"question":"closed","context":"c"}`, 503, api.CodeUnavailable, ""},
		{"reader failure", "POST", "/api/ask", `{"question":"broken","context":"c"}`, 500, api.CodeInternal, "request id"},
		{"timeout", "POST", "/api/ask", `{"question":"slow","context":"c"}`, 504, api.CodeTimeout, "200ms"},
		{"batch member fails", "POST", "/api/ask", `[{"question":"ok","context":"c"},{"question":"client-error","context":"c"}]`, 400, api.CodeInvalidParameter, ""},
		{"unencodable answer", "POST", "/v1/answer", `{"question":"nan","context":"c"}`, 500, api.CodeInternal, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, ts.URL+tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			e := errorOf(t, r)
			if e.Code != tc.code {
				t.Errorf("code %q, want %q (%s)", e.Code, tc.code, e.Message)
			}
			if !strings.Contains(e.Message, tc.mention) {
				t.Errorf("message %q does not mention %q", e.Message, tc.mention)
			}
			if tc.status == 429 && r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			if tc.status == 405 && r.header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q", r.header.Get("Allow"))
			}
		})
	}
	// Chunked, without Content-Length: the limit still holds while reading.
	req, _ := http.NewRequest("POST", ts.URL+"/api/ask", io.MultiReader(strings.NewReader(`{"question":"q","context":"`),
		strings.NewReader(strings.Repeat("a", 5000)), strings.NewReader(`"}`)))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked oversize body: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(ts.logs.String(), "tensor shape mismatch") {
		t.Error("a 500's cause was not logged")
	}
}

func nanScore() float64 {
	zero := 0.0
	return zero / zero
}

// A panicking reader yields a 500 carrying the request id, is logged with
// its stack, and leaves the server serving; on a batch goroutine too.
func TestPanicRecovery(t *testing.T) {
	reader := &fakeReader{info: api.ModelInfo{ID: "m", Reader: api.ReaderModel},
		fn: func(ctx context.Context, req api.AnswerRequest) (api.AnswerResponse, error) {
			if req.Question == "panic" {
				var m map[string]int
				//lint:ignore SA5000 the nil-map write is the point: a genuine runtime panic
				m["boom"]++
			}
			return api.AnswerResponse{Answers: []api.Span{{Answer: "ok", Score: 1}}}, nil
		}}
	ts := start(t, Options{Reader: reader})
	for _, body := range []string{
		`{"question":"panic","context":"c"}`,
		`[{"question":"ok","context":"c"},{"question":"panic","context":"c"}]`,
	} {
		r := do(t, "POST", ts.URL+"/api/ask", body, "X-Request-ID", "trace-123")
		if r.status != 500 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		e := errorOf(t, r)
		if e.Code != api.CodeInternal || !strings.Contains(e.Message, "trace-123") {
			t.Errorf("error %+v", e)
		}
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, "assignment to entry in nil map") || !strings.Contains(logs, "trace-123") || !strings.Contains(logs, "goroutine") {
		t.Errorf("panic not logged with id and stack:\n%s", logs)
	}
	if r := do(t, "POST", ts.URL+"/api/ask", `{"question":"ok","context":"c"}`); r.status != 200 {
		t.Errorf("server broken after a panic: %d", r.status)
	}
}

// A panic outside the reader (in a handler) is recovered by the middleware.
func TestPanicInMiddlewareChain(t *testing.T) {
	logs := &syncBuffer{}
	s, err := New(Options{Reader: echoReader(), Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := s.observe(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("handler bug") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"internal"`) || !strings.Contains(logs.String(), "handler bug") {
		t.Errorf("%d %s\n%s", rec.Code, rec.Body, logs)
	}
}

func TestRequestID(t *testing.T) {
	ts := start(t, Options{Reader: echoReader()})
	r := do(t, "GET", ts.URL+"/healthz", "", "X-Request-ID", "abc-123")
	if got := r.header.Get("X-Request-ID"); got != "abc-123" {
		t.Errorf("request id not honoured: %q", got)
	}
	for _, bad := range []string{"has space", strings.Repeat("x", 200), "naïve"} {
		req, _ := http.NewRequest("GET", ts.URL+"/healthz", nil)
		req.Header["X-Request-Id"] = []string{bad}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Request-ID"); got == bad || len(got) != 24 {
			t.Errorf("bad id %q answered with %q", bad, got)
		}
	}
}

func TestAuth(t *testing.T) {
	ts := start(t, Options{Reader: echoReader(), APIKey: "s3cret"})
	ask := `{"question":"q","context":"c"}`
	for _, tc := range []struct {
		name, method, path, body, auth string
		status                         int
	}{
		{"no key", "POST", "/api/ask", ask, "", 401},
		{"wrong key", "POST", "/api/ask", ask, "Bearer nope", 401},
		{"prefix of key", "POST", "/api/ask", ask, "Bearer s3cre", 401},
		{"wrong scheme", "POST", "/api/ask", ask, "Basic s3cret", 401},
		{"right key", "POST", "/api/ask", ask, "Bearer s3cret", 200},
		{"scheme case", "POST", "/v1/answer", ask, "bearer s3cret", 200},
		{"models", "GET", "/v1/models", "", "", 401},
		{"metrics", "GET", "/metrics", "", "", 401},
		{"openapi", "GET", "/openapi.json", "", "", 401},
		{"404 hides behind auth", "GET", "/secret", "", "", 401},
		{"healthz is open", "GET", "/healthz", "", "", 200},
		{"readyz is open", "GET", "/readyz", "", "", 200},
		{"page is open", "GET", "/", "", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			r := do(t, tc.method, ts.URL+tc.path, tc.body, hdr...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 401 {
				if e := errorOf(t, r); e.Code != api.CodeUnauthorized {
					t.Errorf("code %q", e.Code)
				}
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
		})
	}
}

func TestCORS(t *testing.T) {
	off := start(t, Options{Reader: echoReader()})
	r := do(t, "POST", off.URL+"/api/ask", `{"question":"q","context":"c"}`, "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS headers sent while CORS is off")
	}

	on := start(t, Options{Reader: echoReader(), APIKey: "k", CORSOrigins: []string{"https://app.example"}})
	pre := do(t, "OPTIONS", on.URL+"/api/ask", "", "Origin", "https://app.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
	bad := do(t, "OPTIONS", on.URL+"/api/ask", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if bad.header.Get("Access-Control-Allow-Origin") != "" || bad.header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("disallowed origin got CORS headers: %v", bad.header)
	}
	r = do(t, "POST", on.URL+"/api/ask", `{"question":"q","context":"c"}`, "Origin", "https://app.example", "Authorization", "Bearer k")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Request-ID") {
		t.Errorf("actual request: %d %v", r.status, r.header)
	}

	star := start(t, Options{Reader: echoReader(), CORSOrigins: []string{"*"}})
	r = do(t, "GET", star.URL+"/v1/models", "", "Origin", "https://any.example")
	if r.header.Get("Access-Control-Allow-Origin") != "https://any.example" {
		t.Errorf("wildcard: %v", r.header)
	}
}

// batchingReader is a reader over a real sched.Batcher, so the metrics see
// batches: each request submits as many windows as its context has words.
type batchingReader struct{ b *sched.Batcher[int] }

func (br *batchingReader) answer(ctx context.Context, req api.AnswerRequest) (api.AnswerResponse, error) {
	words := strings.Fields(req.Context)
	jobs := make([]sched.Job[int], len(words))
	for i, w := range words {
		jobs[i] = sched.Job[int]{Tokens: len(w) + 8, Payload: i}
	}
	if err := br.b.Do(ctx, jobs...); err != nil {
		return api.AnswerResponse{}, fmt.Errorf("batching reader: %w", err)
	}
	return api.AnswerResponse{Answers: []api.Span{{Answer: words[0], Score: 1, End: len(words[0])}}, Windows: len(words), ContextTokens: len(words)}, nil
}

func TestMetrics(t *testing.T) {
	m := NewMetrics()
	b, err := sched.New(func(context.Context, []int) error { return nil },
		sched.Options{MaxBatchTokens: 4096, Hooks: m.SchedHooks()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	ts := start(t, Options{Reader: &batchingReader{b}, Metrics: m})
	for range 3 {
		if r := do(t, "POST", ts.URL+"/api/ask", `{"question":"q","context":"alpha beta gamma"}`); r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	do(t, "POST", ts.URL+"/api/ask", `{`)
	do(t, "GET", ts.URL+"/no/such/path", "")
	r := do(t, "GET", ts.URL+"/metrics", "")
	if r.status != 200 {
		t.Fatalf("metrics status %d", r.status)
	}
	text := string(r.body)
	for _, want := range []string{
		`ask_http_requests_total{code="200",route="/api/ask"} 3`,
		`ask_http_requests_total{code="400",route="/api/ask"} 1`,
		`ask_http_requests_total{code="404",route="unmatched"} 1`,
		`ask_http_request_duration_seconds_bucket{code="200",route="/api/ask",le="+Inf"} 3`,
		`ask_batch_size_count`,
		`ask_batch_size_sum 9`,
		`ask_tokens_processed_total 114`,
		`ask_queue_depth 0`,
		`ask_context_tokens_total{reader="model"} 9`,
		`ask_reader_info{model="batched",reader="model"} 1`,
		`process_resident_memory_bytes`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// The OpenAPI document is valid JSON, says 3.1, describes exactly the
// routes the server serves, and every $ref resolves.
func TestOpenAPI(t *testing.T) {
	ts := start(t, Options{Reader: echoReader()})
	r := do(t, "GET", ts.URL+"/openapi.json", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", r.status, r.header)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Errorf("openapi = %q", v)
	}
	paths, _ := doc["paths"].(map[string]any)
	routes := ts.routeTable()
	for path, methods := range routes {
		item, ok := paths[path].(map[string]any)
		if !ok {
			t.Errorf("route %s is not described", path)
			continue
		}
		for _, m := range methods {
			if _, ok := item[strings.ToLower(m)]; !ok {
				t.Errorf("%s %s is not described", m, path)
			}
		}
	}
	for path, item := range paths {
		for m := range item.(map[string]any) {
			if m == "parameters" || m == "summary" || m == "description" {
				continue // a path item's shared fields, not methods
			}
			found := false
			for _, rm := range routes[path] {
				if strings.ToLower(rm) == m {
					found = true
				}
			}
			if !found {
				t.Errorf("document describes %s %s, which the server does not serve", m, path)
			}
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if !resolves(doc, ref) {
					t.Errorf("unresolved $ref %q", ref)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	// The error codes listed are the ones the api package defines.
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	codes := schemas["Error"].(map[string]any)["properties"].(map[string]any)["code"].(map[string]any)["enum"].([]any)
	for _, c := range []string{api.CodeInvalidJSON, api.CodeInvalidUTF8, api.CodeBodyTooLarge, api.CodeContextTooLong,
		api.CodeQueueFull, api.CodeTimeout, api.CodeUnauthorized, api.CodeInternal, api.CodeInputTooLarge} {
		found := false
		for _, x := range codes {
			found = found || x == c
		}
		if !found {
			t.Errorf("error code %q missing from the document", c)
		}
	}
}

func resolves(doc map[string]any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

func TestPage(t *testing.T) {
	ts := start(t, Options{Reader: echoReader()})
	r := do(t, "GET", ts.URL+"/", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(r.body, []byte("v1/answer")) {
		t.Fatalf("page: %d %v", r.status, r.header)
	}
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'sha256-") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if h := do(t, "HEAD", ts.URL+"/", ""); h.status != 200 || len(h.body) != 0 {
		t.Errorf("HEAD /: %d, %d bytes", h.status, len(h.body))
	}
}

// blockingReader answers once released, and reports how its context ended.
type blockingReader struct {
	entered chan struct{}
	release chan struct{}
	ctxErr  chan error
}

func newBlockingReader() *blockingReader {
	return &blockingReader{entered: make(chan struct{}, 8), release: make(chan struct{}), ctxErr: make(chan error, 8)}
}

func (b *blockingReader) answer(ctx context.Context, req api.AnswerRequest) (api.AnswerResponse, error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return api.AnswerResponse{Answers: []api.Span{{Answer: "done", Score: 1}}}, nil
	case <-ctx.Done():
		b.ctxErr <- ctx.Err()
		return api.AnswerResponse{}, ctx.Err()
	}
}

// serveReal runs Serve on a real loopback listener. wait returns Serve's
// result; it may be called any number of times.
func serveReal(t *testing.T, opts Options) (url string, s *Server, stop context.CancelFunc, wait func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var serveErr error
	go func() {
		defer close(done)
		serveErr = s.Serve(ctx, ln)
	}()
	wait = func() error {
		<-done
		return serveErr
	}
	t.Cleanup(func() {
		cancel()
		_ = wait()
	})
	return "http://" + ln.Addr().String(), s, cancel, wait
}

// post sends body to url in the background and delivers the reply.
func post(url, body string) <-chan reply {
	result := make(chan reply, 1)
	go func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			result <- reply{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		result <- reply{status: resp.StatusCode, body: b, header: resp.Header}
	}()
	return result
}

// Shutdown lets the request in flight finish and answers it. While it
// runs the listener stays open: /readyz says draining and new work gets a
// 503 that says why. Then the listener closes, and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	br := newBlockingReader()
	url, s, stop, wait := serveReal(t, Options{Reader: br, ShutdownTimeout: 10 * time.Second})
	served := make(chan error, 1)
	go func() { served <- wait() }()
	result := post(url+"/api/ask", `{"question":"q","context":"c"}`)
	<-br.entered
	stop()
	waitUntil(t, "draining", s.draining.Load)
	rd := do(t, "GET", url+"/readyz", "")
	var ready api.Readiness
	if err := json.Unmarshal(rd.body, &ready); err != nil || rd.status != 503 || ready.Status != "draining" {
		t.Errorf("/readyz while draining: %d %s", rd.status, rd.body)
	}
	late := do(t, "POST", url+"/api/ask", `{"question":"q","context":"c"}`)
	if e := errorOf(t, late); late.status != 503 || e.Code != codeDraining || late.header.Get("Retry-After") == "" {
		t.Errorf("new request while draining: %d %s", late.status, late.body)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(br.release)
	r := <-result
	if r.status != 200 || !bytes.Contains(r.body, []byte("done")) {
		t.Fatalf("in-flight request: %d %s", r.status, r.body)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v after a clean drain", err)
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("the listener is still open after Serve returned")
	}
}

// DrainDelay holds the listener open (and /readyz at draining) even with
// nothing in flight.
func TestDrainDelay(t *testing.T) {
	url, s, stop, wait := serveReal(t, Options{Reader: echoReader(), DrainDelay: 300 * time.Millisecond})
	stop()
	waitUntil(t, "draining", s.draining.Load)
	if rd := do(t, "GET", url+"/readyz", ""); rd.status != 503 || !bytes.Contains(rd.body, []byte("draining")) {
		t.Errorf("/readyz during the drain delay: %d %s", rd.status, rd.body)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// A drain that outlasts ShutdownTimeout cancels the requests left, which
// are answered 503 (not a bare EOF) and logged as cut by the server.
func TestShutdownTimeoutCancelsRequests(t *testing.T) {
	br := newBlockingReader()
	logs := &syncBuffer{}
	url, _, stop, wait := serveReal(t, Options{Reader: br, ShutdownTimeout: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	result := post(url+"/api/ask", `{"question":"q","context":"c"}`)
	<-br.entered
	stop()
	if err := wait(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve = %v, want a deadline error", err)
	}
	select {
	case err := <-br.ctxErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("reader context ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request's context was not cancelled")
	}
	r := <-result
	var body api.ErrorBody
	if err := json.Unmarshal(r.body, &body); err != nil || r.status != 503 || body.Error == nil ||
		body.Error.Code != api.CodeUnavailable || !strings.Contains(body.Error.Message, "ASK_SHUTDOWN_TIMEOUT") {
		t.Errorf("cut request: %d %s", r.status, r.body)
	}
	l := logs.String()
	if !strings.Contains(l, "request cut by shutdown") || strings.Contains(l, "client closed request") || !strings.Contains(l, "status=503") {
		t.Errorf("logs:\n%s", l)
	}
}

// A client that goes away cancels the reader's context; the request is
// counted as 499.
func TestClientDisconnect(t *testing.T) {
	br := newBlockingReader()
	m := NewMetrics()
	url, _, _, _ := serveReal(t, Options{Reader: br, Metrics: m})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/api/ask", strings.NewReader(`{"question":"q","context":"c"}`))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-br.entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("client: %v", err)
	}
	select {
	case err := <-br.ctxErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("reader context ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reader did not see the client leave")
	}
	waitUntil(t, "a 499 in the metrics", func() bool {
		r := do(t, "GET", url+"/metrics", "")
		return strings.Contains(string(r.body), `ask_http_requests_total{code="499",route="/api/ask"} 1`)
	})
}

func TestReadyzDrainingAndReadyChecker(t *testing.T) {
	rr := &readyReader{fakeReader: echoReader()}
	ts := start(t, Options{Reader: rr})
	rr.err.Store("reloading model")
	r := do(t, "GET", ts.URL+"/readyz", "")
	if r.status != 503 || !bytes.Contains(r.body, []byte("reloading model")) {
		t.Errorf("not ready: %d %s", r.status, r.body)
	}
	rr.err.Store("")
	ts.draining.Store(true)
	r = do(t, "GET", ts.URL+"/readyz", "")
	if r.status != 503 || !bytes.Contains(r.body, []byte(`"draining"`)) {
		t.Errorf("draining: %d %s", r.status, r.body)
	}
	if h := do(t, "GET", ts.URL+"/healthz", ""); h.status != 200 {
		t.Errorf("healthz while draining: %d", h.status)
	}
}

type readyReader struct {
	*fakeReader
	err atomic.Value
}

func (r *readyReader) Ready() error {
	if s, _ := r.err.Load().(string); s != "" {
		return errors.New(s)
	}
	return nil
}

// The Go client speaks every route against a real server.
func TestClientAgainstServer(t *testing.T) {
	ts := start(t, Options{Reader: reader.NewLexical(), APIKey: "k"})
	c, err := api.NewClient(ts.URL+"/", api.ClientOptions{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in := api.QAInput{Question: "Where was HuggingFace founded?", Context: "It rains. HuggingFace was founded in Paris."}
	as, err := c.Ask(ctx, in, api.Params{})
	if err != nil || len(as) != 1 || as[0].Answer != "HuggingFace was founded in Paris." || as[0].Start != 10 {
		t.Fatalf("Ask = %+v, %v", as, err)
	}
	batch, err := c.AskBatch(ctx, []api.QAInput{in, {Question: "rain?", Context: "It rains."}}, api.Params{})
	if err != nil || len(batch) != 2 || batch[1][0].Answer != "It rains." {
		t.Fatalf("AskBatch = %+v, %v", batch, err)
	}
	resp, err := c.Answer(ctx, api.AnswerRequest{Question: in.Question, Context: in.Context})
	if err != nil || resp.Reader != "lexical" || resp.Answers[0].ByteStart != 10 {
		t.Fatalf("Answer = %+v, %v", resp, err)
	}
	models, err := c.Models(ctx)
	if err != nil || models[0].ID != reader.LexicalID {
		t.Fatalf("Models = %+v, %v", models, err)
	}
	rd, err := c.Ready(ctx)
	if err != nil || rd.Status != "ready" {
		t.Fatalf("Ready = %+v, %v", rd, err)
	}
	_, err = c.Ask(ctx, api.QAInput{Question: "", Context: "x"}, api.Params{})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != api.CodeEmptyField || ae.RequestID == "" {
		t.Fatalf("Ask with an empty question: %v", err)
	}
	bad, _ := api.NewClient(ts.URL, api.ClientOptions{APIKey: "wrong"})
	if _, err := bad.Models(ctx); !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("wrong key: %v", err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAskCJKAnswerLength: behind the built-in model's script router, a
// Chinese question read without max_answer_len gets the router's CJK limit,
// an English one the pipeline's default, and a limit the caller sets
// reaches both readers unchanged.
func TestAskCJKAnswerLength(t *testing.T) {
	limitReader := func(id string) *fakeReader {
		return &fakeReader{
			info: api.ModelInfo{ID: id, Reader: api.ReaderModel},
			fn: func(ctx context.Context, req api.AnswerRequest) (api.AnswerResponse, error) {
				got := fmt.Sprint(req.Params.MaxAnswerLenValue())
				return api.AnswerResponse{Answers: []api.Span{{Answer: got, Score: 1}}, Windows: 1}, nil
			},
		}
	}
	ts := start(t, Options{Reader: reader.NewScriptRouter(limitReader("en"), limitReader("multi"))})
	for _, c := range []struct{ body, want string }{
		{`{"question":"什么是人工智能？","context":"人工智能是一种技术。"}`, fmt.Sprint(reader.CJKMaxAnswerLen)},
		{`{"question":"What is AI?","context":"AI is a technology."}`, "15"},
		{`{"question":"什么是人工智能？","context":"人工智能是一种技术。","max_answer_len":5}`, "5"},
		{`{"question":"What is AI?","context":"AI is a technology.","max_answer_len":5}`, "5"},
	} {
		r := do(t, "POST", ts.URL+"/api/ask", c.body)
		var got struct{ Answer string } // top_k 1: the answer itself
		if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
			t.Fatalf("%s: %d %s", c.body, r.status, r.body)
		}
		if got.Answer != c.want {
			t.Errorf("%s: read with max_answer_len %s, want %s", c.body, got.Answer, c.want)
		}
	}
}
