// Package kb holds the knowledge base's domain: collections of documents
// cut into chunks, and the Store that keeps them with a lexical and a vector
// index. Backends (kb/sqlite, later PostgreSQL) implement Store and pass the
// conformance suite in kb/kbtest; everything above them (ingest, retrieve,
// cli, server) depends on this package only.
package kb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Collection is a named set of documents searched together. Vectors of one
// collection all come from one embedding model, so Embedder and Dim are
// fixed when the collection is created.
type Collection struct {
	Name string
	// Embedder names the model whose vectors the chunks carry ("" and Dim 0:
	// a lexical-only collection).
	Embedder string
	// Dim is the length of every chunk vector.
	Dim int
	// Created is set by the store.
	Created time.Time
	// Documents and Chunks count what the collection holds (set by the
	// store when listing).
	Documents, Chunks int
}

// Document is one source text. Chunk offsets index into Text, the text
// extracted from the source, which the store keeps so that every passage can
// be shown in its document.
type Document struct {
	ID     string
	Title  string
	Source string // a path or URL
	// Hash is ContentHash(Text) (set by the store when empty): re-adding a
	// document with the same hash changes nothing.
	Hash     string
	Metadata map[string]string
	// Added is set by the store on every write that changed the document.
	Added time.Time
	Text  string
	// Chunks counts the document's chunks (set by the store when reading).
	Chunks int
}

// Chunk is a passage of a document, the unit of retrieval.
type Chunk struct {
	// ID is the store's identifier of this version of the chunk; it changes
	// when the document is replaced.
	ID    int64
	DocID string
	// Seq numbers the chunks of a document from 0 in text order.
	Seq int
	// Start and End are byte offsets into the document's Text:
	// doc.Text[Start:End] == Text.
	Start, End int
	Text       string
	// Tokens counts the chunk's tokens in the chunker's tokenizer.
	Tokens int
	// Vector is the chunk's embedding, of the collection's Dim (nil in a
	// lexical-only collection). Search results leave it nil.
	Vector []float32
}

// Filter narrows a search. The zero value matches everything.
type Filter struct {
	// DocIDs, when not empty, keeps chunks of these documents only.
	DocIDs []string
	// Metadata keeps chunks whose document has every key with exactly this
	// value.
	Metadata map[string]string
}

// Query is one search. Text runs the lexical (BM25) search, Vector the
// exact vector search (dot product); either may be empty, not both.
type Query struct {
	Text   string
	Vector []float32
	// K is how many hits each search returns at most (default 10).
	K      int
	Filter Filter
}

// Hit is a chunk found by a search, with what a citation needs of its
// document.
type Hit struct {
	Chunk
	Title, Source string
	// Score: BM25 (higher is better) for lexical hits, the dot product for
	// vector hits.
	Score float64
}

// Results are the hits of each search of a Query, best first, both read
// from one snapshot of the store: a document replaced during the search
// shows in its old or its new version, never a mix.
type Results struct {
	Lexical, Vector []Hit
}

// PutResult says what PutDocument did.
type PutResult int

const (
	// Added: the document is new.
	Added PutResult = iota
	// Replaced: the document existed with another hash; its chunks were
	// replaced.
	Replaced
	// Unchanged: the document existed with the same hash; nothing was
	// written.
	Unchanged
)

func (r PutResult) String() string {
	switch r {
	case Added:
		return "added"
	case Replaced:
		return "replaced"
	case Unchanged:
		return "unchanged"
	}
	return fmt.Sprintf("PutResult(%d)", int(r))
}

