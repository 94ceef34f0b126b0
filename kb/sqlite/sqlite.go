// Package sqlite is the knowledge base's default kb.Store: one SQLite
// database file (modernc.org/sqlite, pure Go) in WAL mode, an FTS5 table per
// collection ranked with bm25(), and chunk vectors stored as blobs and
// searched exactly in memory.
//
// Chinese and Japanese have no spaces between words and FTS5's unicode61
// tokenizer would index a whole run of Han characters as one token. The
// store therefore indexes every CJK character as a token of its own and
// turns a CJK run of the query into phrases of adjacent pairs ("北京大学" →
// "北 京" OR "京 大" OR "大 学"), the bigram retrieval that works well for
// Chinese, while the trigram tokenizer would miss two-character words.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/askqa/ask/kb"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// schemaVersion is PRAGMA user_version of a database this package wrote.
const schemaVersion = 1

var schema = []string{
	`CREATE TABLE IF NOT EXISTS collections (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		name TEXT NOT NULL UNIQUE,
		embedder TEXT NOT NULL,
		dim INTEGER NOT NULL,
		created INTEGER NOT NULL,
		gen INTEGER NOT NULL DEFAULT 0)`,
	`CREATE TABLE IF NOT EXISTS documents (
		collection INTEGER NOT NULL,
		id TEXT NOT NULL,
		title TEXT NOT NULL,
		source TEXT NOT NULL,
		hash TEXT NOT NULL,
		metadata TEXT NOT NULL,
		added INTEGER NOT NULL,
		text TEXT NOT NULL,
		rev INTEGER NOT NULL,
		PRIMARY KEY (collection, id))`,
	`CREATE INDEX IF NOT EXISTS documents_rev ON documents(collection, rev)`,
	`CREATE TABLE IF NOT EXISTS chunks (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		collection INTEGER NOT NULL,
		doc TEXT NOT NULL,
		seq INTEGER NOT NULL,
		start INTEGER NOT NULL,
		end INTEGER NOT NULL,
		tokens INTEGER NOT NULL,
		text TEXT NOT NULL,
		vector BLOB)`,
	`CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(collection, doc, seq)`,
	// deletions lets another process's in-memory vector index learn which
	// documents went away since the generation it last saw.
	`CREATE TABLE IF NOT EXISTS deletions (
		collection INTEGER NOT NULL,
		doc TEXT NOT NULL,
		gen INTEGER NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS deletions_gen ON deletions(collection, gen)`,
}

// Store is a kb.Store on one SQLite file.
type Store struct {
	db *sql.DB
	// writeMu serialises this process's writers, so that they queue here
	// rather than spin on SQLite's busy handler; other processes are kept
	// out by BEGIN IMMEDIATE and the busy timeout.
	writeMu sync.Mutex

	mu      sync.Mutex
	indexes map[int64]*vectorIndex // by collection id (never reused)
}

var _ kb.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open knowledge base %s: the path may not contain '?' or '#'", path)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(30000)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open knowledge base %s: %w", path, err)
	}
	s := &Store{db: db, indexes: map[int64]*vectorIndex{}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open knowledge base %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	return s.write(ctx, func(c *sql.Conn) error {
		var v int
		if err := c.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return err
		}
		if v > schemaVersion {
			return fmt.Errorf("the database has schema version %d, this ask knows up to %d: use a newer ask", v, schemaVersion)
		}
		for _, stmt := range schema {
			if _, err := c.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		_, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion))
		return err
	})
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the database for checks (integrity_check in tests and
// diagnostics); callers must not write through it.
func (s *Store) DB() *sql.DB { return s.db }

// write runs f in a BEGIN IMMEDIATE transaction on one connection and
// commits when f returns nil.
func (s *Store) write(ctx context.Context, f func(*sql.Conn) error) (err error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// The context may be what failed: roll back regardless.
			c.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if err := f(c); err != nil {
		return err
	}
	_, err = c.ExecContext(ctx, "COMMIT")
	return err
}

// read runs f in a read transaction: every query of f sees one snapshot.
func (s *Store) read(ctx context.Context, f func(*sql.Conn) error) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	defer c.ExecContext(context.Background(), "ROLLBACK")
	return f(c)
}

