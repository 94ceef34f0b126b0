// Package postgres is the knowledge base's kb.Store on a PostgreSQL server
// with the pgvector extension, for several stateless ask replicas sharing
// one database. It keeps no state of its own between calls: every replica
// sees every committed write at once.
//
// The schema is created and upgraded by versioned migrations embedded in
// the binary (goose, under a PostgreSQL advisory lock, so replicas starting
// together migrate once). Connections come from a pgx pool; statements are
// prepared and cached per connection; every call honours its context.
//
// # Dense search
//
// Chunk vectors live in a pgvector column. Each collection with vectors
// gets a partial HNSW index over its rows for the inner product
// (vector_ip_ops), so a hit's Score is the dot product of the stored vector
// and the query, as in kb/sqlite (the cosine similarity when the vectors
// have unit length, as sentence embeddings do). HNSW is approximate where
// kb/sqlite's scan is exact: on small collections the planner scans anyway;
// on large ones a true top-k chunk can be missed (BENCHMARKS.md gives
// recall@10 against the exact scan for several ef_search). Searches
// run with hnsw.ef_search = max(40, K) and hnsw.iterative_scan =
// strict_order, so filters and chunks left dead by replaced documents do
// not shorten the result list; the URL parameter hnsw_ef_search raises the
// 40. Collections of more than 2000 dimensions (the HNSW limit of the
// vector type) get no index and are searched exactly.
//
// # Lexical search
//
// Chunks are indexed as a tsvector (to_tsvector('english'), a GIN index)
// of their text with every CJK character set apart by spaces, and a query
// becomes the OR of its words and of the adjacent character pairs of its
// CJK runs as phrases ("北京大学" → '北' <-> '京' | '京' <-> '大' | ...),
// the same bigram retrieval as kb/sqlite, so Chinese and Japanese text
// without spaces is searchable.
//
// Hits are ranked by the sum, over the query terms a chunk matches, of
// idf(term) · ts_rank(lexemes, term, 1), with BM25's idf
// ln(1 + (N − df + 0.5)/(df + 0.5)) counted over the collection's chunks.
// That is close to BM25 but not it, and Score values are not comparable
// with kb/sqlite's (only the order matters to RRF fusion). Where they
// differ: ts_rank saturates term frequency by its own curve (the i-th
// occurrence adds 1/i²), not BM25's k1; its length normalisation is
// 1 + log(length), not BM25's relative to the average chunk, so long
// chunks are penalised less; and phrase terms (CJK bigrams) count like
// words. ts_rank alone has no idf at all: a chunk matching only
// common words would rank like one matching the rare word the question is
// about, which is why the idf weight is there. On SQuAD v1.1 dev
// (TestSQuADRecall, every 8th question over 1,438 paragraphs) lexical
// recall@5 is 0.947 against SQLite BM25's 0.958 (ts_rank alone: 0.922);
// over the knowledge-base corpus (BENCHMARKS.md) recall@5 is within one
// point of SQLite's in every mode (lexical 94.9 vs 94.4 on 2,000
// questions). Computing the ranks reads every matching
// row, so the cost of a lexical search grows with the number of chunks
// sharing a query word (FTS5's bm25 ordering is likewise a full scan of
// the matches), and the df counts cost one GIN lookup per query term.
//
// # Failures
//
// When the server cannot be reached (down, restarting, the network), calls
// fail fast with an error wrapping kb.ErrUnavailable, and the pool
// reconnects on later calls. A call that returned without error has
// committed: the server's synchronous_commit decides how durable that is
// (on by default: flushed to its disk).
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/askqa/ask/kb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// The oldest server and pgvector this package works with: pgvector 0.8
// brought iterative index scans (filters without lost results) and supports
// PostgreSQL 13 and newer.
const (
	minServerVersion = 130000
	minVector        = "0.8.0"
)

// maxIndexedDim is the largest dimension pgvector's HNSW index takes for
// the vector type.
const maxIndexedDim = 2000

