package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/askqa/ask/chunk"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/kb"
)

// Ingester adds documents to a collection: extract, chunk, embed, store.
type Ingester struct {
	Store kb.Store
	// Embedder computes chunk vectors; nil makes lexical-only collections.
	Embedder embed.Embedder
	// Tokenizer counts tokens for chunking (chunk.Words{} when nil).
	Tokenizer chunk.Tokenizer
	Chunk     chunk.Options
	Limits    Limits
	// Batch is how many chunks one Embed call takes at most (default 32);
	// small documents are embedded together.
	Batch int
}

// EventKind says what happened to one document.
type EventKind int

const (
	// Done: the document is stored and durable (added or replaced).
	Done EventKind = iota
	// Unchanged: the stored document has the same content; nothing written.
	Unchanged
	// Failed: the document was not stored (Err says why); the others go on.
	Failed
)

// Event reports one document.
type Event struct {
	Kind   EventKind
	DocID  string
	Path   string
	Result kb.PutResult // for Done: Added or Replaced
	Chunks int
	// Bytes is how much of the input this event accounts for, for progress.
	Bytes int64
	Err   error
}

// EnsureCollection creates the collection for this ingester's embedder, or
// checks that an existing one holds vectors of the same model.
func (in *Ingester) EnsureCollection(ctx context.Context, name string) error {
	var want kb.Collection
	want.Name = name
	if in.Embedder != nil {
		info := in.Embedder.Info()
		want.Embedder, want.Dim = info.Name, info.Dim
	}
	c, err := in.Store.Collection(ctx, name)
	if errors.Is(err, kb.ErrNotFound) {
		err = in.Store.CreateCollection(ctx, want)
		if errors.Is(err, kb.ErrExists) { // created meanwhile by another process
			c, err = in.Store.Collection(ctx, name)
		} else {
			return err
		}
	}
	if err != nil {
		return err
	}
	if c.Embedder != want.Embedder || c.Dim != want.Dim {
		return fmt.Errorf("collection %q holds vectors of %q (dimension %d), this ingest embeds with %q (dimension %d): use the same model, or another collection (ask add --from-collection %s --collection NEW copies its documents into one embedded by this model)",
			name, c.Embedder, c.Dim, want.Embedder, want.Dim, name)
	}
	return nil
}

// pending is a document extracted and chunked, waiting for its vectors.
type pending struct {
	doc    kb.Document
	chunks []kb.Chunk
	path   string
	bytes  int64
}

// AddFiles ingests files into the collection (which must exist: see
// EnsureCollection), calling report for every document after it is durable
// or has failed. A document that fails (unreadable, corrupt, too large) is
// reported and skipped; AddFiles itself fails only when the store or the
// embedder does, or ctx ends.
func (in *Ingester) AddFiles(ctx context.Context, collection string, files []File, report func(Event)) error {
	b := &batcher{in: in, collection: collection, report: report}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.Format == JSONL {
			if err := in.addJSONL(ctx, b, f); err != nil {
				return err
			}
			continue
		}
		p, skip, err := in.prepareFile(ctx, collection, f)
		switch {
		case isStoreErr(err):
			return err
		case err != nil:
			report(Event{Kind: Failed, DocID: f.ID, Path: f.Path, Bytes: f.Size, Err: err})
		case skip:
			report(Event{Kind: Unchanged, DocID: f.ID, Path: f.Path, Bytes: f.Size})
		default:
			if err := b.add(ctx, p); err != nil {
				return err
			}
		}
	}
	return b.flush(ctx)
}

// AddDocument chunks, embeds and stores one document given as text (an
// upload, say), returning what the store did and the number of chunks.
func (in *Ingester) AddDocument(ctx context.Context, collection string, doc kb.Document) (kb.PutResult, int, error) {
	if doc.Hash == "" {
		doc.Hash = in.hash([]byte(doc.Text))
	}
	p, err := in.prepare(doc, "", int64(len(doc.Text)))
	if err != nil {
		return 0, 0, err
	}
	var res kb.PutResult
	b := &batcher{in: in, collection: collection, report: func(e Event) { res = e.Result }}
	if err := b.add(ctx, p); err != nil {
		return 0, 0, err
	}
	if err := b.flush(ctx); err != nil {
		return 0, 0, err
	}
	return res, len(p.chunks), nil
}

