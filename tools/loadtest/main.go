// Command loadtest drives a local ask server with concurrent requests and
// reports, per concurrency level, throughput, latency percentiles, errors and
// the server's memory. It only talks to loopback addresses: it is a tool for
// measuring one's own server, not for loading someone else's.
//
//	go run ./tools/loadtest -url http://127.0.0.1:8080 -n 10000 -c 1,8,32 \
//	    -squad ../shared/data/squad/dev-v1.1-public.json -pid $(pgrep -n ask)
//
// -mode kb mixes document ingest and questions over a collection, sent in
// turn to one or more replicas, and with -pg reports the database
// connections in use (see kb.go):
//
//	go run ./tools/loadtest -mode kb -url http://127.0.0.1:8081,http://127.0.0.1:8082 \
//	    -collection load -ingest-every 5 -n 2000 -c 8 -pg "$ASK_DB"
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// Bounds on what one run may ask for, so a typo cannot turn into an
// unbounded flood.
const (
	maxRequests    = 1_000_000
	maxConcurrency = 1024
	maxDuration    = 30 * time.Minute
	maxBodies      = 100_000
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	base *url.URL
	// targets are the servers requests go to in turn (base is the first).
	targets     []*url.URL
	path        string
	next        func(i int) request
	pg          *pgSampler
	n           int
	levels      []int
	bodies      [][]byte
	pid         int
	timeout     time.Duration
	maxDuration time.Duration
	warmup      int
	apiKey      string
	jsonOut     bool
}

// result is one concurrency level's measurements.
type result struct {
	Concurrency int      `json:"concurrency"`
	Requests    int      `json:"requests"`
	Errors      int      `json:"errors"`
	ErrorKinds  []string `json:"error_kinds,omitempty"`
	Seconds     float64  `json:"seconds"`
	RPS         float64  `json:"throughput_rps"`
	P50MS       float64  `json:"p50_ms"`
	P90MS       float64  `json:"p90_ms"`
	P99MS       float64  `json:"p99_ms"`
	MaxMS       float64  `json:"max_ms"`
	RSSBeforeKB int64    `json:"rss_before_kb,omitempty"`
	RSSAfterKB  int64    `json:"rss_after_kb,omitempty"`
	HWMAfterKB  int64    `json:"rss_peak_kb,omitempty"`
	Stopped     string   `json:"stopped,omitempty"`
	// Kinds splits a mixed run (-mode kb) by request kind.
	Kinds []kindResult `json:"kinds,omitempty"`
	// DB is the database's connections during the level (-pg).
	DB      *connStats `json:"db,omitempty"`
	DBError string     `json:"db_error,omitempty"`
}

