// Package config reads the server's settings in one place: command-line
// flags over ASK_* environment variables over defaults. Keeping every knob
// in one table means --help, the environment and the code cannot drift
// apart (ollama's envconfig does the same).
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Reader choices for Config.Reader.
const (
	// ReaderAuto loads a model when one is available and falls back to the
	// lexical reader otherwise.
	ReaderAuto = "auto"
	// ReaderModel requires a model; startup fails without one.
	ReaderModel = "model"
	// ReaderLexical never loads a model.
	ReaderLexical = "lexical"
)

// Config is everything "ask serve" can be told.
type Config struct {
	// Addr is the listen address; port 0 picks a free port.
	Addr string
	// Model is a Hub repo id or a local folder; empty means the default model
	// if it is cached.
	Model string
	// Reader is ReaderAuto, ReaderModel or ReaderLexical.
	Reader string
	// APIKey, when set, requires "Authorization: Bearer <key>".
	APIKey string
	// CORSOrigins lists the origins allowed to call the API from a browser;
	// empty turns CORS off; "*" allows any origin.
	CORSOrigins []string

	// MaxBodyBytes bounds a request body (413 beyond).
	MaxBodyBytes int64
	// MaxContextChars bounds one context in code points (413 beyond).
	MaxContextChars int
	// MaxContextWindows bounds the windows one context may be cut into; the
	// QA pipeline enforces it.
	MaxContextWindows int
	// MaxBatchInputs bounds the question/context pairs of one request.
	MaxBatchInputs int
	// RequestTimeout bounds one request's work (504 beyond).
	RequestTimeout time.Duration
	// ShutdownTimeout bounds how long in-flight requests may drain on exit.
	ShutdownTimeout time.Duration
	// DrainDelay keeps the port open for this long after shutdown begins,
	// /readyz answering "draining", so load balancers stop sending work
	// before connections are refused.
	DrainDelay time.Duration
	// ReadTimeout bounds reading one request, body included (408 beyond).
	ReadTimeout time.Duration

	// BatchTokens is the scheduler's budget per batch, in padded tokens.
	BatchTokens int
	// BatchSize caps the windows per batch.
	BatchSize int
	// BatchWait is how long an idle model waits for a batch to fill.
	BatchWait time.Duration
	// QueueSize bounds the windows waiting for the model (429 beyond).
	QueueSize int

	// EmbedModel is the sentence-embedding model of /v1/embeddings and
	// /embed: "builtin" (the default), a folder or a Hub id; "none" turns
	// those routes off.
	EmbedModel string
	// MaxEmbedInputs bounds the texts of one embedding request.
	MaxEmbedInputs int
	// Data is the folder holding the knowledge base (kb.db); empty: the
	// XDG data folder. "none" serves no knowledge base.
	Data string
	// DB is the knowledge base's database URL: empty for kb.db in Data
	// (SQLite), postgres://user:password@host:5432/db for a PostgreSQL
	// with pgvector that several replicas share (see kb/kbopen).
	DB string
	// MaxUploadBytes bounds one document upload request.
	MaxUploadBytes int64

	// LogFormat is "text" or "json".
	LogFormat string
	LogLevel  slog.Level
}

// Default returns the settings used when neither flags nor environment say
// otherwise.
func Default() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		Reader:            ReaderAuto,
		MaxBodyBytes:      4 << 20,
		MaxContextChars:   100_000,
		MaxContextWindows: 256,
		MaxBatchInputs:    32,
		RequestTimeout:    60 * time.Second,
		ShutdownTimeout:   30 * time.Second,
		ReadTimeout:       60 * time.Second,
		BatchTokens:       8192,
		BatchSize:         32,
		BatchWait:         2 * time.Millisecond,
		QueueSize:         1024,
		EmbedModel:        "builtin",
		MaxEmbedInputs:    2048,
		MaxUploadBytes:    64 << 20,
		LogFormat:         "text",
		LogLevel:          slog.LevelInfo,
	}
}

// setting is one row of the table: a flag, its environment variable and
// where it lands in Config.
type setting struct {
	flag, env, help string
	value           func(c *Config) flag.Value
}

