package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/askqa/ask/api"
)

// route is one path with a handler per method.
type route struct {
	path    string
	methods map[string]http.HandlerFunc
	// public routes skip auth: probes must work without the key.
	public bool
	// quiet routes log at debug level: probes and scrapes every few seconds
	// would drown the request log.
	quiet bool
}

// router dispatches on exact paths, then on templates such as
// /v1/collections/{collection}/documents/{id...} (a segment in braces
// matches one path segment, "..." the rest of the path; the values are set
// as the request's path values). A hand-rolled table instead of
// http.ServeMux because the mux answers 404 and 405 in plain text, and
// every response here, errors included, is JSON.
type router struct {
	routes    map[string]*route
	templates []*route // in the order added; the first match wins
}

func (s *Server) newRouter() *router {
	rt := &router{routes: map[string]*route{}}
	add := func(path string, public, quiet bool, methods map[string]http.HandlerFunc) {
		if h, ok := methods[http.MethodGet]; ok {
			methods[http.MethodHead] = h // net/http drops the body of a HEAD reply
		}
		ro := &route{path: path, methods: methods, public: public, quiet: quiet}
		if strings.Contains(path, "{") {
			rt.templates = append(rt.templates, ro)
			return
		}
		rt.routes[path] = ro
	}
	add("/", false, false, map[string]http.HandlerFunc{http.MethodGet: s.handlePage})
	add("/favicon.ico", true, true, map[string]http.HandlerFunc{http.MethodGet: s.handleFavicon})
	add("/api/ask", false, false, map[string]http.HandlerFunc{http.MethodPost: s.handleAsk})
	add("/v1/answer", false, false, map[string]http.HandlerFunc{http.MethodPost: s.handleAnswer})
	add("/v1/models", false, false, map[string]http.HandlerFunc{http.MethodGet: s.handleModels})
	add("/v1/embeddings", false, false, map[string]http.HandlerFunc{http.MethodPost: s.handleEmbeddings})
	add("/embed", false, false, map[string]http.HandlerFunc{http.MethodPost: s.handleTEIEmbed})
	s.addCollectionRoutes(func(path string, methods map[string]http.HandlerFunc) { add(path, false, false, methods) })
	add("/healthz", true, true, map[string]http.HandlerFunc{http.MethodGet: s.handleHealth})
	add("/readyz", true, true, map[string]http.HandlerFunc{http.MethodGet: s.handleReady})
	add("/metrics", false, true, map[string]http.HandlerFunc{http.MethodGet: s.metrics.handler().ServeHTTP})
	add("/openapi.json", false, false, map[string]http.HandlerFunc{http.MethodGet: s.handleOpenAPI})
	return rt
}

// routeTable lists every path and method the server serves (HEAD aside),
// for the test that checks the OpenAPI document against the router.
func (s *Server) routeTable() map[string][]string {
	out := map[string][]string{}
	for _, r := range append(slices.Collect(maps.Values(s.routes.routes)), s.routes.templates...) {
		p := strings.ReplaceAll(r.path, "...}", "}") // OpenAPI writes {id...} as {id}
		for m := range r.methods {
			if m != http.MethodHead {
				out[p] = append(out[p], m)
			}
		}
		sort.Strings(out[p])
	}
	return out
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ro, ok := rt.match(r)
	if !ok {
		writeError(w, r, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no route %s; see /openapi.json", r.URL.Path))
		return
	}
	h, ok := ro.methods[r.Method]
	if !ok {
		allow := make([]string, 0, len(ro.methods))
		for m := range ro.methods {
			allow = append(allow, m)
		}
		sort.Strings(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, r, api.Errorf(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed,
			"%s does not allow %s; allowed: %s", r.URL.Path, r.Method, strings.Join(allow, ", ")))
		return
	}
	h(w, r)
}

// label is the route's metric label: the path when it is a route, and one
// fixed value otherwise, so scanners cannot blow up the label cardinality.
func (rt *router) label(path string) (string, *route) {
	if ro, ok := rt.routes[path]; ok {
		return path, ro
	}
	for _, ro := range rt.templates {
		if _, ok := matchTemplate(ro.path, path); ok {
			return ro.path, ro
		}
	}
	return "unmatched", nil
}

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// validRequestID accepts a client's X-Request-ID only when it is short,
// printable ASCII without spaces, so it cannot forge log lines.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// recorder captures what a handler wrote, for the log line and metrics, and
// whether anything was written, so a panic's 500 does not follow a 200.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
	// clientGone is set when the handler gave up because the client left;
	// it is reported as 499 (nginx's "client closed request").
	clientGone bool
}

