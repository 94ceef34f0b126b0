package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/postgres"
	"github.com/askqa/ask/kb/postgres/pgtest"
)

// The replica tests run real `ask serve --db postgres://...` processes
// against the real PostgreSQL that `source .ci/postgres.sh` starts: what
// one replica writes the others must see at once (they keep no state of
// their own), a replica killed with SIGKILL mid-ingest must lose no
// acknowledged document and leave no half document, and a database restart
// must give fast 503s, never a hang or a 500, and nothing acknowledged
// lost. The replicas run with --embed-model none and --reader lexical so
// that they start in a second and ingest fast on a loaded machine: the
// store, not the models, is under test (dense search across processes is
// exercised by kb/postgres's tests and the load test).

// replicaEnv returns what the replica tests need or skips.
func replicaEnv(t *testing.T) (pgURL string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the ask binary and starts servers: not in -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL semantics are POSIX")
	}
	pgURL = os.Getenv("ASK_TEST_POSTGRES_URL")
	if pgURL == "" {
		t.Skip("ASK_TEST_POSTGRES_URL is not set: `source .ci/postgres.sh` starts a PostgreSQL with pgvector and sets it")
	}
	return pgURL
}

// buildAsk builds the ask binary into a temporary folder.
func buildAsk(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ask")
	t0 := time.Now()
	build := exec.Command("go", "build", "-o", bin, "../cmd/ask")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("go build: %v", time.Since(t0))
	return bin
}

// freshDatabase creates a database with the vector extension for one test
// (dropped at its end) and returns its URL.
func freshDatabase(t *testing.T, pgURL string) string {
	t.Helper()
	name := fmt.Sprintf("replicas_%x", rand.Uint64())
	ctx := context.Background()
	exec := func(dbURL string, stmts ...string) error {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		for _, s := range stmts {
			if _, err := conn.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}
	if err := exec(pgURL, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := exec(pgURL, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop the test database: %v", err)
		}
	})
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	if err := exec(u.String(), "CREATE EXTENSION vector"); err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// replica is one `ask serve` process.
type replica struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT
	done chan error
	logs *bytes.Buffer
	mu   *sync.Mutex // guards logs
}

var listenLine = regexp.MustCompile(`listening on (http://\S+)`)

// startReplica starts `ask serve --db dbURL` on a free loopback port and
// waits for its listening line. The process is killed at the test's end.
func startReplica(t *testing.T, bin, dbURL string) *replica {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--reader", "lexical", "--embed-model", "none",
		"--data", "none", "--log-level", "warn", "--shutdown-timeout", "2s")
	// The URL travels in the environment, as the README advises (flags
	// show in ps).
	cmd.Env = append(os.Environ(), "ASK_DB="+dbURL, "HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{t: t, cmd: cmd, done: make(chan error, 1), logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	cmd.Stderr = lockedWriter{r.mu, r.logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		r.done <- cmd.Wait()
	}()
	t.Cleanup(func() { r.kill() })
	select {
	case r.base = <-found:
	case err := <-r.done:
		r.done <- err
		t.Fatalf("ask serve exited before listening: %v\n%s", err, r.stderr())
	case <-time.After(60 * time.Second):
		t.Fatalf("ask serve did not listen within 60 s\n%s", r.stderr())
	}
	return r
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (r *replica) stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.String()
}

// kill sends SIGKILL and waits for the process to end.
func (r *replica) kill() {
	if r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Kill()
	select {
	case err := <-r.done:
		r.done <- err
	case <-time.After(10 * time.Second):
		r.t.Errorf("ask serve did not end 10 s after SIGKILL")
	}
}

// replicaClient is an HTTP client that never waits long: a hang is a
// failure the tests must see.
var replicaClient = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}}

// call sends a JSON request and decodes a JSON reply into out (when the
// status is 2xx and out is not nil). It returns the status, or 0 and the
// transport error.
func call(ctx context.Context, method, target string, body, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := replicaClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, raw, fmt.Errorf("decode %s %s: %w", method, target, err)
		}
	}
	return resp.StatusCode, raw, nil
}

