// Package server is the HTTP face of ask: routes, limits, errors, auth,
// CORS, metrics, the OpenAPI document and the web page. It answers through
// an injected Reader and never sees a tensor, so the same server runs over
// the transformer pipeline, the lexical fallback, or a fake in tests.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/generate"
	"github.com/askqa/ask/reader"
)

// Reader is what answers: reader.Reader, named here so that callers that
// build a server need not import the reader package as well.
type Reader = reader.Reader

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// Reader answers the questions; required.
	Reader Reader
	// Logger receives one line per request and every server error
	// (default: discard).
	Logger *slog.Logger
	// Metrics are exported on /metrics (default: NewMetrics()). Create them
	// first when a sched.Batcher should report into them too.
	Metrics *Metrics

	// MaxBodyBytes bounds a request body (default 4 MiB).
	MaxBodyBytes int64
	// MaxContextChars bounds a context in code points (default 100000).
	MaxContextChars int
	// MaxBatchInputs bounds the pairs of one /api/ask request (default 32).
	MaxBatchInputs int
	// RequestTimeout bounds a request's work (default 60s).
	RequestTimeout time.Duration
	// ShutdownTimeout bounds the drain in Serve (default 30s).
	ShutdownTimeout time.Duration
	// DrainDelay keeps the listener open for this long after shutdown
	// begins, even with nothing in flight, so that a load balancer polling
	// /readyz sees "draining" and stops sending work before the port closes
	// (default 0).
	DrainDelay time.Duration
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout set the http.Server's
	// (defaults 10s, 60s, 120s); WriteTimeout is RequestTimeout + 15s so a
	// timed-out request can still be told so. A body still arriving after
	// ReadTimeout gets 408.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers (default 64 KiB);
	// beyond it the answer is a JSON 431. (Past 1 MiB, net/http itself
	// answers a plain-text 431 before any handler runs.)
	MaxHeaderBytes int

	// APIKey turns on Bearer auth for every route but /healthz, /readyz
	// and the web page's HTML (which holds no data; its calls need the key).
	APIKey string
	// CORSOrigins are the origins browsers may call from; empty: CORS off.
	CORSOrigins []string
	// Notice is shown by /readyz, e.g. that no model is loaded and how to
	// get one.
	Notice string

	// Embedder serves POST /v1/embeddings and POST /embed; nil: those
	// routes answer 404 saying how to turn them on.
	Embedder embed.Embedder
	// EmbedderAlias is a second name the embeddings API accepts as its
	// "model": the reference the embedder was started with ("builtin"),
	// where Embedder reports a longer one ("builtin:multilingual-e5-small").
	EmbedderAlias string
	// MaxEmbedInputs bounds the texts of one embedding request (default
	// 2048, OpenAI's limit).
	MaxEmbedInputs int
	// Knowledge serves /v1/collections and questions over collections; nil:
	// those routes answer 404 saying so.
	Knowledge *Knowledge
	// Generator writes the answers of questions with "generate": true
	// (generate.OpenAI for an OpenAI-compatible endpoint); nil: those
	// questions get the extractive answer with a generation_error saying
	// no language model is configured.
	Generator generate.Generator
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 4 << 20
	}
	if o.MaxContextChars <= 0 {
		o.MaxContextChars = 100_000
	}
	if o.MaxBatchInputs <= 0 {
		o.MaxBatchInputs = 32
	}
	if o.MaxEmbedInputs <= 0 {
		o.MaxEmbedInputs = 2048
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 60 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 60 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
}

// Server serves the ask HTTP API.
type Server struct {
	opts     Options
	log      *slog.Logger
	metrics  *Metrics
	reader   Reader
	info     api.ModelInfo
	routes   *router
	handler  http.Handler
	pageCSP  string
	draining atomic.Bool
	// active counts the requests in flight that do work (probes and
	// scrapes aside): the drain waits for it to reach zero.
	active atomic.Int64
}

// errCut is the cause of the contexts of requests still running when the
// drain ran out of time: they are answered 503, and logged as cut by the
// server rather than as clients that went away.
var errCut = errors.New("server: the drain timed out (ASK_SHUTDOWN_TIMEOUT)")

// netHeaderLimit is what net/http is told: far above MaxHeaderBytes, so that
// the server's own check, which answers in JSON, sees oversized headers first.
const netHeaderLimit = 1 << 20

// cutGrace is how long requests cut at the end of the drain have to write
// their 503 before the connections close: the forward pass stops within one
// layer once its context ends.
const cutGrace = 2 * time.Second

// New builds a server; it does not listen until Serve.
func New(opts Options) (*Server, error) {
	if opts.Reader == nil {
		return nil, errors.New("server: nil Reader")
	}
	opts.setDefaults()
	csp, err := pageCSP(indexHTML)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		metrics: opts.Metrics,
		reader:  opts.Reader,
		info:    modelInfo(opts.Reader.Describe()),
		pageCSP: csp,
	}
	s.metrics.readerInfo.WithLabelValues(s.info.Reader, s.info.ID).Set(1)
	s.routes = s.newRouter()
	s.handler = s.observe(s.cors(s.auth(s.routes)))
	return s, nil
}

// Handler returns the server's handler with every middleware applied, for
// tests and for embedding in another http.Server.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics returns the metrics the server exports.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully:
// /readyz reports draining and requests that arrive get 503 while the
// listener stays open, which it does until nothing is in flight (and at
// least DrainDelay); then it closes, and requests still in flight have what
// is left of ShutdownTimeout to finish. Those that do not are cancelled and
// answered 503. It returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// Request contexts derive from hard, not from ctx: cancelling ctx must
	// start the drain, not abort the requests being drained.
	hard, cancelHard := context.WithCancelCause(context.Background())
	defer cancelHard(nil)
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.RequestTimeout + 15*time.Second,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    netHeaderLimit,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return hard },
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("server: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	start := time.Now()
	s.draining.Store(true)
	s.log.Info("shutting down: draining in-flight requests (a second SIGINT or SIGTERM exits at once)",
		"in_flight", s.active.Load(), "timeout", s.opts.ShutdownTimeout)
	sctx, cancel := context.WithDeadline(context.Background(), start.Add(s.opts.ShutdownTimeout))
	defer cancel()
	// With the listener still open, probes see "draining" and new work gets
	// a 503 saying so, instead of a refused connection.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for (s.active.Load() > 0 || time.Since(start) < s.opts.DrainDelay) && sctx.Err() == nil {
		<-tick.C
	}
	err := hs.Shutdown(sctx)
	if err != nil {
		// The drain ran out of time: cancel what is left, give it a moment
		// to answer 503, then cut the connections.
		n := s.active.Load()
		cancelHard(errCut)
		for end := time.Now().Add(cutGrace); s.active.Load() > 0 && time.Now().Before(end); {
			<-tick.C
		}
		_ = hs.Close()
		s.log.Warn("shutdown: the drain timed out; requests still in flight were cut", "cut", n, "timeout", s.opts.ShutdownTimeout)
		err = fmt.Errorf("server: shutdown: %w", err)
	}
	<-served // Serve has returned http.ErrServerClosed
	if err == nil {
		s.log.Info("shutdown complete", "drain_ms", time.Since(start).Milliseconds())
	}
	return err
}