// migrationLockID is the advisory lock migrations run under (goose's
// session locker), distinct from goose's default so that another
// application's goose migrations in the same database do not wait on ours.
const migrationLockID = 0x61736b6b62 // "askkb"

// DefaultEfSearch is the HNSW candidate list length of a vector search
// when the URL does not set hnsw_ef_search (pgvector's default).
const DefaultEfSearch = 40

// Store is a kb.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	// where names the database for messages (host, port, database; no
	// password).
	where string
	// efSearch is the HNSW candidate list length of vector searches (at
	// least K of the query).
	efSearch int
}

var _ kb.Store = (*Store)(nil)

// Open connects to the database at url (postgres://user:password@host:port/db?...,
// any form pgx accepts, including pool_max_conns and search_path),
// checks the server and the vector extension, and brings the schema up to
// date. The errors say what to change.
//
// One parameter of the URL is ask's own and not sent to the server:
// hnsw_ef_search=N (1 to 1000, default 40) is how many candidates the HNSW
// index collects per vector search (pgvector's hnsw.ef_search; a search
// of K hits uses at least K). Higher finds more of the exact top K, at
// the cost of time; see BENCHMARKS.md for what it gives.
func Open(ctx context.Context, url string) (*Store, error) {
	url, ef, err := efSearchParam(url)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL; do not echo a password.
		return nil, fmt.Errorf("open knowledge base: the PostgreSQL URL is not valid (%v): use postgres://user:password@host:5432/database", redact(err, url))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Fail fast when the server is down rather than wait for TCP.
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if cfg.HealthCheckPeriod > 10*time.Second {
		// Find connections broken by a server restart between requests.
		cfg.HealthCheckPeriod = 10 * time.Second
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open knowledge base on PostgreSQL %s: %w", where, err)
	}
	s := &Store{pool: pool, where: where, efSearch: ef}
	if err := s.setUp(ctx, cfg.ConnConfig.User, cfg.ConnConfig.Database); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open knowledge base on PostgreSQL %s: %w", where, err)
	}
	return s, nil
}

// efSearchParam removes hnsw_ef_search from the query of a URL (pgx would
// send an unknown parameter to the server, which refuses it) and returns
// its value, DefaultEfSearch when absent.
func efSearchParam(url string) (string, int, error) {
	q := strings.IndexByte(url, '?')
	if q < 0 || !strings.Contains(url, "://") {
		return url, DefaultEfSearch, nil
	}
	ef := DefaultEfSearch
	var keep []string
	for _, kv := range strings.Split(url[q+1:], "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "hnsw_ef_search" {
			keep = append(keep, kv)
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return "", 0, fmt.Errorf("open knowledge base: hnsw_ef_search=%q in the PostgreSQL URL: want a number from 1 to 1000 (default %d)", v, DefaultEfSearch)
		}
		ef = n
	}
	if len(keep) == 0 {
		return url[:q], ef, nil
	}
	return url[:q+1] + strings.Join(keep, "&"), ef, nil
}

// redact removes the password of url from err's message.
func redact(err error, url string) string {
	msg := err.Error()
	if i := strings.Index(url, "://"); i >= 0 {
		if at := strings.LastIndex(url, "@"); at > i {
			if c := strings.Index(url[i+3:at], ":"); c >= 0 {
				if pw := url[i+3+c+1 : at]; pw != "" {
					msg = strings.ReplaceAll(msg, pw, "xxxxx")
				}
			}
		}
	}
	return msg
}

