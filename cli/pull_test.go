package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/hub"
	"github.com/askqa/ask/hub/hubtest"
	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/qa/squad"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	})
	return code, out.String(), errb.String()
}

func TestPullListRm(t *testing.T) {
	repo := hubtest.TinyModel("acme/tiny-qa")
	srv := hubtest.New(t, repo)
	cache := t.TempDir()
	env := map[string]string{"HF_ENDPOINT": srv.URL, "HF_HUB_CACHE": cache, "HOME": t.TempDir()}

	code, out, errs := runCLI(t, env, "pull", "acme/tiny-qa")
	if code != 0 {
		t.Fatalf("pull: %d %s", code, errs)
	}
	dir := strings.TrimSpace(out)
	if !strings.HasPrefix(dir, filepath.Join(cache, "models--acme--tiny-qa", "snapshots")) {
		t.Fatalf("pull printed %q", out)
	}
	if !strings.Contains(errs, "model.safetensors: done") || !strings.Contains(errs, "absent: special_tokens_map.json, vocab.json, merges.txt") {
		t.Errorf("pull stderr:\n%s", errs)
	}

	// Offline, after the flag's position: from the cache, no network.
	off := map[string]string{"HF_ENDPOINT": hubtest.NoNetwork(t), "HF_HUB_CACHE": cache}
	code, out, errs = runCLI(t, off, "pull", "acme/tiny-qa", "--offline")
	if code != 0 || strings.TrimSpace(out) != dir {
		t.Errorf("pull --offline: %d %q %s", code, out, errs)
	}
	off["HF_HUB_OFFLINE"] = "1"
	if code, _, errs = runCLI(t, off, "pull", "acme/other"); code != 1 || !strings.Contains(errs, "ask pull acme/other") {
		t.Errorf("offline pull of an uncached model: %d %s", code, errs)
	}
	if d, err := resolveModel(context.Background(), Env{Getenv: func(k string) string { return off[k] }}, "acme/tiny-qa", false); err != nil || d != dir {
		t.Errorf("resolveModel: %s, %v", d, err)
	}

	code, out, _ = runCLI(t, off, "list")
	if code != 0 || !strings.Contains(out, "acme/tiny-qa") || !strings.Contains(out, "main") || !strings.Contains(out, "yes") {
		t.Errorf("list: %d\n%s", code, out)
	}

	if code, _, errs = runCLI(t, off, "rm", "acme/tiny-qa@main"); code != 1 || !strings.Contains(errs, "ask rm acme/tiny-qa") {
		t.Errorf("rm with a revision: %d %s", code, errs)
	}
	if code, _, errs = runCLI(t, off, "rm", "acme/tiny-qa"); code != 0 || !strings.Contains(errs, "removed acme/tiny-qa") {
		t.Errorf("rm: %d %s", code, errs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("snapshot still there: %v", err)
	}
	if code, _, errs = runCLI(t, off, "rm", "acme/tiny-qa"); code != 1 || !strings.Contains(errs, "not in the cache") {
		t.Errorf("rm of an absent model: %d %s", code, errs)
	}
	if code, _, errs = runCLI(t, off, "list"); code != 0 || !strings.Contains(errs, "no models") {
		t.Errorf("empty list: %d %s", code, errs)
	}
}

func TestPullErrorsSayWhatToDo(t *testing.T) {
	private := hubtest.TinyModel("acme/private")
	private.Private = true
	srv := hubtest.New(t, private)
	env := map[string]string{"HF_ENDPOINT": srv.URL, "HF_HUB_CACHE": t.TempDir()}
	if code, _, errs := runCLI(t, env, "pull", "acme/private"); code != 1 || !strings.Contains(errs, "HF_TOKEN") {
		t.Errorf("private without token: %d %s", code, errs)
	}
	env["HF_TOKEN"] = srv.Token
	if code, _, errs := runCLI(t, env, "pull", "acme/private"); code != 0 {
		t.Errorf("private with token: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, env, "pull", "a", "b"); code != 2 || !strings.Contains(errs, "usage: ask pull") {
		t.Errorf("two args: %d %s", code, errs)
	}
	if hub.DefaultModel != "distilbert/distilbert-base-cased-distilled-squad@564e9b5" {
		t.Errorf("DefaultModel = %s", hub.DefaultModel)
	}
}

// answerJSON runs `ask answer --json` and returns its answers.
func answerJSON(t *testing.T, env map[string]string, model, question, context string) []qa.Answer {
	t.Helper()
	code, out, errs := runCLI(t, env, "answer", "--model", model, "--question", question, "--context", context, "--json", "--threads", "1")
	if code != 0 {
		t.Fatalf("answer with %s: %d %s", model, code, errs)
	}
	var r struct{ Answers []qa.Answer }
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("answer --json printed %q: %v", out, err)
	}
	return r.Answers
}

// A repo published as pytorch_model.bin only (one file, or shards) with a
// SentencePiece sentencepiece.bpe.model and no tokenizer.json, as many XLM-R
// QA checkpoints are: `ask pull` fetches it and `ask answer` answers from
// the cache, offline, exactly as from the original folder, and as
// transformers' pipeline does (qa/testdata/golden/xlmr-bin.*).
func TestPullBinOnlySentencePieceAnswers(t *testing.T) {
	const xlmrBin = "../qa/testdata/xlmr-bin"
	single := hubtest.FromDir(t, "acme/xlmr-bin", xlmrBin)
	sharded := hubtest.FromDir(t, "acme/xlmr-sharded", xlmrBin, "../hub/testdata/xlmr-bin-sharded")
	delete(sharded.Files, "pytorch_model.bin")
	srv := hubtest.New(t, single, sharded)
	cache := t.TempDir()
	env := map[string]string{"HF_ENDPOINT": srv.URL, "HF_HUB_CACHE": cache, "HOME": t.TempDir()}
	off := map[string]string{"HF_ENDPOINT": hubtest.NoNetwork(t), "HF_HUB_CACHE": cache, "HF_HUB_OFFLINE": "1", "HOME": env["HOME"]}

	type question struct{ id, q, ctx string }
	qs := []question{{"", "Where does the cat sleep?", "The cat sleeps on the warm windowsill every afternoon, while the dog guards the garden."}}
	golden := map[string]qa.Answer{}
	if f, err := squad.Read("../../shared/data/squad/dev-v1.1-public.json"); err == nil {
		gold := readGoldenTop1(t, "../qa/testdata/golden/xlmr-bin.squad1.top1.jsonl.gz", 3)
		for _, a := range f.Data {
			for _, p := range a.Paragraphs {
				for _, q := range p.QAs {
					if g, ok := gold[q.ID]; ok {
						qs = append(qs, question{q.ID, q.Question, p.Context})
						golden[q.ID] = g
					}
				}
			}
		}
	} else {
		t.Logf("../../shared/data/squad is absent (it comes with the project's CI checkout): comparing with the original folder only, not with transformers' answers")
	}

	for _, repo := range []string{"acme/xlmr-bin", "acme/xlmr-sharded"} {
		code, out, errs := runCLI(t, env, "pull", repo)
		if code != 0 {
			t.Fatalf("pull %s: %d %s", repo, code, errs)
		}
		dir := strings.TrimSpace(out)
		if !strings.Contains(errs, "sentencepiece.bpe.model: done") || !strings.Contains(errs, "absent: ") || !strings.Contains(errs, "model.safetensors") {
			t.Errorf("pull %s stderr:\n%s", repo, errs)
		}
		if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); !os.IsNotExist(err) {
			t.Errorf("pull %s wrote model.safetensors into the snapshot (%v): the snapshot must stay what the Hub serves", repo, err)
		}
		for _, q := range qs {
			got := answerJSON(t, off, repo, q.q, q.ctx)
			want := answerJSON(t, off, xlmrBin, q.q, q.ctx)
			if len(got) != 1 || len(want) != 1 || got[0] != want[0] {
				t.Errorf("%s %q: pulled model answers %+v, the original folder %+v", repo, q.q, got, want)
			}
			if g, ok := golden[q.id]; ok && len(got) == 1 {
				if got[0].Answer != g.Answer || got[0].Start != g.Start || got[0].End != g.End || math.Abs(got[0].Score-g.Score) > 1e-4*math.Abs(g.Score) {
					t.Errorf("%s %s: answer %+v, transformers %+v", repo, q.id, got[0], g)
				}
			}
		}
	}
	if len(golden) == 0 && len(qs) > 1 {
		t.Error("no golden question found in the SQuAD file")
	}
	t.Logf("%d questions, %d of them compared with transformers' answers", len(qs), len(golden))
}

