package generate_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/askqa/ask/generate"
	"github.com/askqa/ask/generate/generatetest"
)

var passages = []generate.Passage{
	{Title: "Eiffel Tower", Source: "doc-1", Text: "The Eiffel Tower is in Paris. It was completed in 1889 for the World's Fair."},
	{Title: "Paris", Source: "doc-2", Text: "Paris is the capital of France. It lies on the Seine."},
}

func newGen(t *testing.T, url string, mod func(*generate.Options)) *generate.OpenAI {
	t.Helper()
	o := generate.Options{BaseURL: url, Model: "test-model", APIKey: "sk-test", Timeout: 5 * time.Second}
	if mod != nil {
		mod(&o)
	}
	g, err := generate.NewOpenAI(o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestOpenAIStream(t *testing.T) {
	answer := "The tower is in Paris [1][2]. It was completed in 1889 [1]. It is nice."
	srv := generatetest.New(t, generatetest.Reply{
		Chunks: generatetest.Words(answer),
		Usage:  &generatetest.Usage{PromptTokens: 120, CompletionTokens: 20, TotalTokens: 140},
		Model:  "test-model-2024",
	})
	g := newGen(t, srv.URL, func(o *generate.Options) { o.MaxTokens = 77 })
	var deltas []string
	res, err := g.Generate(context.Background(), generate.Request{Question: "Where is the tower?", Passages: passages},
		func(d string) error { deltas = append(deltas, d); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(deltas, "") != answer || len(deltas) != len(generatetest.Words(answer)) {
		t.Errorf("deltas = %q", deltas)
	}
	if res.Answer != answer || res.FinishReason != "stop" || res.Model != "test-model-2024" {
		t.Errorf("result = %q, finish %q, model %q", res.Answer, res.FinishReason, res.Model)
	}
	if res.Usage != (generate.Usage{PromptTokens: 120, CompletionTokens: 20, TotalTokens: 140}) {
		t.Errorf("usage = %+v", res.Usage)
	}
	if len(res.Cited) != 3 || len(res.Uncited) != 1 || len(res.Missing) != 0 {
		t.Errorf("citations: %d cited, uncited %+v, missing %+v", len(res.Cited), res.Uncited, res.Missing)
	}
	if res.FirstToken <= 0 || res.FirstToken > res.Elapsed {
		t.Errorf("first token %s, elapsed %s", res.FirstToken, res.Elapsed)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Model != "test-model" || !r.Stream || r.MaxTokens != 77 || r.StreamOptions == nil || !r.StreamOptions.IncludeUsage {
		t.Errorf("request = %+v", r)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer sk-test" {
		t.Errorf("Authorization = %q", got)
	}
	if len(r.Messages) != 2 || r.Messages[0].Role != "system" || r.Messages[1].Role != "user" {
		t.Fatalf("messages = %+v", r.Messages)
	}
	if strings.Contains(r.Messages[0].Content, "Eiffel") || !strings.Contains(r.Messages[1].Content, passages[0].Text) {
		t.Error("document text must be in the user message and only there")
	}
}

func TestOpenAIFinishLength(t *testing.T) {
	srv := generatetest.New(t, generatetest.Reply{Chunks: []string{"The tower is"}, FinishReason: "length"})
	res, err := newGen(t, srv.URL, nil).Generate(context.Background(), generate.Request{Question: "q", Passages: passages, MaxTokens: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.FinishReason != "length" || srv.Requests()[0].MaxTokens != 3 {
		t.Errorf("finish %q, max_tokens %d", res.FinishReason, srv.Requests()[0].MaxTokens)
	}
	if res.Usage != (generate.Usage{}) {
		t.Errorf("usage %+v from an endpoint that sent none", res.Usage)
	}
}

func TestOpenAIErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reply  generatetest.Reply
		kind   string
		status int
		retry  time.Duration
	}{
		{"rate limited", generatetest.Reply{Status: 429, ErrorMessage: "slow down", Header: http.Header{"Retry-After": {"7"}}},
			generate.KindRateLimited, 429, 7 * time.Second},
		{"bad key", generatetest.Reply{Status: 401, ErrorMessage: "Incorrect API key provided"}, generate.KindUnauthorized, 401, 0},
		{"forbidden", generatetest.Reply{Status: 403}, generate.KindUnauthorized, 403, 0},
		{"unknown model", generatetest.Reply{Status: 404, ErrorMessage: "The model `x` does not exist"}, generate.KindBadRequest, 404, 0},
		{"server error", generatetest.Reply{Status: 500, ErrorMessage: "boom"}, generate.KindUpstream, 500, 0},
		{"unavailable", generatetest.Reply{Status: 503, Header: http.Header{"Retry-After": {"2"}}}, generate.KindUpstream, 503, 2 * time.Second},
		{"malformed chunk", generatetest.Reply{Chunks: []string{"Hello"}, Raw: []string{`{"choices": [`}}, generate.KindBadResponse, 0, 0},
		{"wrong type", generatetest.Reply{Raw: []string{`{"choices": "nope"}`}}, generate.KindBadResponse, 0, 0},
		{"error event", generatetest.Reply{Chunks: []string{"Hel"}, Raw: []string{`{"error": {"message": "overloaded"}}`}}, generate.KindUpstream, 0, 0},
		{"empty answer", generatetest.Reply{Chunks: []string{"", "  "}}, generate.KindBadResponse, 0, 0},
		{"cut connection", generatetest.Reply{Chunks: []string{"The tower"}, Cut: true}, "", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := generatetest.New(t, tc.reply)
			_, err := newGen(t, srv.URL, nil).Generate(context.Background(), generate.Request{Question: "q", Passages: passages}, nil)
			var e *generate.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *generate.Error", err, err)
			}
			if tc.kind != "" && e.Kind != tc.kind {
				t.Errorf("kind = %s, want %s (%v)", e.Kind, tc.kind, err)
			}
			if e.Status != tc.status || e.RetryAfter != tc.retry {
				t.Errorf("status %d, retry after %s; want %d, %s", e.Status, e.RetryAfter, tc.status, tc.retry)
			}
			if e.Message == "" || e.Fix() == "" {
				t.Errorf("error %+v says nothing to fix", e)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("%d requests; with no retries there must be one", n)
			}
			t.Logf("%s: %v; fix: %s", e.Kind, e, e.Fix())
		})
	}
}

func TestOpenAIRetry(t *testing.T) {
	srv := generatetest.New(t,
		generatetest.Reply{Status: 429, Header: http.Header{"Retry-After": {"0"}}},
		generatetest.Reply{Chunks: []string{"In Paris [1]."}},
	)
	res, err := newGen(t, srv.URL, func(o *generate.Options) { o.MaxRetries = 1 }).
		Generate(context.Background(), generate.Request{Question: "q", Passages: passages}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "In Paris [1]." || len(srv.Requests()) != 2 {
		t.Errorf("answer %q after %d requests", res.Answer, len(srv.Requests()))
	}
}

func TestOpenAITimeout(t *testing.T) {
	srv := generatetest.New(t, generatetest.Reply{Chunks: []string{"The tower"}, Hang: true})
	g := newGen(t, srv.URL, func(o *generate.Options) { o.Timeout = 200 * time.Millisecond })
	var got string
	_, err := g.Generate(context.Background(), generate.Request{Question: "q", Passages: passages},
		func(d string) error { got += d; return nil })
	var e *generate.Error
	if !errors.As(err, &e) || e.Kind != generate.KindTimeout {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if got != "The tower" {
		t.Errorf("deltas before the timeout = %q", got)
	}
}

func TestOpenAIUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/v1"
	ln.Close() // nothing listens there now
	_, err = newGen(t, url, nil).Generate(context.Background(), generate.Request{Question: "q", Passages: passages}, nil)
	var e *generate.Error
	if !errors.As(err, &e) || e.Kind != generate.KindUnreachable {
		t.Fatalf("err = %v, want unreachable", err)
	}
}

func TestOpenAICancel(t *testing.T) {
	// The caller's cancellation (a client that went away) ends the
	// upstream request: the hanging fake server sees its request end.
	srv := generatetest.New(t, generatetest.Reply{Chunks: []string{"The"}, Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	_, err := newGen(t, srv.URL, nil).Generate(ctx, generate.Request{Question: "q", Passages: passages},
		func(string) error { cancel(); return nil })
	var e *generate.Error
	if !errors.As(err, &e) || e.Kind != generate.KindCanceled {
		t.Fatalf("err = %v, want canceled", err)
	}

	// A delta callback's error stops the stream and comes back as is.
	srv = generatetest.New(t, generatetest.Reply{Chunks: []string{"The"}, Hang: true})
	stop := errors.New("client gone")
	_, err = newGen(t, srv.URL, nil).Generate(context.Background(), generate.Request{Question: "q", Passages: passages},
		func(string) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's", err)
	}
}

func TestOpenAIStreamOptionsRejected(t *testing.T) {
	// transformers serve answers 422 to stream_options: the generator
	// retries without it once and leaves it out from then on.
	ok := generatetest.Reply{Chunks: []string{"In Paris [1]."}, RejectStreamOptions: true}
	srv := generatetest.New(t, ok, ok, ok)
	g := newGen(t, srv.URL, nil)
	for i := 0; i < 2; i++ {
		res, err := g.Generate(context.Background(), generate.Request{Question: "q", Passages: passages}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Answer != "In Paris [1]." {
			t.Errorf("answer %q", res.Answer)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || reqs[0].StreamOptions == nil || reqs[1].StreamOptions != nil || reqs[2].StreamOptions != nil {
		t.Errorf("%d requests; stream_options sent: %v %v %v", len(reqs),
			reqs[0].StreamOptions != nil, len(reqs) > 1 && reqs[1].StreamOptions != nil, len(reqs) > 2 && reqs[2].StreamOptions != nil)
	}
}

func TestNewOpenAIValidates(t *testing.T) {
	for _, o := range []generate.Options{
		{Model: "m"},
		{BaseURL: "localhost:8000", Model: "m"},
		{BaseURL: "http://x/v1"},
		{BaseURL: "http://x/v1", Model: "m", Timeout: -1},
	} {
		if _, err := generate.NewOpenAI(o); err == nil {
			t.Errorf("NewOpenAI(%+v) accepted", o)
		}
	}
	g := newGen(t, "http://127.0.0.1:1/v1", nil)
	for _, r := range []generate.Request{{Passages: passages}, {Question: "q"}, {Question: "q", Passages: passages, MaxTokens: -1}} {
		if _, err := g.Generate(context.Background(), r, nil); err == nil {
			t.Errorf("Generate(%+v) accepted", r)
		}
	}
}
