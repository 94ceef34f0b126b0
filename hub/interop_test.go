package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/askqa/ask/hub/hubtest"
)

// The interop tests run the real huggingface_hub (ASK_PYTHON names a
// python that has it) against the same cache folder and the same fake Hub,
// because sharing the cache with Python users is the point of the layout.

var interopFiles = []string{"config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "model.safetensors"}
var interopAbsent = []string{"special_tokens_map.json", "vocab.json", "merges.txt"}

type pyResult struct {
	Version string `json:"version"`
	Files   map[string]struct {
		Path   string `json:"path"`
		SHA256 string `json:"sha256"`
	} `json:"files"`
	Absent []string `json:"absent"`
	Scan   []struct {
		Repo string   `json:"repo"`
		Refs []string `json:"refs"`
	} `json:"scan"`
}

func python(t *testing.T) string {
	py := os.Getenv("ASK_PYTHON")
	if py == "" {
		t.Skip("ASK_PYTHON is unset: set it to a python with huggingface_hub installed (pip install huggingface_hub) to run the cache interoperability tests")
	}
	return py
}

func runPython(t *testing.T, py string, env []string, args ...string) pyResult {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "tools", "reference", "hub_interop.py"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{script}, args...)...)
	// A clean environment: nothing from the developer's HF_* settings
	// (token, offline, cache) may leak into the check.
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"HF_HOME=" + t.TempDir(),
		"HF_HUB_DISABLE_TELEMETRY=1",
		"HF_HUB_DISABLE_PROGRESS_BARS=1",
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstderr:\n%s", py, args, err, stderr.String())
	}
	var r pyResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("parse python output %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	t.Logf("huggingface_hub %s", r.Version)
	return r
}

// ask pulls; huggingface_hub, offline, finds every file, the .no_exist
// markers and the refs, and scan_cache_dir reports no problem.
func TestInteropPythonReadsAskCache(t *testing.T) {
	py := python(t)
	repo := hubtest.TinyModel(repoID)
	srv := hubtest.New(t, repo)
	commit := srv.AddRepo(repo)
	o := testOpts(t, srv)
	mustPull(t, repoID+"@"+commit[:7], o)
	mustPull(t, repoID, o)

	for _, rev := range []string{"main", commit[:7], commit} {
		r := runPython(t, py, []string{"HF_HUB_OFFLINE=1", "HF_ENDPOINT=" + hubtest.NoNetwork(t)},
			"read", o.CacheDir, repoID, rev, strings.Join(interopFiles, ","), strings.Join(interopAbsent, ","))
		for _, name := range interopFiles {
			got, ok := r.Files[name]
			if !ok || got.SHA256 != hubtest.SHA256(repo.Files[name].Data) {
				t.Errorf("@%s %s: python read %+v", rev, name, got)
			}
			if want := filepath.Join(o.CacheDir, "models--acme--tiny-qa", "snapshots", commit, name); got.Path != want {
				t.Errorf("@%s %s: python path %s, want %s", rev, name, got.Path, want)
			}
		}
		if len(r.Absent) != len(interopAbsent) {
			t.Errorf("@%s absent %v", rev, r.Absent)
		}
		if len(r.Scan) != 1 || r.Scan[0].Repo != repoID || strings.Join(r.Scan[0].Refs, ",") != commit[:7]+",main" {
			t.Errorf("scan_cache_dir: %+v", r.Scan)
		}
	}
}

