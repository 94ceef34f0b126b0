package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/generate"
	"github.com/askqa/ask/generate/generatetest"
	"github.com/askqa/ask/reader"
)

// BenchmarkGenerateOverhead measures what ask adds on top of the language
// model's endpoint: each iteration asks the same question once straight
// to the upstream (net/http, the same prompt and max_tokens ask sends, its
// event stream read to the end) and once through ask (POST /v1/answer with
// generate and stream over loopback: the lexical reader's extractive
// answer, the prompt, the SDK's stream, the SSE relay, the citation check,
// the done event), in alternating order so that drift hits both alike.
// It reports p50 and p99 of the time to the first text delta and of the
// whole answer for each, and the p50 differences: ask's overhead.
//
// The upstream is the scripted fake answering a 60-word cited answer a
// word a chunk, each chunk after ASK_BENCH_LLM_DELAY (default 1ms); with
// ASK_BENCH_LLM_URL and ASK_BENCH_LLM_MODEL (or .ci/llm.sh's
// ASK_TEST_LLM_URL and ASK_TEST_LLM_MODEL) it is that real endpoint,
// answering at most 12 tokens.
//
//	go test ./server -run - -bench GenerateOverhead -benchtime 200x
func BenchmarkGenerateOverhead(b *testing.B) {
	url, model := os.Getenv("ASK_BENCH_LLM_URL"), os.Getenv("ASK_BENCH_LLM_MODEL")
	if url == "" {
		url, model = os.Getenv("ASK_TEST_LLM_URL"), os.Getenv("ASK_TEST_LLM_MODEL")
	}
	maxTokens := 12
	if url == "" {
		delay := time.Millisecond
		if v := os.Getenv("ASK_BENCH_LLM_DELAY"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				b.Fatalf("ASK_BENCH_LLM_DELAY=%q: %v", v, err)
			}
			delay = d
		}
		answer := strings.Repeat("The Eiffel Tower was completed in 1889 for the World's Fair [1]. ", 6)
		up := generatetest.New(b)
		up.Always(func(generatetest.Request) generatetest.Reply {
			return generatetest.Reply{Chunks: generatetest.Words(answer), Delay: delay,
				Usage: &generatetest.Usage{PromptTokens: 200, CompletionTokens: 80, TotalTokens: 280}}
		})
		url, model, maxTokens = up.URL, "fake", 512
		b.Logf("fake upstream: %d chunks, %v before each", len(generatetest.Words(answer))+1, delay)
	} else {
		b.Logf("real upstream %s, model %s, max_tokens %d", url, model, maxTokens)
	}
	b.Logf("CPU: avx2=%v fma=%v avx512f=%v avx512bw=%v avx512vl=%v avx512vnni=%v",
		cpu.X86.HasAVX2, cpu.X86.HasFMA, cpu.X86.HasAVX512F, cpu.X86.HasAVX512BW, cpu.X86.HasAVX512VL, cpu.X86.HasAVX512VNNI)

	g, err := generate.NewOpenAI(generate.Options{BaseURL: url, Model: model, MaxTokens: maxTokens, Timeout: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Options{Reader: reader.NewLexical(), Generator: g})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	question := "When was it completed?"
	// The direct request is the one ask sends for this question.
	prompt := g.Prompt(generate.Request{Question: question, Passages: generate.ContextPassages(g, question, eiffelContext, -1)})
	direct, _ := json.Marshal(map[string]any{"model": model, "stream": true, "max_tokens": maxTokens,
		"messages": []any{map[string]string{"role": "system", "content": prompt.System}, map[string]string{"role": "user", "content": prompt.User}}})
	through, _ := json.Marshal(map[string]any{"question": question, "context": eiffelContext, "generate": true, "stream": true})

	client := &http.Client{}
	var dFirst, dTotal, aFirst, aTotal []time.Duration
	runDirect := func() {
		first, total := timeStream(b, client, url+"/chat/completions", direct, func(line []byte) bool {
			if !bytes.HasPrefix(line, []byte("data: {")) {
				return false
			}
			var c struct {
				Choices []struct {
					Delta struct{ Content string } `json:"delta"`
				} `json:"choices"`
			}
			return json.Unmarshal(line[6:], &c) == nil && len(c.Choices) > 0 && c.Choices[0].Delta.Content != ""
		})
		dFirst, dTotal = append(dFirst, first), append(dTotal, total)
	}
	runAsk := func() {
		first, total := timeStream(b, client, ts.URL+"/v1/answer", through, func(line []byte) bool {
			return bytes.Equal(line, []byte("event: "+api.EventDelta))
		})
		aFirst, aTotal = append(aFirst, first), append(aTotal, total)
	}
	runDirect() // warm both paths' connections (and a real model)
	runAsk()
	dFirst, dTotal, aFirst, aTotal = nil, nil, nil, nil
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			runDirect()
			runAsk()
		} else {
			runAsk()
			runDirect()
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	dF50, dF99 := pct(dFirst, 50), pct(dFirst, 99)
	dT50, dT99 := pct(dTotal, 50), pct(dTotal, 99)
	aF50, aF99 := pct(aFirst, 50), pct(aFirst, 99)
	aT50, aT99 := pct(aTotal, 50), pct(aTotal, 99)
	b.ReportMetric(ms(dF50), "direct-ttft-p50-ms")
	b.ReportMetric(ms(aF50), "ask-ttft-p50-ms")
	b.ReportMetric(ms(aF50-dF50), "overhead-ttft-p50-ms")
	b.ReportMetric(ms(aT50-dT50), "overhead-total-p50-ms")
	b.ReportMetric(0, "ns/op") // the pair's time says nothing by itself
	b.Logf("%d pairs | ttft p50/p99 ms: direct %.2f/%.2f, through ask %.2f/%.2f | total p50/p99 ms: direct %.2f/%.2f, through ask %.2f/%.2f | overhead p50: ttft %.2f ms, total %.2f ms",
		len(dFirst), ms(dF50), ms(dF99), ms(aF50), ms(aF99), ms(dT50), ms(dT99), ms(aT50), ms(aT99), ms(aF50-dF50), ms(aT50-dT50))
}

// timeStream posts body to url and reads the response to its end,
// returning the time to the first line isFirst accepts and the whole time.
func timeStream(b *testing.B, client *http.Client, url string, body []byte, isFirst func([]byte) bool) (first, total time.Duration) {
	start := time.Now()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %s", url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var last []byte
	for sc.Scan() {
		if first == 0 && isFirst(sc.Bytes()) {
			first = time.Since(start)
		}
		if len(sc.Bytes()) > 0 {
			last = append(last[:0], sc.Bytes()...)
		}
	}
	total = time.Since(start)
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	if first == 0 {
		b.Fatalf("%s: no text in the stream (last line %.200s)", url, last)
	}
	if bytes.Contains(last, []byte(`"generated":false`)) {
		b.Fatalf("%s: generation failed: %.300s", url, last)
	}
	return first, total
}

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}
