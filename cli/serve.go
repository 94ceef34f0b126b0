package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/chunk"
	"github.com/askqa/ask/config"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/embed/sentence"
	"github.com/askqa/ask/ingest"
	"github.com/askqa/ask/kb/kbopen"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/reader/qamodel"
	"github.com/askqa/ask/sched"
	"github.com/askqa/ask/server"
)

// defaultServeModel is the model "ask pull" fetches when given no name, and the
// one a fresh user is pointed at when serve starts without a model.
const defaultServeModel = "distilbert/distilbert-base-cased-distilled-squad"

// errNoModel is what a readerLoader returns when there is simply no model to
// load (none named and none cached, or model loading not wired in): serve
// then falls back to the lexical reader. Any other loader error is fatal.
var errNoModel = errors.New("no model available")

// loaderDeps are what serve hands a readerLoader, so that the model's
// scheduler reports into the server's metrics and logs.
type loaderDeps struct {
	Logger *slog.Logger
	// SchedHooks feed sched.Options.Hooks of the batcher the loader builds.
	SchedHooks sched.Hooks
}

// readerLoader builds the model-backed reader for cfg. It returns the reader
// and a close function that serve calls after the HTTP server has drained
// (closing the batcher, then the encoder); or an error wrapping errNoModel
// to ask for the lexical fallback.
type readerLoader func(ctx context.Context, env Env, cfg config.Config, deps loaderDeps) (server.Reader, func(context.Context) error, error)

func runServe(ctx context.Context, env Env, args []string) error {
	return serve(ctx, env, args, loadModelReader)
}

// loadQAReader loads the QA model named by cfg.Model (a folder or Hub
// id; empty: the built-in model) behind a batcher. It returns errNoModel,
// for the lexical fallback, only when no model is named and the built-in one
// cannot be used. loadModelReader (builtinreader.go) wraps it.
func loadQAReader(ctx context.Context, env Env, cfg config.Config, deps loaderDeps) (server.Reader, func(context.Context) error, error) {
	ref := cfg.Model
	if ref == "" {
		// The built-in model; if it cannot even be unpacked (a read-only
		// home, say), the lexical reader still answers.
		if _, err := builtinDir(env); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errNoModel, err)
		}
		ref = builtin.Name
	}
	p, err := loadPipeline(ctx, env, ref, 0)
	if err != nil {
		return nil, nil, err
	}
	p.MaxWindows = cfg.MaxContextWindows
	b, err := sched.New(p.RunBatch, sched.Options{
		MaxBatchTokens: cfg.BatchTokens, MaxBatchSize: cfg.BatchSize,
		MaxWait: cfg.BatchWait, QueueSize: cfg.QueueSize, Hooks: deps.SchedHooks,
	})
	if err != nil {
		p.Encoder().Close()
		return nil, nil, err
	}
	mi := p.Encoder().Info()
	info := reader.Info{ID: ref, ModelType: mi.ModelType, Architecture: mi.Architecture,
		MaxSeqLen: p.DefaultParams().MaxSeqLen, Parameters: mi.ParamCount}
	closeFn := func(ctx context.Context) error {
		return errors.Join(b.Close(ctx), p.Encoder().Close())
	}
	return qamodel.New(p, b, info), closeFn, nil
}

