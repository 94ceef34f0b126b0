package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/askqa/ask/progress"
)

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// fetchBlob makes blobs/{etag} exist, downloading it if needed, under the
// per-etag lock shared with huggingface_hub. The caller links the pointer.
func (c *client) fetchBlob(ctx context.Context, cacheDir, repo, file string, m fileMeta) (downloaded int64, err error) {
	dir := repoDir(cacheDir, repo)
	blob := filepath.Join(dir, "blobs", m.Etag)
	if exists(blob) {
		return 0, nil
	}
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return 0, fmt.Errorf("create %s: %w", filepath.Dir(blob), err)
	}
	unlock, err := lockFile(ctx, lockPath(cacheDir, repo, m.Etag), func() {
		c.prog.Notef("%s: waiting for another download of the same file to finish", file)
	})
	if err != nil {
		return 0, err
	}
	defer unlock()
	if exists(blob) { // the other holder of the lock finished it
		return 0, nil
	}
	c.warnSpace(filepath.Dir(blob), blob+".incomplete", m.Size)

	n, err := c.downloadVerified(ctx, blob, file, m)
	if errors.Is(err, ErrChecksum) {
		// A corrupted transfer (or a bad resume) is discarded and fetched
		// once more from scratch; twice in a row is not chance.
		c.prog.Notef("%s: %v; downloading again", file, err)
		var n2 int64
		n2, err = c.downloadVerified(ctx, blob, file, m)
		n += n2
	}
	if err != nil {
		return n, err
	}
	return n, nil
}

// downloadVerified downloads into {blob}.incomplete (resuming what a
// previous run left there), checks size and, for LFS files whose etag is a
// sha256, the content hash, then renames it into place. On a mismatch the
// partial file is removed.
func (c *client) downloadVerified(ctx context.Context, blob, file string, m fileMeta) (int64, error) {
	inc := blob + ".incomplete"
	n, err := c.download(ctx, inc, file, m)
	if err != nil {
		return n, err
	}
	size, sum, err := hashFile(inc)
	if err != nil {
		return n, fmt.Errorf("verify %s: %w", file, err)
	}
	if m.Size >= 0 && size != m.Size {
		os.Remove(inc)
		return n, fmt.Errorf("%w: %s is %d bytes, the Hub announced %d; partial download discarded", ErrChecksum, file, size, m.Size)
	}
	if sha256Re.MatchString(m.Etag) && sum != m.Etag {
		os.Remove(inc)
		return n, fmt.Errorf("%w: %s has sha256 %s, the Hub announced %s; download discarded (a proxy or the network corrupted it)", ErrChecksum, file, sum, m.Etag)
	}
	if err := os.Chmod(inc, 0o644); err != nil {
		return n, fmt.Errorf("finish %s: %w", file, err)
	}
	if err := os.Rename(inc, blob); err != nil {
		return n, fmt.Errorf("finish %s: %w", file, err)
	}
	return n, nil
}

func hashFile(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// warnSpace warns (it does not fail: some filesystems report nonsense)
// when the cache's filesystem has less room than the rest of the file needs.
func (c *client) warnSpace(dir, inc string, size int64) {
	if size <= 0 {
		return
	}
	free, ok := freeSpace(dir)
	if !ok {
		return
	}
	need := size
	if fi, err := os.Stat(inc); err == nil {
		need -= fi.Size()
	}
	if free >= 0 && free < need {
		c.prog.Notef("warning: %s needs %s more but only %s is free under %s", filepath.Base(inc), progress.Bytes(need), progress.Bytes(free), dir)
	}
}

// download fetches m.Location into path, appending to what is there with a
// Range request, retrying transient failures (each retry resumes where the
// last one stopped). It returns the bytes received.
func (c *client) download(ctx context.Context, path, file string, m fileMeta) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, fmt.Errorf("download %s: %w", file, diskErr(err, path))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("download %s: %w", file, err)
	}
	have := fi.Size()
	if m.Size >= 0 && have > m.Size {
		if err := f.Truncate(0); err != nil {
			return 0, fmt.Errorf("download %s: %w", file, err)
		}
		have = 0
	}
	b := startBar(c.prog, file, m.Size, have)
	defer b.finish()

	var got int64
	for n := 0; ; n++ {
		if m.Size >= 0 && have == m.Size {
			return got, nil
		}
		k, done, err := c.getOnce(ctx, f, have, file, m, b)
		got += k
		if done != nil {
			have = *done + k
		} else {
			have += k
		}
		if err == nil {
			return got, nil
		}
		if ctx.Err() != nil {
			return got, fmt.Errorf("download %s: %w", file, ctx.Err())
		}
		var se *statusError
		retry := transient(err) || (errors.As(err, &se) && retryableStatus(se.Status))
		if !retry || n >= c.opts.retries() {
			return got, fmt.Errorf("download %s (%d of %s received; run again to resume): %w", file, have, formatTotal(m.Size), err)
		}
		if berr := c.backoff(ctx, n, fmt.Errorf("%s at %s of %s: %w", file, progress.Bytes(have), formatTotal(m.Size), err)); berr != nil {
			return got, fmt.Errorf("download %s: %w", file, berr)
		}
	}
}

