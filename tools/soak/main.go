// Command soak drives a local ask server with a mix of short questions, long
// contexts and bad requests for a bounded time, and prints every interval
// the requests done, the latency of the short ones (p50, p99, max) and the
// server's resident memory. It measures two things: whether memory is flat
// after warm-up, and whether short questions wait behind long ones. It only
// talks to loopback addresses.
//
//	go run ./tools/soak -url http://127.0.0.1:8080 -pid $(pgrep -n ask) \
//	    -duration 10m -short 4 -long 1 -bad 1
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
	"syscall"
	"time"
)

// maxDuration bounds a run, so a typo cannot leave a flood running.
const maxDuration = 30 * time.Minute

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// kind is one class of request the soak sends.
type kind struct {
	name    string
	bodies  [][]byte
	want    int // the status a correct server answers
	workers int
}

// window collects what happened during one interval.
type window struct {
	mu     sync.Mutex
	done   map[string]int
	wrong  map[string]int // unexpected statuses or transport errors
	shortD []time.Duration
	longD  []time.Duration
}

func (w *window) add(k string, ok bool, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done[k]++
	if !ok {
		w.wrong[k]++
	}
	switch k {
	case "short":
		w.shortD = append(w.shortD, d)
	case "long":
		w.longD = append(w.longD, d)
	}
}

func (w *window) take() (done, wrong map[string]int, short, long []time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	done, wrong, short, long = w.done, w.wrong, w.shortD, w.longD
	w.done, w.wrong, w.shortD, w.longD = map[string]int{}, map[string]int{}, nil, nil
	return
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	rawURL := fs.String("url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	pid := fs.Int("pid", 0, "server process id, to sample its RSS from /proc (0: no memory figures)")
	duration := fs.Duration("duration", time.Minute, "how long to run (at most 30m)")
	every := fs.Duration("every", 10*time.Second, "reporting interval")
	shortN := fs.Int("short", 4, "concurrent clients sending short questions")
	longN := fs.Int("long", 1, "concurrent clients sending long contexts")
	badN := fs.Int("bad", 1, "concurrent clients sending bad requests")
	longChars := fs.Int("long-chars", 100_000, "characters of a long context")
	jsonOut := fs.Bool("json", false, "print one JSON object per interval instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := url.Parse(*rawURL)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if ip := net.ParseIP(base.Hostname()); base.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url %s is not a loopback address: soak only loads one's own local server", *rawURL)
	}
	if *duration <= 0 || *duration > maxDuration {
		return fmt.Errorf("-duration must be in (0, %v], got %v", maxDuration, *duration)
	}
	for _, n := range []int{*shortN, *longN, *badN} {
		if n < 0 || n > 64 {
			return fmt.Errorf("client counts must be in [0,64], got %d", n)
		}
	}
	kinds := []kind{
		{name: "short", bodies: shortBodies(), want: http.StatusOK, workers: *shortN},
		{name: "long", bodies: [][]byte{longBody(*longChars)}, want: http.StatusOK, workers: *longN},
		{name: "bad", bodies: badBodies(), want: 0, workers: *badN}, // any 4xx
	}
	endpoint := base.JoinPath("/api/ask").String()
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()

	w := &window{done: map[string]int{}, wrong: map[string]int{}}
	var wg sync.WaitGroup
	for _, k := range kinds {
		for c := range k.workers {
			wg.Go(func() {
				for i := c; ctx.Err() == nil; i += k.workers {
					body := k.bodies[i%len(k.bodies)]
					t0 := time.Now()
					status, err := post(ctx, client, endpoint, body)
					if ctx.Err() != nil {
						return // cut by the end of the run: not the server's fault
					}
					ok := err == nil && (status == k.want || (k.want == 0 && status >= 400 && status < 500))
					w.add(k.name, ok, time.Since(t0))
				}
			})
		}
	}

	start := time.Now()
	tick := time.NewTicker(*every)
	defer tick.Stop()
	var allShort []time.Duration
	totals := map[string]int{}
	report := func(final bool) {
		done, wrong, short, long := w.take()
		allShort = append(allShort, short...)
		for k, n := range done {
			totals[k] += n
		}
		rss := rssKB(*pid)
		line := map[string]any{
			"t_s": int(time.Since(start).Seconds()), "rss_mb": float64(rss) / 1024,
			"done": done, "wrong": wrong,
			"short_p50_ms": pct(short, 50), "short_p99_ms": pct(short, 99), "short_max_ms": pct(short, 100),
			"long_p50_ms": pct(long, 50),
		}
		if final {
			line = map[string]any{"final": true, "t_s": int(time.Since(start).Seconds()), "rss_mb": float64(rss) / 1024,
				"totals": totals, "short_p50_ms": pct(allShort, 50), "short_p99_ms": pct(allShort, 99), "short_max_ms": pct(allShort, 100)}
		}
		if *jsonOut {
			b, _ := json.Marshal(line)
			fmt.Fprintln(out, string(b))
			return
		}
		if final {
			fmt.Fprintf(out, "total %ds: %v; short p50 %.0f ms, p99 %.0f ms, max %.0f ms; rss %.1f MB\n",
				line["t_s"], totals, pct(allShort, 50), pct(allShort, 99), pct(allShort, 100), float64(rss)/1024)
			return
		}
		fmt.Fprintf(out, "t=%4ds rss %6.1f MB  done %v wrong %v  short p50 %5.0f p99 %5.0f max %5.0f ms  long p50 %6.0f ms\n",
			line["t_s"], float64(rss)/1024, done, wrong, pct(short, 50), pct(short, 99), pct(short, 100), pct(long, 50))
	}
	for {
		select {
		case <-tick.C:
			report(false)
			continue
		case <-ctx.Done():
		}
		break
	}
	wg.Wait()
	report(true)
	if errors.Is(ctx.Err(), context.Canceled) {
		return errors.New("interrupted")
	}
	return nil
}

