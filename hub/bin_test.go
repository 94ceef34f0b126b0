package hub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/askqa/ask/hub/hubtest"
	"github.com/askqa/ask/torchbin"
)

// xlmrBin is a random XLMRobertaForQuestionAnswering that transformers and
// torch wrote as pytorch_model.bin only, with a SentencePiece
// sentencepiece.bpe.model and no tokenizer.json
// (tools/reference/gen_qa_spm_goldens.py); testdata/xlmr-bin-sharded holds
// the same tensors as torch-saved shards (testdata/gen_xlmr_bin_sharded.py).
const (
	xlmrBin     = "../qa/testdata/xlmr-bin"
	xlmrSharded = "testdata/xlmr-bin-sharded"
)

// binRepos are the .bin-only repos the tests serve: one file, and shards.
func binRepos(t *testing.T) map[string]hubtest.Repo {
	sharded := hubtest.FromDir(t, "acme/xlmr-sharded", xlmrBin, xlmrSharded)
	delete(sharded.Files, binFile)
	return map[string]hubtest.Repo{
		"single":  hubtest.FromDir(t, "acme/xlmr-bin", xlmrBin),
		"sharded": sharded,
	}
}

func TestPullBinOnlySentencePiece(t *testing.T) {
	single, err := torchbin.OpenDir(xlmrBin)
	if err != nil {
		t.Fatal(err)
	}
	want := single.Names()
	single.Close()

	for name, repo := range binRepos(t) {
		t.Run(name, func(t *testing.T) {
			srv := hubtest.New(t, repo)
			commit := srv.AddRepo(repo)
			o := testOpts(t, srv)
			snap := mustPull(t, repo.ID, o)

			var weights, absent []string
			if name == "single" {
				weights = []string{binFile}
				absent = []string{weightsFile, indexFile}
			} else {
				weights = []string{binIndexFile}
				for f := range repo.Files {
					if strings.HasPrefix(f, "pytorch_model-") {
						weights = append(weights, f)
					}
				}
				absent = []string{weightsFile, indexFile, binFile}
			}
			checkSnapshotFiles(t, snap.Dir, repo, append([]string{"config.json", "sentencepiece.bpe.model"}, weights...)...)
			absent = append(absent, "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "spiece.model", "spm.model")
			rd := repoDir(o.CacheDir, repo.ID)
			for _, f := range absent {
				if !exists(noExistPath(rd, commit, f)) {
					t.Errorf("no .no_exist marker for %s", f)
				}
				if !slices.Contains(snap.Absent, f) {
					t.Errorf("Snapshot.Absent %v lacks %s", snap.Absent, f)
				}
			}
			if name == "single" && exists(noExistPath(rd, commit, binIndexFile)) {
				t.Errorf("%s was asked for although %s was found", binIndexFile, binFile)
			}
			if st := checkSnapshot(rd, commit); !st.Usable || !st.Complete || len(st.Missing) != 0 {
				t.Errorf("state %+v, want usable and complete", st)
			}

			// The snapshot opens as the loader opens it: torchbin's reader,
			// through the snapshot's symlinks into blobs/.
			set, err := torchbin.OpenDir(snap.Dir)
			if err != nil {
				t.Fatalf("open pulled weights: %v", err)
			}
			if got := set.Names(); !slices.Equal(got, want) {
				t.Errorf("pulled tensors %v, want %v", got, want)
			}
			set.Close()

			before := len(srv.Requests())
			mustPull(t, repo.ID+"@"+commit, o)
			if n := len(srv.Requests()) - before; n != 0 {
				t.Errorf("re-pull at the commit made %d requests, want 0", n)
			}
			off := o
			off.Offline, off.HTTPClient = true, hubtest.FailingClient(t)
			if dir, err := Resolve(context.Background(), repo.ID, off); err != nil || dir != snap.Dir {
				t.Errorf("offline Resolve = %s, %v; want %s", dir, err, snap.Dir)
			}
		})
	}
}

// A SentencePiece model is fetched only when there is no tokenizer.json:
// the loader would never read it, and XLM-R's is 5 MB.
func TestPullSkipsSentencePieceBesideTokenizerJSON(t *testing.T) {
	repo := hubtest.TinyModel(repoID)
	repo.Files["sentencepiece.bpe.model"] = hubtest.File{Data: []byte("spm"), LFS: true}
	srv := hubtest.New(t, repo)
	commit := srv.AddRepo(repo)
	o := testOpts(t, srv)
	snap := mustPull(t, repoID, o)
	for _, f := range spmFiles {
		if n := srv.Count("", "", f); n != 0 {
			t.Errorf("%d requests for %s", n, f)
		}
		if exists(filepath.Join(snap.Dir, f)) {
			t.Errorf("%s pulled", f)
		}
	}
	if st := checkSnapshot(repoDir(o.CacheDir, repoID), commit); !st.Complete {
		t.Errorf("state %+v, want complete", st)
	}
}

// Caches written by others (huggingface_hub, or an interrupted pull):
// which weights and tokenizer files make a snapshot usable, and which
// unchecked files keep it from being complete.
func TestPullSnapshotStateWithFallbacks(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	type files struct{ present, absent []string }
	tests := []struct {
		name             string
		files            files
		usable, complete bool
		missing          []string
	}{
		{
			name:   "bin without markers",
			files:  files{present: []string{"config.json", binFile, "tokenizer.json"}},
			usable: true, missing: []string{weightsFile, indexFile},
		},
		{
			name: "bin after markers",
			files: files{present: []string{"config.json", binFile, "sentencepiece.bpe.model"},
				absent: []string{weightsFile, indexFile, "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "spiece.model", "spm.model"}},
			usable: true, complete: true,
		},
		{
			name: "spm files unchecked without tokenizer.json",
			files: files{present: []string{"config.json", weightsFile, "spm.model"},
				absent: []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt"}},
			usable: true, missing: []string{"spiece.model", "sentencepiece.bpe.model"},
		},
		{
			name:    "interrupted bin download",
			files:   files{present: []string{"config.json", "tokenizer.json"}, absent: []string{weightsFile, indexFile}},
			missing: []string{binFile},
		},
		{
			name:    "bin index without its shards",
			files:   files{present: []string{"config.json", "tokenizer.json", binIndexFile}, absent: []string{weightsFile, indexFile, binFile}},
			missing: []string{"pytorch_model-00001-of-00002.bin"},
		},
		{
			name:    "no weights at all",
			files:   files{present: []string{"config.json", "tokenizer.json"}, absent: weightFiles},
			missing: []string{weightsFile},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := t.TempDir()
			for _, f := range tt.files.present {
				data := "x"
				if f == binIndexFile {
					data = `{"weight_map": {"a": "pytorch_model-00001-of-00002.bin"}}`
				}
				p := snapshotPath(rd, commit, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range tt.files.absent {
				if err := markNoExist(rd, commit, f); err != nil {
					t.Fatal(err)
				}
			}
			st := checkSnapshot(rd, commit)
			if st.Usable != tt.usable || st.Complete != tt.complete {
				t.Errorf("usable %v complete %v, want %v %v (%+v)", st.Usable, st.Complete, tt.usable, tt.complete, st)
			}
			for _, m := range tt.missing {
				if !slices.Contains(st.Missing, m) {
					t.Errorf("Missing %v lacks %s", st.Missing, m)
				}
			}
		})
	}
}

// Pulling never parses a .bin; loading one is torchbin's restricted
// reader, which refuses a pickle that would run a command, and runs
// nothing.
func TestPullMaliciousBinRefusedAtLoad(t *testing.T) {
	const pwned = "/tmp/torchbin-pwned" // what evil_subprocess.bin would touch
	_, statErr := os.Stat(pwned)
	before := statErr == nil
	repo := hubtest.FromDir(t, "acme/evil-bin", xlmrBin)
	evil, err := os.ReadFile("../torchbin/testdata/evil_subprocess.bin")
	if err != nil {
		t.Fatal(err)
	}
	repo.Files[binFile] = hubtest.File{Data: evil, LFS: true}
	srv := hubtest.New(t, repo)
	snap := mustPull(t, repo.ID, testOpts(t, srv))
	_, err = torchbin.OpenDir(snap.Dir)
	if !errors.Is(err, torchbin.ErrUnsafe) || !strings.Contains(err.Error(), "commands.call") {
		t.Fatalf("opening the pulled malicious .bin: %v, want torchbin.ErrUnsafe naming commands.call", err)
	}
	if _, err := os.Stat(pwned); err == nil && !before {
		t.Fatalf("%s appeared: the pickle ran", pwned)
	}
}
