package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/reader"
)

// scriptedReader answers every input with one span and the timings given,
// or fails with err.
type scriptedReader struct {
	timings reader.Timings
	err     error
}

func (s scriptedReader) Read(ctx context.Context, req reader.Request) (reader.Response, error) {
	if s.err != nil {
		return reader.Response{}, s.err
	}
	out := reader.Response{Timings: s.timings, Results: make([]reader.Result, len(req.Inputs))}
	for i := range out.Results {
		out.Results[i] = reader.Result{Answers: []reader.Answer{{Text: "c", Score: 1, End: 1, ByteEnd: 1}}, Windows: 1}
	}
	return out, nil
}

func (scriptedReader) Describe() reader.Info {
	return reader.Info{ID: "scripted/model", Kind: reader.KindModel}
}

// The reader's queue time reaches the response and Server-Timing.
func TestQueueTimeReported(t *testing.T) {
	ts := start(t, Options{Reader: scriptedReader{timings: reader.Timings{Queue: 7 * time.Millisecond, Compute: 3 * time.Millisecond}}})
	r := do(t, "POST", ts.URL+"/v1/answer", `{"question":"q","context":"c"}`)
	var resp api.AnswerResponse
	if err := json.Unmarshal(r.body, &resp); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if resp.Timings.QueueMS != 7 || resp.Timings.ComputeMS != 3 {
		t.Errorf("timings %+v", resp.Timings)
	}
	if st := r.header.Get("Server-Timing"); !strings.Contains(st, "queue;dur=7.000") || !strings.Contains(st, "compute;dur=3.000") {
		t.Errorf("Server-Timing %q", st)
	}
	// A batch reports the read's timings too.
	r = do(t, "POST", ts.URL+"/api/ask", `[{"question":"q","context":"c"},{"question":"q","context":"d"}]`)
	if st := r.header.Get("Server-Timing"); r.status != 200 || !strings.Contains(st, "queue;dur=7.000") {
		t.Errorf("batch: %d, Server-Timing %q", r.status, st)
	}
}

// A reader's refusals become 4xx that name what to change.
func TestReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     *reader.Error
		body    string
		status  int
		code    string
		mention []string
	}{
		{"request larger than the queue", &reader.Error{Kind: reader.TooLarge, Input: -1, Limit: "queue-size", Msg: "the request needs 1100 windows of 384 tokens and the queue holds at most 1024"},
			`[{"question":"q","context":"c"},{"question":"q","context":"d"}]`, 413, api.CodeInputTooLarge, []string{"1100 windows", "ASK_QUEUE_SIZE", "--queue-size"}},
		{"question too long", &reader.Error{Kind: reader.QuestionTooLong, Input: 0, Msg: "the question is too long for the model's window"},
			`{"question":"q","context":"c"}`, 400, codeQuestionTooLong, []string{"question is too long"}},
		{"context needs too many windows, in a batch", &reader.Error{Kind: reader.PassageTooLong, Input: 1, Limit: "max-context-windows", Msg: "the context needs 300 windows"},
			`[{"question":"q","context":"c"},{"question":"q","context":"d"}]`, 413, api.CodeContextTooLong, []string{"input 1:", "ASK_MAX_CONTEXT_WINDOWS"}},
		{"empty", &reader.Error{Kind: reader.Empty, Input: 0, Msg: "question must not be empty"},
			`{"question":"q","context":"c"}`, 400, api.CodeEmptyField, []string{"must not be empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, Options{Reader: scriptedReader{err: fmt.Errorf("wrapped: %w", tc.err)}})
			r := do(t, "POST", ts.URL+"/api/ask", tc.body)
			e := errorOf(t, r)
			if r.status != tc.status || e.Code != tc.code {
				t.Errorf("%d %s, want %d %s", r.status, e.Code, tc.status, tc.code)
			}
			for _, m := range tc.mention {
				if !strings.Contains(e.Message, m) {
					t.Errorf("message %q does not mention %q", e.Message, m)
				}
			}
		})
	}
}

// /healthz says what answers, like /readyz: never "model_loaded": false
// while a model answers.
func TestHealthSaysWhatAnswers(t *testing.T) {
	ts := start(t, Options{Reader: scriptedReader{}})
	r := do(t, "GET", ts.URL+"/healthz", "")
	var rd api.Readiness
	if err := json.Unmarshal(r.body, &rd); err != nil || r.status != 200 || rd.Status != "ok" || !rd.ModelLoaded || rd.Model != "scripted/model" || rd.Reader != "model" {
		t.Errorf("/healthz: %d %s", r.status, r.body)
	}
}

// An oversized URL gets a JSON 431 like every other error, and
// /favicon.ico does not 404.
func TestHeadersTooLargeAndFavicon(t *testing.T) {
	ts := start(t, Options{Reader: scriptedReader{}, APIKey: "k"})
	r := do(t, "GET", ts.URL+"/v1/models?q="+strings.Repeat("x", 70<<10), "")
	if e := errorOf(t, r); r.status != 431 || e.Code != codeHeadersTooLarge || !strings.Contains(e.Message, "at most 65536") {
		t.Errorf("long URL: %d %s", r.status, r.body)
	}
	r = do(t, "GET", ts.URL+"/favicon.ico", "")
	if r.status != http.StatusNoContent {
		t.Errorf("favicon: %d %s", r.status, r.body)
	}
}

// A body trickled in past ReadTimeout gets a JSON 408, not a 400 about an
// unreadable body.
func TestSlowBodyGets408(t *testing.T) {
	url, _, _, _ := serveReal(t, Options{Reader: scriptedReader{}, ReadTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{"question":"q","context":"c"}`
	fmt.Fprintf(c, "POST /v1/answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:5])
	time.Sleep(400 * time.Millisecond) // the rest never comes in time
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, _ := io.ReadAll(c)
	resp := string(raw)
	if !strings.HasPrefix(resp, "HTTP/1.1 408") || !strings.Contains(resp, `"code":"request_timeout"`) || !strings.Contains(resp, "ASK_READ_TIMEOUT") {
		t.Errorf("slow body answered:\n%s", resp)
	}
}
