package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/chunk"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/ingest"
	"github.com/askqa/ask/kb"
)

// listFlag is a flag that may be repeated or hold comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func runAdd(ctx context.Context, env Env, args []string) error {
	return addCmd(ctx, env, args, nil)
}

// addCmd is ask add; models nil loads the real ones.
func addCmd(ctx context.Context, env Env, args []string, models *kbModels) error {
	fs := newFlags(env, "add", "[--collection C] [--data DIR] [flags] PATH...\n"+
		"       ask add --from-collection OLD --collection NEW [flags]\n\n"+
		"Adds files and folders (recursively) to a collection: .txt, .md, .html, .pdf, and .jsonl\n"+
		"with one {\"id\",\"title\",\"text\",\"metadata\"} document per line. Each document is\n"+
		"chunked, embedded and stored in one transaction; a line \"added|replaced|unchanged ID\"\n"+
		"on standard output means it is on disk. Files whose content did not change are skipped.\n"+
		"Progress (documents, chunks, chunks/s, ETA) goes to standard error.\n\n"+
		"--from-collection copies the documents of another collection of the same store instead,\n"+
		"re-chunked and re-embedded with --embed-model: how a collection embedded by another\n"+
		"model (an older ask's built-in embedder, say) moves to this one. OLD is left as it is.")
	kf := addKBFlags(fs)
	model := fs.String("embed-model", builtin.EmbedderName, embedModelFlagHelp+`; "none" for a collection searched lexically only`)
	var include, exclude listFlag
	fs.Var(&include, "include", "only files matching this glob (\"*.md\", \"docs/*.html\", \"api/**\"); repeat or separate with commas")
	fs.Var(&exclude, "exclude", "skip files and folders matching this glob; repeat or separate with commas")
	maxTokens := fs.Int("chunk-tokens", 0, "tokens per chunk at most (default: 192, less if the embedder's window is smaller)")
	overlap := fs.Int("chunk-overlap", 0, "tokens of whole sentences a chunk repeats from the one before (default: a sixth of --chunk-tokens)")
	threads := fs.Int("threads", 0, "threads of the embedder (0: one per CPU)")
	from := fs.String("from-collection", "", "copy the documents of this collection (same --data or --db) instead of reading files")
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *from != "" && len(paths) > 0:
		return fmt.Errorf("give files to add or --from-collection %s, not both", *from)
	case *from != "" && *from == *kf.collection:
		return fmt.Errorf("--from-collection %s is --collection itself: name a new collection to copy it into", *from)
	case *from == "" && len(paths) == 0:
		fs.Usage()
		return errUsage
	}
	if models == nil {
		m := realModels(env, *threads)
		models = &m
	}
	var files []ingest.File
	if *from == "" {
		var skipped []string
		files, skipped, err = ingest.Files(paths, ingest.Globs{Include: include, Exclude: exclude})
		if err != nil {
			return err
		}
		for _, s := range skipped {
			fmt.Fprintf(env.Stderr, "skip %s: not a type ask reads\n", s)
		}
	}
	store, err := openKB(ctx, env, *kf.data, *kf.db, true)
	if err != nil {
		return err
	}
	defer store.Close()
	if *from != "" {
		// Before loading a model: a misspelt name fails at once.
		if _, err := store.Collection(ctx, *from); err != nil {
			return fmt.Errorf("--from-collection %s: %w", *from, err)
		}
	}

	in := &ingest.Ingester{Store: store, Chunk: chunk.Options{MaxTokens: *maxTokens, Overlap: *overlap}}
	if *model != "none" {
		emb, tok, closeModel, err := models.embedder(ctx, *model)
		if err != nil {
			return err
		}
		defer closeModel()
		in.Embedder, in.Tokenizer = emb, tok
		if in.Chunk.MaxTokens == 0 {
			in.Chunk.MaxTokens = chunkTokens(emb.Info())
		}
	}
	if err := in.EnsureCollection(ctx, *kf.collection); err != nil {
		return err
	}
	if *from != "" {
		return copyCollection(ctx, env, store, in, *from, *kf.collection)
	}

	p := newIngestProgress(env.Stderr, files)
	var failed int
	err = in.AddFiles(ctx, *kf.collection, files, func(e ingest.Event) {
		switch e.Kind {
		case ingest.Done:
			fmt.Fprintf(env.Stdout, "%s %s (%d chunks)\n", e.Result, e.DocID, e.Chunks)
		case ingest.Unchanged:
			fmt.Fprintf(env.Stdout, "unchanged %s\n", e.DocID)
		case ingest.Failed:
			failed++
			p.clear()
			fmt.Fprintf(env.Stderr, "failed %s: %v\n", e.DocID, e.Err)
		}
		p.event(e)
	})
	p.finish()
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d documents failed (see above); the others are stored", failed)
	}
	return nil
}