// setUp checks that the server can hold a knowledge base and migrates it.
func (s *Store) setUp(ctx context.Context, user, database string) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return connectError(ctx, err, user, database)
	}
	var serverNum int
	var serverVersion string
	var installed, available *string
	err = conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, current_setting('server_version'),
		(SELECT extversion FROM pg_extension WHERE extname = 'vector'),
		(SELECT default_version FROM pg_available_extensions WHERE name = 'vector')`).
		Scan(&serverNum, &serverVersion, &installed, &available)
	if err != nil {
		conn.Release()
		return fmt.Errorf("read the server version: %w", classify(ctx, err))
	}
	if err := checkServer(serverNum, serverVersion); err != nil {
		conn.Release()
		return err
	}
	if installed == nil {
		if available == nil {
			conn.Release()
			return fmt.Errorf("the server has no pgvector extension: install pgvector %s or newer on it (https://github.com/pgvector/pgvector#installation; on a managed PostgreSQL, choose a version that offers it), then run CREATE EXTENSION vector; in database %q", minVector, database)
		}
		// Creating it needs a superuser (vector is not a trusted
		// extension); try, in case we are one.
		if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
			conn.Release()
			return fmt.Errorf("the vector extension is not enabled in database %q and user %q cannot enable it (%v): run CREATE EXTENSION vector; in that database as a superuser (on a managed PostgreSQL, as its admin user), then start ask again", database, user, classify(ctx, err))
		}
		if err := conn.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'vector'").Scan(&installed); err != nil {
			conn.Release()
			return fmt.Errorf("read the vector extension's version: %w", classify(ctx, err))
		}
	}
	conn.Release()
	if err := checkVector(*installed, available); err != nil {
		return err
	}
	return s.migrate(ctx)
}

// checkServer refuses servers older than minServerVersion.
func checkServer(num int, version string) error {
	if num < minServerVersion {
		return fmt.Errorf("PostgreSQL %s is too old: ask needs PostgreSQL %d or newer (with pgvector %s or newer): upgrade the server", version, minServerVersion/10000, minVector)
	}
	return nil
}

// checkVector refuses pgvector versions older than minVector; available
// is the version the server's files hold, if known.
func checkVector(installed string, available *string) error {
	if versionLess(installed, minVector) {
		fix := fmt.Sprintf("install pgvector %s or newer on the server, then run ALTER EXTENSION vector UPDATE;", minVector)
		if available != nil && !versionLess(*available, minVector) {
			fix = fmt.Sprintf("the server has pgvector %s: run ALTER EXTENSION vector UPDATE; in the database", *available)
		}
		return fmt.Errorf("pgvector %s is too old: ask needs %s or newer (iterative index scans): %s", installed, minVector, fix)
	}
	return nil
}

// versionLess compares dotted version numbers ("0.7.4" < "0.8.0").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// connectError explains a failure to connect.
func connectError(ctx context.Context, err error, user, database string) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "28P01":
			return fmt.Errorf("wrong password for user %q: fix the password in the URL given to --db or ASK_DB (or in PGPASSWORD or ~/.pgpass): %w", user, err)
		case "28000":
			return fmt.Errorf("the server refuses user %q (pg_hba.conf or a missing role): check the user in the URL and the server's pg_hba.conf: %w", user, err)
		case "3D000":
			return fmt.Errorf("database %q does not exist: create it (createdb %s, or CREATE DATABASE) or fix the URL: %w", database, database, err)
		}
	}
	return fmt.Errorf("connect: %w (is the server running and the URL's host and port right?)", classify(ctx, err))
}

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	// Retry the lock every second for up to five minutes: another replica
	// may be migrating.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker), goose.WithTableName("kb_schema_migrations"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	current, err := schemaVersion(ctx, db, p)
	if err != nil {
		return err
	}
	srcs := p.ListSources()
	switch known := srcs[len(srcs)-1].Version; {
	case current > known:
		return fmt.Errorf("the database has schema version %d, this ask knows up to %d: use a newer ask", current, known)
	case current == known:
		// Up to date: replicas restarting need not queue for the lock.
		return nil
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate the schema: %w", classify(ctx, err))
	}
	return nil
}

// schemaVersion reads the schema's version without the migration lock (0
// for an empty database).
func schemaVersion(ctx context.Context, db *sql.DB, p *goose.Provider) (int64, error) {
	var exists bool
	if err := db.QueryRowContext(ctx, "SELECT to_regclass('kb_schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return 0, fmt.Errorf("read the schema version: %w", classify(ctx, err))
	}
	if !exists {
		return 0, nil
	}
	v, _, err := p.GetVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the schema version: %w", classify(ctx, err))
	}
	return v, nil
}

// Close closes the pool's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool exposes the connection pool for diagnostics (pool statistics in
// tests and metrics); callers must not write through it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// classify wraps errors that mean the server is out of reach in
// kb.ErrUnavailable, keeping the original in the chain. When ctx is done
// the caller gave up (or ran out of time): its error stays as it is.
func classify(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, kb.ErrUnavailable) || ctx.Err() != nil {
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("%w: the PostgreSQL server cannot be reached, try again shortly: %w", kb.ErrUnavailable, err)
	}
	return err
}

// unavailable reports whether err says the server is down, restarting or
// out of reach (rather than that a statement failed).
func unavailable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown,
		// crash shutdown, cannot connect now (starting up); 53300: too
		// many connections.
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03" || pg.Code == "53300"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) && !errors.Is(err, context.Canceled) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "conn closed")
}

// retry runs f, once more on a fresh connection when the first try failed
// because a pooled connection was broken (a server restart since it was
// last used). Only idempotent f may be retried.
func retry(ctx context.Context, f func() error) error {
	err := f()
	if err != nil && ctx.Err() == nil && unavailable(err) {
		err = f()
	}
	return classify(ctx, err)
}

// read runs f in a read-only REPEATABLE READ transaction: every query of f
// sees one snapshot.
func (s *Store) read(ctx context.Context, f func(pgx.Tx) error) error {
	return retry(ctx, func() error {
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, f)
	})
}

// write runs f in a READ COMMITTED transaction and commits when f returns
// nil. It is not retried: a connection lost during COMMIT leaves the
// outcome unknown, and the caller is told so by kb.ErrUnavailable.
func (s *Store) write(ctx context.Context, f func(pgx.Tx) error) error {
	return classify(ctx, pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, f))
}

type collRow struct {
	id  int64
	dim int
}

// lookup finds a collection; lock takes a FOR SHARE lock on its row, which
// keeps DeleteCollection out until the transaction ends.
func lookup(ctx context.Context, tx pgx.Tx, name string, lock bool) (collRow, error) {
	q := "SELECT id, dim FROM kb_collections WHERE name = $1"
	if lock {
		q += " FOR SHARE"
	}
	var r collRow
	err := tx.QueryRow(ctx, q, name).Scan(&r.id, &r.dim)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("collection %q: %w (create it first, e.g. by adding documents to it)", name, kb.ErrNotFound)
	}
	return r, err
}

func hnswIndex(id int64) string { return fmt.Sprintf("kb_chunks_hnsw_%d", id) }

// CreateCollection implements kb.Store.
func (s *Store) CreateCollection(ctx context.Context, col kb.Collection) error {
	if err := kb.ValidateName(col.Name); err != nil {
		return err
	}
	if col.Dim < 0 || col.Dim > 16000 || (col.Dim == 0) != (col.Embedder == "") {
		return fmt.Errorf("%w: collection %q: embedder %q with dimension %d: give both or neither (at most 16000 dimensions, pgvector's limit)", kb.ErrInvalid, col.Name, col.Embedder, col.Dim)
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO kb_collections (name, embedder, dim) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING RETURNING id`, col.Name, col.Embedder, col.Dim).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("collection %q: %w", col.Name, kb.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("create collection %q: %w", col.Name, err)
		}
		if col.Dim == 0 || col.Dim > maxIndexedDim {
			return nil
		}
		// id and dim are integers from the database: safe to format.
		_, err = tx.Exec(ctx, fmt.Sprintf("CREATE INDEX %s ON kb_chunks USING hnsw ((embedding::vector(%d)) vector_ip_ops) WHERE collection = %d",
			hnswIndex(id), col.Dim, id))
		if err != nil {
			return fmt.Errorf("create collection %q: its vector index: %w", col.Name, err)
		}
		return nil
	})
}