func settings() []setting {
	return []setting{
		{"addr", "ASK_ADDR", "listen address host:port; port 0 picks a free one",
			func(c *Config) flag.Value { return (*stringValue)(&c.Addr) }},
		{"model", "ASK_MODEL", "model: a Hub repo id (e.g. distilbert/distilbert-base-cased-distilled-squad) or a local folder",
			func(c *Config) flag.Value { return (*stringValue)(&c.Model) }},
		{"reader", "ASK_READER", "auto (a model if one loads, else lexical), model (require one) or lexical (BM25 sentences)",
			func(c *Config) flag.Value {
				return &choiceValue{p: &c.Reader, choices: []string{ReaderAuto, ReaderModel, ReaderLexical}}
			}},
		{"api-key", "ASK_API_KEY", "require Authorization: Bearer <key> on every route but /healthz and /readyz (prefer the environment: flags show in ps)",
			func(c *Config) flag.Value { return (*secretValue)(&c.APIKey) }},
		{"cors-origins", "ASK_CORS_ORIGINS", "comma-separated origins allowed to call the API from browsers (\"*\" for any); empty turns CORS off",
			func(c *Config) flag.Value { return (*listValue)(&c.CORSOrigins) }},
		{"max-body-bytes", "ASK_MAX_BODY_BYTES", "largest request body in bytes",
			func(c *Config) flag.Value { return (*int64Value)(&c.MaxBodyBytes) }},
		{"max-context-chars", "ASK_MAX_CONTEXT_CHARS", "longest context in characters (code points)",
			func(c *Config) flag.Value { return (*intValue)(&c.MaxContextChars) }},
		{"max-context-windows", "ASK_MAX_CONTEXT_WINDOWS", "most windows one context may be cut into",
			func(c *Config) flag.Value { return (*intValue)(&c.MaxContextWindows) }},
		{"max-batch-inputs", "ASK_MAX_BATCH_INPUTS", "most question/context pairs in one request",
			func(c *Config) flag.Value { return (*intValue)(&c.MaxBatchInputs) }},
		{"request-timeout", "ASK_REQUEST_TIMEOUT", "longest time one request may take",
			func(c *Config) flag.Value { return (*durationValue)(&c.RequestTimeout) }},
		{"shutdown-timeout", "ASK_SHUTDOWN_TIMEOUT", "longest time in-flight requests may drain on shutdown",
			func(c *Config) flag.Value { return (*durationValue)(&c.ShutdownTimeout) }},
		{"drain-delay", "ASK_DRAIN_DELAY", "how long the port stays open after shutdown begins, /readyz saying draining, even with nothing in flight (for load balancers)",
			func(c *Config) flag.Value { return (*durationValue)(&c.DrainDelay) }},
		{"read-timeout", "ASK_READ_TIMEOUT", "longest time to read one request, body included; a slower body gets 408",
			func(c *Config) flag.Value { return (*durationValue)(&c.ReadTimeout) }},
		{"batch-tokens", "ASK_BATCH_TOKENS", "token budget of one model batch (windows × longest window)",
			func(c *Config) flag.Value { return (*intValue)(&c.BatchTokens) }},
		{"batch-size", "ASK_BATCH_SIZE", "most windows in one model batch",
			func(c *Config) flag.Value { return (*intValue)(&c.BatchSize) }},
		{"batch-wait", "ASK_BATCH_WAIT", "how long an idle model waits for a batch to fill",
			func(c *Config) flag.Value { return (*durationValue)(&c.BatchWait) }},
		{"queue-size", "ASK_QUEUE_SIZE", "most windows waiting for the model; beyond it requests get 429",
			func(c *Config) flag.Value { return (*intValue)(&c.QueueSize) }},
		{"embed-model", "ASK_EMBED_MODEL", "embedding model of /v1/embeddings and /embed: builtin (multilingual-e5-small inside ask: English and Chinese), a sentence-transformers folder, a Hub repo id, or none",
			func(c *Config) flag.Value { return (*stringValue)(&c.EmbedModel) }},
		{"max-embed-inputs", "ASK_MAX_EMBED_INPUTS", "most texts in one embedding request",
			func(c *Config) flag.Value { return (*intValue)(&c.MaxEmbedInputs) }},
		{"data", "ASK_DATA", "folder of the knowledge base behind /v1/collections (default $XDG_DATA_HOME/ask, else ~/.local/share/ask; \"none\": no knowledge base)",
			func(c *Config) flag.Value { return (*stringValue)(&c.Data) }},
		{"db", "ASK_DB", "knowledge-base database: postgres://user:password@host:5432/db (PostgreSQL with pgvector, shared by replicas; prefer the environment: flags show in ps) or sqlite:PATH; empty: kb.db in --data",
			func(c *Config) flag.Value { return (*secretValue)(&c.DB) }},
		{"max-upload-bytes", "ASK_MAX_UPLOAD_BYTES", "largest document upload request in bytes",
			func(c *Config) flag.Value { return (*int64Value)(&c.MaxUploadBytes) }},
		{"log-format", "ASK_LOG_FORMAT", "log format: text or json",
			func(c *Config) flag.Value { return &choiceValue{p: &c.LogFormat, choices: []string{"text", "json"}} }},
		{"log-level", "ASK_LOG_LEVEL", "log level: debug, info, warn or error",
			func(c *Config) flag.Value { return (*levelValue)(&c.LogLevel) }},
	}
}

// EnvNames lists the environment variables Register reads, in --help order.
func EnvNames() []string {
	var out []string
	for _, s := range settings() {
		out = append(out, s.env)
	}
	return out
}

