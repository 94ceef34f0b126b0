package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// Sentinel errors, matched with errors.Is; the wrapping error says what to
// do about it.
var (
	// ErrOffline: the network was needed but offline mode forbids it.
	ErrOffline = errors.New("offline mode")
	// ErrNotCached: the model (or a file of it) is not in the cache.
	ErrNotCached = errors.New("not in the cache")
	// ErrRepoNotFound: the Hub has no such repo (or hides it: see ErrAuth).
	ErrRepoNotFound = errors.New("repository not found")
	// ErrRevisionNotFound: the repo exists, the branch/tag/commit does not.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrAuth: the repo is gated or private and the token is missing or
	// lacks access.
	ErrAuth = errors.New("access denied")
	// ErrUnsupported: the repo holds no weights format ask can load.
	ErrUnsupported = errors.New("unsupported model repository")
	// ErrChecksum: a download did not match the sha256 the Hub announced.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrDiskFull: the cache's filesystem ran out of space.
	ErrDiskFull = errors.New("disk full")
	// ErrProtocol: the endpoint does not answer like a Hub.
	ErrProtocol = errors.New("not a Hugging Face Hub response")
)

var errNoCacheDir = errors.New("no Hugging Face cache folder: set HF_HOME or HF_HUB_CACHE (or HOME)")

// statusError is a non-2xx answer, kept whole for classification.
type statusError struct {
	URL       string
	Status    int
	ErrorCode string // X-Error-Code
	Message   string // X-Error-Message
	Commit    string // X-Repo-Commit, set on EntryNotFound
}

func (e *statusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.ErrorCode != "" {
		s += " (" + e.ErrorCode + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// entryMissing is the Hub's "this file is not in that commit", which is an
// answer (write a .no_exist marker) rather than a failure. A bare 404 that
// carries the commit header means the same thing.
func (e *statusError) entryMissing() bool {
	return e.ErrorCode == "EntryNotFound" || (e.Status == http.StatusNotFound && e.ErrorCode == "" && e.Commit != "")
}

// explain turns a Hub error answer into an error that says what to do.
func explain(e *statusError, ref Ref, file string, haveToken bool) error {
	switch {
	case e.ErrorCode == "RevisionNotFound":
		return fmt.Errorf("%w: %s has no branch, tag or commit %q: check the revision after '@' (%v)",
			ErrRevisionNotFound, ref.Repo, ref.Revision, e)
	case e.ErrorCode == "GatedRepo" || e.Status == http.StatusForbidden:
		hint := "set HF_TOKEN to a token of an account that has been granted access"
		if e.ErrorCode == "GatedRepo" {
			hint = "accept its conditions on the model page, then " + hint
		}
		return fmt.Errorf("%w: %s is a gated or private model: %s (%v)", ErrAuth, ref.Repo, hint, e)
	case e.Status == http.StatusUnauthorized:
		if haveToken {
			return fmt.Errorf("%w: %s is gated, private or missing and the token was refused: check the repo id and that HF_TOKEN is valid with read access (%v)",
				ErrAuth, ref.Repo, e)
		}
		return fmt.Errorf("%w: %s is a gated or private model (or does not exist): check the repo id, and set HF_TOKEN (or run `hf auth login`) for gated or private models (%v)",
			ErrAuth, ref.Repo, e)
	case e.Status == http.StatusNotFound:
		return fmt.Errorf("%w: %s: check the repo id (org/name, as on huggingface.co) and HF_ENDPOINT (%v)",
			ErrRepoNotFound, ref.Repo, e)
	}
	if e.Status >= 500 || e.Status == http.StatusTooManyRequests {
		return fmt.Errorf("fetch %s from %s: the Hub (or HF_ENDPOINT) keeps failing even after retries; try again later: %w", file, ref, e)
	}
	if file != "" {
		return fmt.Errorf("fetch %s from %s: %w", file, ref, e)
	}
	return fmt.Errorf("fetch %s: %w", ref, e)
}

// ErrUnreachable: the Hub (or HF_ENDPOINT) could not be reached, or
// accepted the connection and never answered.
var ErrUnreachable = errors.New("hub unreachable")

// unreachableError is a request that failed in transport after its
// retries: no DNS, refused, reset, or no answer in time. Once PullRef knows
// the model it becomes one line saying what was tried and how to fix it.
type unreachableError struct {
	url      *url.URL
	attempts int
	elapsed  time.Duration
	wait     time.Duration // the header timeout of each attempt
	err      error
	ref      string // the model, once known
}

func (e *unreachableError) Error() string {
	what := "HEAD " + e.url.Redacted()
	if e.ref != "" {
		what = "could not reach " + e.url.Scheme + "://" + e.url.Host + " to download " + e.ref
	}
	s := fmt.Sprintf("%s: %s (after %d attempt%s over %.1fs)", what, e.reason(), e.attempts, plural(e.attempts), e.elapsed.Seconds())
	if e.ref != "" {
		s += ". Check the network (and HTTPS_PROXY), set HF_ENDPOINT to a reachable Hub or mirror, set HF_HUB_OFFLINE=1 to use only models already in the cache, or pass a local model folder"
	}
	return s
}

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

// reason says in a few words what went wrong, without the Go error chain.
func (e *unreachableError) reason() string {
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(e.err, &dns) && dns.IsNotFound:
		return "no such host " + dns.Name
	case errors.As(e.err, &dns):
		return "DNS lookup of " + dns.Name + " failed (" + dns.Err + ")"
	case errors.As(e.err, &op) && op.Op == "dial" && isTimeout(e.err):
		return "the connection was not accepted in time"
	case isTimeout(e.err):
		return fmt.Sprintf("the server accepted the connection but sent no answer within %v", e.wait)
	case errors.Is(e.err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(e.err, syscall.ECONNRESET), errors.Is(e.err, io.EOF), errors.Is(e.err, io.ErrUnexpectedEOF):
		return "the connection was closed without an answer"
	}
	var ue *url.Error
	if errors.As(e.err, &ue) {
		return ue.Err.Error()
	}
	return e.err.Error()
}

// isTimeout reports a connect or header timeout (including an attempt's
// own deadline).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
