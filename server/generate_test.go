package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/generate"
	"github.com/askqa/ask/generate/generatetest"
	"github.com/askqa/ask/reader"
)

const eiffelContext = "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was completed in 1889 for the World's Fair."

// startGen serves the lexical reader with a generator on the scripted
// upstream.
func startGen(t *testing.T, timeout time.Duration, replies ...generatetest.Reply) (*testServer, *generatetest.Server) {
	t.Helper()
	up := generatetest.New(t, replies...)
	g, err := generate.NewOpenAI(generate.Options{BaseURL: up.URL, Model: "tiny", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return start(t, Options{Reader: reader.NewLexical(), Generator: g}), up
}

// sseEvent is one event read from a stream.
type sseEvent struct {
	name string
	data string
}

// readStream posts body and reads the whole event stream.
func readStream(t *testing.T, url, body string) (reply, []sseEvent) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	var events []sseEvent
	err = api.ReadEvents(resp.Body, 1<<20, func(e api.Event) error {
		if strings.Contains(string(e.Data), "\n") {
			t.Errorf("event %s: data spans lines: %q", e.Name, e.Data)
		}
		events = append(events, sseEvent{e.Name, string(e.Data)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, events
}

// checkStream checks the order sources, delta..., done and returns the
// deltas joined and the done event's data.
func checkStream(t *testing.T, r reply, events []sseEvent) (string, []byte) {
	t.Helper()
	if r.status != 200 || r.header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %q", r.status, r.header.Get("Content-Type"))
	}
	if len(events) < 2 || events[0].name != api.EventSources || events[len(events)-1].name != api.EventDone {
		t.Fatalf("events %v: want sources, deltas, done", events)
	}
	var text strings.Builder
	for _, e := range events[1 : len(events)-1] {
		if e.name != api.EventDelta {
			t.Fatalf("event %q between sources and done", e.name)
		}
		var d api.DeltaEvent
		if err := json.Unmarshal([]byte(e.data), &d); err != nil {
			t.Fatal(err)
		}
		text.WriteString(d.Text)
	}
	var se api.SourcesEvent
	if err := json.Unmarshal([]byte(events[0].data), &se); err != nil || len(se.Sources) == 0 {
		t.Errorf("sources event %s: %v", events[0].data, err)
	}
	return text.String(), []byte(events[len(events)-1].data)
}

// sameResponse compares two responses with their timings zeroed.
func sameResponse(t *testing.T, what string, a, b []byte) {
	t.Helper()
	norm := func(raw []byte) any {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s: %v: %s", what, err, raw)
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, c := range v {
					if strings.HasSuffix(k, "_ms") {
						v[k] = 0
					}
					walk(c)
				}
			case []any:
				for _, c := range v {
					walk(c)
				}
			}
		}
		walk(v)
		return v
	}
	if x, y := norm(a), norm(b); !reflect.DeepEqual(x, y) {
		t.Errorf("%s: responses differ:\n%s\n%s", what, a, b)
	}
}

func TestGenerateNotConfigured(t *testing.T) {
	ts := start(t, Options{Reader: reader.NewLexical()})
	plain := decode[api.AnswerResponse](t, do(t, "POST", ts.URL+"/v1/answer", `{"question":"When was it completed?","context":"`+eiffelContext+`"}`))
	r := do(t, "POST", ts.URL+"/v1/answer", `{"question":"When was it completed?","context":"`+eiffelContext+`","generate":true}`)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := decode[api.GeneratedAnswer](t, r)
	if got.Generated || got.Generation != nil || got.GenerationError == nil || got.GenerationError.Kind != api.GenNotConfigured ||
		!strings.Contains(got.GenerationError.Fix, "--llm-base-url") || !strings.Contains(got.GenerationError.Fix, "OPENAI_API_KEY") {
		t.Errorf("not configured: %s", r.body)
	}
	got.Timings, plain.Timings = api.Timings{}, api.Timings{}
	if !reflect.DeepEqual(got.AnswerResponse, plain) {
		t.Errorf("extractive answer %+v, without generate %+v", got.AnswerResponse, plain)
	}
	if len(got.Sources) != 1 || got.Sources[0].Text != eiffelContext || got.Sources[0].N != 1 || got.Sources[0].End != len([]rune(eiffelContext)) {
		t.Errorf("sources %+v", got.Sources)
	}
	// Streamed: sources, no delta, done.
	sr, events := readStream(t, ts.URL+"/api/ask", `{"question":"When was it completed?","context":"`+eiffelContext+`","generate":true,"stream":true}`)
	text, done := checkStream(t, sr, events)
	if text != "" || !strings.Contains(string(done), `"kind":"not_configured"`) || !strings.Contains(string(done), `"answer":"It was completed in 1889 for the World's Fair."`) {
		t.Errorf("streamed, not configured: %q %s", text, done)
	}
}

func TestGenerateContext(t *testing.T) {
	answer := "The tower was completed in 1889 [1]. It stands in Paris [1]. Nobody knows why [3]."
	reply := generatetest.Reply{Chunks: generatetest.Words(answer), Usage: &generatetest.Usage{PromptTokens: 90, CompletionTokens: 20, TotalTokens: 110}}
	ts, up := startGen(t, 10*time.Second, reply, reply, reply, reply)
	body := `{"question":"When was it completed?","context":"` + eiffelContext + `","generate":true`

	for _, path := range []string{"/v1/answer", "/api/ask"} {
		r := do(t, "POST", ts.URL+path, body+"}")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		var got struct {
			api.GenerationFields
			Answer  string     `json:"answer"`
			Answers []api.Span `json:"answers"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		g := got.Generation
		if !got.Generated || g == nil || g.Text != answer || g.Model != "tiny" || g.FinishReason != "stop" ||
			g.Usage != (api.Usage{PromptTokens: 90, CompletionTokens: 20, TotalTokens: 110}) {
			t.Fatalf("%s: %s", path, r.body)
		}
		n := len([]rune(eiffelContext))
		want := []api.GeneratedCitation{{N: 1, Passage: 0, Start: 0, End: n}, {N: 1, Passage: 0, Start: 0, End: n}}
		if !reflect.DeepEqual(g.Citations, want) || !reflect.DeepEqual(g.InvalidCitations, []int{3}) ||
			!reflect.DeepEqual(g.UncitedSentences, []string{"Nobody knows why [3]."}) {
			t.Errorf("%s: citations %+v, invalid %v, uncited %q", path, g.Citations, g.InvalidCitations, g.UncitedSentences)
		}
		if g.TimeToFirstTokenMS <= 0 || g.TotalMS < g.TimeToFirstTokenMS {
			t.Errorf("%s: timings %v %v", path, g.TimeToFirstTokenMS, g.TotalMS)
		}
		// The extractive answer is there, as without "generate".
		if got.Answer != "It was completed in 1889 for the World's Fair." && (len(got.Answers) == 0 || got.Answers[0].Answer != "It was completed in 1889 for the World's Fair.") {
			t.Errorf("%s: extractive answer missing: %s", path, r.body)
		}
		// Streamed, the same response in the done event.
		sr, events := readStream(t, ts.URL+path, body+`,"stream":true}`)
		text, done := checkStream(t, sr, events)
		if text != answer || len(events) != 2+len(reply.Chunks) {
			t.Errorf("%s: streamed %q in %d events", path, text, len(events))
		}
		sameResponse(t, path+" streamed vs not", r.body, done)
	}
	// The model saw the passage in the user message, never in the system one.
	reqs := up.Requests()
	if len(reqs) != 4 || strings.Contains(reqs[0].Messages[0].Content, "Eiffel") || !strings.Contains(reqs[0].Messages[1].Content, eiffelContext) {
		t.Errorf("upstream requests %+v", reqs)
	}
}

func TestGenerateLongContext(t *testing.T) {
	// A context longer than the prompt's budget is cut into pieces, the
	// one holding the extractive answer first.
	var b strings.Builder
	for i := 0; i < 400; i++ {
		b.WriteString("Filler sentence about nothing in particular number one. ")
	}
	b.WriteString("The treasure was buried under the old oak in 1723. ")
	for i := 0; i < 50; i++ {
		b.WriteString("More filler to follow the answer here. ")
	}
	ctxText := b.String()
	ts, _ := startGen(t, 10*time.Second, generatetest.Reply{Chunks: []string{"Under the oak [1]."}})
	body, _ := json.Marshal(map[string]any{"question": "Where was the treasure buried?", "context": ctxText, "generate": true})
	got := decode[api.GeneratedAnswer](t, do(t, "POST", ts.URL+"/v1/answer", string(body)))
	if !got.Generated || len(got.Sources) < 2 {
		t.Fatalf("generated %v, %d sources", got.Generated, len(got.Sources))
	}
	rs := []rune(ctxText)
	for _, s := range got.Sources {
		if string(rs[s.Start:s.End]) != s.Text {
			t.Errorf("source %d [%d:%d] is not the context's text there", s.N, s.Start, s.End)
		}
	}
	first := got.Sources[0]
	if a := got.Answers[0]; a.Start < first.Start || a.End > first.End || !strings.Contains(first.Text, "treasure") {
		t.Errorf("first source [%d:%d] does not hold the extractive answer %+v", first.Start, first.End, a)
	}
	if c := got.Generation.Citations; len(c) != 1 || c[0].Start != first.Start || c[0].End != first.End {
		t.Errorf("citations %+v", c)
	}
}

func TestGenerateFailures(t *testing.T) {
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	for _, tc := range []struct {
		name    string
		reply   generatetest.Reply
		url     string
		kind    string
		deltas  bool // some text streamed before the failure
		timeout time.Duration
	}{
		{name: "unreachable", url: closed, kind: api.GenUnreachable},
		{name: "timeout", reply: generatetest.Reply{Chunks: []string{"The tower "}, Hang: true}, kind: api.GenTimeout, deltas: true, timeout: 300 * time.Millisecond},
		{name: "slow first byte", reply: generatetest.Reply{Chunks: []string{"x"}, Delay: 5 * time.Second}, kind: api.GenTimeout, timeout: 300 * time.Millisecond},
		{name: "429", reply: generatetest.Reply{Status: 429, ErrorMessage: "slow down", Header: http.Header{"Retry-After": {"7"}}}, kind: api.GenRateLimited},
		{name: "401", reply: generatetest.Reply{Status: 401, ErrorMessage: "Incorrect API key provided"}, kind: api.GenUnauthorized},
		{name: "500", reply: generatetest.Reply{Status: 500, ErrorMessage: "boom"}, kind: api.GenUpstreamError},
		{name: "garbage chunk", reply: generatetest.Reply{Chunks: []string{"The "}, Raw: []string{"{this is not json"}}, kind: api.GenBadResponse, deltas: true},
		{name: "cut mid-stream", reply: generatetest.Reply{Chunks: []string{"The ", "tower "}, Cut: true}, kind: api.GenUpstreamError, deltas: true},
		{name: "empty answer", reply: generatetest.Reply{}, kind: api.GenBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			up := generatetest.New(t, tc.reply, tc.reply)
			url := up.URL
			if tc.url != "" {
				url = tc.url
			}
			g, err := generate.NewOpenAI(generate.Options{BaseURL: url, Model: "tiny", Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			ts := start(t, Options{Reader: reader.NewLexical(), Generator: g})
			body := `{"question":"When was it completed?","context":"` + eiffelContext + `","generate":true`
			r := do(t, "POST", ts.URL+"/v1/answer", body+"}")
			check := func(what string, status int, raw []byte) {
				t.Helper()
				if status != 200 {
					t.Fatalf("%s: %d %s", what, status, raw)
				}
				var got api.GeneratedAnswer
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatal(err)
				}
				e := got.GenerationError
				if got.Generated || got.Generation != nil || e == nil || e.Kind != tc.kind || e.Message == "" || e.Fix == "" {
					t.Errorf("%s: %s", what, raw)
				}
				if len(got.Answers) == 0 || got.Answers[0].Answer != "It was completed in 1889 for the World's Fair." {
					t.Errorf("%s: no extractive answer: %s", what, raw)
				}
				if tc.kind == api.GenRateLimited && e.RetryAfterSeconds != 7 {
					t.Errorf("%s: retry after %v, want 7", what, e.RetryAfterSeconds)
				}
			}
			check("plain", r.status, r.body)
			sr, events := readStream(t, ts.URL+"/v1/answer", body+`,"stream":true}`)
			text, done := checkStream(t, sr, events)
			check("streamed", 200, done)
			if tc.deltas != (text != "") {
				t.Errorf("streamed text %q before the failure", text)
			}
			sameResponse(t, "streamed vs not", r.body, done)
		})
	}
}

func TestGenerateClientDisconnectCancelsUpstream(t *testing.T) {
	hang := generatetest.Reply{Chunks: []string{"The ", "tower "}, Hang: true}
	ts, up := startGen(t, time.Minute, hang, hang)
	body := `{"question":"When was it completed?","context":"` + eiffelContext + `","generate":true`

	// Streamed: leave after the first delta.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/answer", strings.NewReader(body+`,"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "event: delta") {
	}
	cancel()
	resp.Body.Close()
	waitUntil(t, "the upstream to see the stream's client leave", func() bool { return up.Gone() == 1 })

	// Not streamed: leave while the upstream hangs.
	ctx2, cancel2 := context.WithCancel(context.Background())
	req2, _ := http.NewRequestWithContext(ctx2, "POST", ts.URL+"/v1/answer", strings.NewReader(body+"}"))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req2)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitUntil(t, "the second upstream request", func() bool { return len(up.Requests()) == 2 })
	cancel2()
	<-errc
	waitUntil(t, "the upstream to see the client leave", func() bool { return up.Gone() == 2 })
	waitUntil(t, "the server to log the streamed client leaving", func() bool {
		return strings.Contains(ts.logs.String(), "client closed the event stream")
	})
}

func TestGenerateRefusedBeforeStream(t *testing.T) {
	ts, up := startGen(t, time.Minute)
	for _, tc := range []struct{ path, body, code string }{
		{"/v1/answer", `{"question":"q","generate":true,"stream":true}`, api.CodeMissingField},
		{"/v1/answer", `{"question":"q","context":"c","stream":true}`, api.CodeInvalidParameter},
		{"/v1/answer", `{"question":"q","context":"c","generate":"yes"}`, api.CodeWrongType},
		{"/api/ask", `{"inputs":[{"question":"q","context":"c"},{"question":"q2","context":"c"}],"generate":true,"stream":true}`, api.CodeInvalidParameter},
		{"/api/ask", `{"question":"q","context":"c","generate":true,"stream":true,"top_k":0}`, api.CodeInvalidParameter},
		{"/api/ask", `{"question":"q","collection":"none","generate":true,"stream":true}`, api.CodeNotFound},
	} {
		r := do(t, "POST", ts.URL+tc.path, tc.body)
		if e := errorOf(t, r); r.status/100 != 4 || e.Code != tc.code {
			t.Errorf("%s %s: %d %s, want code %s", tc.path, tc.body, r.status, r.body, tc.code)
		}
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("%d upstream requests for refused questions", n)
	}
}

func TestGenerateCollection(t *testing.T) {
	ts := startKB(t)
	answer := "HuggingFace was founded in Paris [1]. Its café is famous [2]."
	up := generatetest.New(t)
	up.Always(func(generatetest.Request) generatetest.Reply {
		return generatetest.Reply{Chunks: generatetest.Words(answer)}
	})
	g, err := generate.NewOpenAI(generate.Options{BaseURL: up.URL, Model: "tiny", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts.opts.Generator = g // before any request: the server reads it per request
	base := ts.URL + "/v1/collections"
	files := map[string]string{
		"paris.md":  "# Hugging Face\n\nHuggingFace — a café start-up — was founded in Paris. Its café serves crème brûlée.\n\nThe company later moved to New York.",
		"rivers.md": "# Rivers\n\nThe Seine flows through Paris, past the café terraces.",
	}
	if r := upload(t, base+"/docs/documents", files); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	for _, url := range []string{base + "/docs/ask", ts.URL + "/api/ask"} {
		body := `{"question":"Where was HuggingFace founded, near which café in Paris?","mode":"lexical","generate":true`
		if strings.HasSuffix(url, "/api/ask") {
			body += `,"collection":"docs"`
		}
		r := do(t, "POST", url, body+"}")
		got := decode[api.GeneratedCollectionAsk](t, r)
		if !got.Generated || got.Generation.Text != answer || got.NoAnswer || !strings.Contains(got.Answer, "Paris") {
			t.Fatalf("%s: %s", url, r.body)
		}
		if len(got.Sources) != len(got.Passages) || len(got.Sources) < 2 {
			t.Fatalf("%s: %d sources for %d passages", url, len(got.Sources), len(got.Passages))
		}
		for i, s := range got.Sources {
			doc := decode[api.Document](t, do(t, "GET", base+"/docs/documents/"+s.DocumentID, ""))
			if s.N != i+1 || s.Collection != "docs" || s.DocumentID != got.Passages[i].DocID || string([]rune(doc.Text)[s.Start:s.End]) != s.Text {
				t.Errorf("%s: source %+v is not its document's text at those characters", url, s)
			}
		}
		if c := got.Generation.Citations; len(c) != 2 || c[0].DocumentID != got.Sources[0].DocumentID || c[1].Passage != 1 || c[1].Start != got.Sources[1].Start {
			t.Errorf("%s: citations %+v for sources %+v", url, c, got.Sources)
		}
		sr, events := readStream(t, url, body+`,"stream":true}`)
		text, done := checkStream(t, sr, events)
		if text != answer {
			t.Errorf("%s: streamed %q", url, text)
		}
		sameResponse(t, url+" streamed vs not", r.body, done)
	}
	// Nothing retrieved: no generation, and no upstream call.
	n := len(up.Requests())
	got := decode[api.GeneratedCollectionAsk](t, do(t, "POST", base+"/docs/ask", `{"question":"zebra xylophone","mode":"lexical","generate":true}`))
	if got.Generated || got.GenerationError == nil || got.GenerationError.Kind != api.GenNoPassages || len(up.Requests()) != n {
		t.Errorf("nothing retrieved: %+v", got)
	}
}

func TestGenerateGoClient(t *testing.T) {
	answer := "Completed in 1889 [1]."
	ts, _ := startGen(t, 10*time.Second, generatetest.Reply{Chunks: generatetest.Words(answer)})
	c, err := api.NewClient(ts.URL, api.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var text strings.Builder
	got, err := c.AnswerStream(context.Background(), api.AnswerRequest{Question: "When was it completed?", Context: eiffelContext}, func(e api.Event) error {
		names = append(names, e.Name)
		if e.Name == api.EventDelta {
			var d api.DeltaEvent
			json.Unmarshal(e.Data, &d)
			text.WriteString(d.Text)
		}
		return nil
	})
	if err != nil || !got.Generated || got.Generation.Text != answer || text.String() != answer || names[0] != "sources" || names[len(names)-1] != "done" {
		t.Errorf("AnswerStream: %+v %v; events %v, text %q", got, err, names, text.String())
	}
	_, err = c.AnswerStream(context.Background(), api.AnswerRequest{Question: "q"}, nil)
	if e, ok := err.(*api.Error); !ok || e.Status != 400 || e.Code != api.CodeEmptyField {
		t.Errorf("refused request: %v", err)
	}
}

// TestOpenAPIGeneration checks that the document describes the generated
// answers as the api package defines them: every field of each type, every
// error kind, the request flags and the event stream on the three routes.
func TestOpenAPIGeneration(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIJSON, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	props := func(name string) map[string]any {
		s, _ := schemas[name].(map[string]any)
		p, _ := s["properties"].(map[string]any)
		if p == nil {
			t.Fatalf("schema %s has no properties", name)
		}
		return p
	}
	for name, v := range map[string]any{"Source": api.Source{}, "GeneratedCitation": api.GeneratedCitation{}, "Usage": api.Usage{},
		"Generation": api.Generation{}, "GenerationError": api.GenerationError{}, "GenerationFields": api.GenerationFields{},
		"SourcesEvent": api.SourcesEvent{}, "DeltaEvent": api.DeltaEvent{}} {
		p := props(name)
		typ := reflect.TypeOf(v)
		for i := 0; i < typ.NumField(); i++ {
			tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if _, ok := p[tag]; !ok {
				t.Errorf("schema %s lacks %q", name, tag)
			}
		}
		if len(p) != typ.NumField() {
			t.Errorf("schema %s has %d properties, api.%s %d fields", name, len(p), typ.Name(), typ.NumField())
		}
	}
	kinds := props("GenerationError")["kind"].(map[string]any)["enum"].([]any)
	for _, k := range []string{api.GenUnreachable, api.GenTimeout, api.GenRateLimited, api.GenUnauthorized, api.GenBadRequest,
		api.GenUpstreamError, api.GenBadResponse, api.GenCanceled, api.GenNotConfigured, api.GenNoPassages} {
		found := false
		for _, x := range kinds {
			found = found || x == k
		}
		if !found {
			t.Errorf("generation error kind %q missing", k)
		}
	}
	for _, name := range []string{"AnswerRequest", "CollectionAskRequest"} {
		if p := props(name); p["generate"] == nil || p["stream"] == nil {
			t.Errorf("%s lacks generate/stream", name)
		}
	}
	paths := doc["paths"].(map[string]any)
	for _, path := range []string{"/api/ask", "/v1/answer", "/v1/collections/{collection}/ask"} {
		ok200 := paths[path].(map[string]any)["post"].(map[string]any)["responses"].(map[string]any)["200"].(map[string]any)
		es, _ := ok200["content"].(map[string]any)["text/event-stream"].(map[string]any)
		if es == nil || es["x-events"] == nil {
			t.Errorf("%s: no text/event-stream response", path)
		}
	}
}

// TestGenerateRealServer asks through /api/ask with generate and stream
// against a real OpenAI-compatible server: .ci/llm.sh starts
// `transformers serve` with a tiny random GPT-2 and exports
// ASK_TEST_LLM_URL and ASK_TEST_LLM_MODEL. Its text is gibberish; what is
// checked is the protocol end to end: streamed deltas that make the text,
// the stop reason, the extractive answer beside it, and the fallbacks.
func TestGenerateRealServer(t *testing.T) {
	url, model := os.Getenv("ASK_TEST_LLM_URL"), os.Getenv("ASK_TEST_LLM_MODEL")
	if url == "" || model == "" {
		t.Skip("ASK_TEST_LLM_URL/ASK_TEST_LLM_MODEL unset: no real OpenAI-compatible server to test against " +
			"(source .ci/llm.sh to start transformers serve with a tiny random model)")
	}
	g, err := generate.NewOpenAI(generate.Options{BaseURL: url, Model: model, Timeout: 2 * time.Minute, MaxTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	ts := start(t, Options{Reader: reader.NewLexical(), Generator: g})
	body := `{"question":"When was it completed?","context":"` + eiffelContext + `","generate":true`
	sr, events := readStream(t, ts.URL+"/api/ask", body+`,"stream":true}`)
	text, done := checkStream(t, sr, events)
	var got api.GeneratedAsk
	if err := json.Unmarshal(done, &got); err != nil {
		t.Fatal(err)
	}
	if !got.Generated || got.Generation.Text != text || text == "" || got.Answer.Answer != "It was completed in 1889 for the World's Fair." {
		t.Fatalf("streamed %q; done %s", text, done)
	}
	if g := got.Generation; (g.FinishReason != "length" && g.FinishReason != "stop") || g.Model == "" || g.TimeToFirstTokenMS <= 0 {
		t.Errorf("generation %+v", g)
	}
	t.Logf("%d deltas, finish %q, first token %.0f ms, total %.0f ms, usage %+v", len(events)-2,
		got.Generation.FinishReason, got.Generation.TimeToFirstTokenMS, got.Generation.TotalMS, got.Generation.Usage)
	// Not streamed, the same shape.
	plain := decode[api.GeneratedAsk](t, do(t, "POST", ts.URL+"/api/ask", body+"}"))
	if !plain.Generated || plain.Generation.Text == "" {
		t.Errorf("not streamed: %+v", plain)
	}

	// The real server's failures fall back to the extractive answer.
	for _, tc := range []struct {
		name  string
		opts  generate.Options
		kinds []string
	}{
		{"timeout", generate.Options{BaseURL: url, Model: model, Timeout: time.Millisecond}, []string{api.GenTimeout}},
		{"unknown model", generate.Options{BaseURL: url, Model: "/nonexistent/model-folder", Timeout: time.Minute},
			[]string{api.GenBadRequest, api.GenUpstreamError, api.GenBadResponse}},
	} {
		bad, _ := generate.NewOpenAI(tc.opts)
		ts := start(t, Options{Reader: reader.NewLexical(), Generator: bad})
		sr, events := readStream(t, ts.URL+"/api/ask", body+`,"stream":true}`)
		_, done := checkStream(t, sr, events)
		got := api.GeneratedAsk{}
		if err := json.Unmarshal(done, &got); err != nil {
			t.Fatal(err)
		}
		if got.Generated || got.GenerationError == nil || !slices.Contains(tc.kinds, got.GenerationError.Kind) || got.Answer.Answer == "" {
			t.Errorf("%s: %s", tc.name, done)
		} else {
			t.Logf("%s: %s: %s", tc.name, got.GenerationError.Kind, got.GenerationError.Message)
		}
	}
}
