package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/askqa/ask/progress"
)

// client speaks the Hub's resolve protocol. It follows redirects itself:
// the Hub answers a HEAD for a large file with a redirect to a CDN whose
// headers carry the metadata, and the Authorization header must never
// reach the CDN, so every hop is decided here rather than by net/http.
type client struct {
	opts Options
	hc   *http.Client
	prog *progress.Printer
}

func newClient(opts Options, prog *progress.Printer) *client {
	base := opts.HTTPClient
	if base == nil {
		base = opts.defaultClient()
	}
	hc := *base
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{opts: opts, hc: &hc, prog: prog}
}

// fileMeta is what a HEAD on /resolve tells about one file.
type fileMeta struct {
	Commit   string
	Etag     string // sha256 for LFS files, git blob sha1 otherwise
	Size     int64  // -1 when unknown
	Location string // where to GET the bytes
	Auth     bool   // whether Location may receive the token
}

// normalizeEtag strips the weak marker and quotes, as huggingface_hub does,
// so the etag can name a blob file.
func normalizeEtag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	return strings.Trim(s, `"`)
}

// sameOrigin reports whether a redirect stays on the host (and port and
// scheme) that received the token; anything else is a third party (a CDN,
// a storage bucket) that must not see it.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

func (c *client) newRequest(ctx context.Context, method, u string, auth bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("build request %s: %w", u, err)
	}
	// identity: sizes and Range offsets must be those of the stored bytes,
	// and net/http must not transparently gunzip.
	req.Header.Set("Accept-Encoding", "identity")
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	if auth && c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	return req, nil
}

// retryableStatus: rate limits and server-side failures are transient.
func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// transient reports whether a transport error is worth retrying: resets,
// refused connections, timeouts and bodies cut short.
func transient(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, errStalled):
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return false // a misspelt HF_ENDPOINT will not start resolving
	}
	return errors.As(err, &ne) // dial failures, resets, timeouts
}

var errStalled = errors.New("download stalled")