func serve(ctx context.Context, env Env, args []string, load readerLoader) error {
	fs := newFlags(env, "serve", "[flags] [MODEL]\n\nServe the HTTP API (POST /api/ask, POST /v1/answer, GET / for a web page).\nEvery flag can also be set with the ASK_* environment variable shown;\nflags win over the environment.")
	cfg, err := config.Register(fs, env.Getenv)
	if err != nil {
		return err
	}
	llm, err := config.RegisterLLM(fs, env.Getenv)
	if err != nil {
		return err
	}
	addQuantizeFlag(fs, &env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// "ask serve DIR" is "ask serve --model DIR" (and wins over ASK_MODEL).
	if err := modelArg(fs, &cfg.Model, "model"); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(env.Stderr, *cfg)
	metrics := server.NewMetrics()
	gen, err := newGenerator(llm, log)
	if err != nil {
		return err
	}

	rd, closeReader, notice, err := pickReader(ctx, env, *cfg, load, loaderDeps{Logger: log, SchedHooks: metrics.SchedHooks()})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := closeReader(cctx); err != nil {
			log.Error("closing the reader", "err", err)
		}
	}()

	embedder, model, closeEmbedder, err := loadServeEmbedder(ctx, env, *cfg, log, metrics.SchedHooks())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := closeEmbedder(cctx); err != nil {
			log.Error("closing the embedder", "err", err)
		}
	}()

	knowledge, closeKB, err := openServeKB(ctx, env, *cfg, log, embedder, model)
	if err != nil {
		return err
	}
	defer closeKB()

	srv, err := server.New(server.Options{
		Knowledge:       knowledge,
		Embedder:        embedder,
		EmbedderAlias:   embedderAlias(cfg.EmbedModel),
		MaxEmbedInputs:  cfg.MaxEmbedInputs,
		Reader:          rd,
		Logger:          log,
		Metrics:         metrics,
		MaxBodyBytes:    cfg.MaxBodyBytes,
		MaxContextChars: cfg.MaxContextChars,
		MaxBatchInputs:  cfg.MaxBatchInputs,
		RequestTimeout:  cfg.RequestTimeout,
		ShutdownTimeout: cfg.ShutdownTimeout,
		DrainDelay:      cfg.DrainDelay,
		ReadTimeout:     cfg.ReadTimeout,
		APIKey:          cfg.APIKey,
		CORSOrigins:     cfg.CORSOrigins,
		Notice:          notice,
		Generator:       gen,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	info := rd.Describe()
	addr := ln.Addr().String()
	log.Info("listening", "addr", addr, "url", "http://"+addr, "reader", info.Kind, "model", info.ID,
		"auth", cfg.APIKey != "", "cors", cfg.CORSOrigins)
	if notice != "" {
		log.Warn(notice, "reader", info.Kind)
	}
	if !cfg.Loopback() && cfg.APIKey == "" {
		log.Warn("listening beyond loopback without an API key: anyone who can reach " + addr + " can use this server; set ASK_API_KEY")
	}
	// One plain line on stdout, so scripts can find the port of --addr :0.
	fmt.Fprintf(env.Stdout, "ask: listening on http://%s (reader %s)\n", addr, info.Kind)
	return srv.Serve(ctx, ln)
}

// embedderAlias is the name the embeddings API accepts besides the
// embedder's own: what --embed-model said, "builtin" for the built-in one
// however it was named.
func embedderAlias(ref string) string {
	if builtin.IsEmbedder(ref) {
		return builtin.EmbedderName
	}
	return ref
}

// loadServeEmbedder loads --embed-model behind a batcher of its own (the
// embedder's compute differs from the reader's), configured like the
// reader's and reporting batches into the same metrics. "none" serves no
// embeddings.
func loadServeEmbedder(ctx context.Context, env Env, cfg config.Config, log *slog.Logger, hooks sched.Hooks) (embed.Embedder, *sentence.Model, func(context.Context) error, error) {
	if cfg.EmbedModel == "none" {
		return nil, nil, func(context.Context) error { return nil }, nil
	}
	m, err := loadEmbedder(ctx, env, cfg.EmbedModel, 0, log)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load embedding model %q (--embed-model none turns embeddings off): %w", cfg.EmbedModel, err)
	}
	// The queue depth gauge belongs to the reader's queue; two batchers
	// writing it would make it meaningless.
	hooks.QueueDepth = nil
	b, err := sched.New(m.Compute, sched.Options{
		MaxBatchTokens: max(cfg.BatchTokens, m.Info().MaxSeqLen), MaxBatchSize: cfg.BatchSize,
		MaxWait: cfg.BatchWait, QueueSize: cfg.QueueSize, Hooks: hooks,
	})
	if err != nil {
		m.Close()
		return nil, nil, nil, err
	}
	info := m.Info()
	log.Info("embedding model loaded", "model", info.Name, "dim", info.Dim, "max_seq_len", info.MaxSeqLen, "pooling", info.Pooling)
	return sentence.NewBatched(m, b), m, func(ctx context.Context) error {
		return errors.Join(b.Close(ctx), m.Close())
	}, nil
}

// openServeKB opens the knowledge base for the collection routes, with
// the served embedder for chunks and queries: the database --db names
// (PostgreSQL shared by replicas), else kb.db in --data. A --db that cannot
// be used stops serve with the fix in the error: a replica without its
// shared database would answer 404s. The default SQLite file that cannot be
// opened (a read-only home, say) is logged and left out: the rest of the
// server still answers.
func openServeKB(ctx context.Context, env Env, cfg config.Config, log *slog.Logger, emb embed.Embedder, model *sentence.Model) (*server.Knowledge, func(), error) {
	noop := func() {}
	if cfg.DB == "" && cfg.Data == "none" {
		return nil, noop, nil
	}
	data := cfg.Data
	if data == "none" {
		data = ""
	}
	store, err := openKB(ctx, env, data, cfg.DB, true)
	if err != nil {
		if cfg.DB != "" {
			return nil, nil, fmt.Errorf("--db (ASK_DB): %w", err)
		}
		log.Warn("no knowledge base: /v1/collections is off", "err", err, "fix", "give --data a writable folder")
		return nil, noop, nil
	}
	in := &ingest.Ingester{Store: store}
	if emb != nil {
		in.Embedder, in.Tokenizer = emb, chunk.FromTokenizer(model.Tokenizer())
		in.Chunk.MaxTokens = chunkTokens(emb.Info())
	}
	if cfg.DB != "" {
		log.Info("knowledge base open", "db", kbopen.Describe(cfg.DB))
	} else {
		dir, _ := dataDir(env, data)
		log.Info("knowledge base open", "data", dir)
	}
	return &server.Knowledge{Store: store, Ingester: in, Embedder: emb, MaxUploadBytes: cfg.MaxUploadBytes}, func() {
		if err := store.Close(); err != nil {
			log.Error("closing the knowledge base", "err", err)
		}
	}, nil
}

// pickReader applies --reader: the model when one loads, the lexical reader
// when none is available (auto) or asked for, an error otherwise. notice is
// what /readyz and the startup log tell an operator.
func pickReader(ctx context.Context, env Env, cfg config.Config, load readerLoader, deps loaderDeps) (server.Reader, func(context.Context) error, string, error) {
	noop := func(context.Context) error { return nil }
	howTo := "to answer with a model, run `ask pull " + defaultServeModel + "` and restart, or pass --model DIR"
	if cfg.Reader == config.ReaderLexical {
		return reader.NewLexical(), noop, "no model loaded (--reader lexical): answering with the lexical reader (BM25 sentence retrieval); " + howTo, nil
	}
	rd, closeReader, err := load(ctx, env, cfg, deps)
	switch {
	case err == nil:
		if closeReader == nil {
			closeReader = noop
		}
		return rd, closeReader, "", nil
	case errors.Is(err, errNoModel) && cfg.Reader == config.ReaderAuto && cfg.Model == "":
		return reader.NewLexical(), noop, "no model loaded (" + err.Error() + "): answering with the lexical reader (BM25 sentence retrieval); " + howTo, nil
	default:
		return nil, nil, "", fmt.Errorf("load model %q: %w", cfg.Model, err)
	}
}

// newLogger builds the process logger from --log-format and --log-level.
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
