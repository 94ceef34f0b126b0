package hub

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/askqa/ask/hub/hubtest"
	"github.com/askqa/ask/progress"
)

const repoID = "acme/tiny-qa"

func testOpts(t *testing.T, srv *hubtest.Server) Options {
	t.Helper()
	return Options{
		Endpoint:     srv.URL,
		CacheDir:     t.TempDir(),
		HTTPClient:   &http.Client{Timeout: 20 * time.Second},
		UserAgent:    "ask-test",
		RetryBase:    time.Millisecond,
		StallTimeout: 5 * time.Second,
	}
}

func mustPull(t *testing.T, ref string, o Options) *Snapshot {
	t.Helper()
	s, err := Pull(context.Background(), ref, o)
	if err != nil {
		t.Fatalf("Pull(%s): %v", ref, err)
	}
	return s
}

// checkSnapshotFiles asserts every file of repo in the snapshot has the
// served bytes and is a relative symlink to blobs/{etag}.
func checkSnapshotFiles(t *testing.T, dir string, repo hubtest.Repo, names ...string) {
	t.Helper()
	for _, name := range names {
		p := filepath.Join(dir, name)
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("read %s: %v", name, err)
			continue
		}
		f := repo.Files[name]
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s: content differs from the served file", name)
		}
		etag := hubtest.GitSHA1(f.Data)
		if f.LFS {
			etag = hubtest.SHA256(f.Data)
		}
		link, err := os.Readlink(p)
		if want := strings.Repeat("../", 2+strings.Count(name, "/")) + "blobs/" + etag; err != nil || link != want {
			t.Errorf("%s: link %q (%v), want %q", name, link, err, want)
		}
	}
}