// etagRe bounds what a server-sent etag may be, since it names a file.
var etagRe = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`)

// backoff sleeps before retry n (0-based): RetryBase·2ⁿ capped at 8s, or
// returns early with the context's error.
func (c *client) backoff(ctx context.Context, n int, why error) error {
	d := c.opts.retryBase() << n
	if max := 8 * time.Second; d > max || d <= 0 {
		d = max
	}
	c.prog.Notef("retrying in %v after: %v", d, why)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxNoAnswer bounds the attempts of a request that got no answer at all
// (a connect or header timeout): a Hub that accepts connections and never
// answers must not hold a pull for minutes.
const maxNoAnswer = 3

// headRoundTrip sends one HEAD, retrying transient failures. Each attempt
// gets the header timeout to answer, whatever the client's own timeouts (a
// HEAD has no body, so the response outlives its attempt's context), and a
// progress note says what it waits for once half of that has passed. The
// returned response's status is not retryable, or retries ran out; a
// transport failure is an *unreachableError.
func (c *client) headRoundTrip(ctx context.Context, u string, auth bool) (*http.Response, error) {
	start := time.Now()
	noAnswer := 0
	wait := c.opts.headerTimeout()
	for n := 0; ; n++ {
		actx, cancel := context.WithTimeout(ctx, wait)
		req, err := c.newRequest(actx, http.MethodHead, u, auth)
		if err != nil {
			cancel()
			return nil, err
		}
		slow := time.AfterFunc(min(2*time.Second, wait/2), func() {
			if actx.Err() == nil {
				c.prog.Notef("waiting for %s to answer (attempt %d, up to %v)...", req.URL.Host, n+1, wait)
			}
		})
		resp, err := c.hc.Do(req)
		slow.Stop()
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if isTimeout(err) {
				noAnswer++
			}
			if !transient(err) || n >= c.opts.retries() || noAnswer >= maxNoAnswer {
				return nil, &unreachableError{url: req.URL, attempts: n + 1, elapsed: time.Since(start), wait: wait, err: err}
			}
			if berr := c.backoff(ctx, n, err); berr != nil {
				return nil, berr
			}
			continue
		}
		if retryableStatus(resp.StatusCode) && n < c.opts.retries() {
			if berr := c.backoff(ctx, n, fmt.Errorf("%s %s: HTTP %d", req.Method, req.URL.Redacted(), resp.StatusCode)); berr != nil {
				return nil, berr
			}
			continue
		}
		return resp, nil
	}
}

// drain reads a little of an unwanted body so the connection can be
// reused, then closes it.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

func statusErr(u string, resp *http.Response) *statusError {
	return &statusError{
		URL:       u,
		Status:    resp.StatusCode,
		ErrorCode: resp.Header.Get("X-Error-Code"),
		Message:   resp.Header.Get("X-Error-Message"),
		Commit:    resp.Header.Get("X-Repo-Commit"),
	}
}

// head fetches a file's metadata: HEAD /resolve, following redirects that
// stay on the Hub's origin (renamed repos) with the token, and stopping at
// the first redirect elsewhere, whose own headers describe the file.
func (c *client) head(ctx context.Context, repo, rev, file string) (fileMeta, error) {
	cur := resolveURL(c.opts.endpoint(), repo, rev, file)
	origin, err := url.Parse(cur)
	if err != nil {
		return fileMeta{}, fmt.Errorf("bad endpoint %q: %w", c.opts.endpoint(), err)
	}
	for hops := 0; hops < 10; hops++ {
		curURL, err := url.Parse(cur)
		if err != nil {
			return fileMeta{}, fmt.Errorf("bad redirect %q: %w", cur, err)
		}
		auth := sameOrigin(origin, curURL)
		resp, err := c.headRoundTrip(ctx, cur, auth)
		if err != nil {
			return fileMeta{}, err
		}
		loc := resp.Header.Get("Location")
		isRedirect := resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != ""
		switch {
		case isRedirect:
			next, err := curURL.Parse(loc)
			if err != nil {
				return fileMeta{}, fmt.Errorf("HEAD %s: bad Location %q: %w", cur, loc, err)
			}
			if sameOrigin(origin, next) {
				cur = next.String()
				continue
			}
			return metaFrom(resp, cur, next.String(), false, true)
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return metaFrom(resp, cur, cur, auth, false)
		default:
			return fileMeta{}, statusErr(cur, resp)
		}
	}
	return fileMeta{}, fmt.Errorf("HEAD %s: too many redirects", resolveURL(c.opts.endpoint(), repo, rev, file))
}

func metaFrom(resp *http.Response, from, loc string, auth, redirect bool) (fileMeta, error) {
	m := fileMeta{
		Commit:   resp.Header.Get("X-Repo-Commit"),
		Location: loc,
		Auth:     auth,
		Size:     -1,
	}
	etag := resp.Header.Get("X-Linked-Etag")
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	m.Etag = normalizeEtag(etag)
	size := resp.Header.Get("X-Linked-Size")
	if size == "" && !redirect {
		size = resp.Header.Get("Content-Length")
	}
	if size != "" {
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil || n < 0 {
			return m, fmt.Errorf("%w: HEAD %s: bad size %q", ErrProtocol, from, size)
		}
		m.Size = n
	}
	if m.Commit == "" {
		return m, fmt.Errorf("%w: HEAD %s has no X-Repo-Commit header: check that HF_ENDPOINT points to a Hub (or a Hub mirror) and your proxy settings", ErrProtocol, from)
	}
	if !IsCommit(m.Commit) {
		return m, fmt.Errorf("%w: HEAD %s: X-Repo-Commit %q is not a commit sha", ErrProtocol, from, m.Commit)
	}
	if m.Etag == "" {
		return m, fmt.Errorf("%w: HEAD %s has no ETag, so the download could not be verified or cached", ErrProtocol, from)
	}
	if !etagRe.MatchString(m.Etag) {
		return m, fmt.Errorf("%w: HEAD %s: ETag %q cannot name a cache file", ErrProtocol, from, m.Etag)
	}
	return m, nil
}