type collRow struct {
	id  int64
	dim int
	gen int64
}

func lookup(ctx context.Context, c *sql.Conn, name string) (collRow, error) {
	var r collRow
	err := c.QueryRowContext(ctx, "SELECT id, dim, gen FROM collections WHERE name = ?", name).Scan(&r.id, &r.dim, &r.gen)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("collection %q: %w (create it first, e.g. by adding documents to it)", name, kb.ErrNotFound)
	}
	return r, err
}

func ftsTable(id int64) string { return fmt.Sprintf("fts_%d", id) }

// CreateCollection implements kb.Store.
func (s *Store) CreateCollection(ctx context.Context, col kb.Collection) error {
	if err := kb.ValidateName(col.Name); err != nil {
		return err
	}
	if col.Dim < 0 || col.Dim > 1<<16 || (col.Dim == 0) != (col.Embedder == "") {
		return fmt.Errorf("%w: collection %q: embedder %q with dimension %d: give both or neither", kb.ErrInvalid, col.Name, col.Embedder, col.Dim)
	}
	return s.write(ctx, func(c *sql.Conn) error {
		var n int
		if err := c.QueryRowContext(ctx, "SELECT count(*) FROM collections WHERE name = ?", col.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("collection %q: %w", col.Name, kb.ErrExists)
		}
		res, err := c.ExecContext(ctx, "INSERT INTO collections(name, embedder, dim, created) VALUES (?, ?, ?, ?)",
			col.Name, col.Embedder, col.Dim, time.Now().UnixNano())
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		_, err = c.ExecContext(ctx, fmt.Sprintf(
			"CREATE VIRTUAL TABLE %s USING fts5(text, content='', contentless_delete=1, tokenize='porter unicode61 remove_diacritics 2')", ftsTable(id)))
		return err
	})
}

func scanCollection(ctx context.Context, c *sql.Conn, name string) (kb.Collection, error) {
	var col kb.Collection
	var id, created int64
	err := c.QueryRowContext(ctx, "SELECT id, name, embedder, dim, created FROM collections WHERE name = ?", name).
		Scan(&id, &col.Name, &col.Embedder, &col.Dim, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return col, fmt.Errorf("collection %q: %w", name, kb.ErrNotFound)
	}
	if err != nil {
		return col, err
	}
	col.Created = time.Unix(0, created)
	if err := c.QueryRowContext(ctx, "SELECT count(*) FROM documents WHERE collection = ?", id).Scan(&col.Documents); err != nil {
		return col, err
	}
	err = c.QueryRowContext(ctx, "SELECT count(*) FROM chunks WHERE collection = ?", id).Scan(&col.Chunks)
	return col, err
}

// Collection implements kb.Store.
func (s *Store) Collection(ctx context.Context, name string) (kb.Collection, error) {
	var col kb.Collection
	err := s.read(ctx, func(c *sql.Conn) error {
		var err error
		col, err = scanCollection(ctx, c, name)
		return err
	})
	return col, err
}

// Collections implements kb.Store.
func (s *Store) Collections(ctx context.Context) ([]kb.Collection, error) {
	var out []kb.Collection
	err := s.read(ctx, func(c *sql.Conn) error {
		rows, err := c.QueryContext(ctx, "SELECT name FROM collections ORDER BY name")
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, n := range names {
			col, err := scanCollection(ctx, c, n)
			if err != nil {
				return err
			}
			out = append(out, col)
		}
		return nil
	})
	return out, err
}