// kindResult is one kind of request's share of a level.
type kindResult struct {
	Kind     string  `json:"kind"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"throughput_rps"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	client := &http.Client{
		Timeout: opts.timeout,
		Transport: &http.Transport{
			MaxIdleConns:        maxConcurrency,
			MaxIdleConnsPerHost: maxConcurrency,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
			// Never through a proxy: the target is this machine.
			Proxy: nil,
		},
	}
	defer client.CloseIdleConnections()

	var results []result
	for _, c := range opts.levels {
		if ctx.Err() != nil {
			break
		}
		// Warm up at the level's own concurrency: the server's batches, and
		// so its buffers, reach that level's size before RSS is measured.
		if opts.warmup > 0 {
			w := level(ctx, client, opts, c, opts.warmup)
			if w.Errors == w.Requests {
				fmt.Fprintf(stderr, "loadtest: every warm-up request failed (%s); is the server up at %s?\n",
					strings.Join(w.ErrorKinds, "; "), opts.base)
				return 1
			}
		}
		r := level(ctx, client, opts, c, opts.n)
		results = append(results, r)
		if !opts.jsonOut {
			fmt.Fprintf(stderr, "c=%d done: %d requests in %.1fs\n", c, r.Requests, r.Seconds)
		}
	}
	if opts.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 1
		}
		return 0
	}
	report(stdout, opts, results)
	return 0
}

func parse(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "http://127.0.0.1:8080", "server base URL (loopback only); several, comma-separated, get requests in turn")
	mode := fs.String("mode", "route", "route: POST the bodies to -path; kb: mix document ingest and questions over -collection")
	collection := fs.String("collection", "load", "kb mode: the collection to add documents to and ask")
	ingestEvery := fs.Int("ingest-every", 5, "kb mode: every Nth request adds a document (0: questions only)")
	pgURL := fs.String("pg", "", "kb mode: PostgreSQL URL of the replicas' database, to sample its connections (pg_stat_activity)")
	path := fs.String("path", "/api/ask", "route to POST to")
	n := fs.Int("n", 1000, "requests per concurrency level")
	levels := fs.String("c", "1,8,32", "comma-separated concurrency levels")
	bodyFile := fs.String("body", "", "file with one JSON request body, or JSON lines (one body per line)")
	squad := fs.String("squad", "", "SQuAD-format JSON file: one {question, context} body per question")
	pid := fs.Int("pid", 0, "server process id, to report its RSS from /proc/<pid>/status")
	timeout := fs.Duration("timeout", 30*time.Second, "per-request timeout")
	maxDur := fs.Duration("max-duration", 2*time.Minute, "stop a level after this long")
	warmup := fs.Int("warmup", 200, "requests sent at each level's concurrency before measuring it")
	apiKey := fs.String("api-key", os.Getenv("ASK_API_KEY"), "API key (default $ASK_API_KEY)")
	jsonOut := fs.Bool("json", false, "print results as JSON")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var targets []*url.URL
	for _, raw := range strings.Split(*rawURL, ",") {
		u, err := loopbackURL(strings.TrimSpace(raw))
		if err != nil {
			return nil, err
		}
		targets = append(targets, u)
	}
	base := targets[0]
	if *n < 1 || *n > maxRequests {
		return nil, fmt.Errorf("-n must be from 1 to %d", maxRequests)
	}
	if *warmup < 0 || *warmup > maxRequests {
		return nil, fmt.Errorf("-warmup must be from 0 to %d", maxRequests)
	}
	if *timeout <= 0 || *maxDur <= 0 || *maxDur > maxDuration {
		return nil, fmt.Errorf("-timeout must be positive and -max-duration from 1ns to %v", maxDuration)
	}
	var ls []int
	for _, f := range strings.Split(*levels, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 || c > maxConcurrency {
			return nil, fmt.Errorf("-c: %q is not a concurrency from 1 to %d", f, maxConcurrency)
		}
		ls = append(ls, c)
	}
	if *bodyFile != "" && *squad != "" {
		return nil, errors.New("give -body or -squad, not both")
	}
	var bodies [][]byte
	var err error
	switch {
	case *bodyFile != "":
		bodies, err = loadBodies(*bodyFile)
	case *squad != "":
		bodies, err = loadSquad(*squad)
	default:
		bodies = [][]byte{[]byte(`{"question":"Where was HuggingFace founded?","context":"HuggingFace was founded in Paris."}`)}
	}
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(*path, "/") {
		return nil, fmt.Errorf("-path %q must start with /", *path)
	}
	o := &options{base: base, targets: targets, path: *path, n: *n, levels: ls, bodies: bodies, pid: *pid, timeout: *timeout,
		maxDuration: *maxDur, warmup: *warmup, apiKey: *apiKey, jsonOut: *jsonOut}
	o.next = func(i int) request { return request{path: o.path, body: o.bodies[i%len(o.bodies)]} }
	switch *mode {
	case "route":
		if *pgURL != "" {
			return nil, errors.New("-pg goes with -mode kb")
		}
	case "kb":
		if *bodyFile != "" {
			return nil, errors.New("-mode kb makes its own bodies: give -squad (documents and questions) or nothing (synthetic ones), not -body")
		}
		if *ingestEvery < 0 || *collection == "" || strings.ContainsAny(*collection, "/?#%") {
			return nil, fmt.Errorf("-mode kb needs -ingest-every ≥ 0 and a collection name without / ? # %%")
		}
		mix, err := newKBMix(*collection, *ingestEvery, *squad)
		if err != nil {
			return nil, err
		}
		o.next = mix.request
		if *pgURL != "" {
			o.pg = &pgSampler{url: *pgURL}
		}
	default:
		return nil, fmt.Errorf("-mode %q: want route or kb", *mode)
	}
	return o, nil
}

// loopbackURL accepts only http(s) URLs whose host is a loopback IP or
// localhost resolving to loopback addresses only.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("-url %q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("-url %q: refusing a non-loopback host; loadtest only measures a server on this machine", raw)
		}
		return u, nil
	}
	if host != "localhost" {
		return nil, fmt.Errorf("-url %q: refusing host %q; use 127.0.0.1, [::1] or localhost", raw, host)
	}
	addrs, err := net.LookupHost(host)
	if err != nil {
		return nil, fmt.Errorf("-url: resolve localhost: %w", err)
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("-url: localhost resolves to %s, which is not loopback", a)
		}
	}
	return u, nil
}

// loadBodies reads one JSON body, or JSON lines when every non-empty line
// is a JSON value of its own.
func loadBodies(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-body: %w", err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) > 1 {
		all := true
		for _, l := range lines {
			all = all && json.Valid(l)
		}
		if all {
			return lines[:min(len(lines), maxBodies)], nil
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("-body %s is empty", path)
	}
	return [][]byte{data}, nil
}

// loadSquad turns a SQuAD file into request bodies, one per question.
func loadSquad(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-squad: %w", err)
	}
	var f struct {
		Data []struct {
			Paragraphs []struct {
				Context string `json:"context"`
				QAs     []struct {
					Question string `json:"question"`
				} `json:"qas"`
			} `json:"paragraphs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("-squad %s: %w", path, err)
	}
	var bodies [][]byte
	for _, a := range f.Data {
		for _, p := range a.Paragraphs {
			for _, qa := range p.QAs {
				if len(bodies) == maxBodies {
					return bodies, nil
				}
				b, err := json.Marshal(map[string]string{"question": qa.Question, "context": p.Context})
				if err != nil {
					return nil, fmt.Errorf("-squad: %w", err)
				}
				bodies = append(bodies, b)
			}
		}
	}
	if len(bodies) == 0 {
		return nil, fmt.Errorf("-squad %s holds no questions", path)
	}
	return bodies, nil
}

