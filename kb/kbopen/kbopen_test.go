package kbopen_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/kbopen"
	"github.com/askqa/ask/kb/postgres"
	"github.com/askqa/ask/kb/sqlite"
)

func TestSQLite(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := kbopen.Open(ctx, "", dir, false); !errors.Is(err, kbopen.ErrNoKB) {
		t.Fatalf("no knowledge base yet, create=false: %v, want ErrNoKB", err)
	}
	s, err := kbopen.Open(ctx, "", dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*sqlite.Store); !ok {
		t.Errorf("default store is %T, want *sqlite.Store", s)
	}
	if err := s.CreateCollection(ctx, kb.Collection{Name: "c"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, u := range []string{"", "sqlite:" + filepath.Join(dir, "kb.db"), "file://" + filepath.Join(dir, "kb.db")} {
		s, err := kbopen.Open(ctx, u, dir, false)
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		if _, err := s.Collection(ctx, "c"); err != nil {
			t.Errorf("Open(%q) opened another knowledge base: %v", u, err)
		}
		s.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "kb.db")); err != nil {
		t.Error(err)
	}
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"mysql://u:secret@h/db", "sqlite:", "redis://x"} {
		_, err := kbopen.Open(context.Background(), u, t.TempDir(), true)
		if err == nil {
			t.Errorf("Open(%q): no error", u)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q): the error shows the password: %v", u, err)
		}
	}
}

func TestPostgres(t *testing.T) {
	u := os.Getenv("ASK_TEST_POSTGRES_URL")
	if u == "" {
		t.Skip("ASK_TEST_POSTGRES_URL is not set: `source .ci/postgres.sh` starts a PostgreSQL with pgvector and sets it")
	}
	s, err := kbopen.Open(context.Background(), u, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*postgres.Store); !ok {
		t.Errorf("Open(postgres://...) is %T, want *postgres.Store", s)
	}
}

func TestDescribe(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://ask:secret@db.example.com:5432/ask?sslmode=require": "postgres://…@db.example.com:5432/ask",
		"postgresql://db/ask":   "postgresql://db/ask",
		"sqlite:/var/lib/kb.db": "sqlite:/var/lib/kb.db",
	} {
		if got := kbopen.Describe(in); got != want || strings.Contains(got, "secret") {
			t.Errorf("Describe(%q) = %q, want %q", in, got, want)
		}
	}
}
