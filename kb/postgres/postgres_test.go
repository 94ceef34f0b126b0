package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/kbtest"
	"github.com/askqa/ask/kb/postgres"
)

// serverURL returns the test server's URL or skips: the tests need a real
// PostgreSQL with pgvector, which `source .ci/postgres.sh` starts.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("ASK_TEST_POSTGRES_URL")
	if u == "" {
		t.Skip("ASK_TEST_POSTGRES_URL is not set: `source .ci/postgres.sh` starts a PostgreSQL with pgvector and sets it")
	}
	return u
}

// schemaURL creates an empty schema for one test, dropped at its end, and
// returns the server URL with search_path set to it (public stays on the
// path for the vector type).
func schemaURL(t testing.TB) string {
	t.Helper()
	base := serverURL(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParam(t, base, "search_path", schema+",public")
}

func withParam(t testing.TB, raw, key, value string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T) kb.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), schemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { kbtest.Run(t, open) }