// mustCall is call that fails the test on anything but want.
func mustCall(t *testing.T, method, target string, body, out any, want int) {
	t.Helper()
	status, raw, err := call(context.Background(), method, target, body, out)
	if err != nil || status != want {
		t.Fatalf("%s %s: status %d, %v; want %d\n%s", method, target, status, err, want, raw)
	}
}

// docText is a document of a few paragraphs with a word of its own, so a
// search for that word finds it and only it.
func docText(r *rand.Rand, id string, paragraphs int) string {
	var b strings.Builder
	for p := range paragraphs {
		fmt.Fprintf(&b, "Paragraph %d of %s, about the marker%s. ", p, id, strings.ReplaceAll(id, "-", ""))
		for range 20 + r.IntN(40) {
			fmt.Fprintf(&b, "word%d ", r.IntN(3000))
		}
		b.WriteString("end.\n\n")
	}
	return b.String()
}

// TestReplicas starts three replicas on one database: a document added
// through one is searched and answered from by the others, a collection
// deleted through one is gone for all, and one recreated under the same
// name is the new one everywhere.
func TestReplicas(t *testing.T) {
	pgURL := replicaEnv(t)
	bin := buildAsk(t)
	dbURL := freshDatabase(t, pgURL)
	// Three replicas starting at once: the schema is migrated once, under
	// the advisory lock, while the others wait.
	reps := make([]*replica, 3)
	var wg sync.WaitGroup
	for i := range reps {
		wg.Go(func() { reps[i] = startReplica(t, bin, dbURL) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	a, b, c := reps[0], reps[1], reps[2]
	docs := api.AddDocumentsRequest{Documents: []api.DocumentInput{
		{ID: "marmots", Title: "Marmots", Text: "Alpine marmots live in the Alps. They hibernate for nine months of the year in burrows."},
		{ID: "falcons", Title: "Falcons", Text: "The peregrine falcon is the fastest bird, diving at over 300 km/h."},
	}}
	var added api.AddDocumentsResponse
	mustCall(t, "POST", a.base+"/v1/collections/shared/documents", docs, &added, http.StatusCreated)

	// Seen at once by the others: no cache to warm, nothing to wait for.
	for _, r := range []*replica{b, c} {
		var sr api.SearchResponse
		mustCall(t, "POST", r.base+"/v1/collections/shared/search", api.SearchRequest{Query: "how long do marmots hibernate"}, &sr, http.StatusOK)
		if len(sr.Passages) == 0 || sr.Passages[0].DocID != "marmots" {
			t.Errorf("%s: search for marmots gave %+v, want the marmots document first", r.base, sr.Passages)
		}
		var ar api.CollectionAskResponse
		mustCall(t, "POST", r.base+"/v1/collections/shared/ask", api.CollectionAskRequest{Question: "What is the fastest bird?"}, &ar, http.StatusOK)
		if len(ar.Passages) == 0 || ar.Passages[0].DocID != "falcons" || !strings.Contains(ar.Answer, "peregrine") {
			t.Errorf("%s: answer %q from %+v, want the falcons document's sentence", r.base, ar.Answer, ar.Passages)
		}
		var col api.Collection
		mustCall(t, "GET", r.base+"/v1/collections/shared", nil, &col, http.StatusOK)
		if col.Documents != 2 {
			t.Errorf("%s: collection holds %d documents, want 2", r.base, col.Documents)
		}
	}

	// A replace through b is what a and c read next.
	newText := "Alpine marmots whistle to warn each other of eagles."
	mustCall(t, "POST", b.base+"/v1/collections/shared/documents",
		api.AddDocumentsRequest{Documents: []api.DocumentInput{{ID: "marmots", Text: newText}}}, nil, http.StatusCreated)
	for _, r := range []*replica{a, c} {
		var d api.Document
		mustCall(t, "GET", r.base+"/v1/collections/shared/documents/marmots", nil, &d, http.StatusOK)
		if d.Text != newText {
			t.Errorf("%s: marmots reads %q after the replace through another replica", r.base, d.Text)
		}
	}

	// Deleted through c: gone for a and b, for every route.
	mustCall(t, "DELETE", c.base+"/v1/collections/shared", nil, nil, http.StatusOK)
	for _, r := range []*replica{a, b} {
		mustCall(t, "GET", r.base+"/v1/collections/shared", nil, nil, http.StatusNotFound)
		mustCall(t, "POST", r.base+"/v1/collections/shared/search", api.SearchRequest{Query: "marmots"}, nil, http.StatusNotFound)
		mustCall(t, "GET", r.base+"/v1/collections/shared/documents/falcons", nil, nil, http.StatusNotFound)
		var list api.CollectionList
		mustCall(t, "GET", r.base+"/v1/collections", nil, &list, http.StatusOK)
		if len(list.Collections) != 0 {
			t.Errorf("%s: lists %+v after the delete", r.base, list.Collections)
		}
	}

	// Recreated under the same name through a: the others see the new
	// collection only, not a remembered old one.
	mustCall(t, "POST", a.base+"/v1/collections/shared/documents",
		api.AddDocumentsRequest{Documents: []api.DocumentInput{{ID: "owls", Text: "Snowy owls hunt lemmings on the tundra."}}}, nil, http.StatusCreated)
	for _, r := range []*replica{b, c} {
		var sr api.SearchResponse
		mustCall(t, "POST", r.base+"/v1/collections/shared/search", api.SearchRequest{Query: "marmots falcon owls"}, &sr, http.StatusOK)
		if len(sr.Passages) != 1 || sr.Passages[0].DocID != "owls" {
			t.Errorf("%s: the recreated collection searches as %+v, want the owls document only", r.base, sr.Passages)
		}
	}
}

// ingestOutcome is what the test knows of one document id: the texts that
// may be stored (the last acknowledged one, and any sent after it whose
// request ended without a reply), and the chunk count of the acknowledged
// one.
type ingestOutcome struct {
	acked       string // "" until one is acknowledged
	ackedChunks int
	maybe       []string // sent, not acknowledged (the kill cut the reply)
}

// TestReplicaKilledMidIngest posts many documents through a replica from
// several clients and kills it with SIGKILL while they are in flight,
// several times, with replaces of documents from earlier rounds. After
// every kill, through another replica and the store: every acknowledged
// (201) document is there with its text and the chunk count ingest gave,
// and every document there is whole (its chunk count is what ingesting its
// text gives, its chunks select its text in order).
func TestReplicaKilledMidIngest(t *testing.T) {
	pgURL := replicaEnv(t)
	bin := buildAsk(t)
	dbURL := freshDatabase(t, pgURL)
	survivor := startReplica(t, bin, dbURL)
	r := rand.New(rand.NewPCG(18, 3))
	// Texts are fixed up front (one rand, no data race): ids 0..119, each
	// with a version per round; bigger documents make longer transactions,
	// so kills land inside them.
	const nDocs, rounds, workers = 120, 3, 6
	texts := make([][]string, nDocs)
	for i := range texts {
		for v := range rounds {
			texts[i] = append(texts[i], docText(r, fmt.Sprintf("doc-%d-v%d", i, v), 2+r.IntN(30)))
		}
	}
	outcomes := map[string]*ingestOutcome{}
	var mu sync.Mutex
	for round := range rounds {
		victim := startReplica(t, bin, dbURL)
		killAfter := 10 + r.IntN(30) // acknowledged requests before the kill
		ctx, cancel := context.WithCancel(context.Background())
		acks := make(chan struct{}, nDocs)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				// Each worker owns the ids ≡ w (mod workers): the
				// requests for one id are sequential, so "the last
				// acknowledged text" is well defined.
				for i := w; i < nDocs && ctx.Err() == nil; i += workers {
					id := fmt.Sprintf("doc-%d", i)
					// Round 0 adds every document; later rounds replace
					// half of them and add nothing new.
					if round > 0 && i%2 == round%2 {
						continue
					}
					text := texts[i][round]
					mu.Lock()
					o := outcomes[id]
					if o == nil {
						o = &ingestOutcome{}
						outcomes[id] = o
					}
					o.maybe = append(o.maybe, text)
					mu.Unlock()
					var resp api.AddDocumentsResponse
					status, raw, err := call(ctx, "POST", victim.base+"/v1/collections/c/documents",
						api.AddDocumentsRequest{Documents: []api.DocumentInput{{ID: id, Text: text}}}, &resp)
					if err != nil || status != http.StatusCreated {
						if status != 0 {
							t.Errorf("POST %s: status %d before any kill: %s", id, status, raw)
						}
						return // the replica is gone
					}
					mu.Lock()
					o.acked, o.ackedChunks, o.maybe = text, resp.Documents[0].Chunks, nil
					mu.Unlock()
					acks <- struct{}{}
				}
			})
		}
		for range killAfter {
			select {
			case <-acks:
			case <-time.After(60 * time.Second):
				t.Fatalf("round %d: no acknowledgement within 60 s\n%s", round, victim.stderr())
			}
		}
		// A random moment inside the stream of writes.
		time.Sleep(time.Duration(r.IntN(40)) * time.Millisecond)
		victim.kill()
		cancel()
		wg.Wait()
		acked := 0
		for _, o := range outcomes {
			if o.acked != "" {
				acked++
			}
		}
		t.Logf("round %d: killed after %d acknowledged requests; %d documents acknowledged so far", round, killAfter, acked)
		checkIngest(t, bin, dbURL, survivor, outcomes)
		if t.Failed() {
			return
		}
	}
}

