package cli

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/sqlite"
)

// TestAddSurvivesKill builds the real ask binary, starts `ask add` on a
// folder of many documents, kills it with SIGKILL at random moments, and
// checks after each kill that the database is intact, that every document
// the process reported stored is there whole (the content of the file as it
// was when reported, all its chunks), and that no document is there in
// part. Between runs some files change, so kills also land in replaces.
func TestAddSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the ask binary: not in -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL semantics are POSIX")
	}
	bin := filepath.Join(t.TempDir(), "ask")
	t0 := time.Now()
	build := exec.Command("go", "build", "-o", bin, "../cmd/ask")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("go build: %v", time.Since(t0))

	dir, data := t.TempDir(), t.TempDir()
	r := rand.New(rand.NewPCG(11, 12))
	const nDocs = 300
	content := map[string]string{} // document id → current file text
	writeDoc := func(i, version int) {
		var b strings.Builder
		for p := range 4 + r.IntN(12) {
			fmt.Fprintf(&b, "Document %d version %d paragraph %d. ", i, version, p)
			for range 10 + r.IntN(30) {
				fmt.Fprintf(&b, "word%d ", r.IntN(5000))
			}
			b.WriteString("end.\n\n")
		}
		name := filepath.Join(dir, fmt.Sprintf("doc%03d.txt", i))
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		content[filepath.ToSlash(name)] = b.String()
	}
	for i := range nDocs {
		writeDoc(i, 0)
	}

	acked := map[string]string{} // document id → the text it was stored with
	for round := range 6 {
		if round > 0 {
			for range 30 {
				writeDoc(r.IntN(nDocs), round)
			}
		}
		snapshot := map[string]string{}
		for k, v := range content {
			snapshot[k] = v
		}
		kill := round < 5 // the last round runs to the end
		cmd := exec.Command(bin, "add", "--data", data, "--embed-model", "none", "--collection", "c", dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = nil
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := r.IntN(120) + 1 // acknowledgements before the kill
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && (f[0] == "added" || f[0] == "replaced") {
				acked[f[1]] = snapshot[f[1]]
				n++
			}
			if kill && n == killAfter {
				// Let it run a moment into the next document, then kill.
				time.Sleep(time.Duration(r.IntN(20)) * time.Millisecond)
				cmd.Process.Kill()
				break
			}
		}
		for sc.Scan() { // lines written before the kill are acknowledgements too
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && (f[0] == "added" || f[0] == "replaced") {
				acked[f[1]] = snapshot[f[1]]
			}
		}
		err = cmd.Wait()
		if !kill && err != nil {
			t.Fatalf("round %d: the uninterrupted ask add failed: %v", round, err)
		}
		t0 := time.Now()
		checkKB(t, data, acked, snapshot, !kill)
		t.Logf("round %d: %d acknowledged, killed: %v; checked in %v", round, n, kill, time.Since(t0))
	}
}

// checkKB opens the knowledge base as a new process would and checks it.
func checkKB(t *testing.T, data string, acked, current map[string]string, complete bool) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(data, "kb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ok string
	if err := s.DB().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
	if _, err := s.DB().ExecContext(ctx, "INSERT INTO fts_1(fts_1) VALUES('integrity-check')"); err != nil {
		t.Fatalf("FTS integrity-check: %v", err)
	}
	stored := map[string]kb.Document{}
	after := ""
	for {
		page, err := s.Documents(ctx, "c", after, 1000)
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
	// Every stored document is whole: text from one version of its file,
	// chunks that tile it in order.
	for id := range stored {
		d, err := s.Document(ctx, "c", id)
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := s.Chunks(ctx, "c", id)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) == 0 || len(chunks) != d.Chunks {
			t.Fatalf("document %s has %d chunks (counted %d)", id, len(chunks), d.Chunks)
		}
		for i, c := range chunks {
			if c.Seq != i || d.Text[c.Start:c.End] != c.Text {
				t.Fatalf("document %s chunk %d is not its text at [%d,%d)", id, i, c.Start, c.End)
			}
		}
		if !strings.HasPrefix(strings.TrimSpace(chunks[0].Text), strings.Fields(d.Text)[0]) {
			t.Fatalf("document %s: the first chunk does not start the text", id)
		}
		last := chunks[len(chunks)-1]
		if strings.TrimSpace(d.Text[last.End:]) != "" {
			t.Fatalf("document %s: text after its last chunk: a half document", id)
		}
		// Its words are searchable: the FTS rows are there (sampled: each
		// search scans every chunk).
		if len(id)%4 != 0 {
			continue
		}
		res, err := s.Search(ctx, "c", kb.Query{Text: strings.Join(strings.Fields(d.Text)[:4], " "), K: 400})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, h := range res.Lexical {
			found = found || h.DocID == id
		}
		if !found {
			t.Fatalf("document %s is not in the lexical index", id)
		}
	}
	for id, text := range acked {
		if _, ok := stored[id]; !ok {
			t.Fatalf("acknowledged document %s is missing", id)
		}
		full, _ := s.Document(ctx, "c", id)
		// It holds the version last acknowledged, or the file's current
		// one: a replace may commit and be killed before it says so.
		if full.Text != text && full.Text != current[id] {
			t.Fatalf("acknowledged document %s holds another text (%d bytes, want %d)", id, len(full.Text), len(text))
		}
	}
	if complete {
		for id, text := range current {
			full, err := s.Document(ctx, "c", id)
			if err != nil || full.Text != text {
				t.Fatalf("after an uninterrupted run, document %s: %v (text equal: %v)", id, err, full.Text == text)
			}
		}
	}
}