const collectionColumns = `c.name, c.embedder, c.dim, c.created,
	(SELECT count(*) FROM kb_documents WHERE collection = c.id),
	(SELECT count(*) FROM kb_chunks WHERE collection = c.id)`

func scanCollection(row pgx.Row) (kb.Collection, error) {
	var col kb.Collection
	err := row.Scan(&col.Name, &col.Embedder, &col.Dim, &col.Created, &col.Documents, &col.Chunks)
	return col, err
}

// Collection implements kb.Store.
func (s *Store) Collection(ctx context.Context, name string) (kb.Collection, error) {
	var col kb.Collection
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		col, err = scanCollection(tx.QueryRow(ctx, "SELECT "+collectionColumns+" FROM kb_collections c WHERE c.name = $1", name))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("collection %q: %w", name, kb.ErrNotFound)
		}
		return err
	})
	return col, err
}

// Collections implements kb.Store.
func (s *Store) Collections(ctx context.Context) ([]kb.Collection, error) {
	var out []kb.Collection
	err := s.read(ctx, func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, "SELECT "+collectionColumns+" FROM kb_collections c ORDER BY c.name")
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (kb.Collection, error) { return scanCollection(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	return out, nil
}

// DeleteCollection implements kb.Store.
func (s *Store) DeleteCollection(ctx context.Context, name string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, "DELETE FROM kb_collections WHERE name = $1 RETURNING id", name).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("collection %q: %w", name, kb.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("delete collection %q: %w", name, err)
		}
		if _, err := tx.Exec(ctx, "DROP INDEX IF EXISTS "+hnswIndex(id)); err != nil {
			return fmt.Errorf("delete collection %q: its vector index: %w", name, err)
		}
		return nil
	})
}