// copyCollection adds every document of collection from to collection to,
// one transaction each, keeping their IDs, titles, sources, metadata and
// content hashes (so re-adding the original files later finds them
// unchanged). Re-running it after an interruption skips what was copied.
func copyCollection(ctx context.Context, env Env, store kb.Store, in *ingest.Ingester, from, to string) error {
	start, last := time.Now(), time.Now()
	var docs, chunks int
	for after := ""; ; {
		page, err := store.Documents(ctx, from, after, 100)
		if err != nil {
			return fmt.Errorf("--from-collection %s: %w", from, err)
		}
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			doc, err := store.Document(ctx, from, d.ID)
			if err != nil {
				return fmt.Errorf("--from-collection %s: document %s: %w", from, d.ID, err)
			}
			res, n, err := in.AddDocument(ctx, to, doc)
			if err != nil {
				return fmt.Errorf("copy %s into %s: %w (the documents listed above are stored; run the command again to go on)", d.ID, to, err)
			}
			fmt.Fprintf(env.Stdout, "%s %s (%d chunks)\n", res, doc.ID, n)
			docs, chunks = docs+1, chunks+n
			if time.Since(last) >= 5*time.Second {
				last = time.Now()
				fmt.Fprintf(env.Stderr, "%d documents, %d chunks, %.1f chunks/s, %s elapsed\n",
					docs, chunks, float64(chunks)/time.Since(start).Seconds(), time.Since(start).Round(time.Second))
			}
		}
		after = page[len(page)-1].ID
	}
	fmt.Fprintf(env.Stderr, "%d documents of %s copied into %s (%d chunks) in %s\n", docs, from, to, chunks, time.Since(start).Round(time.Second))
	return nil
}

// chunkTokens sizes chunks for an embedder: 192 tokens, or its window less
// its special tokens if smaller. The reader's window (384 tokens with the
// question) holds a 192-token chunk whole.
func chunkTokens(info embed.Info) int {
	n := 192
	if info.MaxSeqLen > 0 && info.MaxSeqLen-2 < n {
		n = info.MaxSeqLen - 2
	}
	return max(n, 8)
}

// ingestProgress draws the ingest progress line on standard error: redrawn in
// place on a terminal, a line every few seconds otherwise.
type ingestProgress struct {
	w          io.Writer
	tty        bool
	start      time.Time
	last       time.Time
	totalBytes int64
	doneBytes  int64
	docs       int
	chunks     int
	drawn      bool
}

func newIngestProgress(w io.Writer, files []ingest.File) *ingestProgress {
	p := &ingestProgress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	for _, f := range files {
		p.totalBytes += f.Size
	}
	return p
}

func (p *ingestProgress) event(e ingest.Event) {
	p.docs++
	p.chunks += e.Chunks
	p.doneBytes += e.Bytes
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if time.Since(p.last) >= every {
		p.draw(false)
	}
}

func (p *ingestProgress) line() string {
	el := time.Since(p.start)
	rate := float64(p.chunks) / max(el.Seconds(), 1e-3)
	eta := "?"
	if p.doneBytes > 0 && p.totalBytes > p.doneBytes {
		left := time.Duration(float64(el) * float64(p.totalBytes-p.doneBytes) / float64(p.doneBytes))
		eta = left.Round(time.Second).String()
	} else if p.totalBytes > 0 && p.doneBytes >= p.totalBytes {
		eta = "0s"
	}
	pct := 100.0
	if p.totalBytes > 0 {
		pct = 100 * float64(min(p.doneBytes, p.totalBytes)) / float64(p.totalBytes)
	}
	return fmt.Sprintf("%d documents, %d chunks, %.1f chunks/s, %3.0f%%, ETA %s, %s elapsed",
		p.docs, p.chunks, rate, pct, eta, el.Round(time.Second))
}

func (p *ingestProgress) draw(final bool) {
	p.last = time.Now()
	switch {
	case p.tty && final:
		fmt.Fprintf(p.w, "\r\033[K%s\n", p.line())
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", p.line())
		p.drawn = true
		return
	default:
		fmt.Fprintln(p.w, p.line())
	}
	p.drawn = false
}

// clear removes a line drawn in place before other output.
func (p *ingestProgress) clear() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

func (p *ingestProgress) finish() { p.draw(true) }

var _ flag.Value = (*listFlag)(nil)
