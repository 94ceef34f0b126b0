// Package pgtest gives tests a real PostgreSQL server with pgvector, as
// .ci/postgres.sh starts them: the shared one (ASK_TEST_POSTGRES_URL), or
// one of a test's own for tests that stop and start it, so that the tests
// of other packages, which go test runs at the same time against the
// shared server, never see the outage.
package pgtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// URL returns the shared test server's URL, or skips the test when there
// is none.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("ASK_TEST_POSTGRES_URL")
	if u == "" {
		t.Skip("ASK_TEST_POSTGRES_URL is not set: `source .ci/postgres.sh` starts a PostgreSQL with pgvector and sets it")
	}
	return u
}

// Server is a PostgreSQL server of one test's own.
type Server struct {
	// URL reaches its database ask_test (with the vector extension) as a
	// superuser.
	URL string
	env map[string]string
}

// Private starts a server for t with .ci/postgres.sh (a minute at most;
// about 5 s with the wheel installed), stopped and removed when t ends. It
// skips where the shared server is not set up (ASK_TEST_POSTGRES_URL
// unset): the same environment starts this one.
func Private(t testing.TB) *Server {
	t.Helper()
	URL(t)
	script, err := findScript()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Env = append(os.Environ(), "ASK_PG_PRIVATE=start")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("start a PostgreSQL of this test's own (%s): %v\n%s", script, err, stderr.String())
	}
	s := &Server{env: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			s.env[k] = v
		}
	}
	s.URL = s.env["ASK_TEST_POSTGRES_URL"]
	t.Cleanup(func() {
		stop := exec.Command("bash", script)
		stop.Env = append(os.Environ(), "ASK_PG_PRIVATE=stop", "ASK_PG_BASE="+s.env["ASK_PG_BASE"], "ASK_PG_BIN="+s.env["ASK_PG_BIN"])
		if out, err := stop.CombinedOutput(); err != nil {
			t.Errorf("stop the test's PostgreSQL: %v\n%s", err, out)
		}
	})
	if s.URL == "" || s.env["ASK_TEST_POSTGRES_STOP"] == "" || s.env["ASK_TEST_POSTGRES_START"] == "" {
		t.Fatalf("%s printed no URL or commands:\n%s\n%s", script, out, stderr.String())
	}
	return s
}

// Stop stops the server (fast shutdown: sessions are cut), keeping its
// data.
func (s *Server) Stop() error { return s.run("ASK_TEST_POSTGRES_STOP") }

// Start starts the stopped server again and waits until it accepts
// connections.
func (s *Server) Start() error { return s.run("ASK_TEST_POSTGRES_START") }

// Restart stops and starts the server in one command.
func (s *Server) Restart() error { return s.run("ASK_TEST_POSTGRES_RESTART") }

func (s *Server) run(name string) error {
	if out, err := exec.Command("sh", "-c", s.env[name]).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out)
	}
	return nil
}

// findScript finds .ci/postgres.sh in the module root above the working
// directory (a package's folder under go test).
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".ci", "postgres.sh")
			if _, err := os.Stat(p); err != nil {
				return "", err
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: cannot find .ci/postgres.sh")
		}
		dir = parent
	}
}
