package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/kbtest"
	"github.com/askqa/ask/kb/postgres"
	"github.com/askqa/ask/kb/postgres/pgtest"
)

func randomName(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// admin runs statements on the test server as its superuser.
func admin(t *testing.T, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestStartupErrors: what an operator gets wrong at start-up is named with
// its fix, and the password never shows.
func TestStartupErrors(t *testing.T) {
	base := serverURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// A database without the vector extension and a role that may not
	// create it (vector is not a trusted extension).
	db, role := randomName("noext_"), randomName("limited_")
	admin(t, "CREATE DATABASE "+db, "CREATE ROLE "+role+" LOGIN PASSWORD 'limited-secret'",
		"GRANT ALL ON DATABASE "+db+" TO "+role)
	t.Cleanup(func() { admin(t, "DROP DATABASE "+db+" WITH (FORCE)", "DROP ROLE "+role) })
	limited := *u
	limited.User = url.UserPassword(role, "limited-secret")
	limited.Path = "/" + db

	wrong := *u
	wrong.User = url.UserPassword(u.User.Username(), "not-the-password")
	missingDB := *u
	missingDB.Path = "/no_such_database"
	down := *u
	down.Host = "127.0.0.1:1" // nothing listens on port 1

	for _, tc := range []struct {
		name, url string
		want      []string
		hidden    string
	}{
		{"wrong password", wrong.String(), []string{"wrong password", "--db or ASK_DB"}, "not-the-password"},
		{"missing database", missingDB.String(), []string{`database "no_such_database" does not exist`, "createdb"}, ""},
		{"missing extension", limited.String(), []string{"vector extension is not enabled", "CREATE EXTENSION vector", "superuser"}, "limited-secret"},
		{"server down", down.String(), []string{"is the server running"}, ""},
		{"not a URL", "postgres://u:pa ss@[::1", []string{"not valid", "postgres://user:password@host:5432/database"}, "pa ss"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postgres.Open(ctx, tc.url)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
			if tc.hidden != "" && strings.Contains(err.Error(), tc.hidden) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}

	// A superuser enables the extension itself.
	super := *u
	super.Path = "/" + db
	s, err := postgres.Open(ctx, super.String())
	if err != nil {
		t.Fatalf("a superuser on a database without the extension: %v", err)
	}
	s.Close()
}

// TestConcurrentStart: replicas starting together on an empty database
// migrate it once (goose under an advisory lock) and all open.
func TestConcurrentStart(t *testing.T) {
	u := schemaURL(t)
	ctx := context.Background()
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]*postgres.Store, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(ctx, u)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		} else {
			defer stores[i].Close()
		}
	}
	if t.Failed() {
		return
	}
	var applied int
	if err := stores[0].Pool().QueryRow(ctx, "SELECT count(*) FROM kb_schema_migrations WHERE version_id > 0").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != 1 {
		t.Errorf("%d migrations recorded, want 1", applied)
	}
}

