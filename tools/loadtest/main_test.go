package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://[::1]:1", "http://localhost:9", "https://127.0.0.2"} {
		if _, err := loopbackURL(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:8080", "http://example.com", "http://0.0.0.0:8080", "ftp://127.0.0.1", "http://[::]:1"} {
		if _, err := loopbackURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if percentile(d, 50) != 50*time.Millisecond || percentile(d, 99) != 99*time.Millisecond || percentile(d, 90) != 90*time.Millisecond {
		t.Errorf("p50 %v p90 %v p99 %v", percentile(d, 50), percentile(d, 90), percentile(d, 99))
	}
	if percentile(d[:1], 99) != time.Millisecond || percentile(nil, 50) != 0 {
		t.Error("edge cases")
	}
}

func TestBoundsAndInputs(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "0"}, {"-n", "2000000"}, {"-c", "0"}, {"-c", "1,x"}, {"-c", "5000"},
		{"-url", "http://192.168.1.1"}, {"-body", "a", "-squad", "b"}, {"-body", "/no/such/file"},
		{"-max-duration", "2h"}, {"-path", "api/ask"},
	} {
		if _, err := parse(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	dir := t.TempDir()
	lines := filepath.Join(dir, "bodies.jsonl")
	os.WriteFile(lines, []byte("{\"a\":1}\n\n{\"b\":2}\n"), 0o644)
	if b, err := loadBodies(lines); err != nil || len(b) != 2 {
		t.Errorf("json lines: %d %v", len(b), err)
	}
	one := filepath.Join(dir, "body.json")
	os.WriteFile(one, []byte("{\n \"question\": \"q\",\n \"context\": \"c\"\n}\n"), 0o644)
	if b, err := loadBodies(one); err != nil || len(b) != 1 {
		t.Errorf("pretty-printed body: %d %v", len(b), err)
	}
}

// A run against a real loopback server: every level reports, errors are
// counted by kind, and the RSS of a given pid is read.
func TestRunAgainstServer(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if r.Method != "POST" || r.URL.Path != "/api/ask" || r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(400)
			return
		}
		if n%10 == 0 {
			w.WriteHeader(429)
			return
		}
		io.WriteString(w, `{"answer":"x"}`)
	}))
	defer srv.Close()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-url", srv.URL, "-n", "50", "-c", "1,4", "-warmup", "0",
		"-api-key", "k", "-pid", strconv.Itoa(os.Getpid()), "-json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var results []result
	if err := json.Unmarshal(out.Bytes(), &results); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(results) != 2 || results[1].Concurrency != 4 {
		t.Fatalf("results %+v", results)
	}
	for _, r := range results {
		if r.Requests != 50 || r.Errors != 5 || r.RPS <= 0 || r.P50MS <= 0 || r.P99MS < r.P50MS || r.RSSAfterKB <= 0 {
			t.Errorf("result %+v", r)
		}
		if len(r.ErrorKinds) != 1 || !strings.Contains(r.ErrorKinds[0], "HTTP 429") {
			t.Errorf("error kinds %q", r.ErrorKinds)
		}
	}
	out.Reset()
	if code := run(context.Background(), []string{"-url", srv.URL, "-n", "5", "-c", "2", "-warmup", "1", "-api-key", "k"}, &out, &errOut); code != 0 {
		t.Fatalf("table run: exit %d", code)
	}
	if !strings.Contains(out.String(), "p99 ms") {
		t.Errorf("table:\n%s", out.String())
	}
}

// The kb mode against two fake replicas: requests alternate between them,
// every ingest-every'th is a document with an id of its own, the rest are
// questions, and each kind is reported.
func TestKBMode(t *testing.T) {
	var mu sync.Mutex
	ids := map[string]bool{}
	var perServer [2]atomic.Int64
	handler := func(n int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			perServer[n].Add(1)
			body, _ := io.ReadAll(r.Body)
			switch r.URL.Path {
			case "/v1/collections/load/documents":
				var req struct {
					Documents []struct{ ID, Text string } `json:"documents"`
				}
				if json.Unmarshal(body, &req) != nil || len(req.Documents) != 1 || req.Documents[0].Text == "" {
					w.WriteHeader(400)
					return
				}
				mu.Lock()
				dup := ids[req.Documents[0].ID]
				ids[req.Documents[0].ID] = true
				mu.Unlock()
				if dup {
					w.WriteHeader(409)
					return
				}
				w.WriteHeader(201)
			case "/v1/collections/load/ask":
				var req struct{ Question string }
				if json.Unmarshal(body, &req) != nil || req.Question == "" {
					w.WriteHeader(400)
					return
				}
				io.WriteString(w, `{"answer":"x"}`)
			default:
				w.WriteHeader(404)
			}
		}
	}
	a, b := httptest.NewServer(handler(0)), httptest.NewServer(handler(1))
	defer a.Close()
	defer b.Close()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-mode", "kb", "-url", a.URL + "," + b.URL, "-n", "100", "-c", "4",
		"-warmup", "0", "-ingest-every", "5", "-json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var results []result
	if err := json.Unmarshal(out.Bytes(), &results); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	r := results[0]
	if r.Requests != 100 || r.Errors != 0 || len(r.Kinds) != 2 {
		t.Fatalf("result %+v", r)
	}
	if k := r.Kinds; k[0].Kind != "ask" || k[0].Requests != 80 || k[1].Kind != "ingest" || k[1].Requests != 20 {
		t.Errorf("kinds %+v", k)
	}
	if len(ids) != 20 || perServer[0].Load() != 50 || perServer[1].Load() != 50 {
		t.Errorf("%d distinct documents, %d and %d requests per server", len(ids), perServer[0].Load(), perServer[1].Load())
	}
	for _, args := range [][]string{{"-mode", "x"}, {"-mode", "kb", "-body", "f"}, {"-pg", "postgres://x"}, {"-mode", "kb", "-collection", "a/b"}} {
		if _, err := parse(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
