// Package hub finds models by name: a local folder, else the Hugging Face
// cache (the exact layout huggingface_hub uses, so models downloaded by
// Python are found and ours are found by Python), else the Hub, unless
// offline. It speaks the Hub's resolve protocol: HEAD for commit, etag and
// size, redirects to a CDN without the token, resumable verified blob
// downloads under the same file locks as huggingface_hub.
//
// Resolution is offline-first: a usable cached snapshot is returned without
// asking the Hub whether a branch moved; `ask pull` is how a cache is
// refreshed. This keeps servers starting when the Hub is slow or down.
package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/askqa/ask/progress"
)

// Snapshot is the outcome of a pull.
type Snapshot struct {
	Ref        Ref
	Commit     string
	Dir        string   // snapshots/{commit}: the folder a loader opens
	Files      []string // files present, in pull order
	Absent     []string // optional files the repo does not have
	Downloaded int64    // bytes received from the network by this pull
}

// Resolve turns a --model value into a folder holding config.json, the
// weights and the tokenizer files: ref itself when it is a local folder;
// else the cached snapshot for org/name[@revision] when it is usable; else
// it pulls, unless opts.Offline. An empty ref is DefaultModel.
func Resolve(ctx context.Context, ref string, opts Options) (string, error) {
	if ref == "" {
		ref = DefaultModel
	}
	if fi, err := os.Stat(ref); err == nil {
		if !fi.IsDir() {
			return "", fmt.Errorf("%s is a file, not a model folder: give the folder that holds config.json, the weights and the tokenizer files, or a Hub id such as %s", ref, DefaultModel)
		}
		return ref, nil
	}
	if looksLikePath(ref) {
		return "", fmt.Errorf("no such folder %s (%w): check the path; a Hub model is named org/name[@revision], such as %s", ref, fs.ErrNotExist, DefaultModel)
	}
	r, err := ParseRef(ref)
	if err != nil {
		return "", err
	}
	// "models/bert" is a valid Hub id and a relative path: when the Hub
	// (or the cache) has nothing either, say that no folder was found too.
	alsoPath := func(err error) error {
		if strings.Contains(ref, "/") {
			return fmt.Errorf("%w (and there is no folder %s here)", err, ref)
		}
		return err
	}
	if opts.CacheDir == "" {
		return "", errNoCacheDir
	}
	dir := repoDir(opts.CacheDir, r.Repo)
	commit, ok := commitFor(dir, r.Revision)
	var st SnapshotState
	if ok {
		st = checkSnapshot(dir, commit)
		if st.Usable {
			return filepath.Join(dir, "snapshots", commit), nil
		}
	}
	if opts.Offline {
		what := ""
		if ok {
			what = fmt.Sprintf(" is incomplete (commit %s lacks %s)", commit, strings.Join(st.Missing, ", "))
		}
		return "", alsoPath(fmt.Errorf("%w: %s%s (cache folder %s); offline mode is on (HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE or --offline): run `ask pull %s` while online, or pass a local folder",
			ErrNotCached, r, what, opts.CacheDir, r))
	}
	snap, err := PullRef(ctx, r, opts)
	if err != nil {
		return "", alsoPath(err)
	}
	return snap.Dir, nil
}

// looksLikePath tells a folder the user meant (and mistyped) from a Hub id:
// what starts like a path (/, ./, ../, ~, a volume name such as C:), or
// whose part before any "@revision" ends with a slash or has more than one
// slash or any backslash, which no Hub id (org/name) has.
func looksLikePath(s string) bool {
	repo, _, _ := strings.Cut(s, "@")
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		strings.HasPrefix(s, "~") || s == "." || s == ".." || filepath.VolumeName(s) != "" ||
		strings.HasSuffix(repo, "/") || strings.Count(repo, "/") > 1 || strings.ContainsRune(repo, '\\')
}

// Pull downloads what a QA model needs from the Hub into the cache and
// returns the snapshot. Files already cached at the resolved commit are not
// fetched again; interrupted downloads resume.
func Pull(ctx context.Context, ref string, opts Options) (*Snapshot, error) {
	if ref == "" {
		ref = DefaultModel
	}
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return PullRef(ctx, r, opts)
}

// PullRef is Pull for a parsed reference.
func PullRef(ctx context.Context, r Ref, opts Options) (*Snapshot, error) {
	if opts.Offline {
		return nil, fmt.Errorf("%w: cannot download %s (HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE or --offline is set)", ErrOffline, r)
	}
	if opts.CacheDir == "" {
		return nil, errNoCacheDir
	}
	p := &puller{c: newClient(opts, progress.New(opts.Progress)), cacheDir: opts.CacheDir, ref: r}
	p.dir = repoDir(opts.CacheDir, r.Repo)
	if err := p.run(ctx); err != nil {
		var ue *unreachableError
		if errors.As(err, &ue) {
			ue.ref = r.String()
			return nil, ue // one line that says what to do: no "pull" prefix
		}
		return nil, fmt.Errorf("pull %s: %w", r, err)
	}
	return &p.snap, nil
}

type puller struct {
	c        *client
	cacheDir string
	ref      Ref
	dir      string
	snap     Snapshot
}