// level sends n requests from c workers and measures them. The workers are
// owned by this call and end before it returns: when n requests are sent,
// max-duration has passed, or ctx ends.
func level(ctx context.Context, client *http.Client, o *options, c, n int) result {
	ctx, cancel := context.WithTimeout(ctx, o.maxDuration)
	defer cancel()
	r := result{Concurrency: c}
	r.RSSBeforeKB, _ = rss(o.pid)
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	kindOf := make([]string, n)
	stopSampler := startSampler(ctx, o.pg)
	var next atomic.Int64
	var mu sync.Mutex
	kinds := map[string]int{}
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				rq := o.next(i)
				kindOf[i] = rq.kind
				target := o.targets[i%len(o.targets)].JoinPath(rq.path).String()
				t0 := time.Now()
				kind := send(ctx, client, target, o.apiKey, rq.body)
				lat[i] = time.Since(t0)
				if kind == "" {
					ok[i] = true
					continue
				}
				mu.Lock()
				kinds[strings.TrimSpace(rq.kind+" "+kind)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	db, err := stopSampler()
	if err != nil {
		r.DBError = err.Error()
	} else {
		r.DB = db
	}
	done := min(int(next.Load()), n)
	if ctx.Err() != nil && done < n {
		r.Stopped = fmt.Sprintf("stopped after %v (%d of %d requests)", o.maxDuration, done, n)
	}
	// Requests cut short by the stop are neither successes nor failures.
	var good []time.Duration
	for i := range done {
		if ok[i] {
			good = append(good, lat[i])
		}
	}
	for k, v := range kinds {
		if ctx.Err() != nil && (strings.Contains(k, context.DeadlineExceeded.Error()) || strings.Contains(k, context.Canceled.Error())) {
			continue // cut short by the stop, not failed by the server
		}
		r.Errors += v
		r.ErrorKinds = append(r.ErrorKinds, fmt.Sprintf("%s ×%d", k, v))
	}
	slices.Sort(r.ErrorKinds)
	r.Requests = len(good) + r.Errors
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.RPS = float64(len(good)) / r.Seconds
	}
	slices.Sort(good)
	r.P50MS, r.P90MS, r.P99MS = ms(percentile(good, 50)), ms(percentile(good, 90)), ms(percentile(good, 99))
	if len(good) > 0 {
		r.MaxMS = ms(good[len(good)-1])
	}
	r.RSSAfterKB, r.HWMAfterKB = rss(o.pid)
	r.Kinds = splitKinds(kindOf[:done], lat, ok, elapsed)
	return r
}

// splitKinds measures each kind of request of a mixed level (nil when all
// requests are of one kind).
func splitKinds(kindOf []string, lat []time.Duration, ok []bool, elapsed time.Duration) []kindResult {
	byKind := map[string][]int{}
	for i, k := range kindOf {
		byKind[k] = append(byKind[k], i)
	}
	if len(byKind) < 2 {
		return nil
	}
	var out []kindResult
	for k, idx := range byKind {
		kr := kindResult{Kind: k}
		var good []time.Duration
		for _, i := range idx {
			if ok[i] {
				good = append(good, lat[i])
			} else if lat[i] > 0 {
				kr.Errors++
			}
		}
		slices.Sort(good)
		kr.Requests = len(good) + kr.Errors
		if elapsed > 0 {
			kr.RPS = float64(len(good)) / elapsed.Seconds()
		}
		kr.P50MS, kr.P99MS = ms(percentile(good, 50)), ms(percentile(good, 99))
		out = append(out, kr)
	}
	slices.SortFunc(out, func(a, b kindResult) int { return strings.Compare(a.Kind, b.Kind) })
	return out
}