// TestReplicas: two stores (two pools, as two ask processes) on one
// database see each other's writes at once.
func TestReplicas(t *testing.T) {
	u := schemaURL(t)
	ctx := context.Background()
	a, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.CreateCollection(ctx, kb.Collection{Name: "c", Embedder: "fake", Dim: kbtest.Dim}); err != nil {
		t.Fatal(err)
	}
	text := "Quokkas live on Rottnest Island.\n\nThey are marsupials."
	if _, err := a.PutDocument(ctx, "c", kb.Document{ID: "q", Text: text}, kbtest.Chunks(t, text, kbtest.Dim)); err != nil {
		t.Fatal(err)
	}
	res, err := b.Search(ctx, "c", kb.Query{Text: "Rottnest", K: 3})
	if err != nil || len(res.Lexical) != 1 || res.Lexical[0].DocID != "q" {
		t.Fatalf("the other replica's search: %+v, %v; want the document added through the first", res.Lexical, err)
	}
	if err := b.DeleteCollection(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Search(ctx, "c", kb.Query{Text: "Rottnest"}); !errors.Is(err, kb.ErrNotFound) {
		t.Errorf("search through the first replica after the second deleted the collection: %v, want ErrNotFound", err)
	}
}

// TestCancelledPut: a put cancelled part way (as by a replica killed
// mid-ingest: the server rolls back a transaction whose connection dies)
// leaves the document absent or whole, never half.
func TestCancelledPut(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if err := s.CreateCollection(ctx, kb.Collection{Name: "c", Embedder: "fake", Dim: kbtest.Dim}); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for i := range 400 {
		parts = append(parts, fmt.Sprintf("paragraph %d of a long document about marmots", i))
	}
	text := strings.Join(parts, "\n\n")
	chunks := kbtest.Chunks(t, text, kbtest.Dim)
	for _, after := range []time.Duration{time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond, 10 * time.Second} {
		id := fmt.Sprint("doc-", after)
		cctx, cancel := context.WithTimeout(ctx, after)
		_, err := s.PutDocument(cctx, "c", kb.Document{ID: id, Text: text}, chunks)
		cancel()
		got, gerr := s.Chunks(ctx, "c", id)
		if gerr != nil {
			t.Fatal(gerr)
		}
		switch {
		case err == nil && len(got) != len(chunks):
			t.Errorf("put acknowledged after %v but %d of %d chunks stored", after, len(got), len(chunks))
		case errors.Is(err, kb.ErrUnavailable):
			t.Errorf("a put that ran out of time: %v, want the context's error, not kb.ErrUnavailable", err)
		case err != nil && len(got) != 0 && len(got) != len(chunks):
			t.Errorf("put cancelled after %v left %d of %d chunks", after, len(got), len(chunks))
		}
		t.Logf("cancelled after %v: err=%v, %d chunks stored", after, err, len(got))
	}
}

// TestServerRestart restarts the server under a mixed load of puts and
// searches: calls during the restart fail with kb.ErrUnavailable (fast:
// their latency is logged), the pool reconnects by itself, and every
// acknowledged put is in the database afterwards.
func TestServerRestart(t *testing.T) {
	// A server of this test's own: the other tests (and packages) keep
	// theirs through the restart.
	srv := pgtest.Private(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateCollection(ctx, kb.Collection{Name: "c", Embedder: "fake", Dim: kbtest.Dim}); err != nil {
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		acked     []string
		failures  []error
		slowest   time.Duration
		seq       atomic.Int64
		afterUp   atomic.Int64 // successes since the restart returned
		restarted atomic.Bool
	)
	record := func(err error, took time.Duration, id string) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failures = append(failures, err)
			slowest = max(slowest, took)
			return
		}
		if id != "" {
			acked = append(acked, id)
		}
		if restarted.Load() {
			afterUp.Add(1)
		}
	}
	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lctx.Err() == nil {
				cctx, cancel := context.WithTimeout(lctx, 30*time.Second)
				start := time.Now()
				var err error
				id := ""
				if w%2 == 0 {
					id = fmt.Sprintf("doc-%d", seq.Add(1))
					text := fmt.Sprintf("document %s about alpine marmots\n\nsecond paragraph of %s", id, id)
					_, err = s.PutDocument(cctx, "c", kb.Document{ID: id, Text: text}, kbtest.Chunks(t, text, kbtest.Dim))
				} else {
					_, err = s.Search(cctx, "c", kb.Query{Text: "alpine marmots", Vector: make([]float32, kbtest.Dim), K: 5})
				}
				cancel()
				if lctx.Err() != nil {
					return
				}
				record(err, time.Since(start), id)
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	waitFor := func(what string, ok func() bool) {
		deadline := time.Now().Add(60 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				stop()
				wg.Wait()
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("traffic before the restart", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 20 })
	if err := srv.Restart(); err != nil {
		stop()
		wg.Wait()
		t.Fatal(err)
	}
	restarted.Store(true)
	waitFor("the pool to recover", func() bool { return afterUp.Load() >= 40 })
	stop()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d puts acknowledged, %d calls failed during the restart, the slowest failure took %v", len(acked), len(failures), slowest)
	if len(failures) == 0 {
		t.Log("no call failed: the restart fell between calls")
	}
	for _, err := range failures {
		if !errors.Is(err, kb.ErrUnavailable) {
			t.Errorf("a call during the restart failed with %v, want kb.ErrUnavailable", err)
		}
	}
	for _, id := range acked {
		got, err := s.Chunks(ctx, "c", id)
		if err != nil || len(got) != 2 {
			t.Errorf("acknowledged document %s: %d chunks, %v; want 2", id, len(got), err)
		}
	}
}