func TestPullLayout(t *testing.T) {
	repo := hubtest.TinyModel(repoID)
	srv := hubtest.New(t, repo)
	commit := srv.AddRepo(repo)
	o := testOpts(t, srv)
	var progress bytes.Buffer
	o.Progress = &progress

	snap := mustPull(t, repoID, o)
	rd := filepath.Join(o.CacheDir, "models--acme--tiny-qa")
	if snap.Commit != commit || snap.Dir != filepath.Join(rd, "snapshots", commit) {
		t.Fatalf("snapshot %+v, want commit %s", snap, commit)
	}
	checkSnapshotFiles(t, snap.Dir, repo, "config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "model.safetensors")
	if ref, err := os.ReadFile(filepath.Join(rd, "refs", "main")); err != nil || string(ref) != commit {
		t.Errorf("refs/main = %q (%v), want %q without newline", ref, err, commit)
	}
	for _, f := range []string{"vocab.json", "merges.txt", "special_tokens_map.json"} {
		fi, err := os.Stat(filepath.Join(rd, ".no_exist", commit, f))
		if err != nil || fi.Size() != 0 {
			t.Errorf(".no_exist marker for %s: %v", f, err)
		}
	}
	if exists(filepath.Join(snap.Dir, "README.md")) {
		t.Error("README.md was pulled; only model files should be")
	}
	if !exists(filepath.Join(o.CacheDir, ".locks", "models--acme--tiny-qa", hubtest.SHA256(repo.Files["model.safetensors"].Data)+".lock")) {
		t.Error("no lock file for the weights blob")
	}
	blobs, _ := filepath.Glob(filepath.Join(rd, "blobs", "*"))
	for _, b := range blobs {
		if strings.HasSuffix(b, ".incomplete") {
			t.Errorf("leftover %s", b)
		}
	}
	if len(blobs) != 5 {
		t.Errorf("%d blobs, want 5", len(blobs))
	}
	if want := int64(0); snap.Downloaded <= want {
		t.Errorf("Downloaded = %d", snap.Downloaded)
	}
	if !strings.Contains(progress.String(), "model.safetensors: done") {
		t.Errorf("progress output lacks a done line:\n%s", progress.String())
	}
	st := checkSnapshot(rd, commit)
	if !st.Usable || !st.Complete || len(st.Missing) != 0 {
		t.Errorf("state %+v, want usable and complete", st)
	}
	for _, r := range srv.Requests() {
		if r.Header.Get("Accept-Encoding") != "identity" {
			t.Errorf("%s %s %s: Accept-Encoding %q", r.Host, r.Method, r.Path, r.Header.Get("Accept-Encoding"))
		}
		if r.Header.Get("User-Agent") != "ask-test" {
			t.Errorf("User-Agent %q", r.Header.Get("User-Agent"))
		}
	}

	// Pulling the commit again is answered by the cache alone.
	before := len(srv.Requests())
	again := mustPull(t, repoID+"@"+commit, o)
	if n := len(srv.Requests()) - before; n != 0 || again.Downloaded != 0 {
		t.Errorf("re-pull at the commit made %d requests and downloaded %d bytes", n, again.Downloaded)
	}
	// At a branch, one HEAD learns the commit, nothing is downloaded.
	before = len(srv.Requests())
	again = mustPull(t, repoID, o)
	if n := len(srv.Requests()) - before; n != 1 || again.Downloaded != 0 {
		t.Errorf("re-pull at main made %d requests and downloaded %d bytes, want 1 HEAD and 0", n, again.Downloaded)
	}
}

func TestPullResumesAfterCutTransfer(t *testing.T) {
	repo := hubtest.TinyModel(repoID)
	srv := hubtest.New(t, repo)
	srv.AddFault(hubtest.Fault{Host: "cdn", Method: "GET", File: "model.safetensors", CutAfter: 10000, Times: 1})
	o := testOpts(t, srv)
	snap := mustPull(t, repoID, o)
	checkSnapshotFiles(t, snap.Dir, repo, "model.safetensors")

	var ranges []string
	for _, r := range srv.Requests() {
		if r.Host == "cdn" && r.Method == "GET" {
			ranges = append(ranges, r.Header.Get("Range"))
		}
	}
	if len(ranges) != 2 || ranges[0] != "" || ranges[1] != "bytes=10000-" {
		t.Errorf("CDN GET ranges %q, want [\"\" \"bytes=10000-\"]", ranges)
	}
}

func TestPullResumesLeftoverIncomplete(t *testing.T) {
	repo := hubtest.TinyModel(repoID)
	srv := hubtest.New(t, repo)
	o := testOpts(t, srv)
	data := repo.Files["model.safetensors"].Data
	half := len(data) / 2
	blobs := filepath.Join(o.CacheDir, "models--acme--tiny-qa", "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	// What a killed earlier run leaves behind.
	if err := os.WriteFile(filepath.Join(blobs, hubtest.SHA256(data)+".incomplete"), data[:half], 0o644); err != nil {
		t.Fatal(err)
	}
	snap := mustPull(t, repoID, o)
	checkSnapshotFiles(t, snap.Dir, repo, "model.safetensors")
	for _, r := range srv.Requests() {
		if r.Host == "cdn" {
			if got, want := r.Header.Get("Range"), "bytes="+strconv.Itoa(half)+"-"; got != want {
				t.Errorf("CDN request Range %q, want %q", got, want)
			}
		}
	}
}

func TestChecksumMismatch(t *testing.T) {
	t.Run("retried once", func(t *testing.T) {
		repo := hubtest.TinyModel(repoID)
		srv := hubtest.New(t, repo)
		srv.AddFault(hubtest.Fault{Host: "cdn", Method: "GET", File: "model.safetensors", Corrupt: true, Times: 1})
		o := testOpts(t, srv)
		snap := mustPull(t, repoID, o)
		checkSnapshotFiles(t, snap.Dir, repo, "model.safetensors")
		if n := srv.Count("cdn", "GET", "model.safetensors"); n != 2 {
			t.Errorf("%d CDN GETs, want 2", n)
		}
	})
	t.Run("persistent", func(t *testing.T) {
		repo := hubtest.TinyModel(repoID)
		srv := hubtest.New(t, repo)
		srv.AddFault(hubtest.Fault{Host: "cdn", Method: "GET", File: "model.safetensors", Corrupt: true})
		o := testOpts(t, srv)
		_, err := Pull(context.Background(), repoID, o)
		if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "discarded") {
			t.Fatalf("err = %v, want ErrChecksum", err)
		}
		if n := srv.Count("cdn", "GET", "model.safetensors"); n != 2 {
			t.Errorf("%d CDN GETs, want 2 (one retry)", n)
		}
		blobs, _ := filepath.Glob(filepath.Join(o.CacheDir, "models--acme--tiny-qa", "blobs", hubtest.SHA256(repo.Files["model.safetensors"].Data)+"*"))
		if len(blobs) != 0 {
			t.Errorf("corrupt blob kept: %v", blobs)
		}
	})
}

func TestAuthAndRedirects(t *testing.T) {
	repo := hubtest.TinyModel(repoID)
	repo.Private = true
	srv := hubtest.New(t, repo)
	srv.Rename("acme/old-name", repoID)
	o := testOpts(t, srv)
	o.Token = srv.Token

	// Through the renamed id: a relative redirect on the Hub, followed
	// with the token; then 302s to the CDN, followed without it.
	snap := mustPull(t, "acme/old-name", o)
	checkSnapshotFiles(t, snap.Dir, repo, "config.json", "model.safetensors")
	if !strings.Contains(snap.Dir, "models--acme--old-name") {
		t.Errorf("snapshot %s should be under the requested id, as huggingface_hub stores it", snap.Dir)
	}
	var hub, cdn, renamed int
	for _, r := range srv.Requests() {
		auth := r.Header.Get("Authorization")
		switch r.Host {
		case "hub":
			hub++
			if strings.HasPrefix(r.Path, "/acme/tiny-qa/") {
				renamed++
			}
			if auth != "Bearer "+srv.Token {
				t.Errorf("hub %s %s without the token", r.Method, r.Path)
			}
		case "cdn":
			cdn++
			if auth != "" {
				t.Errorf("CDN %s %s received Authorization %q", r.Method, r.Path, auth)
			}
		}
	}
	if cdn == 0 || renamed == 0 || hub == 0 {
		t.Errorf("hub=%d renamed=%d cdn=%d requests; the test did not exercise both redirects", hub, renamed, cdn)
	}
}

func TestHubErrors(t *testing.T) {
	private := hubtest.TinyModel("acme/private")
	private.Private = true
	gated := hubtest.TinyModel("acme/gated")
	gated.Gated = true
	tfOnly := hubtest.TinyModel("acme/tf-only")
	delete(tfOnly.Files, "model.safetensors")
	tfOnly.Files["tf_model.h5"] = hubtest.File{Data: []byte("hdf5"), LFS: true}
	srv := hubtest.New(t, private, gated, tfOnly, hubtest.TinyModel(repoID))

	cases := []struct {
		ref, token string
		want       error
		says       string
	}{
		{"acme/private", "", ErrAuth, "set HF_TOKEN"},
		{"acme/private", "wrong", ErrAuth, "token was refused"},
		{"acme/gated", "", ErrAuth, "gated"},
		{"acme/gated", "wrong", ErrAuth, "accept its conditions"},
		{"acme/nope", "", ErrRepoNotFound, "check the repo id"},
		{repoID + "@v9", "", ErrRevisionNotFound, "check the revision"},
		{"acme/tf-only", "", ErrUnsupported, "has none of model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json"},
	}
	for _, c := range cases {
		t.Run(c.ref+"/"+c.token, func(t *testing.T) {
			o := testOpts(t, srv)
			o.Token = c.token
			_, err := Pull(context.Background(), c.ref, o)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v, want %v saying %q", err, c.want, c.says)
			}
		})
	}
}