// hash identifies a document's content and how it was cut: changing the
// chunk sizes re-chunks documents added before.
func (in *Ingester) hash(content []byte) string {
	h := sha256.New()
	o := in.Chunk
	fmt.Fprintf(h, "ask-ingest-v1 %d %d\n", o.MaxTokens, o.Overlap)
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// unchanged reports whether the stored document already has this hash.
func (in *Ingester) unchanged(ctx context.Context, collection, id, hash string) (bool, error) {
	d, err := in.Store.Document(ctx, collection, id)
	if errors.Is(err, kb.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.Hash == hash, nil
}

func (in *Ingester) prepareFile(ctx context.Context, collection string, f File) (pending, bool, error) {
	lim := in.Limits.withDefaults()
	if f.Size > lim.MaxFileBytes {
		return pending{}, false, fmt.Errorf("%s: %w: %d bytes, the limit is %d", f.Path, ErrTooLarge, f.Size, lim.MaxFileBytes)
	}
	data, err := readLimited(f.Path, lim.MaxFileBytes)
	if err != nil {
		return pending{}, false, err
	}
	hash := in.hash(data)
	if same, err := in.unchanged(ctx, collection, f.ID, hash); err != nil {
		return pending{}, false, storeError{err}
	} else if same {
		return pending{}, true, nil
	}
	ex, err := Extract(f.Format, data, lim)
	if err != nil {
		return pending{}, false, fmt.Errorf("%s: %w", f.Path, err)
	}
	src := f.Path
	if abs, err := filepath.Abs(f.Path); err == nil {
		src = abs
	}
	doc := kb.Document{ID: f.ID, Title: ex.Title, Source: src, Hash: hash, Text: ex.Text,
		Metadata: map[string]string{"format": string(f.Format)}}
	p, err := in.prepare(doc, f.Path, int64(len(data)))
	if err != nil {
		return pending{}, false, fmt.Errorf("%s: %w", f.Path, err)
	}
	return p, false, nil
}

func readLimited(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: over %d bytes", path, ErrTooLarge, max)
	}
	return data, nil
}

// prepare chunks a document.
func (in *Ingester) prepare(doc kb.Document, path string, n int64) (pending, error) {
	tok := in.Tokenizer
	if tok == nil {
		tok = chunk.Words{}
	}
	spans, err := chunk.Split(doc.Text, tok, in.Chunk)
	if err != nil {
		return pending{}, err
	}
	p := pending{doc: doc, path: path, bytes: n, chunks: make([]kb.Chunk, len(spans))}
	for i, s := range spans {
		p.chunks[i] = kb.Chunk{DocID: doc.ID, Seq: i, Start: s.Start, End: s.End, Text: doc.Text[s.Start:s.End], Tokens: s.Tokens}
	}
	return p, nil
}

func (in *Ingester) addJSONL(ctx context.Context, b *batcher, f File) error {
	fh, err := os.Open(f.Path)
	if err != nil {
		b.report(Event{Kind: Failed, Path: f.Path, DocID: f.ID, Bytes: f.Size, Err: err})
		return nil
	}
	defer fh.Close()
	var done int64
	err = ReadJSONL(fh, in.Limits, func(line int, rec Record) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, _ := json.Marshal(rec)
		n := int64(len(raw))
		done += n
		hash := in.hash(raw)
		if same, err := in.unchanged(ctx, b.collection, rec.ID, hash); err != nil {
			return storeError{err}
		} else if same {
			b.report(Event{Kind: Unchanged, DocID: rec.ID, Path: f.Path, Bytes: n})
			return nil
		}
		doc := kb.Document{ID: rec.ID, Title: rec.Title, Source: f.Path, Hash: hash, Text: rec.Text, Metadata: rec.Metadata}
		p, err := in.prepare(doc, f.Path, n)
		if err != nil {
			b.report(Event{Kind: Failed, DocID: rec.ID, Path: f.Path, Bytes: n, Err: fmt.Errorf("%s:%d: %w", f.Path, line, err)})
			return nil
		}
		return b.add(ctx, p)
	})
	if err != nil && ctx.Err() == nil && !isStoreErr(err) {
		// A malformed line stops this file, not the whole ingest.
		b.report(Event{Kind: Failed, Path: f.Path, DocID: f.ID, Bytes: max(f.Size-done, 0), Err: fmt.Errorf("%s: %w", f.Path, err)})
		return nil
	}
	return err
}

