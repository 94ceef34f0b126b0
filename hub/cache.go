package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// The files a QA model needs. config.json and the weights are required;
// the tokenizer files are optional because each model ships a different
// subset (tokenizer.json, or a SentencePiece .model, or vocab.txt, or
// vocab.json+merges.txt). A pull records every optional file the Hub lacks
// as a .no_exist marker, so a snapshot is "complete" when each one is
// either present or known absent.
const (
	configFile   = "config.json"
	weightsFile  = "model.safetensors"
	indexFile    = "model.safetensors.index.json"
	binFile      = "pytorch_model.bin"
	binIndexFile = "pytorch_model.bin.index.json"
)

// weightFiles are the checkpoint formats ask loads, in the order
// transformers and model.OpenWeights prefer them: safetensors, then
// PyTorch's pytorch_model.bin, each as one file or as an index of shards.
// A pull fetches the first the repo has and marks the ones before it
// absent. A .bin is never converted: the loader reads it with torchbin's
// restricted unpickler, so the snapshot stays byte-identical to the Hub's
// (and to what huggingface_hub would cache).
var weightFiles = []string{weightsFile, indexFile, binFile, binIndexFile}

func isIndex(name string) bool { return name == indexFile || name == binIndexFile }

var tokenizerFiles = []string{"tokenizer.json", "vocab.txt", "vocab.json", "merges.txt"}

// spmFiles are the SentencePiece model names transformers' slow tokenizer
// classes use (ALBERT/XLNet/T5, DeBERTa-v2/v3, XLM-R/CamemBERT). The
// tokenizer loader reads one only when there is no tokenizer.json, so a
// pull fetches them only then: XLM-R repos often carry a 5 MB
// sentencepiece.bpe.model beside the tokenizer.json that supersedes it.
// (added_tokens.json is not fetched: the loader never reads it.)
var spmFiles = []string{"spiece.model", "spm.model", "sentencepiece.bpe.model"}

var optionalFiles = []string{
	"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"vocab.txt", "vocab.json", "merges.txt",
}

func repoDir(cacheDir, repo string) string {
	return filepath.Join(cacheDir, RepoFolderName(repo))
}

func snapshotPath(repoDir, commit, file string) string {
	return filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(file))
}

func noExistPath(repoDir, commit, file string) string {
	return filepath.Join(repoDir, ".no_exist", commit, filepath.FromSlash(file))
}

func lockPath(cacheDir, repo, etag string) string {
	return filepath.Join(cacheDir, ".locks", RepoFolderName(repo), etag+".lock")
}

// exists follows symlinks, so a snapshot pointer whose blob is gone counts
// as missing, which is what a loader would see.
func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// commitFor finds, without the network, the commit a revision names in
// this cache: a full sha is itself; anything else goes through refs/ (which
// pulls and huggingface_hub write for branches, tags and short shas); as a
// last resort a short hex revision matches a unique snapshot prefix.
func commitFor(repoDir, rev string) (string, bool) {
	if IsCommit(rev) {
		return rev, true
	}
	if b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(rev))); err == nil {
		c := strings.TrimSpace(string(b))
		if c != "" {
			return c, true
		}
	}
	if shortShaRe.MatchString(rev) {
		ents, _ := os.ReadDir(filepath.Join(repoDir, "snapshots"))
		var match string
		n := 0
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), rev) {
				match = e.Name()
				n++
			}
		}
		if n == 1 {
			return match, true
		}
	}
	return "", false
}

var shortShaRe = regexp.MustCompile(`^[0-9a-f]{7,39}$`)

// writeRef records which commit a branch, tag or short sha pointed to, so
// offline resolution of the same revision works later (for Python too).
// The file holds the sha without a newline, as huggingface_hub writes it.
func writeRef(repoDir, rev, commit string) error {
	if IsCommit(rev) {
		return nil
	}
	p := filepath.Join(repoDir, "refs", filepath.FromSlash(rev))
	if b, err := os.ReadFile(p); err == nil && string(b) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("write ref %s: %w", rev, err)
	}
	// Written beside the repo folder's root and renamed, so a reader never
	// sees a half-written sha.
	tmp, err := os.CreateTemp(repoDir, ".ref-*.tmp")
	if err != nil {
		return fmt.Errorf("write ref %s: %w", rev, err)
	}
	_, werr := tmp.WriteString(commit)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write ref %s: %w", rev, werr)
	}
	return nil
}