// PutDocument implements kb.Store.
func (s *Store) PutDocument(ctx context.Context, collection string, doc kb.Document, chunks []kb.Chunk) (kb.PutResult, error) {
	if doc.Hash == "" {
		doc.Hash = kb.ContentHash(doc.Text)
	}
	if doc.Metadata == nil {
		doc.Metadata = map[string]string{}
	}
	result := kb.Added
	err := s.write(ctx, func(tx pgx.Tx) error {
		col, err := lookup(ctx, tx, collection, true)
		if err != nil {
			return err
		}
		if err := kb.Validate(doc, chunks, col.dim); err != nil {
			return err
		}
		// PostgreSQL text cannot hold NUL (kb.Validate allows it in text).
		if strings.ContainsRune(doc.Text, 0) || strings.ContainsRune(doc.Title, 0) || strings.ContainsRune(doc.Source, 0) {
			return fmt.Errorf("%w: document %q: the text, title or source holds a NUL character, which PostgreSQL cannot store", kb.ErrInvalid, doc.ID)
		}
		for k, v := range doc.Metadata {
			if strings.ContainsRune(k+v, 0) {
				return fmt.Errorf("%w: document %q: metadata %q holds a NUL character, which PostgreSQL cannot store", kb.ErrInvalid, doc.ID, k)
			}
		}
		// Writers of one document (in any replica) take turns, so that two
		// puts of a new document cannot both insert chunks.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", doc.ID, col.id); err != nil {
			return err
		}
		var old string
		switch err := tx.QueryRow(ctx, "SELECT hash FROM kb_documents WHERE collection = $1 AND id = $2", col.id, doc.ID).Scan(&old); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case old == doc.Hash:
			result = kb.Unchanged
			return nil
		default:
			result = kb.Replaced
			if _, err := tx.Exec(ctx, "DELETE FROM kb_chunks WHERE collection = $1 AND doc = $2", col.id, doc.ID); err != nil {
				return err
			}
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO kb_documents (collection, id, title, source, hash, metadata, added, text)
			VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp(), $7)
			ON CONFLICT (collection, id) DO UPDATE SET title = excluded.title, source = excluded.source, hash = excluded.hash,
				metadata = excluded.metadata, added = excluded.added, text = excluded.text`,
			col.id, doc.ID, doc.Title, doc.Source, doc.Hash, doc.Metadata, doc.Text)
		for i, ch := range chunks {
			var vec []float32
			if col.dim > 0 {
				vec = ch.Vector
			}
			b.Queue(`INSERT INTO kb_chunks (collection, doc, seq, start_byte, end_byte, tokens, text, lexemes, embedding)
				VALUES ($1, $2, $3, $4, $5, $6, $7, to_tsvector('english', $8), $9::real[]::vector)`,
				col.id, doc.ID, i, ch.Start, ch.End, ch.Tokens, ch.Text, kb.IndexText(ch.Text), vec)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("put document %q into %q: %w", doc.ID, collection, err)
	}
	return result, nil
}

// DeleteDocument implements kb.Store.
func (s *Store) DeleteDocument(ctx context.Context, collection, id string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		col, err := lookup(ctx, tx, collection, true)
		if err != nil {
			return err
		}
		// The chunks go by ON DELETE CASCADE.
		tag, err := tx.Exec(ctx, "DELETE FROM kb_documents WHERE collection = $1 AND id = $2", col.id, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("document %q: %w", id, kb.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete document %q from %q: %w", id, collection, err)
	}
	return nil
}

// Document implements kb.Store.
func (s *Store) Document(ctx context.Context, collection, id string) (kb.Document, error) {
	var d kb.Document
	err := s.read(ctx, func(tx pgx.Tx) error {
		col, err := lookup(ctx, tx, collection, false)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT id, title, source, hash, metadata, added, text,
			(SELECT count(*) FROM kb_chunks WHERE collection = d.collection AND doc = d.id)
			FROM kb_documents d WHERE collection = $1 AND id = $2`, col.id, id).
			Scan(&d.ID, &d.Title, &d.Source, &d.Hash, &d.Metadata, &d.Added, &d.Text, &d.Chunks)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("document %q in %q: %w", id, collection, kb.ErrNotFound)
		}
		return err
	})
	return d, err
}