func (p *puller) run(ctx context.Context) error {
	p.snap.Ref = p.ref
	// The revision is resolved to a commit once, from config.json's HEAD,
	// and every other file is fetched at that commit, so a branch that
	// moves mid-pull cannot mix two versions. A full commit whose config.json is cached needs no request at all:
	// commits are immutable.
	var meta *fileMeta
	commit := p.ref.Revision
	if !IsCommit(commit) || !exists(snapshotPath(p.dir, commit, configFile)) {
		m, err := p.head(ctx, p.ref.Revision)
		if err != nil {
			return err
		}
		meta, commit = &m, m.Commit
	}
	p.snap.Commit = commit
	p.snap.Dir = filepath.Join(p.dir, "snapshots", commit)
	if err := os.MkdirAll(p.snap.Dir, 0o755); err != nil {
		return fmt.Errorf("create snapshot folder: %w", err)
	}
	writeCachedirTag(p.cacheDir)
	if err := writeRef(p.dir, p.ref.Revision, commit); err != nil {
		return err
	}
	if p.ref.Revision != commit {
		p.c.prog.Notef("%s: %s is commit %s", p.ref.Repo, p.ref.Revision, commit)
	}
	if _, err := p.file(ctx, configFile, meta); err != nil {
		return err
	}
	for _, f := range optionalFiles {
		if _, err := p.file(ctx, f, nil); err != nil {
			return err
		}
	}
	// The SentencePiece model is what the tokenizer loader falls back to
	// when there is no tokenizer.json, so only then is it needed.
	if !exists(snapshotPath(p.dir, commit, "tokenizer.json")) {
		for _, f := range spmFiles {
			if _, err := p.file(ctx, f, nil); err != nil {
				return err
			}
		}
	}
	return p.weights(ctx)
}

// weights fetches the first checkpoint format the repo has, in the
// loader's order (weightFiles), marking the ones before it absent, and
// for an index every shard it lists.
func (p *puller) weights(ctx context.Context) error {
	for _, name := range weightFiles {
		ok, err := p.file(ctx, name, nil)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if !isIndex(name) {
			return nil
		}
		shards, err := readIndexShards(snapshotPath(p.dir, p.snap.Commit, name), name)
		if err != nil {
			return err
		}
		for _, s := range shards {
			ok, err := p.file(ctx, s, nil)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: %s lists shard %s, which the repo does not have", ErrUnsupported, name, s)
			}
		}
		return nil
	}
	return fmt.Errorf("%w: %s@%s has none of %s (ask loads safetensors and PyTorch checkpoints; TensorFlow-, Flax- and ONNX-only repos have neither): pick another revision or model, or convert the weights to safetensors with transformers and pass the folder",
		ErrUnsupported, p.ref.Repo, p.snap.Commit, strings.Join(weightFiles, ", "))
}

// head asks for config.json's metadata at rev, to learn the commit.
func (p *puller) head(ctx context.Context, rev string) (fileMeta, error) {
	m, err := p.c.head(ctx, p.ref.Repo, rev, configFile)
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			if se.entryMissing() {
				return m, fmt.Errorf("%w: %s has no config.json, so it is not a transformers model", ErrUnsupported, p.ref.Repo)
			}
			return m, explain(se, p.ref, configFile, p.c.opts.Token != "")
		}
		return m, err
	}
	return m, nil
}

// file brings one file of the snapshot into the cache and reports whether
// the repo has it. What the cache already knows about an immutable commit
// (the pointer, or a .no_exist marker) is trusted without the network.
func (p *puller) file(ctx context.Context, name string, meta *fileMeta) (bool, error) {
	commit := p.snap.Commit
	if exists(snapshotPath(p.dir, commit, name)) {
		p.snap.Files = append(p.snap.Files, name)
		return true, nil
	}
	if exists(noExistPath(p.dir, commit, name)) {
		p.snap.Absent = append(p.snap.Absent, name)
		return false, nil
	}
	if meta == nil {
		m, err := p.c.head(ctx, p.ref.Repo, commit, name)
		if err != nil {
			var se *statusError
			if errors.As(err, &se) {
				if se.entryMissing() {
					if err := markNoExist(p.dir, commit, name); err != nil {
						return false, err
					}
					p.snap.Absent = append(p.snap.Absent, name)
					return false, nil
				}
				return false, explain(se, p.ref, name, p.c.opts.Token != "")
			}
			return false, fmt.Errorf("%s: %w", name, err)
		}
		meta = &m
	}
	if meta.Commit != commit {
		return false, fmt.Errorf("%w: %s: the Hub answered commit %s while pulling %s", ErrProtocol, name, meta.Commit, commit)
	}
	n, err := p.c.fetchBlob(ctx, p.cacheDir, p.ref.Repo, name, *meta)
	p.snap.Downloaded += n
	if err != nil {
		return false, err
	}
	if err := linkPointer(p.dir, commit, name, meta.Etag); err != nil {
		return false, err
	}
	p.snap.Files = append(p.snap.Files, name)
	return true, nil
}

// writeCachedirTag marks the cache so backup tools skip it, as
// huggingface_hub does; failure is harmless.
func writeCachedirTag(cacheDir string) {
	p := filepath.Join(cacheDir, "CACHEDIR.TAG")
	if exists(p) {
		return
	}
	os.WriteFile(p, []byte("Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by ask (huggingface_hub-compatible).\n"), 0o644)
}
