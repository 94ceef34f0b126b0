package hub

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/askqa/ask/hub/hubtest"
)

// lockedBuffer is a progress writer written from the slow-answer timer.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestHangingHub: a Hub that accepts connections and never answers fails
// the pull after maxNoAnswer header timeouts, with a progress line while
// waiting and one line that says what was tried and how to fix it.
func TestHangingHub(t *testing.T) {
	srv := hubtest.New(t, hubtest.TinyModel(repoID))
	srv.AddFault(hubtest.Fault{Host: "hub", Hang: true})
	var prog lockedBuffer
	o := Options{Endpoint: srv.URL, CacheDir: t.TempDir(), RetryBase: time.Millisecond,
		HeaderTimeout: 300 * time.Millisecond, Progress: &prog}
	start := time.Now()
	_, err := Pull(context.Background(), repoID, o)
	took := time.Since(start)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	msg := err.Error()
	for _, want := range []string{"could not reach " + srv.URL, repoID + "@main", "no answer within 300ms", "after 3 attempts over",
		"HF_ENDPOINT", "HF_HUB_OFFLINE=1", "local model folder"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "context deadline") {
		t.Errorf("message is not one human line: %q", msg)
	}
	if n := srv.Count("hub", "HEAD", "config.json"); n != maxNoAnswer {
		t.Errorf("%d HEADs, want %d", n, maxNoAnswer)
	}
	if !strings.Contains(prog.String(), "waiting for "+strings.TrimPrefix(srv.URL, "http://")+" to answer (attempt 1, up to 300ms)") {
		t.Errorf("no waiting line in the progress output:\n%s", prog.String())
	}
	// Three 300ms waits plus backoff: bounded, whatever the retry count.
	if took > 5*time.Second {
		t.Errorf("gave up after %v", took)
	}
}

// TestUnreachableHub: no DNS or a refused connection gives the same kind of
// one-line message, without retrying what cannot change.
func TestUnreachableHub(t *testing.T) {
	noDNS := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}}}
	o := Options{Endpoint: "https://huggingface.co", CacheDir: t.TempDir(), RetryBase: time.Millisecond, HTTPClient: noDNS}
	_, err := Resolve(context.Background(), "org/model", o)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	want := "could not reach https://huggingface.co to download org/model@main: no such host huggingface.co (after 1 attempt over "
	if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, "HF_HUB_OFFLINE=1") ||
		!strings.HasSuffix(msg, "(and there is no folder org/model here)") {
		t.Errorf("message:\n%s\nwant it to start %q, name HF_HUB_OFFLINE=1 and say no folder was found", msg, want)
	}
}

func TestResolveLocalPaths(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Offline with a failing client: none of these may touch the network.
	o := Options{CacheDir: t.TempDir(), Offline: true, HTTPClient: hubtest.FailingClient(t)}
	for _, c := range []struct {
		ref, says string
		notExist  bool
	}{
		{file, "is a file, not a model folder", false},
		{"./models/bert-typo", "no such folder ./models/bert-typo", true},
		{"../bert-typo", "no such folder", true},
		{filepath.Join(dir, "absent"), "no such folder", true},
		{"models/bert/typo", "no such folder", true},
		{"org/name/", "no such folder", true},
		{`models\bert`, "no such folder", true},
		{"org/name", "offline mode is on", false},
		{"org/name@refs/pr/1", "offline mode is on", false},
	} {
		_, err := Resolve(context.Background(), c.ref, o)
		if err == nil || !strings.Contains(err.Error(), c.says) || errors.Is(err, fs.ErrNotExist) != c.notExist {
			t.Errorf("Resolve(%q) = %v; want it to say %q (not-exist %v)", c.ref, err, c.says, c.notExist)
		}
	}
}

func TestHeaderTimeoutFromEnv(t *testing.T) {
	o, err := OptionsFromEnv(envOf(map[string]string{"HF_HUB_ETAG_TIMEOUT": "2.5"}))
	if err != nil || o.HeaderTimeout != 2500*time.Millisecond {
		t.Errorf("HF_HUB_ETAG_TIMEOUT=2.5: %v, %v", o.HeaderTimeout, err)
	}
	if _, err := OptionsFromEnv(envOf(map[string]string{"HF_HUB_ETAG_TIMEOUT": "soon"})); err == nil || !strings.Contains(err.Error(), "HF_HUB_ETAG_TIMEOUT") {
		t.Errorf("bad HF_HUB_ETAG_TIMEOUT: %v", err)
	}
	if d := (Options{}).headerTimeout(); d != 10*time.Second {
		t.Errorf("default header timeout %v", d)
	}
	if d := (Options{HeaderTimeout: time.Minute, StallTimeout: time.Second}).headerTimeout(); d != time.Second {
		t.Errorf("header timeout above the stall timeout: %v", d)
	}
}
