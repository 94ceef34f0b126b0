package builtin

import (
	"os"
	"path/filepath"
	"testing"
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
