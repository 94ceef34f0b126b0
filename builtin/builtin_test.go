package builtin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDirUnpacksOnce(t *testing.T) {
	cache := t.TempDir()
	dir, err := Dir(cache)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("unpacked model lacks %s: %v", f, err)
		}
	}
	st, _ := os.Stat(filepath.Join(dir, "model.safetensors"))
	again, err := Dir(cache)
	if err != nil || again != dir {
		t.Fatalf("second Dir = %q, %v; want %q", again, err, dir)
	}
	st2, _ := os.Stat(filepath.Join(dir, "model.safetensors"))
	if !st.ModTime().Equal(st2.ModTime()) {
		t.Errorf("the model was unpacked twice")
	}
	if _, err := Dir(filepath.Join(filepath.Join(dir, "model.safetensors"), "x")); err == nil {
		t.Errorf("unpacking under a file succeeded")
	}
}

// TestNoMultilingualYet: this binary carries only the English model, and
// asking for the multilingual one says what to do.
func TestNoMultilingualYet(t *testing.T) {
	if _, ok := Multilingual(); ok {
		t.Skip("this binary carries a multilingual model")
	}
	_, err := MultilingualDir(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "--model") {
		t.Fatalf("MultilingualDir = %v, want an error saying to pass --model", err)
	}
}

// TestUnpackFolders unpacks a model folder with a subfolder, named by its
// weights' hash, once.
func TestUnpackFolders(t *testing.T) {
	fsys := fstest.MapFS{
		"config.json":       {Data: []byte(`{}`)},
		"model.safetensors": {Data: []byte("weights")},
		"sub/extra.json":    {Data: []byte(`{"x":1}`)},
	}
	v, err := weightsVersion(fsys)
	if err != nil || len(v) != 16 {
		t.Fatalf("weightsVersion = %q, %v", v, err)
	}
	cache := t.TempDir()
	dir, err := unpack(fsys, v, cache)
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(cache, "ask", "builtin", v) {
		t.Errorf("dir %s", dir)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sub", "extra.json")); err != nil || string(b) != `{"x":1}` {
		t.Errorf("sub/extra.json: %q, %v", b, err)
	}
}