// markNoExist writes the empty marker huggingface_hub uses to remember that
// a file is absent at a commit, so neither side asks the Hub again.
func markNoExist(repoDir, commit, file string) error {
	p := noExistPath(repoDir, commit, file)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("mark %s absent: %w", file, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("mark %s absent: %w", file, err)
	}
	return f.Close()
}

// linkPointer makes snapshots/{commit}/{file} a relative symlink to
// blobs/{etag} (relative so a moved cache keeps working, and identical to
// huggingface_hub's), or a copy where the filesystem refuses symlinks.
func linkPointer(repoDir, commit, file, etag string) error {
	dst := snapshotPath(repoDir, commit, file)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("link %s: %w", file, err)
	}
	target := strings.Repeat("../", 2+strings.Count(file, "/")) + "blobs/" + etag
	err := os.Symlink(target, dst)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		if t, rerr := os.Readlink(dst); rerr == nil && t == target {
			return nil
		}
		if isFile(dst) && !isSymlink(dst) {
			return nil // a copy made on a filesystem without symlinks
		}
		if rerr := os.Remove(dst); rerr != nil {
			return fmt.Errorf("link %s: %w", file, rerr)
		}
		if err = os.Symlink(target, dst); err == nil {
			return nil
		}
	}
	// No symlinks here (some network and Windows-shared filesystems):
	// copy, through a temporary name so a reader never sees half a file.
	if cerr := copyFile(filepath.Join(repoDir, "blobs", etag), dst); cerr != nil {
		return fmt.Errorf("link %s (symlink failed: %v): %w", file, err, cerr)
	}
	return nil
}

func isSymlink(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), ".copy-*.tmp")
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(out.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(out.Name(), dst)
	}
	if err != nil {
		os.Remove(out.Name())
	}
	return err
}

// SnapshotState says whether a cached snapshot can be loaded.
type SnapshotState struct {
	// Usable: config.json and all weights are present, and a tokenizer is
	// present or every tokenizer file is known absent.
	Usable bool
	// Complete: Usable, and every optional file is present or known absent
	// (what a finished `ask pull` leaves).
	Complete bool
	// Missing lists needed files that are neither present nor known absent.
	Missing []string
}

// checkSnapshot inspects snapshots/{commit} without the network.
func checkSnapshot(repoDir, commit string) SnapshotState {
	var st SnapshotState
	present := func(f string) bool { return exists(snapshotPath(repoDir, commit, f)) }
	absent := func(f string) bool { return exists(noExistPath(repoDir, commit, f)) }
	uncheckedWeights := false

	required := true
	if !present(configFile) {
		st.Missing = append(st.Missing, configFile)
		required = false
	}
	// The weights are the first format present, as the loader picks them.
	// A fallback format leaves the snapshot usable, and complete only when
	// the formats preferred to it are known absent: otherwise a pull would
	// still ask the Hub for them.
	found := -1
	for i, f := range weightFiles {
		if present(f) {
			found = i
			break
		}
	}
	switch {
	case found < 0:
		// Name the format a pull would fetch next: the first one not
		// known absent.
		next := weightsFile
		for _, f := range weightFiles {
			if !absent(f) {
				next = f
				break
			}
		}
		st.Missing = append(st.Missing, next)
		required = false
	case isIndex(weightFiles[found]):
		shards, err := readIndexShards(snapshotPath(repoDir, commit, weightFiles[found]), weightFiles[found])
		if err != nil {
			st.Missing = append(st.Missing, weightFiles[found])
			required = false
		}
		for _, s := range shards {
			if !present(s) {
				st.Missing = append(st.Missing, s)
				required = false
			}
		}
	}
	for _, f := range weightFiles[:max(found, 0)] {
		if !absent(f) {
			st.Missing = append(st.Missing, f)
			uncheckedWeights = true
		}
	}

	tokOK := false
	allTokAbsent := true
	for _, f := range append(tokenizerFiles, spmFiles...) {
		if present(f) && (f != "vocab.json" || present("merges.txt")) && (f != "merges.txt" || present("vocab.json")) {
			tokOK = true
		}
		if !absent(f) {
			allTokAbsent = false
		}
	}
	st.Usable = required && (tokOK || allTokAbsent)

	complete := st.Usable && !uncheckedWeights
	wanted := optionalFiles
	if !present("tokenizer.json") {
		wanted = append(wanted[:len(wanted):len(wanted)], spmFiles...)
	}
	for _, f := range wanted {
		if !present(f) && !absent(f) {
			st.Missing = append(st.Missing, f)
			complete = false
		}
	}
	st.Complete = complete
	return st
}

