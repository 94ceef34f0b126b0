package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/embed/sentence"
)

// embedModelFlagHelp is the --model help of the commands that embed.
const embedModelFlagHelp = "embedding model: \"builtin\" (the default: multilingual-e5-small inside ask, English and Chinese), a sentence-transformers folder, or a Hub repo id[@revision]"

// loadEmbedder resolves an embedding model reference: empty or "builtin"
// is the model inside the binary (loaded from memory); anything else a
// folder or Hub id, resolved like --model.
func loadEmbedder(ctx context.Context, env Env, ref string, threads int, log *slog.Logger) (*sentence.Model, error) {
	q, err := quantizeMode(env)
	if err != nil {
		return nil, err
	}
	opts := sentence.LoadOptions{Threads: threads, Logger: log, Quantize: q}
	if builtin.IsEmbedder(ref) {
		return sentence.LoadBuiltin(opts)
	}
	dir, err := resolveModel(ctx, env, ref, false)
	if err != nil {
		return nil, err
	}
	return sentence.Load(dir, opts)
}

type embedLine struct {
	Text *string `json:"text"`
}

type embedOut struct {
	Embedding []float32 `json:"embedding"`
	Tokens    int       `json:"tokens"`
	Truncated bool      `json:"truncated"`
}

// embedChunk is how many input lines are embedded together: enough to sort
// by length into batches that pad little, few enough to stream.
const embedChunk = 1024

// runEmbed reads JSON lines {"text": ...} (or plain text lines) and writes
// one JSON line {"embedding", "tokens", "truncated"} per input, in order.
func runEmbed(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "embed", "[--model M] [--prompt NAME] [--batch N] < texts\n\n"+
		"Reads JSON lines {\"text\": ...} or plain text lines (the first non-empty line decides:\n"+
		"one starting with '{' means JSON lines) and writes one JSON line\n"+
		"{\"embedding\": [...], \"tokens\": n, \"truncated\": bool} per input, in order. Empty lines are skipped.")
	ref := fs.String("model", builtin.EmbedderName, embedModelFlagHelp)
	prompt := fs.String("prompt", "", "name of a prompt of the model's config_sentence_transformers.json (e.g. query, passage)")
	batch := fs.Int("batch", 32, "texts per forward pass")
	threads := fs.Int("threads", 0, "threads of a forward pass (0: one per CPU)")
	addQuantizeFlag(fs, &env)
	stats := fs.Bool("stats", false, "print a JSON line of timings to standard error at the end (load_ms, embed_ms: time inside the model, tokenization included; texts_per_s)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: texts come on standard input, one per line", fs.Arg(0))
	}
	if *batch < 1 {
		return fmt.Errorf("--batch %d: must be at least 1", *batch)
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, nil))
	t0 := time.Now()
	m, err := loadEmbedder(ctx, env, *ref, *threads, log)
	if err != nil {
		return err
	}
	loadTime := time.Since(t0)
	var embedTime time.Duration
	nTexts, nTokens := 0, 0
	defer m.Close()
	m.BatchSize = *batch
	m.BatchTokens = *batch * m.Info().MaxSeqLen
	opts := embed.Options{Prompt: *prompt}
	if *prompt != "" {
		// Fail before reading a line when the name is wrong.
		if _, err := m.Prepare(nil, opts); err != nil {
			return err
		}
	}

	sc := bufio.NewScanner(env.Stdin)
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	w := bufio.NewWriter(env.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var texts []string
	flush := func() error {
		if len(texts) == 0 {
			return nil
		}
		t := time.Now()
		res, err := m.Embed(ctx, texts, opts)
		if err != nil {
			return err
		}
		embedTime += time.Since(t)
		nTexts += len(res)
		for _, r := range res {
			nTokens += r.Tokens
		}
		for _, r := range res {
			if err := enc.Encode(embedOut{Embedding: r.Vector, Tokens: r.Tokens, Truncated: r.Truncated}); err != nil {
				return err
			}
		}
		texts = texts[:0]
		return w.Flush()
	}
	line, jsonLines, decided := 0, false, false
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if !decided {
			jsonLines, decided = bytes.TrimSpace(b)[0] == '{', true
		}
		text := string(b)
		if jsonLines {
			var in embedLine
			if err := json.Unmarshal(b, &in); err != nil {
				return fmt.Errorf("line %d: %w (input is JSON lines because the first line starts with '{')", line, err)
			}
			if in.Text == nil {
				return fmt.Errorf("line %d: missing \"text\"", line)
			}
			text = *in.Text
		}
		texts = append(texts, text)
		if len(texts) == embedChunk {
			if err := flush(); err != nil {
				return fmt.Errorf("lines up to %d: %w", line, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read standard input: %w", err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("lines up to %d: %w", line, err)
	}
	if *stats {
		sec := embedTime.Seconds()
		b, _ := json.Marshal(map[string]any{"texts": nTexts, "tokens": nTokens, "load_ms": ms(loadTime), "embed_ms": ms(embedTime),
			"texts_per_s": float64(nTexts) / max(sec, 1e-9), "threads": *threads, "batch": *batch})
		fmt.Fprintf(env.Stderr, "%s\n", b)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