// quiesce waits until the database's sessions of a killed replica are done:
// its last transactions may still run (a COMMIT sent just before the kill
// commits; anything else rolls back when the server reads the closed
// socket).
func quiesce(t *testing.T, dbURL string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var busy int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`).Scan(&busy)
		if err != nil {
			t.Fatal(err)
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still busy 30 s after the kill", busy)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkIngest verifies the store against what the clients were told.
func checkIngest(t *testing.T, bin, dbURL string, survivor *replica, outcomes map[string]*ingestOutcome) {
	t.Helper()
	ctx := context.Background()
	quiesce(t, dbURL)
	st, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := map[string]kb.Document{}
	for after := ""; ; {
		page, err := st.Documents(ctx, "c", after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			stored[d.ID] = d
		}
		after = page[len(page)-1].ID
	}
	// The survivor sees what the store holds.
	var col api.Collection
	mustCall(t, "GET", survivor.base+"/v1/collections/c", nil, &col, http.StatusOK)
	if col.Documents != len(stored) {
		t.Errorf("the surviving replica counts %d documents, the store lists %d", col.Documents, len(stored))
	}
	var maybeStored int
	for id, o := range outcomes {
		d, ok := stored[id]
		if !ok {
			if o.acked != "" {
				t.Errorf("acknowledged document %s is missing", id)
			}
			continue
		}
		full, err := st.Document(ctx, "c", id)
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := st.Chunks(ctx, "c", id)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) != d.Chunks {
			t.Errorf("%s: lists %d chunks, holds %d", id, d.Chunks, len(chunks))
		}
		for i, c := range chunks {
			if c.Seq != i || c.End > len(full.Text) || full.Text[c.Start:c.End] != c.Text {
				t.Errorf("%s: chunk %d (seq %d, [%d,%d)) does not select its text", id, i, c.Seq, c.Start, c.End)
			}
		}
		switch {
		case o.acked != "" && full.Text == o.acked:
			if len(chunks) != o.ackedChunks {
				t.Errorf("acknowledged %s: %d chunks stored, the reply said %d: a half document", id, len(chunks), o.ackedChunks)
			}
		case contains(o.maybe, full.Text):
			// Written, its reply cut by the kill: allowed, but whole.
			maybeStored++
			want := referenceChunks(t, survivor, id, full.Text)
			if len(chunks) != want {
				t.Errorf("unacknowledged %s: %d chunks stored, ingest makes %d: a half document", id, len(chunks), want)
			}
		default:
			t.Errorf("%s holds a text that is neither the acknowledged one nor one in flight (%d bytes)", id, len(full.Text))
		}
	}
	for id := range stored {
		if outcomes[id] == nil {
			t.Errorf("%s is stored but was never sent", id)
		}
	}
	t.Logf("%d documents stored, %d of them written but not acknowledged (the kill cut their reply)", len(stored), maybeStored)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// referenceChunks ingests text through a live replica into a scratch
// collection and returns the chunk count ingest gives it.
func referenceChunks(t *testing.T, r *replica, id, text string) int {
	t.Helper()
	var resp api.AddDocumentsResponse
	mustCall(t, "POST", r.base+"/v1/collections/reference/documents",
		api.AddDocumentsRequest{Documents: []api.DocumentInput{{ID: id + "-ref-" + kb.ContentHash(text)[:8], Text: text}}}, &resp, http.StatusCreated)
	return resp.Documents[0].Chunks
}

// TestReplicasDatabaseRestart stops the PostgreSQL server under mixed
// traffic through two replicas, keeps it down for a moment, and starts it
// again: while it is down every request gets a 503 that says the database
// is unavailable, quickly (no hang, no 500); afterwards both replicas
// answer again without a restart of their own; every acknowledged document
// is there, whole.
func TestReplicasDatabaseRestart(t *testing.T) {
	replicaEnv(t)
	// A server of this test's own: the other packages' tests keep theirs
	// through the outage.
	srv := pgtest.Private(t)
	bin := buildAsk(t)
	dbURL := freshDatabase(t, srv.URL)
	reps := []*replica{startReplica(t, bin, dbURL), startReplica(t, bin, dbURL)}
	r := rand.New(rand.NewPCG(18, 4))
	const nDocs = 2000
	texts := make([]string, nDocs)
	for i := range texts {
		texts[i] = docText(r, fmt.Sprintf("doc-%d", i), 1+r.IntN(4))
	}
	mustCall(t, "POST", reps[0].base+"/v1/collections/c/documents",
		api.AddDocumentsRequest{Documents: []api.DocumentInput{{ID: "seed", Text: "Alpine marmots hibernate."}}}, nil, http.StatusCreated)

	type failure struct {
		status int
		took   time.Duration
		body   string
	}
	var (
		mu        sync.Mutex
		acked     = map[string]int{} // id → chunks
		failures  []failure
		down      bool
		okAfterUp = map[int]int{} // replica → successes after the start returned
		next      int
	)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			rep := w % len(reps)
			for ctx.Err() == nil {
				t0 := time.Now()
				var status int
				var raw []byte
				var err error
				id := ""
				switch w {
				case 0:
					status, raw, err = call(ctx, "POST", reps[rep].base+"/v1/collections/c/search", api.SearchRequest{Query: "marmots hibernate"}, nil)
				case 3:
					status, raw, err = call(ctx, "POST", reps[rep].base+"/v1/collections/c/ask", api.CollectionAskRequest{Question: "Do marmots hibernate?"}, nil)
				default:
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= nDocs {
						return
					}
					id = fmt.Sprintf("doc-%d", i)
					var resp api.AddDocumentsResponse
					status, raw, err = call(ctx, "POST", reps[rep].base+"/v1/collections/c/documents",
						api.AddDocumentsRequest{Documents: []api.DocumentInput{{ID: id, Text: texts[i]}}}, &resp)
					if err == nil && status == http.StatusCreated {
						mu.Lock()
						acked[id] = resp.Documents[0].Chunks
						mu.Unlock()
					}
				}
				if ctx.Err() != nil {
					return
				}
				took := time.Since(t0)
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, failure{0, took, err.Error()})
				case status/100 == 2:
					if !down {
						okAfterUp[rep]++
					}
				default:
					failures = append(failures, failure{status, took, string(raw)})
				}
				mu.Unlock()
				if status/100 != 2 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			mu.Lock()
			done := ok()
			mu.Unlock()
			if done {
				return
			}
			if time.Now().After(deadline) {
				cancel()
				wg.Wait()
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("traffic before the outage", func() bool { return len(acked) >= 30 })
	if err := srv.Stop(); err != nil {
		cancel()
		wg.Wait()
		t.Fatal(err)
	}
	mu.Lock()
	down = true
	mu.Unlock()
	// Down long enough that every worker meets it.
	waitFor("requests during the outage", func() bool { return len(failures) >= 20 })
	time.Sleep(time.Second)
	if err := srv.Start(); err != nil {
		cancel()
		wg.Wait()
		t.Fatal(err)
	}
	mu.Lock()
	down = false
	okAfterUp = map[int]int{}
	mu.Unlock()
	waitFor("both replicas to answer again", func() bool { return okAfterUp[0] >= 20 && okAfterUp[1] >= 20 })
	cancel()
	wg.Wait()

	var slowest time.Duration
	for _, f := range failures {
		slowest = max(slowest, f.took)
		var e struct {
			Error api.Error `json:"error"`
		}
		if f.status != http.StatusServiceUnavailable {
			t.Errorf("a request during the outage got status %d (want 503) after %v: %s", f.status, f.took, f.body)
		} else if json.Unmarshal([]byte(f.body), &e) != nil || e.Error.Code != api.CodeUnavailable || !strings.Contains(e.Error.Message, "database is unavailable") {
			t.Errorf("a 503 during the outage does not say the database is unavailable: %s", f.body)
		}
		// Not a timing benchmark: a hang bound. The pool's connect
		// timeout is 5 s, the request timeout 60 s.
		if f.took > 15*time.Second {
			t.Errorf("a request during the outage took %v to fail: it should fail fast", f.took)
		}
	}
	t.Logf("%d documents acknowledged, %d requests failed during the outage (all 503: %v), the slowest failure took %v",
		len(acked), len(failures), !t.Failed(), slowest)

	st, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for id, n := range acked {
		chunks, err := st.Chunks(context.Background(), "c", id)
		if err != nil || len(chunks) != n {
			t.Errorf("acknowledged %s: %d chunks, %v; the reply said %d", id, len(chunks), err, n)
		}
	}
}

// TestDBStartupErrors: what an operator gets wrong in --db / ASK_DB stops
// ask serve (and the CLI's knowledge-base commands) at start-up with one
// message naming the fix, never the password, against the real server
// where the mistake needs one.
func TestDBStartupErrors(t *testing.T) {
	pgURL := replicaEnv(t)
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := func(dbURL string, stmts ...string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, dbURL)
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
	// A database without the vector extension, and a role that may not
	// create it (vector is not a trusted extension).
	suffix := fmt.Sprintf("%x", rand.Uint32())
	db, role := "noext_"+suffix, "limited_"+suffix
	admin(pgURL, "CREATE DATABASE "+db, "CREATE ROLE "+role+" LOGIN PASSWORD 'limited-secret'")
	t.Cleanup(func() { admin(pgURL, "DROP DATABASE "+db+" WITH (FORCE)", "DROP ROLE "+role) })

	wrongPassword := *u
	wrongPassword.User = url.UserPassword(u.User.Username(), "not-the-password")
	noExt := *u
	noExt.User = url.UserPassword(role, "limited-secret")
	noExt.Path = "/" + db
	noDB := *u
	noDB.Path = "/no_such_database_" + suffix
	for _, tc := range []struct {
		name, url string
		want      []string
	}{
		{"wrong password", wrongPassword.String(), []string{"wrong password", "fix the password in the URL given to --db or ASK_DB"}},
		{"no vector extension", noExt.String(), []string{"CREATE EXTENSION vector", db}},
		{"no database", noDB.String(), []string{"does not exist", "createdb"}},
		{"unreachable", "postgres://ask:secret-pw@127.0.0.1:1/ask?connect_timeout=2", []string{"cannot be reached", "is the server running"}},
		{"not a database URL", "mysql://ask:secret-pw@db/ask", []string{"not a database URL", "postgres://user:password@host:5432/database"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{
				{"serve", "--addr", "127.0.0.1:0", "--reader", "lexical", "--embed-model", "none"},
				{"search", "marmots"},
			} {
				var stdout, stderr bytes.Buffer
				// Through the environment, as deployments give it.
				getenv := func(k string) string {
					return map[string]string{"ASK_DB": tc.url, "HOME": t.TempDir()}[k]
				}
				env := Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: getenv}
				cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				code := Run(cctx, args, env)
				cancel()
				msg := stderr.String()
				if code != 1 || strings.Contains(stdout.String(), "listening") {
					t.Errorf("ask %s: exit %d (want 1), stdout %q, stderr %s", args[0], code, stdout.String(), msg)
				}
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Errorf("ask %s: %q lacks %q", args[0], msg, w)
					}
				}
				for _, secret := range []string{"not-the-password", "limited-secret", "secret-pw"} {
					if strings.Contains(msg, secret) {
						t.Errorf("ask %s: the message shows the password: %s", args[0], msg)
					}
				}
			}
		})
	}
}