// getOnce sends one GET from offset have. It returns the bytes appended,
// and, when the file had to restart from zero, the new length.
func (c *client) getOnce(ctx context.Context, f *os.File, have int64, file string, m fileMeta, b *bar) (int64, *int64, error) {
	// A watchdog cancels the request when no byte arrives for
	// StallTimeout; the timer is stopped before returning.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Until the headers arrive, the wait is the (shorter) header timeout.
	stall := c.opts.stallTimeout()
	watchdog := time.AfterFunc(c.opts.headerTimeout(), cancel)
	defer watchdog.Stop()

	resp, err := c.get(rctx, m, have)
	if err != nil {
		return 0, nil, stalledOr(ctx, rctx, err)
	}
	defer resp.Body.Close()

	var restarted *int64
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			// The server answered another range; start over rather than
			// splice bytes from the wrong offset.
			if err := restart(f, b); err != nil {
				return 0, nil, err
			}
			zero := int64(0)
			return 0, &zero, fmt.Errorf("GET %s: unexpected Content-Range %q for offset %d: %w", file, resp.Header.Get("Content-Range"), have, io.ErrUnexpectedEOF)
		}
	case resp.StatusCode == http.StatusOK:
		if have > 0 { // Range ignored: the body is the whole file
			if err := restart(f, b); err != nil {
				return 0, nil, err
			}
			zero := int64(0)
			restarted = &zero
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		// What we have is at least as long as the file: let verification
		// decide, or start over if the size says it is too short.
		if m.Size < 0 || have >= m.Size {
			return 0, nil, nil
		}
		if err := restart(f, b); err != nil {
			return 0, nil, err
		}
		zero := int64(0)
		return 0, &zero, fmt.Errorf("GET %s: range not satisfiable at %d of %d: %w", file, have, m.Size, io.ErrUnexpectedEOF)
	default:
		return 0, nil, statusErr(m.Location, resp)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return 0, restarted, fmt.Errorf("download %s: %w", file, err)
	}

	body := io.Reader(&watchedReader{r: resp.Body, t: watchdog, d: stall})
	if m.Size >= 0 {
		// One byte of slack detects a body longer than announced.
		rest := m.Size + 1
		if restarted == nil {
			rest -= have
		}
		body = io.LimitReader(body, rest)
	}
	n, err := io.Copy(io.MultiWriter(fileWriter{f}, b), body)
	if err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return n, restarted, fmt.Errorf("download %s: %w", file, diskErr(we.err, f.Name()))
		}
		return n, restarted, stalledOr(ctx, rctx, err)
	}
	if resp.ContentLength >= 0 && n < resp.ContentLength {
		return n, restarted, io.ErrUnexpectedEOF
	}
	return n, restarted, nil
}

// get sends the GET for a blob from offset have, following redirects
// (storage backends may bounce a signed URL once more); the token goes
// only to the origin it was meant for.
func (c *client) get(ctx context.Context, m fileMeta, have int64) (*http.Response, error) {
	origin, err := url.Parse(m.Location)
	if err != nil {
		return nil, fmt.Errorf("bad download URL %q: %w", m.Location, err)
	}
	cur := origin
	for hops := 0; ; hops++ {
		req, err := c.newRequest(ctx, http.MethodGet, cur.String(), m.Auth && sameOrigin(origin, cur))
		if err != nil {
			return nil, err
		}
		if have > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, err
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			return resp, nil
		}
		drain(resp)
		if hops >= 10 {
			return nil, fmt.Errorf("GET %s: too many redirects", origin.Redacted())
		}
		if cur, err = cur.Parse(loc); err != nil {
			return nil, fmt.Errorf("GET %s: bad Location %q: %w", origin.Redacted(), loc, err)
		}
	}
}

// writeError marks a failure of the local file (not the network) inside
// io.Copy, so it is not mistaken for a cut transfer and retried.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

type fileWriter struct{ f *os.File }

func (w fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		return n, &writeError{err}
	}
	return n, nil
}

func restart(f *os.File, b *bar) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("restart download: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("restart download: %w", err)
	}
	b.reset()
	return nil
}

// stalledOr names a watchdog cancellation as a stall (retryable) rather
// than the caller's cancellation.
func stalledOr(parent, req context.Context, err error) error {
	if parent.Err() == nil && req.Err() != nil {
		return fmt.Errorf("%w: no data for a while: %v", errStalled, err)
	}
	return err
}

// watchedReader pushes the stall watchdog back on every byte received.
type watchedReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.t.Reset(w.d)
	}
	return n, err
}

func contentRangeStart(h string) (int64, bool) {
	s, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok = strings.Cut(s, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// diskErr makes "no space left" say what to do about it.
func diskErr(err error, path string) error {
	if isDiskFull(err) {
		return fmt.Errorf("%w writing %s: free some space or point HF_HUB_CACHE at a larger disk, then run the same command again to resume (%v)", ErrDiskFull, path, err)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}
