package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/askqa/ask/engine"
	"github.com/askqa/ask/model"
)

const torchbinData = "../torchbin/testdata"

// copyFiles copies the named files of src into a new temporary folder,
// each under the name it maps to.
func copyFiles(t *testing.T, src string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for from, to := range files {
		b, err := os.ReadFile(filepath.Join(src, from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// listDir is the sorted names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestConvert converts checkpoints that torch.save wrote (float32, float16,
// bfloat16 and int64 storages, strided views, storages shared by several
// tensors, a scalar, an empty tensor; one file and two shards) and checks
// that model.safetensors is byte for byte what Python's safetensors package
// writes from torch.load of the same files (tools/reference/gen_torchbin.py).
func TestConvert(t *testing.T) {
	tests := []struct {
		name, src string
		files     map[string]string
		golden    string
	}{
		{"single", torchbinData, map[string]string{"mixed.bin": "pytorch_model.bin"}, "mixed.safetensors"},
		{"sharded", filepath.Join(torchbinData, "sharded"), map[string]string{
			"pytorch_model.bin.index.json":     "pytorch_model.bin.index.json",
			"pytorch_model-00001-of-00002.bin": "pytorch_model-00001-of-00002.bin",
			"pytorch_model-00002-of-00002.bin": "pytorch_model-00002-of-00002.bin",
		}, "sharded.safetensors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyFiles(t, tt.src, tt.files)
			before := listDir(t, dir)
			stdout, errs, code := run(t, "", "convert", dir)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(stdout, "model.safetensors") {
				t.Errorf("summary %q", stdout)
			}
			got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(torchbinData, tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("model.safetensors (%d bytes) differs from safetensors.torch.save_file's %s (%d bytes)", len(got), tt.golden, len(want))
			}
			// The .bin files stay; only model.safetensors is new (no
			// temporary file left behind).
			if after := listDir(t, dir); !slices.Equal(after, slices.Sorted(slices.Values(append(before, "model.safetensors")))) {
				t.Errorf("folder holds %v, want %v and model.safetensors", after, before)
			}
		})
	}
}

func TestConvertJSON(t *testing.T) {
	dir := copyFiles(t, torchbinData, map[string]string{"mixed.bin": "pytorch_model.bin"})
	stdout, errs, code := run(t, "", "convert", "--json", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res convertResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%q: %v", stdout, err)
	}
	st, err := os.Stat(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != filepath.Join(dir, "model.safetensors") || res.Tensors != 12 || res.Bytes != st.Size() ||
		len(res.Sources) != 1 || filepath.Base(res.Sources[0]) != "pytorch_model.bin" {
		t.Errorf("result %+v (file of %d bytes)", res, st.Size())
	}
}

// TestConvertRefuses checks the checkpoints and folders convert must not
// write anything for, and that the error says why and what to do.
func TestConvertRefuses(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // from torchbin/testdata
		code  int
		want  []string
	}{
		{"legacy format", map[string]string{"legacy.bin": "pytorch_model.bin"}, 1,
			[]string{"legacy (pre-1.6)", "torch.save(torch.load(p, weights_only=True), p)"}},
		{"pickle calling subprocess", map[string]string{"evil_subprocess.bin": "pytorch_model.bin"}, 1, []string{"global commands.call is refused"}},
		{"pickle calling eval", map[string]string{"evil_eval.bin": "pytorch_model.bin"}, 1, []string{"global __builtin__.eval is refused"}},
		{"no checkpoint", map[string]string{"mixed.json": "config.json"}, 1, []string{"no pytorch_model.bin or pytorch_model.bin.index.json"}},
		{"not a zip", map[string]string{"mixed.json": "pytorch_model.bin"}, 1, []string{"not a torch zip checkpoint"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyFiles(t, torchbinData, tt.files)
			before := listDir(t, dir)
			_, errs, code := run(t, "", "convert", dir)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs, w) {
					t.Errorf("error %q does not mention %q", errs, w)
				}
			}
			if after := listDir(t, dir); !slices.Equal(after, before) {
				t.Errorf("folder changed: %v → %v", before, after)
			}
		})
	}
	if _, err := os.Stat("/tmp/torchbin-pwned"); err == nil {
		t.Error("/tmp/torchbin-pwned exists: something ran the malicious pickle (or an earlier Python did)")
	}

	usage := []struct {
		name string
		args []string
	}{
		{"no folder", []string{"convert"}},
		{"two folders", []string{"convert", "a", "b"}},
		{"unknown flag", []string{"convert", "--overwrite", "a"}},
	}
	for _, tt := range usage {
		if _, errs, code := run(t, "", tt.args...); code != 2 {
			t.Errorf("%s: exit %d, want 2: %s", tt.name, code, errs)
		}
	}
	file := filepath.Join(t.TempDir(), "pytorch_model.bin")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := run(t, "", "convert", file); code != 1 || !strings.Contains(errs, "not a folder") {
		t.Errorf("a file: exit %d: %s", code, errs)
	}
}

// TestConvertKeepsExisting checks that an existing model.safetensors (or a
// safetensors index) is kept unless --force, which replaces the file.
func TestConvertKeepsExisting(t *testing.T) {
	for _, existing := range []string{"model.safetensors", "model.safetensors.index.json"} {
		t.Run(existing, func(t *testing.T) {
			dir := copyFiles(t, torchbinData, map[string]string{"mixed.bin": "pytorch_model.bin"})
			path := filepath.Join(dir, existing)
			if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, errs, code := run(t, "", "convert", dir)
			if code != 1 || !strings.Contains(errs, "--force") {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if b, _ := os.ReadFile(path); string(b) != "keep me" {
				t.Fatalf("%s overwritten without --force", existing)
			}
			if _, errs, code := run(t, "", "convert", "--force", dir); code != 0 {
				t.Fatalf("--force: exit %d: %s", code, errs)
			}
			got, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
			want, _ := os.ReadFile(filepath.Join(torchbinData, "mixed.safetensors"))
			if !bytes.Equal(got, want) {
				t.Error("--force did not write the converted checkpoint")
			}
		})
	}
}

// TestConvertedModelRuns converts a DeBERTa-v3 QA checkpoint that
// transformers saved as pytorch_model.bin (bfloat16) and checks that the
// engine gives the same logits from model.safetensors, which it then
// prefers, as from the .bin.
func TestConvertedModelRuns(t *testing.T) {
	src := "../model/debertav2/testdata/v3-qa-bin"
	dir := copyFiles(t, src, map[string]string{"config.json": "config.json", "pytorch_model.bin": "pytorch_model.bin"})
	forward := func() []float32 {
		t.Helper()
		enc, err := engine.Load(dir, engine.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		in := model.Batch{Size: 1, SeqLen: 9, InputIDs: []int32{1, 5, 9, 13, 2, 40, 41, 42, 2}}
		var out model.Output
		if err := enc.Forward(context.Background(), &in, &out); err != nil {
			t.Fatal(err)
		}
		return append(slices.Clone(out.StartLogits), out.EndLogits...)
	}
	fromBin := forward()
	if _, errs, code := run(t, "", "convert", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if err := os.Remove(filepath.Join(dir, "pytorch_model.bin")); err != nil {
		t.Fatal(err)
	}
	if got := forward(); !slices.Equal(got, fromBin) {
		t.Errorf("logits from model.safetensors %v, from pytorch_model.bin %v", got, fromBin)
	}
}