func post(ctx context.Context, c *http.Client, endpoint string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// pct is the p-th percentile of ds in milliseconds (p=100: the maximum).
func pct(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, (len(s)*p)/100)
	return float64(s[i].Microseconds()) / 1000
}

// rssKB reads VmRSS of pid from /proc (Linux); 0 when unknown.
func rssKB(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// The texts are written here, so the soak needs no data files.
var paragraphs = []struct{ context, question string }{
	{"Super Bowl 50 was an American football game to determine the champion of the National Football League (NFL) for the 2015 season. The American Football Conference (AFC) champion Denver Broncos defeated the National Football Conference (NFC) champion Carolina Panthers 24–10 to earn their third Super Bowl title. The game was played on February 7, 2016, at Levi's Stadium in the San Francisco Bay Area at Santa Clara, California.",
		"Which NFL team represented the AFC at Super Bowl 50?"},
	{"The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway who, under their leader Rollo, agreed to swear fealty to King Charles III of West Francia.",
		"In what country is Normandy located?"},
	{"Nikola Tesla was a Serbian-American inventor, electrical engineer, mechanical engineer, physicist, and futurist best known for his contributions to the design of the modern alternating current (AC) electricity supply system. He was born on 10 July 1856.",
		"When was Tesla born?"},
	{"The Amazon rainforest covers much of the Amazon basin of South America. This basin encompasses seven million square kilometres, of which five and a half million square kilometres are covered by the rainforest. The majority of the forest is contained within Brazil.",
		"Which country holds most of the Amazon rainforest?"},
}

func shortBodies() [][]byte {
	var out [][]byte
	for _, p := range paragraphs {
		b, _ := json.Marshal(map[string]string{"question": p.question, "context": p.context})
		out = append(out, b)
	}
	return out
}

func longBody(chars int) []byte {
	var sb strings.Builder
	for sb.Len() < chars {
		for _, p := range paragraphs {
			sb.WriteString(p.context)
			sb.WriteString("\n\n")
		}
	}
	text := []rune(sb.String())
	b, _ := json.Marshal(map[string]string{"question": "When was Tesla born?", "context": string(text[:min(len(text), chars)])})
	return b
}

// badBodies are requests a correct server refuses with a 4xx, each for a
// different reason.
func badBodies() [][]byte {
	return [][]byte{
		[]byte(`{"question": "q", "context": `),                                 // truncated JSON
		[]byte(`{"question": "", "context": "text"}`),                           // empty question
		[]byte(`{"question": "q", "context": "c", "parameters": {"top_k": 0}}`), // out of range
		[]byte(`{"question": "q", "context": "c", "surprise": 1}`),              // unknown field
		[]byte(`[]`), // no inputs
	}
}
