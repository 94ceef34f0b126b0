// Package generatetest is a scripted OpenAI-compatible chat completions
// server on loopback, for deterministic tests of generation: each request
// gets the next scripted Reply (streamed chunks, usage, stop reasons, error
// statuses with Retry-After, malformed chunks, hangs, cut connections), and
// every request is recorded for the test to inspect.
package generatetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Reply scripts the answer to one request.
type Reply struct {
	// Status, when not 0 or 200, answers with an OpenAI error body
	// {"error":{"message":ErrorMessage,...}} instead of a stream.
	Status       int
	ErrorMessage string
	// Header is added to the response (e.g. Retry-After).
	Header http.Header
	// Chunks are the answer's text deltas, one chunk each.
	Chunks []string
	// FinishReason ends the stream; "" means "stop".
	FinishReason string
	// Usage is sent in a last chunk with no choices, as OpenAI does when the
	// request asks stream_options.include_usage.
	Usage *Usage
	// Model is the model chunks report; "" echoes the request's.
	Model string
	// Raw, when set, is sent as the stream's data lines verbatim (one
	// "data: ..." event each) after Chunks: malformed chunks, error events.
	Raw []string
	// Delay waits before each chunk.
	Delay time.Duration
	// Hang stops after the chunks sent so far and holds the connection open
	// until the client goes away or the server closes.
	Hang bool
	// Cut closes the connection after the chunks, without [DONE].
	Cut bool
	// RejectStreamOptions answers 422 to a request with stream_options, as
	// transformers serve does.
	RejectStreamOptions bool
}

// Usage is a token count.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Message is one chat message of a request.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is a recorded chat completions request.
type Request struct {
	Model         string    `json:"model"`
	Messages      []Message `json:"messages"`
	MaxTokens     int       `json:"max_tokens"`
	Stream        bool      `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	// Header is the request's header (Authorization, ...).
	Header http.Header `json:"-"`
}

// Server is a scripted server. Its zero value is not usable; call New.
type Server struct {
	// URL is the API root to use as base URL: http://127.0.0.1:PORT/v1.
	URL string

	srv  *httptest.Server
	done chan struct{}

	mu       sync.Mutex
	replies  []Reply
	fallback func(Request) Reply
	requests []Request
	gone     int
}

// New starts a server answering requests with replies in turn; after the
// last one it answers 500 (so an unexpected extra request shows). It closes
// when the test ends.
func New(t testing.TB, replies ...Reply) *Server {
	t.Helper()
	s := &Server{replies: replies, done: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/v1"
	t.Cleanup(s.Close)
	return s
}

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.mu.Unlock()
	s.srv.Close()
}

// Push queues more replies.
func (s *Server) Push(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, replies...)
}

// Always answers every request after the queued replies with f.
func (s *Server) Always(f func(Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = f
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Gone counts the requests whose client went away (canceled its request)
// while the server was still answering: what a test of cancellation
// checks.
func (s *Server) Gone() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone
}

func (s *Server) noteGone() {
	s.mu.Lock()
	s.gone++
	s.mu.Unlock()
}

// Words cuts text into chunks of one word each, spaces kept, the way a
// model streams tokens.
func Words(text string) []string {
	var out []string
	for len(text) > 0 {
		i := strings.IndexByte(text[1:], ' ')
		if i < 0 {
			out = append(out, text)
			break
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	req.Header = r.Header.Clone()
	s.mu.Lock()
	s.requests = append(s.requests, req)
	var reply Reply
	switch {
	case len(s.replies) > 0:
		reply, s.replies = s.replies[0], s.replies[1:]
	case s.fallback != nil:
		reply = s.fallback(req)
	default:
		reply = Reply{Status: http.StatusInternalServerError, ErrorMessage: "generatetest: no reply scripted for this request"}
	}
	s.mu.Unlock()

	for k, v := range reply.Header {
		w.Header()[k] = v
	}
	if reply.RejectStreamOptions && req.StreamOptions != nil {
		writeError(w, http.StatusUnprocessableEntity, "Unused fields in the request: {'stream_options'}")
		return
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		writeError(w, reply.Status, reply.ErrorMessage)
		return
	}
	model := reply.Model
	if model == "" {
		model = req.Model
	}
	finish := reply.FinishReason
	if finish == "" {
		finish = "stop"
	}
	if !req.Stream {
		s.complete(w, reply, model, finish)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(data string) bool {
		if reply.Delay > 0 {
			select {
			case <-time.After(reply.Delay):
			case <-r.Context().Done():
				s.noteGone()
				return false
			case <-s.done:
				return false
			}
		}
		if _, err := io.WriteString(w, "data: "+data+"\n\n"); err != nil {
			s.noteGone()
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	chunk := func(delta map[string]any, finish any) string {
		b, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}},
		})
		return string(b)
	}
	if !send(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	for _, c := range reply.Chunks {
		if !send(chunk(map[string]any{"content": c}, nil)) {
			return
		}
	}
	for _, raw := range reply.Raw {
		if !send(raw) {
			return
		}
	}
	if reply.Hang {
		select {
		case <-r.Context().Done():
			s.noteGone()
		case <-s.done:
		}
		return
	}
	if reply.Cut {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	if !send(chunk(map[string]any{}, finish)) {
		return
	}
	if reply.Usage != nil && req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		b, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{}, "usage": reply.Usage,
		})
		if !send(string(b)) {
			return
		}
	}
	send("[DONE]")
}

// complete answers a request without stream: true.
func (s *Server) complete(w http.ResponseWriter, reply Reply, model, finish string) {
	usage := reply.Usage
	if usage == nil {
		usage = &Usage{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": finish, "logprobs": nil,
			"message": map[string]any{"role": "assistant", "content": strings.Join(reply.Chunks, "")},
		}},
		"usage": usage,
	})
}

func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": message, "type": "test_error", "param": nil, "code": nil,
	}})
}