// Documents implements kb.Store.
func (s *Store) Documents(ctx context.Context, collection, after string, limit int) ([]kb.Document, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []kb.Document
	err := s.read(ctx, func(tx pgx.Tx) error {
		col, err := lookup(ctx, tx, collection, false)
		if err != nil {
			return err
		}
		// COLLATE "C": byte order, as kb/sqlite pages, whatever the
		// database's collation.
		rows, err := tx.Query(ctx, `SELECT id, title, source, hash, metadata, added,
			(SELECT count(*) FROM kb_chunks WHERE collection = d.collection AND doc = d.id)
			FROM kb_documents d WHERE collection = $1 AND id COLLATE "C" > $2 ORDER BY id COLLATE "C" LIMIT $3`, col.id, after, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (kb.Document, error) {
			var d kb.Document
			err := r.Scan(&d.ID, &d.Title, &d.Source, &d.Hash, &d.Metadata, &d.Added, &d.Chunks)
			return d, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list documents of %q: %w", collection, err)
	}
	return out, nil
}

// Chunks implements kb.Store.
func (s *Store) Chunks(ctx context.Context, collection, docID string) ([]kb.Chunk, error) {
	var out []kb.Chunk
	err := s.read(ctx, func(tx pgx.Tx) error {
		col, err := lookup(ctx, tx, collection, false)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, doc, seq, start_byte, end_byte, tokens, text FROM kb_chunks
			WHERE collection = $1 AND doc = $2 ORDER BY seq`, col.id, docID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (kb.Chunk, error) {
			var c kb.Chunk
			err := r.Scan(&c.ID, &c.DocID, &c.Seq, &c.Start, &c.End, &c.Tokens, &c.Text)
			return c, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("chunks of %q in %q: %w", docID, collection, err)
	}
	return out, nil
}
