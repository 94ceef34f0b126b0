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