// send posts one body and returns "" on a 2xx, else a short error kind.
func send(ctx context.Context, client *http.Client, target, apiKey string, body []byte) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return err.Error()
	}
	// Drain so the connection is reused, as a real client would.
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return ""
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 · n)
	return sorted[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rss reads VmRSS and VmHWM (peak) in kB from /proc/<pid>/status; zeros
// when pid is 0 or unreadable.
func rss(pid int) (cur, peak int64) {
	if pid <= 0 {
		return 0, 0
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		v, _ := strconv.ParseInt(f[0], 10, 64)
		switch name {
		case "VmRSS":
			cur = v
		case "VmHWM":
			peak = v
		}
	}
	return cur, peak
}

func report(w io.Writer, o *options, results []result) {
	if o.pg != nil || len(o.targets) > 1 || (len(results) > 0 && results[0].Kinds != nil) {
		reportMixed(w, o, results)
		return
	}
	fmt.Fprintf(w, "target %s%s, %d distinct bodies, %d requests per level\n\n", o.base, o.path, len(o.bodies), o.n)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conc\trequests\terrors\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tRSS before MiB\tRSS after MiB\tpeak MiB\t")
	for _, r := range results {
		mem := "-\t-\t-\t"
		if o.pid > 0 {
			mem = fmt.Sprintf("%.1f\t%.1f\t%.1f\t", float64(r.RSSBeforeKB)/1024, float64(r.RSSAfterKB)/1024, float64(r.HWMAfterKB)/1024)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\n",
			r.Concurrency, r.Requests, r.Errors, r.RPS, r.P50MS, r.P90MS, r.P99MS, r.MaxMS, mem)
	}
	tw.Flush()
	for _, r := range results {
		if len(r.ErrorKinds) > 0 {
			fmt.Fprintf(w, "c=%d errors: %s\n", r.Concurrency, strings.Join(r.ErrorKinds, "; "))
		}
		if r.Stopped != "" {
			fmt.Fprintf(w, "c=%d %s\n", r.Concurrency, r.Stopped)
		}
		if r.DBError != "" {
			fmt.Fprintf(w, "c=%d no database figures: %s\n", r.Concurrency, r.DBError)
		}
	}
}

// reportMixed prints a kb-mode run: overall figures, each kind's, and the
// database's connections.
func reportMixed(w io.Writer, o *options, results []result) {
	var names []string
	for _, t := range o.targets {
		names = append(names, t.String())
	}
	fmt.Fprintf(w, "targets %s (in turn), %d requests per level\n\n", strings.Join(names, ", "), o.n)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conc\tkind\trequests\terrors\treq/s\tp50 ms\tp99 ms\tdb conns mean\tpeak\tactive mean\tpeak\t")
	for _, r := range results {
		db := "-\t-\t-\t-\t"
		if r.DB != nil {
			db = fmt.Sprintf("%.1f\t%d\t%.1f\t%d\t", r.DB.MeanTotal, r.DB.PeakTotal, r.DB.MeanActive, r.DB.PeakActive)
		}
		fmt.Fprintf(tw, "%d\tall\t%d\t%d\t%.1f\t%.2f\t%.2f\t%s\n", r.Concurrency, r.Requests, r.Errors, r.RPS, r.P50MS, r.P99MS, db)
		for _, k := range r.Kinds {
			fmt.Fprintf(tw, "\t%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t\t\t\t\t\n", k.Kind, k.Requests, k.Errors, k.RPS, k.P50MS, k.P99MS)
		}
	}
	tw.Flush()
	for _, r := range results {
		if len(r.ErrorKinds) > 0 {
			fmt.Fprintf(w, "c=%d errors: %s\n", r.Concurrency, strings.Join(r.ErrorKinds, "; "))
		}
		if r.Stopped != "" {
			fmt.Fprintf(w, "c=%d %s\n", r.Concurrency, r.Stopped)
		}
		if r.DBError != "" {
			fmt.Fprintf(w, "c=%d no database figures: %s\n", r.Concurrency, r.DBError)
		}
	}
}