// Store keeps collections, documents, chunks and their indexes. A write is
// durable when it returns; each call is atomic. Implementations are safe for
// concurrent use, also by several processes on one database.
type Store interface {
	// CreateCollection creates c (Name, Embedder, Dim); ErrExists if a
	// collection of that name exists.
	CreateCollection(ctx context.Context, c Collection) error
	// Collection returns one collection with its counts; ErrNotFound.
	Collection(ctx context.Context, name string) (Collection, error)
	// Collections lists the collections by name.
	Collections(ctx context.Context) ([]Collection, error)
	// DeleteCollection removes a collection and everything in it.
	DeleteCollection(ctx context.Context, name string) error

	// PutDocument adds doc with its chunks, or replaces a document of the
	// same ID and every chunk it had, in one transaction. A document whose
	// hash equals the stored one is left as is (Unchanged). Chunks must lie
	// inside doc.Text at their offsets and carry vectors of the
	// collection's Dim (ErrInvalid otherwise).
	PutDocument(ctx context.Context, collection string, doc Document, chunks []Chunk) (PutResult, error)
	// Document returns a document with its text; ErrNotFound.
	Document(ctx context.Context, collection, id string) (Document, error)
	// Documents lists documents by ID without their text: at most limit
	// (default 100) with IDs after the given one ("" for the first page).
	Documents(ctx context.Context, collection, after string, limit int) ([]Document, error)
	// Chunks returns a document's chunks in order, without vectors.
	Chunks(ctx context.Context, collection, docID string) ([]Chunk, error)
	// DeleteDocument removes a document and its chunks; ErrNotFound.
	DeleteDocument(ctx context.Context, collection, id string) error

	// Search runs the query's lexical and vector searches.
	Search(ctx context.Context, collection string, q Query) (Results, error)

	Close() error
}

var (
	// ErrNotFound: no such collection or document.
	ErrNotFound = errors.New("kb: not found")
	// ErrExists: the collection exists already.
	ErrExists = errors.New("kb: already exists")
	// ErrInvalid: the input breaks a rule of the store (a bad name, chunk
	// offsets outside the text, a vector of the wrong length...).
	ErrInvalid = errors.New("kb: invalid input")
	// ErrUnavailable: the store's database server cannot be reached right
	// now (down, restarting, out of connections); the call changed
	// nothing it acknowledged and may be retried (HTTP 503).
	ErrUnavailable = errors.New("kb: store unavailable")
)

// ContentHash is the hash that identifies a document's content: the hex
// SHA-256 of its text.
func ContentHash(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// ValidateName checks a collection name: 1 to 64 letters, digits, '-', '_'
// or '.', not starting with '.' (names appear in URLs and paths).
func ValidateName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return fmt.Errorf("%w: collection name %q: use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'", ErrInvalid, name)
	}
	for _, r := range name {
		if !(r < utf8.RuneSelf && (r == '-' || r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return fmt.Errorf("%w: collection name %q: use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'", ErrInvalid, name)
		}
	}
	return nil
}

// Validate checks a document and its chunks against the rules every store
// enforces: a non-empty valid-UTF-8 ID of at most 512 bytes, valid UTF-8
// text, chunks in order whose offsets select their text, and vectors of
// length dim (none when dim is 0).
func Validate(doc Document, chunks []Chunk, dim int) error {
	if doc.ID == "" || len(doc.ID) > 512 || !utf8.ValidString(doc.ID) || strings.ContainsRune(doc.ID, 0) {
		return fmt.Errorf("%w: document id %q: want 1 to 512 bytes of UTF-8 without NUL", ErrInvalid, doc.ID)
	}
	for name, s := range map[string]string{"title": doc.Title, "source": doc.Source, "text": doc.Text} {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%w: document %q: %s is not valid UTF-8", ErrInvalid, doc.ID, name)
		}
	}
	for k, v := range doc.Metadata {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("%w: document %q: metadata %q: keys must be non-empty and keys and values valid UTF-8", ErrInvalid, doc.ID, k)
		}
	}
	for i, c := range chunks {
		if c.Start < 0 || c.End < c.Start || c.End > len(doc.Text) || doc.Text[c.Start:c.End] != c.Text {
			return fmt.Errorf("%w: document %q: chunk %d: offsets [%d,%d) do not select its text in a document of %d bytes", ErrInvalid, doc.ID, i, c.Start, c.End, len(doc.Text))
		}
		if i > 0 && c.Start < chunks[i-1].Start {
			return fmt.Errorf("%w: document %q: chunk %d starts before chunk %d", ErrInvalid, doc.ID, i, i-1)
		}
		if len(c.Vector) != dim {
			return fmt.Errorf("%w: document %q: chunk %d: vector of length %d, the collection holds vectors of length %d", ErrInvalid, doc.ID, i, len(c.Vector), dim)
		}
	}
	return nil
}