// storeError marks errors of the store or embedder, which stop an ingest.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

func isStoreErr(err error) bool {
	var se storeError
	return errors.As(err, &se)
}

// batcher gathers prepared documents until their chunks fill an Embed
// batch, then embeds them together and stores each in its own transaction.
type batcher struct {
	in         *Ingester
	collection string
	report     func(Event)
	docs       []pending
	chunks     int
}

func (b *batcher) add(ctx context.Context, p pending) error {
	b.docs = append(b.docs, p)
	b.chunks += len(p.chunks)
	batch := b.in.Batch
	if batch <= 0 {
		batch = 32
	}
	if b.chunks >= batch {
		return b.flush(ctx)
	}
	return nil
}

func (b *batcher) flush(ctx context.Context) error {
	docs := b.docs
	b.docs, b.chunks = nil, 0
	if len(docs) == 0 {
		return nil
	}
	if e := b.in.Embedder; e != nil {
		var texts []string
		for _, d := range docs {
			for _, c := range d.chunks {
				texts = append(texts, c.Text)
			}
		}
		vecs, err := e.Embed(ctx, texts, embed.Options{Role: embed.RoleDocument})
		if err != nil {
			if errors.Is(err, embed.ErrInput) {
				// One bad text fails its documents, not the ingest: retry
				// each document alone to find which.
				return b.flushEach(ctx, docs)
			}
			return storeError{fmt.Errorf("embed %d chunks: %w", len(texts), err)}
		}
		if len(vecs) != len(texts) {
			return storeError{fmt.Errorf("embed: %d vectors for %d chunks", len(vecs), len(texts))}
		}
		i := 0
		for _, d := range docs {
			for j := range d.chunks {
				d.chunks[j].Vector = vecs[i].Vector
				i++
			}
		}
	}
	for _, d := range docs {
		res, err := b.in.Store.PutDocument(ctx, b.collection, d.doc, d.chunks)
		if errors.Is(err, kb.ErrInvalid) {
			b.report(Event{Kind: Failed, DocID: d.doc.ID, Path: d.path, Bytes: d.bytes, Err: err})
			continue
		}
		if err != nil {
			return storeError{err}
		}
		kind := Done
		if res == kb.Unchanged {
			kind = Unchanged
		}
		b.report(Event{Kind: kind, DocID: d.doc.ID, Path: d.path, Result: res, Chunks: len(d.chunks), Bytes: d.bytes})
	}
	return nil
}

func (b *batcher) flushEach(ctx context.Context, docs []pending) error {
	for _, d := range docs {
		b.docs, b.chunks = []pending{d}, len(d.chunks)
		texts := make([]string, len(d.chunks))
		for i, c := range d.chunks {
			texts[i] = c.Text
		}
		if _, err := b.in.Embedder.Embed(ctx, texts, embed.Options{Role: embed.RoleDocument}); errors.Is(err, embed.ErrInput) {
			b.docs, b.chunks = nil, 0
			b.report(Event{Kind: Failed, DocID: d.doc.ID, Path: d.path, Bytes: d.bytes, Err: err})
			continue
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
	}
	return nil
}