func TestNotAHub(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"x"`)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	o := Options{Endpoint: srv.URL, CacheDir: t.TempDir(), RetryBase: time.Millisecond}
	_, err := Pull(context.Background(), repoID, o)
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "HF_ENDPOINT") {
		t.Fatalf("err = %v, want ErrProtocol naming HF_ENDPOINT", err)
	}
}

func TestRetries(t *testing.T) {
	t.Run("transient 503", func(t *testing.T) {
		repo := hubtest.TinyModel(repoID)
		srv := hubtest.New(t, repo)
		srv.AddFault(hubtest.Fault{Host: "hub", Method: "HEAD", File: "config.json", Status: 503, Times: 2})
		srv.AddFault(hubtest.Fault{Host: "cdn", Method: "GET", Status: 502, Times: 1})
		o := testOpts(t, srv)
		snap := mustPull(t, repoID, o)
		checkSnapshotFiles(t, snap.Dir, repo, "config.json", "model.safetensors")
	})
	t.Run("bounded", func(t *testing.T) {
		srv := hubtest.New(t, hubtest.TinyModel(repoID))
		srv.AddFault(hubtest.Fault{Host: "hub", Status: 500})
		o := testOpts(t, srv)
		o.Retries = 2
		_, err := Pull(context.Background(), repoID, o)
		if err == nil || !strings.Contains(err.Error(), "500") {
			t.Fatalf("err = %v, want the 500", err)
		}
		if n := srv.Count("hub", "", ""); n != 3 {
			t.Errorf("%d requests, want 3 (1 + 2 retries)", n)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		dead := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		dead.Close() // its port now refuses connections
		o := Options{Endpoint: dead.URL, CacheDir: t.TempDir(), RetryBase: time.Millisecond, Retries: 2}
		_, err := Pull(context.Background(), repoID, o)
		if err == nil || !strings.Contains(err.Error(), "after 3 attempts") {
			t.Fatalf("err = %v, want a bounded retry", err)
		}
	})
	t.Run("stalled transfer", func(t *testing.T) {
		repo := hubtest.TinyModel(repoID)
		srv := hubtest.New(t, repo)
		srv.AddFault(hubtest.Fault{Host: "hub", Method: "HEAD", File: "config.json", Delay: 20 * time.Second, Times: 1})
		srv.AddFault(hubtest.Fault{Host: "cdn", Method: "GET", Delay: 20 * time.Second, Times: 1})
		o := testOpts(t, srv)
		o.StallTimeout = 200 * time.Millisecond
		start := time.Now()
		snap := mustPull(t, repoID, o)
		checkSnapshotFiles(t, snap.Dir, repo, "model.safetensors")
		if n := srv.Count("hub", "HEAD", "config.json"); n != 2 {
			t.Errorf("%d HEADs of config.json, want 2 (the stalled one retried)", n)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("stalls took %v to detect", d)
		}
	})
}

func TestConcurrentPulls(t *testing.T) {
	repo := hubtest.TinyModel(repoID)
	srv := hubtest.New(t, repo)
	// Slow the weights so the two pulls overlap on them.
	srv.AddFault(hubtest.Fault{Host: "cdn", Method: "GET", File: "model.safetensors", Delay: 500 * time.Millisecond})
	o := testOpts(t, srv)
	var wg sync.WaitGroup
	dirs := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Pull(context.Background(), repoID, o)
			errs[i] = err
			if err == nil {
				dirs[i] = s.Dir
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if dirs[0] != dirs[1] {
		t.Errorf("dirs differ: %v", dirs)
	}
	checkSnapshotFiles(t, dirs[0], repo, "config.json", "model.safetensors")
	if n := srv.Count("cdn", "GET", "model.safetensors"); n != 1 {
		t.Errorf("weights downloaded %d times, want 1 (the lock should make the second pull wait and reuse the blob)", n)
	}
}

func TestCancel(t *testing.T) {
	srv := hubtest.New(t, hubtest.TinyModel(repoID))
	srv.AddFault(hubtest.Fault{Host: "cdn", Method: "GET", Delay: time.Minute})
	o := testOpts(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Pull(ctx, repoID, o)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancellation took %v", d)
	}
}

func TestDiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	repo := hubtest.TinyModel(repoID)
	srv := hubtest.New(t, repo)
	o := testOpts(t, srv)
	blobs := filepath.Join(o.CacheDir, "models--acme--tiny-qa", "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	// Writes to /dev/full fail with ENOSPC, as on a full disk.
	if err := os.Symlink("/dev/full", filepath.Join(blobs, hubtest.SHA256(repo.Files["model.safetensors"].Data)+".incomplete")); err != nil {
		t.Fatal(err)
	}
	_, err := Pull(context.Background(), repoID, o)
	if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "HF_HUB_CACHE") {
		t.Fatalf("err = %v, want ErrDiskFull saying what to do", err)
	}
	if n := srv.Count("cdn", "GET", "model.safetensors"); n != 1 {
		t.Errorf("%d GETs: a full disk must not be retried", n)
	}
}

func TestRevisions(t *testing.T) {
	repo := hubtest.TinyModel(repoID)
	repo.Refs = []string{"v1.0", "refs/pr/1"}
	srv := hubtest.New(t, repo)
	commit := srv.AddRepo(repo)
	short := commit[:7]
	o := testOpts(t, srv)
	rd := filepath.Join(o.CacheDir, "models--acme--tiny-qa")

	mustPull(t, repoID+"@"+short, o)
	if b, err := os.ReadFile(filepath.Join(rd, "refs", short)); err != nil || string(b) != commit {
		t.Fatalf("refs/%s = %q, %v", short, b, err)
	}
	mustPull(t, repoID+"@refs/pr/1", o)
	if b, err := os.ReadFile(filepath.Join(rd, "refs", "refs", "pr", "1")); err != nil || string(b) != commit {
		t.Errorf("refs/refs/pr/1 = %q, %v", b, err)
	}
	sawEncoded := false
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "/resolve/refs%2Fpr%2F1/") {
			sawEncoded = true
		}
	}
	if !sawEncoded {
		t.Error("revision refs/pr/1 was not percent-encoded in the URL")
	}
	mustPull(t, repoID+"@"+commit, o)
	if _, err := os.Stat(filepath.Join(rd, "refs", commit)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a ref was written for a full commit sha")
	}

	off := Options{CacheDir: o.CacheDir, Offline: true, HTTPClient: hubtest.FailingClient(t), Endpoint: hubtest.NoNetwork(t)}
	for _, rev := range []string{short, "refs/pr/1", commit} {
		dir, err := Resolve(context.Background(), repoID+"@"+rev, off)
		if err != nil || dir != filepath.Join(rd, "snapshots", commit) {
			t.Errorf("offline Resolve @%s = %s, %v", rev, dir, err)
		}
	}
	// Without refs, a short sha still finds its unique snapshot.
	if err := os.RemoveAll(filepath.Join(rd, "refs")); err != nil {
		t.Fatal(err)
	}
	if dir, err := Resolve(context.Background(), repoID+"@"+commit[:9], off); err != nil || !strings.HasSuffix(dir, commit) {
		t.Errorf("offline Resolve by snapshot prefix = %s, %v", dir, err)
	}
	if _, err := Resolve(context.Background(), repoID+"@v1.0", off); !errors.Is(err, ErrNotCached) {
		t.Errorf("offline Resolve of an unseen tag: %v, want ErrNotCached", err)
	}
}

func TestResolve(t *testing.T) {
	repo := hubtest.TinyModel(repoID)
	srv := hubtest.New(t, repo)
	o := testOpts(t, srv)
	ctx := context.Background()

	off := o
	off.Offline = true
	off.HTTPClient = hubtest.FailingClient(t)
	off.Endpoint = hubtest.NoNetwork(t)

	_, err := Resolve(ctx, repoID, off)
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "ask pull "+repoID) {
		t.Fatalf("offline, uncached: %v", err)
	}
	if _, err := PullRef(ctx, Ref{repoID, "main"}, off); !errors.Is(err, ErrOffline) {
		t.Errorf("offline pull: %v", err)
	}

	dir, err := Resolve(ctx, repoID, o) // online: downloads
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshotFiles(t, dir, repo, "config.json", "model.safetensors")

	before := len(srv.Requests())
	dir2, err := Resolve(ctx, repoID, o) // online, cached: no network
	if err != nil || dir2 != dir || len(srv.Requests()) != before {
		t.Errorf("cached Resolve: %s, %v, %d new requests", dir2, err, len(srv.Requests())-before)
	}
	if dir3, err := Resolve(ctx, repoID, off); err != nil || dir3 != dir {
		t.Errorf("offline Resolve: %s, %v", dir3, err)
	}

	local := t.TempDir()
	if got, err := Resolve(ctx, local, off); err != nil || got != local {
		t.Errorf("local folder: %s, %v", got, err)
	}
	if _, err := Resolve(ctx, "./no-such-model", off); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing local folder: %v", err)
	}

	// A snapshot missing its weights is not usable; offline says what lacks.
	if err := os.Remove(filepath.Join(dir, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(ctx, repoID, off); !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "model.safetensors") {
		t.Errorf("offline, incomplete: %v", err)
	}
	if dir4, err := Resolve(ctx, repoID, o); err != nil || dir4 != dir || !exists(filepath.Join(dir, "model.safetensors")) {
		t.Errorf("online Resolve should repair the snapshot: %s, %v", dir4, err)
	}
}

func TestShardedWeights(t *testing.T) {
	repo := hubtest.TinyModel(repoID)
	delete(repo.Files, "model.safetensors")
	repo.Files["model.safetensors.index.json"] = hubtest.File{Data: []byte(`{"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}}`)}
	repo.Files["model-00001-of-00002.safetensors"] = hubtest.File{Data: hubtest.Safetensors(100), LFS: true}
	repo.Files["model-00002-of-00002.safetensors"] = hubtest.File{Data: hubtest.Safetensors(200), LFS: true}
	srv := hubtest.New(t, repo)
	commit := srv.AddRepo(repo)
	o := testOpts(t, srv)
	snap := mustPull(t, repoID, o)
	checkSnapshotFiles(t, snap.Dir, repo, "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
	rd := filepath.Join(o.CacheDir, "models--acme--tiny-qa")
	if !exists(filepath.Join(rd, ".no_exist", commit, "model.safetensors")) {
		t.Error("no .no_exist marker for model.safetensors")
	}
	if st := checkSnapshot(rd, commit); !st.Usable || !st.Complete {
		t.Errorf("state %+v", st)
	}

	bad := hubtest.TinyModel("acme/evil")
	delete(bad.Files, "model.safetensors")
	bad.Files["model.safetensors.index.json"] = hubtest.File{Data: []byte(`{"weight_map": {"a": "../../../../etc/passwd"}}`)}
	srv.AddRepo(bad)
	if _, err := Pull(context.Background(), "acme/evil", o); err == nil || !strings.Contains(err.Error(), "invalid shard name") {
		t.Errorf("path-escaping shard: %v", err)
	}
}

func TestListAndRemove(t *testing.T) {
	a := hubtest.TinyModel(repoID)
	b := hubtest.TinyModel("solo-model")
	srv := hubtest.New(t, a, b)
	o := testOpts(t, srv)
	snapA := mustPull(t, repoID, o)
	mustPull(t, "solo-model@"+srv.AddRepo(b)[:8], o)

	// A partial snapshot, as a Python user who fetched only config.json leaves.
	partial := filepath.Join(o.CacheDir, "models--acme--partial", "snapshots", strings.Repeat("ab", 20))
	if err := os.MkdirAll(partial, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(partial, "config.json"), []byte("{}"), 0o644)

	models, err := List(o.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != 3 || models[0].Repo != "acme/partial" || models[1].Repo != repoID || models[2].Repo != "solo-model" {
		t.Fatalf("List = %+v", models)
	}
	m := models[1]
	if len(m.Snapshots) != 1 || m.Snapshots[0].Commit != snapA.Commit || !m.Snapshots[0].Complete ||
		len(m.Snapshots[0].Refs) != 1 || m.Snapshots[0].Refs[0] != "main" {
		t.Errorf("listed %+v", m)
	}
	weights := int64(len(a.Files["model.safetensors"].Data))
	if m.Size < weights || m.Snapshots[0].Size < weights {
		t.Errorf("sizes %d/%d, want at least the weights (%d)", m.Size, m.Snapshots[0].Size, weights)
	}
	if s := models[0].Snapshots[0]; s.Usable || s.Complete {
		t.Errorf("partial snapshot listed as usable: %+v", s)
	}

	freed, err := Remove(o.CacheDir, repoID)
	if err != nil || freed < weights {
		t.Fatalf("Remove: %d, %v", freed, err)
	}
	if exists(filepath.Join(o.CacheDir, "models--acme--tiny-qa")) || exists(filepath.Join(o.CacheDir, ".locks", "models--acme--tiny-qa")) {
		t.Error("repo or lock folder left behind")
	}
	if _, err := Remove(o.CacheDir, repoID); !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "ask list") {
		t.Errorf("second Remove: %v", err)
	}
	if models, err := List(filepath.Join(o.CacheDir, "absent")); err != nil || len(models) != 0 {
		t.Errorf("List of a missing cache: %v, %v", models, err)
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	p := progress.NewConfig(&buf, progress.Config{Now: clock})
	b := startBar(p, "model.safetensors", 4_000_000, 0)
	now = now.Add(6 * time.Second)
	b.Write(make([]byte, 1_000_000))
	now = now.Add(2 * time.Second)
	b.Write(make([]byte, 1_000_000))
	now = now.Add(6 * time.Second)
	b.Write(make([]byte, 2_000_000))
	b.finish()
	want := "model.safetensors: 1.0 MB/4.0 MB  25%, 166.7 kB/s, ETA 18s\n" +
		"model.safetensors: 4.0 MB/4.0 MB 100%, 285.7 kB/s, ETA 0s\n" +
		"model.safetensors: done, 4.0 MB in 14.0s (285.7 kB/s)\n"
	if buf.String() != want {
		t.Errorf("plain progress:\n%s\nwant:\n%s", buf.String(), want)
	}

	buf.Reset()
	p = progress.NewConfig(&buf, progress.Config{Terminal: true, Interval: time.Nanosecond, Now: clock})
	b = startBar(p, "w", 100, 50)
	now = now.Add(time.Second)
	b.Write(make([]byte, 25))
	if s := buf.String(); !strings.Contains(s, "resuming at 50 B") || !strings.Contains(s, "\rw") || !strings.Contains(s, "75%") || !strings.Contains(s, "[==================      ]") {
		t.Errorf("terminal bar: %q", s)
	}
}

func TestLockWaitsAndCancels(t *testing.T) {
	p := filepath.Join(t.TempDir(), "locks", "x.lock")
	unlock, err := lockFile(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := lockFile(ctx, p, func() { waited = true }); !errors.Is(err, context.DeadlineExceeded) || !waited {
		t.Fatalf("second lock: %v (waited=%v), want to wait then give up", err, waited)
	}
	unlock()
	unlock2, err := lockFile(context.Background(), p, nil)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock2()
}