// DeleteCollection implements kb.Store.
func (s *Store) DeleteCollection(ctx context.Context, name string) error {
	var id int64
	err := s.write(ctx, func(c *sql.Conn) error {
		r, err := lookup(ctx, c, name)
		if err != nil {
			return err
		}
		id = r.id
		for _, q := range []string{
			"DELETE FROM chunks WHERE collection = ?",
			"DELETE FROM documents WHERE collection = ?",
			"DELETE FROM deletions WHERE collection = ?",
			"DELETE FROM collections WHERE id = ?",
		} {
			if _, err := c.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		_, err = c.ExecContext(ctx, "DROP TABLE "+ftsTable(id))
		return err
	})
	if err == nil {
		s.mu.Lock()
		delete(s.indexes, id)
		s.mu.Unlock()
	}
	return err
}

// PutDocument implements kb.Store.
func (s *Store) PutDocument(ctx context.Context, collection string, doc kb.Document, chunks []kb.Chunk) (kb.PutResult, error) {
	if doc.Hash == "" {
		doc.Hash = kb.ContentHash(doc.Text)
	}
	if doc.Metadata == nil {
		doc.Metadata = map[string]string{}
	}
	meta, err := json.Marshal(doc.Metadata)
	if err != nil {
		return 0, fmt.Errorf("%w: document %q: metadata: %v", kb.ErrInvalid, doc.ID, err)
	}
	result := kb.Added
	err = s.write(ctx, func(c *sql.Conn) error {
		col, err := lookup(ctx, c, collection)
		if err != nil {
			return err
		}
		if err := kb.Validate(doc, chunks, col.dim); err != nil {
			return err
		}
		var old string
		switch err := c.QueryRowContext(ctx, "SELECT hash FROM documents WHERE collection = ? AND id = ?", col.id, doc.ID).Scan(&old); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case old == doc.Hash:
			result = kb.Unchanged
			return nil
		default:
			result = kb.Replaced
			if err := deleteChunks(ctx, c, col.id, doc.ID); err != nil {
				return err
			}
		}
		gen := col.gen + 1
		if _, err := c.ExecContext(ctx, "UPDATE collections SET gen = ? WHERE id = ?", gen, col.id); err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, `INSERT INTO documents(collection, id, title, source, hash, metadata, added, text, rev)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(collection, id) DO UPDATE SET title=excluded.title, source=excluded.source, hash=excluded.hash,
				metadata=excluded.metadata, added=excluded.added, text=excluded.text, rev=excluded.rev`,
			col.id, doc.ID, doc.Title, doc.Source, doc.Hash, string(meta), time.Now().UnixNano(), doc.Text, gen); err != nil {
			return err
		}
		ins, err := c.PrepareContext(ctx, "INSERT INTO chunks(collection, doc, seq, start, end, tokens, text, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
		if err != nil {
			return err
		}
		defer ins.Close()
		fts, err := c.PrepareContext(ctx, "INSERT INTO "+ftsTable(col.id)+"(rowid, text) VALUES (?, ?)")
		if err != nil {
			return err
		}
		defer fts.Close()
		for i, ch := range chunks {
			var vec []byte
			if col.dim > 0 {
				vec = encodeVector(ch.Vector)
			}
			res, err := ins.ExecContext(ctx, col.id, doc.ID, i, ch.Start, ch.End, ch.Tokens, ch.Text, vec)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			if _, err := fts.ExecContext(ctx, id, kb.IndexText(ch.Text)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("put document %q into %q: %w", doc.ID, collection, err)
	}
	return result, nil
}

// deleteChunks removes a document's chunks and their index entries.
func deleteChunks(ctx context.Context, c *sql.Conn, coll int64, doc string) error {
	if _, err := c.ExecContext(ctx, "DELETE FROM "+ftsTable(coll)+" WHERE rowid IN (SELECT id FROM chunks WHERE collection = ? AND doc = ?)", coll, doc); err != nil {
		return err
	}
	_, err := c.ExecContext(ctx, "DELETE FROM chunks WHERE collection = ? AND doc = ?", coll, doc)
	return err
}

// DeleteDocument implements kb.Store.
func (s *Store) DeleteDocument(ctx context.Context, collection, id string) error {
	err := s.write(ctx, func(c *sql.Conn) error {
		col, err := lookup(ctx, c, collection)
		if err != nil {
			return err
		}
		res, err := c.ExecContext(ctx, "DELETE FROM documents WHERE collection = ? AND id = ?", col.id, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("document %q: %w", id, kb.ErrNotFound)
		}
		if err := deleteChunks(ctx, c, col.id, id); err != nil {
			return err
		}
		gen := col.gen + 1
		if _, err := c.ExecContext(ctx, "UPDATE collections SET gen = ? WHERE id = ?", gen, col.id); err != nil {
			return err
		}
		_, err = c.ExecContext(ctx, "INSERT INTO deletions(collection, doc, gen) VALUES (?, ?, ?)", col.id, id, gen)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete document %q from %q: %w", id, collection, err)
	}
	return nil
}

// Document implements kb.Store.
func (s *Store) Document(ctx context.Context, collection, id string) (kb.Document, error) {
	var d kb.Document
	err := s.read(ctx, func(c *sql.Conn) error {
		col, err := lookup(ctx, c, collection)
		if err != nil {
			return err
		}
		var meta string
		var added int64
		err = c.QueryRowContext(ctx, `SELECT id, title, source, hash, metadata, added, text,
			(SELECT count(*) FROM chunks WHERE collection = d.collection AND doc = d.id)
			FROM documents d WHERE collection = ? AND id = ?`, col.id, id).
			Scan(&d.ID, &d.Title, &d.Source, &d.Hash, &meta, &added, &d.Text, &d.Chunks)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("document %q in %q: %w", id, collection, kb.ErrNotFound)
		}
		if err != nil {
			return err
		}
		d.Added = time.Unix(0, added)
		return json.Unmarshal([]byte(meta), &d.Metadata)
	})
	return d, err
}

// Documents implements kb.Store.
func (s *Store) Documents(ctx context.Context, collection, after string, limit int) ([]kb.Document, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []kb.Document
	err := s.read(ctx, func(c *sql.Conn) error {
		col, err := lookup(ctx, c, collection)
		if err != nil {
			return err
		}
		rows, err := c.QueryContext(ctx, `SELECT id, title, source, hash, metadata, added,
			(SELECT count(*) FROM chunks WHERE collection = d.collection AND doc = d.id)
			FROM documents d WHERE collection = ? AND id > ? ORDER BY id LIMIT ?`, col.id, after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d kb.Document
			var meta string
			var added int64
			if err := rows.Scan(&d.ID, &d.Title, &d.Source, &d.Hash, &meta, &added, &d.Chunks); err != nil {
				return err
			}
			d.Added = time.Unix(0, added)
			if err := json.Unmarshal([]byte(meta), &d.Metadata); err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// Chunks implements kb.Store.
func (s *Store) Chunks(ctx context.Context, collection, docID string) ([]kb.Chunk, error) {
	var out []kb.Chunk
	err := s.read(ctx, func(c *sql.Conn) error {
		col, err := lookup(ctx, c, collection)
		if err != nil {
			return err
		}
		rows, err := c.QueryContext(ctx, "SELECT id, doc, seq, start, end, tokens, text FROM chunks WHERE collection = ? AND doc = ? ORDER BY seq", col.id, docID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ch kb.Chunk
			if err := rows.Scan(&ch.ID, &ch.DocID, &ch.Seq, &ch.Start, &ch.End, &ch.Tokens, &ch.Text); err != nil {
				return err
			}
			out = append(out, ch)
		}
		return rows.Err()
	})
	return out, err
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(dst []float32, b []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}