// Register returns a Config holding the defaults overridden by the
// environment (read through getenv), and defines a flag for every field on
// fs, so that parsing fs overrides the environment in turn. Call Validate
// after fs.Parse. A malformed environment value is an error naming the
// variable.
func Register(fs *flag.FlagSet, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := Default()
	var errs []error
	for _, s := range settings() {
		v := s.value(&c)
		if raw := getenv(s.env); raw != "" {
			if err := v.Set(raw); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", s.env, redact(s, raw), err))
			}
		}
		fs.Var(v, s.flag, s.help+" (env "+s.env+")")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

func redact(s setting, raw string) string {
	if s.env == "ASK_API_KEY" || s.env == "ASK_DB" {
		return "…"
	}
	return raw
}

// Validate checks ranges and combinations that flag types cannot.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr %q: %v", c.Addr, err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("addr %q: port must be a number from 0 to 65535", c.Addr)
	}
	if c.Reader == ReaderLexical && c.Model != "" {
		bad("reader lexical and model %q contradict each other", c.Model)
	}
	if c.MaxBodyBytes < 1024 {
		bad("max-body-bytes must be at least 1024, got %d", c.MaxBodyBytes)
	}
	if c.MaxUploadBytes < 1024 {
		bad("max-upload-bytes must be at least 1024, got %d", c.MaxUploadBytes)
	}
	positive := []struct {
		name string
		v    int
	}{{"max-context-chars", c.MaxContextChars}, {"max-context-windows", c.MaxContextWindows},
		{"max-batch-inputs", c.MaxBatchInputs}, {"batch-tokens", c.BatchTokens}, {"max-embed-inputs", c.MaxEmbedInputs},
		{"batch-size", c.BatchSize}, {"queue-size", c.QueueSize}}
	for _, p := range positive {
		if p.v < 1 {
			bad("%s must be at least 1, got %d", p.name, p.v)
		}
	}
	if c.QueueSize < c.MaxContextWindows {
		// A request queues all its windows at once; a long context could
		// otherwise never be admitted.
		bad("queue-size (%d) must be at least max-context-windows (%d)", c.QueueSize, c.MaxContextWindows)
	}
	if c.RequestTimeout <= 0 {
		bad("request-timeout must be positive, got %v", c.RequestTimeout)
	}
	if c.ReadTimeout <= 0 {
		bad("read-timeout must be positive, got %v", c.ReadTimeout)
	}
	if c.DrainDelay < 0 || c.DrainDelay >= c.ShutdownTimeout {
		bad("drain-delay must be ≥ 0 and shorter than shutdown-timeout (%v), got %v", c.ShutdownTimeout, c.DrainDelay)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout must be positive, got %v", c.ShutdownTimeout)
	}
	if c.BatchWait < 0 {
		bad("batch-wait must not be negative, got %v", c.BatchWait)
	}
	for _, o := range c.CORSOrigins {
		if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			bad("cors-origins: %q is not an origin (want e.g. https://example.com or *)", o)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// Loopback reports whether Addr listens on loopback only, so serve can warn
// when a server without an API key is reachable from other machines.
func (c *Config) Loopback() bool {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// The flag.Value types below are nil-safe in String because flag calls
// String on zero values to decide whether to print a default.

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string {
	if v == nil {
		return ""
	}
	return string(*v)
}

// secretValue never prints its value, so --help cannot leak a key taken
// from the environment.
type secretValue string

func (v *secretValue) Set(s string) error { *v = secretValue(strings.TrimSpace(s)); return nil }
func (v *secretValue) String() string {
	if v == nil || *v == "" {
		return ""
	}
	return "(set)"
}

type choiceValue struct {
	p       *string
	choices []string
}

func (v *choiceValue) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, c := range v.choices {
		if s == c {
			*v.p = s
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(v.choices, ", "))
}
func (v *choiceValue) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return *v.p
}

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want an integer: %w", err)
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string {
	if v == nil {
		return "0"
	}
	return strconv.Itoa(int(*v))
}

// int64Value also takes binary size suffixes (4MiB, 512KiB) because byte
// limits are easier to read that way.
type int64Value int64

func (v *int64Value) Set(s string) error {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if strings.HasSuffix(s, suf.s) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, suf.s)), suf.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want a byte count such as 4194304 or 4MiB: %w", err)
	}
	if n > (1<<62)/mult {
		return fmt.Errorf("%s is too large", s)
	}
	*v = int64Value(n * mult)
	return nil
}
func (v *int64Value) String() string {
	if v == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*v), 10)
}

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want a duration such as 30s or 2ms: %w", err)
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string {
	if v == nil {
		return "0s"
	}
	return time.Duration(*v).String()
}

// listValue is a comma-separated list; each Set replaces the whole list so a
// flag overrides the environment instead of appending to it.
type listValue []string

func (v *listValue) Set(s string) error {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, strings.TrimSuffix(f, "/"))
		}
	}
	*v = out
	return nil
}
func (v *listValue) String() string {
	if v == nil {
		return ""
	}
	return strings.Join(*v, ",")
}

type levelValue slog.Level

func (v *levelValue) Set(s string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return fmt.Errorf("want debug, info, warn or error: %w", err)
	}
	*v = levelValue(l)
	return nil
}
func (v *levelValue) String() string {
	if v == nil {
		return "INFO"
	}
	return slog.Level(*v).String()
}
