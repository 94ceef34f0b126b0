package generate_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/askqa/ask/generate"
	"github.com/askqa/ask/generate/generatetest"
)

// benchAnswer is a typical cited answer of 60 words, streamed a word a
// chunk.
var benchAnswer = strings.Repeat("The Eiffel Tower was completed in 1889 for the World's Fair [1]. ", 6)

func benchServer(b *testing.B) *generatetest.Server {
	srv := generatetest.New(b)
	srv.Always(func(generatetest.Request) generatetest.Reply {
		return generatetest.Reply{Chunks: generatetest.Words(benchAnswer),
			Usage: &generatetest.Usage{PromptTokens: 200, CompletionTokens: 80, TotalTokens: 280}}
	})
	return srv
}

// BenchmarkUpstreamRaw is the baseline: the same request straight to the
// fake upstream with net/http, reading the event stream to [DONE]. The
// overhead ask adds is BenchmarkGenerate minus this, in the same process.
func BenchmarkUpstreamRaw(b *testing.B) {
	srv := benchServer(b)
	prompt := generate.BuildPrompt(generate.Request{Question: "When was the tower built?", Passages: passages}, generate.PromptOptions{})
	body, _ := json.Marshal(map[string]any{
		"model": "m", "stream": true, "max_tokens": 512, "stream_options": map[string]any{"include_usage": true},
		"messages": []any{map[string]string{"role": "system", "content": prompt.System}, map[string]string{"role": "user", "content": prompt.User}},
	})
	client := &http.Client{}
	ttft := make([]time.Duration, 0, b.N)
	total := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/chat/completions", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer k")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		first := time.Duration(0)
		var text strings.Builder
		for sc.Scan() {
			line := sc.Bytes()
			if !bytes.HasPrefix(line, []byte("data: ")) || bytes.Equal(line, []byte("data: [DONE]")) {
				continue
			}
			var chunk struct {
				Choices []struct {
					Delta struct{ Content string } `json:"delta"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(line[6:], &chunk); err != nil {
				b.Fatal(err)
			}
			for _, c := range chunk.Choices {
				if c.Delta.Content != "" && first == 0 {
					first = time.Since(start)
				}
				text.WriteString(c.Delta.Content)
			}
		}
		resp.Body.Close()
		total = append(total, time.Since(start))
		ttft = append(ttft, first)
		if text.String() != benchAnswer {
			b.Fatalf("got %q", text.String())
		}
	}
	report(b, ttft, total)
}

// BenchmarkGenerate is one question through the OpenAI generator: prompt
// building, the SDK's request and stream decoding, deltas, citation checks.
func BenchmarkGenerate(b *testing.B) {
	srv := benchServer(b)
	g, err := generate.NewOpenAI(generate.Options{BaseURL: srv.URL, Model: "m", APIKey: "k"})
	if err != nil {
		b.Fatal(err)
	}
	req := generate.Request{Question: "When was the tower built?", Passages: passages}
	ttft := make([]time.Duration, 0, b.N)
	total := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		first := time.Duration(0)
		res, err := g.Generate(context.Background(), req, func(string) error {
			if first == 0 {
				first = time.Since(start)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		total = append(total, time.Since(start))
		ttft = append(ttft, first)
		if res.Answer != benchAnswer || len(res.Cited) != 6 {
			b.Fatalf("got %q with %d citations", res.Answer, len(res.Cited))
		}
	}
	report(b, ttft, total)
}

// BenchmarkCheckCitations is the citation pass alone over the benchmark's
// answer.
func BenchmarkCheckCitations(b *testing.B) {
	shown := []generate.ShownPassage{{Chars: len(passages[0].Text)}, {Chars: len(passages[1].Text)}}
	for i := 0; i < b.N; i++ {
		generate.CheckCitations(benchAnswer, passages, shown)
	}
}

// report adds the medians of the time to the first delta and of the whole
// call as metrics.
func report(b *testing.B, ttft, total []time.Duration) {
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[len(d)/2].Microseconds())
	}
	b.ReportMetric(med(ttft), "ttft-p50-µs")
	b.ReportMetric(med(total), "total-p50-µs")
}
