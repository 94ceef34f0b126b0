package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/hub"
	"github.com/askqa/ask/hub/hubtest"
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
