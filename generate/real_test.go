package generate_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/askqa/ask/generate"
)

// realServer returns the URL and model of a real OpenAI-compatible server:
// .ci/llm.sh starts `transformers serve` with a tiny random GPT-2 and
// exports ASK_TEST_LLM_URL and ASK_TEST_LLM_MODEL.
func realServer(t *testing.T) (url, model string) {
	url, model = os.Getenv("ASK_TEST_LLM_URL"), os.Getenv("ASK_TEST_LLM_MODEL")
	if url == "" || model == "" {
		t.Skip("ASK_TEST_LLM_URL/ASK_TEST_LLM_MODEL unset: no real OpenAI-compatible server to test against " +
			"(source .ci/llm.sh to start transformers serve with a tiny random model)")
	}
	return url, model
}

// TestRealServer runs the generator against a real server. The tiny
// model's text is gibberish; what is checked is the protocol: streamed
// chunks, stop reasons, the stream_options fallback, errors, timeouts.
func TestRealServer(t *testing.T) {
	url, model := realServer(t)
	g, err := generate.NewOpenAI(generate.Options{BaseURL: url, Model: model, Timeout: 2 * time.Minute, MaxTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the second call goes without stream_options at once
		var deltas []string
		res, err := g.Generate(context.Background(), generate.Request{Question: "Where is the tower?", Passages: passages},
			func(d string) error { deltas = append(deltas, d); return nil })
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		if res.Answer == "" || strings.Join(deltas, "") != res.Answer {
			t.Errorf("call %d: answer %q from deltas %q", i+1, res.Answer, deltas)
		}
		if res.FinishReason != "length" && res.FinishReason != "stop" {
			t.Errorf("call %d: finish reason %q", i+1, res.FinishReason)
		}
		if res.Model == "" || res.FirstToken <= 0 {
			t.Errorf("call %d: model %q, first token after %s", i+1, res.Model, res.FirstToken)
		}
		t.Logf("call %d: %d deltas, finish %q, model %q, usage %+v, first token %s, total %s; %d uncited sentences",
			i+1, len(deltas), res.FinishReason, res.Model, res.Usage, res.FirstToken, res.Elapsed, len(res.Uncited))
	}

	// A timeout too short for any answer.
	short, _ := generate.NewOpenAI(generate.Options{BaseURL: url, Model: model, Timeout: time.Millisecond})
	_, err = short.Generate(context.Background(), generate.Request{Question: "q", Passages: passages}, nil)
	var e *generate.Error
	if !errors.As(err, &e) || e.Kind != generate.KindTimeout {
		t.Errorf("1 ms timeout: err = %v, want %s", err, generate.KindTimeout)
	}

	// A model the server cannot load.
	bad, _ := generate.NewOpenAI(generate.Options{BaseURL: url, Model: "/nonexistent/model-folder", Timeout: time.Minute})
	_, err = bad.Generate(context.Background(), generate.Request{Question: "q", Passages: passages}, nil)
	if !errors.As(err, &e) {
		t.Fatalf("unknown model: err = %v (%T), want *generate.Error", err, err)
	}
	t.Logf("unknown model: %s: %v", e.Kind, e)
}