// readIndexShards lists the shard files of a weights index (name is
// model.safetensors.index.json or pytorch_model.bin.index.json: both hold
// a weight_map), sorted and deduplicated, refusing names that would leave
// the snapshot folder.
func readIndexShards(path, name string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("parse %s: empty weight_map", name)
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range idx.WeightMap {
		if !validFile(f) {
			return nil, fmt.Errorf("parse %s: invalid shard name %q", name, f)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out, nil
}

// CachedSnapshot is one commit of a cached model.
type CachedSnapshot struct {
	Commit string
	Refs   []string // branches, tags and short shas that point here
	Dir    string
	Size   int64 // bytes of the distinct files the snapshot holds
	SnapshotState
}

// CachedModel is one models--org--name folder.
type CachedModel struct {
	Repo      string
	Dir       string
	Size      int64 // bytes on disk of the whole folder (blobs, copies, partial downloads)
	Snapshots []CachedSnapshot
}

// List describes every model in the cache, sorted by repo id. A missing
// cache folder is an empty list, not an error.
func List(cacheDir string) ([]CachedModel, error) {
	if cacheDir == "" {
		return nil, errNoCacheDir
	}
	ents, err := os.ReadDir(cacheDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list cache %s: %w", cacheDir, err)
	}
	var out []CachedModel
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), "models--")
		if !ok || !e.IsDir() {
			continue
		}
		m := CachedModel{Repo: strings.ReplaceAll(name, "--", "/"), Dir: filepath.Join(cacheDir, e.Name())}
		m.Size = diskUsage(m.Dir)
		refs := readRefs(m.Dir)
		snaps, _ := os.ReadDir(filepath.Join(m.Dir, "snapshots"))
		for _, s := range snaps {
			if !s.IsDir() {
				continue
			}
			cs := CachedSnapshot{
				Commit:        s.Name(),
				Refs:          refs[s.Name()],
				Dir:           filepath.Join(m.Dir, "snapshots", s.Name()),
				SnapshotState: checkSnapshot(m.Dir, s.Name()),
			}
			cs.Size = snapshotSize(cs.Dir)
			m.Snapshots = append(m.Snapshots, cs)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Repo < out[j].Repo })
	return out, nil
}

// readRefs maps commit → the refs (possibly nested, like refs/pr/1) naming it.
func readRefs(repoDir string) map[string][]string {
	out := map[string][]string{}
	root := filepath.Join(repoDir, "refs")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		c := strings.TrimSpace(string(b))
		out[c] = append(out[c], filepath.ToSlash(rel))
		return nil
	})
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// diskUsage sums regular files without following symlinks, so shared blobs
// count once.
func diskUsage(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// snapshotSize sums the files a snapshot resolves to, each blob once.
func snapshotSize(dir string) int64 {
	var n int64
	seen := map[string]bool{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil || seen[real] {
			return nil
		}
		seen[real] = true
		if fi, err := os.Stat(real); err == nil {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// Remove deletes a model's cache folder and its lock folder and returns
// the bytes freed. A model that is not cached is an ErrNotCached error.
func Remove(cacheDir, repo string) (int64, error) {
	if cacheDir == "" {
		return 0, errNoCacheDir
	}
	dir := repoDir(cacheDir, repo)
	if _, err := os.Lstat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("%w: %s (cache folder %s); 'ask list' shows what is", ErrNotCached, repo, cacheDir)
		}
		return 0, fmt.Errorf("remove %s: %w", repo, err)
	}
	n := diskUsage(dir)
	if err := os.RemoveAll(dir); err != nil {
		return 0, fmt.Errorf("remove %s: %w", dir, err)
	}
	if err := os.RemoveAll(filepath.Join(cacheDir, ".locks", RepoFolderName(repo))); err != nil {
		return n, fmt.Errorf("remove locks of %s: %w", repo, err)
	}
	return n, nil
}