func readGoldenTop1(t *testing.T, path string, n int) map[string]qa.Answer {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]qa.Answer{}
	dec := json.NewDecoder(zr)
	for len(out) < n {
		var line struct {
			ID      string
			Answers []qa.Answer
		}
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(line.Answers) == 1 {
			out[line.ID] = line.Answers[0]
		}
	}
	return out
}

// A pulled .bin whose pickle would run a command is refused when a command
// loads it, with torchbin's error, and nothing runs; a repo with no weights
// ask can load fails the pull naming the files it looked for.
func TestPullBadWeightsSayWhy(t *testing.T) {
	const pwned = "/tmp/torchbin-pwned" // what evil_subprocess.bin would touch
	_, statErr := os.Stat(pwned)
	evil := hubtest.FromDir(t, "acme/evil-bin", "../qa/testdata/xlmr-bin")
	b, err := os.ReadFile("../torchbin/testdata/evil_subprocess.bin")
	if err != nil {
		t.Fatal(err)
	}
	evil.Files["pytorch_model.bin"] = hubtest.File{Data: b, LFS: true}
	tfOnly := hubtest.TinyModel("acme/tf-only")
	delete(tfOnly.Files, "model.safetensors")
	tfOnly.Files["tf_model.h5"] = hubtest.File{Data: []byte("hdf5"), LFS: true}
	srv := hubtest.New(t, evil, tfOnly)
	env := map[string]string{"HF_ENDPOINT": srv.URL, "HF_HUB_CACHE": t.TempDir(), "HOME": t.TempDir()}

	if code, _, errs := runCLI(t, env, "pull", "acme/evil-bin"); code != 0 {
		t.Fatalf("pull acme/evil-bin: %d %s", code, errs)
	}
	code, _, errs := runCLI(t, env, "answer", "--model", "acme/evil-bin", "--question", "q?", "--context", "some text")
	if code != 1 || !strings.Contains(errs, "commands.call is refused") || !strings.Contains(errs, "never needs") {
		t.Errorf("answer with a malicious .bin: %d %s", code, errs)
	}
	if _, err := os.Stat(pwned); err == nil && statErr != nil {
		t.Errorf("%s appeared: the pickle ran", pwned)
	}

	code, _, errs = runCLI(t, env, "pull", "acme/tf-only")
	if code != 1 || !strings.Contains(errs, "has none of model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json") {
		t.Errorf("pull of a repo without loadable weights: %d %s", code, errs)
	}
}