// huggingface_hub downloads from the fake Hub; ask's resolver finds the
// snapshot offline, and an online pull reuses every blob.
func TestInteropAskReadsPythonCache(t *testing.T) {
	py := python(t)
	repo := hubtest.TinyModel(repoID)
	repo.Private = true // Python must send the token to the Hub, and not to the CDN
	srv := hubtest.New(t, repo)
	commit := srv.AddRepo(repo)
	cache := t.TempDir()
	runPython(t, py, []string{"HF_ENDPOINT=" + srv.URL, "HF_TOKEN=" + srv.Token},
		"download", cache, repoID, commit[:7], strings.Join(interopFiles, ","), strings.Join(interopAbsent, ","))
	if srv.Count("cdn", "GET", "model.safetensors") == 0 {
		t.Error("huggingface_hub did not fetch the weights through the CDN redirect")
	}
	if !exists(lockPath(cache, repoID, hubtest.SHA256(repo.Files["model.safetensors"].Data))) {
		t.Error("huggingface_hub's lock file is not where ask locks")
	}
	for _, r := range srv.Requests() {
		if r.Host == "cdn" && r.Header.Get("Authorization") != "" {
			t.Errorf("huggingface_hub sent the token to the CDN (the fake Hub's CDN host is not seen as third party)")
		}
	}

	off := Options{CacheDir: cache, Offline: true, HTTPClient: hubtest.FailingClient(t), Endpoint: hubtest.NoNetwork(t)}
	dir, err := Resolve(context.Background(), repoID+"@"+commit[:7], off)
	if err != nil {
		t.Fatalf("offline Resolve of python's cache: %v", err)
	}
	if want := filepath.Join(cache, "models--acme--tiny-qa", "snapshots", commit); dir != want {
		t.Errorf("Resolve = %s, want %s", dir, want)
	}
	checkSnapshotFiles(t, dir, repo, interopFiles...)
	if st := checkSnapshot(filepath.Join(cache, "models--acme--tiny-qa"), commit); !st.Complete {
		t.Errorf("python's snapshot not complete for ask: %+v", st)
	}

	before := srv.Count("cdn", "", "")
	o := Options{Endpoint: srv.URL, Token: srv.Token, CacheDir: cache, RetryBase: time.Millisecond}
	snap := mustPull(t, repoID+"@"+commit[:7], o)
	if snap.Downloaded != 0 || srv.Count("cdn", "", "") != before {
		t.Errorf("pull over python's cache downloaded %d bytes", snap.Downloaded)
	}
}

// A pytorch_model.bin-only repo with a SentencePiece tokenizer, both ways:
// huggingface_hub reads what ask pulled (files and the .no_exist markers of
// the formats ask looked for first), and ask resolves, offline, what
// huggingface_hub downloaded, then completes it online without
// downloading anything again.
func TestInteropBinOnlyRepos(t *testing.T) {
	py := python(t)
	for name, repo := range binRepos(t) {
		t.Run(name, func(t *testing.T) {
			srv := hubtest.New(t, repo)
			commit := srv.AddRepo(repo)
			var files, absent []string
			for f := range repo.Files {
				if f != "README.md" {
					files = append(files, f)
				}
			}
			absent = []string{weightsFile, indexFile, "tokenizer.json", "spiece.model", "spm.model"}
			if name == "sharded" {
				absent = append(absent, binFile)
			}

			o := testOpts(t, srv)
			mustPull(t, repo.ID, o)
			r := runPython(t, py, []string{"HF_HUB_OFFLINE=1", "HF_ENDPOINT=" + hubtest.NoNetwork(t)},
				"read", o.CacheDir, repo.ID, "main", strings.Join(files, ","), strings.Join(absent, ","))
			for _, f := range files {
				if got := r.Files[f]; got.SHA256 != hubtest.SHA256(repo.Files[f].Data) {
					t.Errorf("%s: python read %+v", f, got)
				}
			}
			if len(r.Absent) != len(absent) {
				t.Errorf("python found absent %v, want %v", r.Absent, absent)
			}

			cache := t.TempDir()
			runPython(t, py, []string{"HF_ENDPOINT=" + srv.URL},
				"download", cache, repo.ID, commit, strings.Join(files, ","), strings.Join(absent, ","))
			off := Options{CacheDir: cache, Offline: true, HTTPClient: hubtest.FailingClient(t), Endpoint: hubtest.NoNetwork(t)}
			dir, err := Resolve(context.Background(), repo.ID+"@"+commit, off)
			if err != nil {
				t.Fatalf("offline Resolve of python's cache: %v", err)
			}
			checkSnapshotFiles(t, dir, repo, files...)
			before := srv.Count("cdn", "", "")
			on := Options{Endpoint: srv.URL, CacheDir: cache, RetryBase: time.Millisecond}
			snap := mustPull(t, repo.ID+"@"+commit, on)
			if snap.Downloaded != 0 || srv.Count("cdn", "", "") != before {
				t.Errorf("pull over python's cache downloaded %d bytes", snap.Downloaded)
			}
			if st := checkSnapshot(repoDir(cache, repo.ID), commit); !st.Complete {
				t.Errorf("after the pull: %+v, want complete", st)
			}
		})
	}
}