func (rw *recorder) WriteHeader(code int) {
	if !rw.wrote {
		rw.status, rw.wrote = code, true
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(p []byte) (int, error) {
	if !rw.wrote {
		rw.status, rw.wrote = http.StatusOK, true
	}
	n, err := rw.ResponseWriter.Write(p)
	rw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// observe is the outermost middleware: request id, per-request timeout,
// panic recovery, the access log line and the HTTP metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), requestIDKey, id), s.opts.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		routeLabel, ro := s.routes.label(r.URL.Path)
		s.metrics.inFlight.Inc()
		work := ro == nil || !ro.quiet // probes and scrapes do not hold up a drain
		if work {
			s.active.Add(1)
		}

		defer func() {
			if work {
				s.active.Add(-1)
			}
			s.metrics.inFlight.Dec()
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v) // net/http's own signal to abort the response
				}
				s.log.Error("panic serving request", "request_id", id, "method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !rec.wrote {
					writeError(rec, r, api.Errorf(http.StatusInternalServerError, api.CodeInternal,
						"internal error (request id %s)", id))
				} else {
					rec.status = http.StatusInternalServerError
				}
			}
			status := rec.status
			if rec.clientGone {
				status = 499
			} else if !rec.wrote {
				status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.observe(routeLabel, status, d)
			level := slog.LevelInfo
			switch {
			case status >= 500:
				level = slog.LevelError
			case ro != nil && ro.quiet && status < 400:
				level = slog.LevelDebug
			}
			s.log.LogAttrs(ctx, level, "request",
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.String("remote", r.RemoteAddr),
			)
		}()
		if n := headerBytes(r); n > s.opts.MaxHeaderBytes {
			rec.Header().Set("Connection", "close")
			writeError(rec, r, api.Errorf(http.StatusRequestHeaderFieldsTooLarge, codeHeadersTooLarge,
				"the request line and headers are %d bytes; this server accepts at most %d (shorten the URL or the headers)", n, s.opts.MaxHeaderBytes))
			return
		}
		if work && s.draining.Load() {
			rec.Header().Set("Connection", "close")
			rec.Header().Set("Retry-After", "5")
			writeError(rec, r, api.Errorf(http.StatusServiceUnavailable, codeDraining,
				"the server is shutting down and takes no new requests; retry (another instance, or this one after its restart)"))
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// headerBytes is the size of the request line and headers as net/http
// counts them against MaxHeaderBytes (near enough: separators included).
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// auth requires "Authorization: Bearer <key>" when an API key is set.
func (s *Server) auth(next http.Handler) http.Handler {
	if s.opts.APIKey == "" {
		return next
	}
	// Compare digests in constant time: equal lengths, so neither the key's
	// content nor its length leaks through timing.
	want := sha256.Sum256([]byte(s.opts.APIKey))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ro, ok := s.routes.routes[r.URL.Path]; ok && ro.public {
			next.ServeHTTP(w, r)
			return
		}
		// The page's HTML holds no data and its calls carry the key; serving it
		// lets a browser user type the key in. Everything else is protected.
		if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ask"`)
			writeError(w, r, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized,
				"missing or wrong API key; send Authorization: Bearer <key>"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cors answers preflights and marks responses for allowed origins. It sits
// before auth because browsers send preflights without credentials.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.opts.CORSOrigins) == 0 {
		return next
	}
	anyOrigin := slices.Contains(s.opts.CORSOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := anyOrigin || slices.Contains(s.opts.CORSOrigins, origin)
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After, Server-Timing")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent) // without allow headers the browser refuses
			return
		}
		next.ServeHTTP(w, r)
	})
}
