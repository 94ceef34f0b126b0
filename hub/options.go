package hub

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the public Hub, used when HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// The default model is the one transformers' question-answering pipeline
// picks when none is given, pinned to the same short commit the pipeline
// pins, so `ask` and Python answer with the same weights out of the box.
const (
	DefaultRepo     = "distilbert/distilbert-base-cased-distilled-squad"
	DefaultRevision = "564e9b5"
	DefaultModel    = DefaultRepo + "@" + DefaultRevision
)

// Options say where the Hub and the cache are and how to talk to the Hub.
// The zero value is not useful; build one with OptionsFromEnv and adjust
// fields (flags win over the environment).
type Options struct {
	// Endpoint is the Hub base URL without a trailing slash (HF_ENDPOINT).
	Endpoint string
	// Token is sent as "Authorization: Bearer" to the Hub, never to a CDN.
	Token string
	// CacheDir is the huggingface_hub cache root (the folder that holds
	// models--org--name). Empty means no cache could be located.
	CacheDir string
	// Offline forbids any network access: only local folders and the cache
	// are consulted.
	Offline bool
	// HTTPClient performs requests; nil means a client with connect and
	// response-header timeouts but no whole-request timeout (downloads of
	// large weights take as long as they take; stalls are caught by
	// StallTimeout instead).
	HTTPClient *http.Client
	// Progress receives download progress and notices; nil is silent. When
	// it is a terminal a redrawn bar is shown, otherwise periodic lines.
	Progress io.Writer
	// UserAgent identifies ask to the Hub.
	UserAgent string

	// Retries bounds the retries of one request after 429/5xx responses,
	// connection errors, timeouts and cut transfers (0 means 5).
	Retries int
	// RetryBase is the first backoff delay, doubled per retry up to 8s
	// (0 means 1s).
	RetryBase time.Duration
	// StallTimeout aborts (and retries, resuming) a download that received
	// no byte for this long (0 means 60s).
	StallTimeout time.Duration
	// ConnectTimeout bounds connecting to the Hub or CDN, TLS included
	// (0 means 10s). It applies to the default HTTP client only.
	ConnectTimeout time.Duration
	// HeaderTimeout bounds the wait for an answer's headers once a request
	// is sent (0 means 10s, or HF_HUB_ETAG_TIMEOUT seconds as in
	// huggingface_hub). A Hub that accepts connections but never answers
	// is given up on after three such waits, so a pull fails in about half
	// a minute instead of hanging.
	HeaderTimeout time.Duration
}

// truthy reports whether an environment value turns a boolean option on,
// with the set huggingface_hub accepts.
func truthy(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// OptionsFromEnv reads every environment variable the hub package honours,
// with huggingface_hub's names and precedence, so a cache and token set up
// for Python are used as they are. It is the only place that reads the
// environment; getenv is usually os.Getenv. It reads the token file when no
// token variable is set; a missing file is no token, an unreadable one is an
// error (a silent fallback would surface later as a puzzling 401).
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	o := Options{
		Endpoint:  strings.TrimRight(strings.TrimSpace(getenv("HF_ENDPOINT")), "/"),
		UserAgent: "ask/dev (huggingface_hub-compatible)",
	}
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}

	home := getenv("HF_HOME")
	if home == "" {
		if xdg := getenv("XDG_CACHE_HOME"); xdg != "" {
			home = filepath.Join(xdg, "huggingface")
		} else if h := getenv("HOME"); h != "" {
			home = filepath.Join(h, ".cache", "huggingface")
		}
	}
	home = expandHome(home, getenv("HOME"))

	switch {
	case getenv("HF_HUB_CACHE") != "":
		o.CacheDir = expandHome(getenv("HF_HUB_CACHE"), getenv("HOME"))
	case getenv("HUGGINGFACE_HUB_CACHE") != "":
		o.CacheDir = expandHome(getenv("HUGGINGFACE_HUB_CACHE"), getenv("HOME"))
	case home != "":
		o.CacheDir = filepath.Join(home, "hub")
	}

	o.Offline = truthy(getenv("HF_HUB_OFFLINE")) || truthy(getenv("TRANSFORMERS_OFFLINE"))

	if v := strings.TrimSpace(getenv("HF_HUB_ETAG_TIMEOUT")); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs <= 0 || secs > 3600 {
			return o, fmt.Errorf("HF_HUB_ETAG_TIMEOUT=%q: want a number of seconds between 0 and 3600", v)
		}
		o.HeaderTimeout = time.Duration(secs * float64(time.Second))
	}

	o.Token = strings.TrimSpace(getenv("HF_TOKEN"))
	if o.Token == "" {
		o.Token = strings.TrimSpace(getenv("HUGGING_FACE_HUB_TOKEN"))
	}
	if o.Token == "" {
		path := expandHome(getenv("HF_TOKEN_PATH"), getenv("HOME"))
		if path == "" && home != "" {
			path = filepath.Join(home, "token")
		}
		if path != "" {
			b, err := os.ReadFile(path)
			switch {
			case err == nil:
				o.Token = strings.TrimSpace(string(b))
			case errors.Is(err, fs.ErrNotExist):
			default:
				return o, fmt.Errorf("read Hugging Face token file: %w", err)
			}
		}
	}
	return o, nil
}

// expandHome expands a leading "~" as Python's os.path.expanduser does for
// the cache variables.
func expandHome(p, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		return filepath.Join(home, p[1:])
	}
	return p
}

func (o Options) retries() int {
	if o.Retries <= 0 {
		return 5
	}
	return o.Retries
}

func (o Options) retryBase() time.Duration {
	if o.RetryBase <= 0 {
		return time.Second
	}
	return o.RetryBase
}

func (o Options) stallTimeout() time.Duration {
	if o.StallTimeout <= 0 {
		return 60 * time.Second
	}
	return o.StallTimeout
}

func (o Options) connectTimeout() time.Duration {
	if o.ConnectTimeout <= 0 {
		return 10 * time.Second
	}
	return o.ConnectTimeout
}

// headerTimeout is the wait for response headers, never longer than the
// stall timeout (a request waiting for headers receives no byte either).
func (o Options) headerTimeout() time.Duration {
	d := o.HeaderTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	return min(d, o.stallTimeout())
}

func (o Options) endpoint() string {
	if o.Endpoint == "" {
		return DefaultEndpoint
	}
	return strings.TrimRight(o.Endpoint, "/")
}

// defaultClient has connect and header timeouts only: a body may take long,
// and StallTimeout watches it.
func (o Options) defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: o.connectTimeout(), KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = o.connectTimeout()
	tr.ResponseHeaderTimeout = o.headerTimeout()
	return &http.Client{Transport: tr}
}
