// Package kbopen opens the knowledge base a --db flag or ASK_DB names:
// the SQLite file in the data folder by default, or a PostgreSQL database
// shared by several ask replicas. It is the one place that knows every
// backend, so that package kb imports no database driver.
package kbopen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/postgres"
	"github.com/askqa/ask/kb/sqlite"
)

// ErrNoKB: create was false and the data folder holds no knowledge base.
var ErrNoKB = errors.New("no knowledge base")

// Open opens the knowledge base dbURL names:
//
//   - "" : kb.db in dataDir (SQLite, the default);
//   - "postgres://..." or "postgresql://...": a PostgreSQL database with
//     pgvector (kb/postgres), created and migrated as needed;
//   - "sqlite:PATH" or "file:PATH": the SQLite file at PATH.
//
// Without create, a missing SQLite file is an error wrapping ErrNoKB that
// says how to make one; with it, the folder and file are created.
// PostgreSQL databases are always migrated (their tables are created).
func Open(ctx context.Context, dbURL, dataDir string, create bool) (kb.Store, error) {
	switch {
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		s, err := postgres.Open(ctx, dbURL)
		if err != nil {
			return nil, err
		}
		return s, nil
	case dbURL == "":
		if dataDir == "" {
			return nil, fmt.Errorf("open knowledge base: no data folder and no --db: give one of them")
		}
		return openSQLite(ctx, filepath.Join(dataDir, "kb.db"), create)
	case strings.HasPrefix(dbURL, "sqlite:"), strings.HasPrefix(dbURL, "file:"):
		path := dbURL[strings.IndexByte(dbURL, ':')+1:]
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return nil, fmt.Errorf("open knowledge base %q: no path after the scheme: use sqlite:/path/to/kb.db", dbURL)
		}
		return openSQLite(ctx, path, create)
	}
	return nil, fmt.Errorf("open knowledge base: %q is not a database URL this ask knows: use postgres://user:password@host:5432/database, sqlite:/path/to/kb.db, or nothing for kb.db in the data folder", redact(dbURL))
}

func openSQLite(ctx context.Context, path string, create bool) (kb.Store, error) {
	if !create {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: add documents first (ask add PATH...)", ErrNoKB, path)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create the data folder: %w", err)
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// redact hides what could be a password in a URL that is echoed back.
func redact(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if at := strings.LastIndex(u, "@"); at > i {
			return u[:i+3] + "…" + u[at:]
		}
	}
	return u
}

// Describe names the database dbURL points at for logs, without its
// password: "postgres://…@host:5432/db", or the SQLite path.
func Describe(dbURL string) string {
	u := redact(dbURL)
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}
