package builtin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/askqa/ask/safetensors"
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

// TestMultilingualUnpacks: the multilingual model unpacks whole, its
// shared tokenizer and word embeddings taken from the embedder (whether it
// then answers as transformers does is qa's TestBuiltinMatchesTransformers).
func TestMultilingualUnpacks(t *testing.T) {
	if _, ok := Multilingual(); !ok {
		t.Skip("this binary carries no multilingual model")
	}
	dir, err := MultilingualDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("unpacked model lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, manifestName)); err == nil {
		t.Errorf("the unpacked folder keeps %s", manifestName)
	}
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.Info("bert.embeddings.word_embeddings.weight"); !ok {
		t.Errorf("the unpacked model has no word embeddings")
	}
}

// TestNoMultilingualYet: a binary that carries only the English model says
// what to do when asked for the multilingual one.
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
	v, err := weightsVersion(fsys, embedderParts{})
	if err != nil || len(v) != 16 {
		t.Fatalf("weightsVersion = %q, %v", v, err)
	}
	cache := t.TempDir()
	dir, err := unpack(fsys, embedderParts{}, v, cache)
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

func safetensorsBytes(t *testing.T, tensors []safetensors.Tensor, meta map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := safetensors.Write(&b, tensors, meta); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestUnpackAssemblesShared: a model folder with shared.json unpacks into
// the folder the exporter would have written whole: the shared file copied
// from the embedder, and model.safetensors byte-identical to one written
// with every tensor. A different embedder (weights or tokenizer) names a
// different folder; a manifest that cannot be honoured fails and leaves
// nothing behind.
func TestUnpackAssemblesShared(t *testing.T) {
	table := safetensors.Tensor{Name: "embeddings.word_embeddings.weight", DType: safetensors.I8, Shape: []int64{2, 3}, Raw: []byte{1, 2, 3, 0xff, 0xfe, 0xfd}}
	scale := safetensors.Tensor{Name: "embeddings.word_embeddings.weight_scale", DType: safetensors.F32, Shape: []int64{2}, Data: []float32{0.5, 0.25}}
	head := safetensors.Tensor{Name: "qa_outputs.weight", DType: safetensors.F32, Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}
	meta := map[string]string{"format": "pt"}
	emb := embedderParts{
		files:   fstest.MapFS{"tokenizer.json": {Data: []byte(`{"tok":1}`)}},
		weights: safetensorsBytes(t, []safetensors.Tensor{table, scale}, nil),
	}
	manifest := `{"files": {"tokenizer.json": "tokenizer.json"},
		"tensors": {"bert.embeddings.word_embeddings.weight": "embeddings.word_embeddings.weight",
		            "bert.embeddings.word_embeddings.weight_scale": "embeddings.word_embeddings.weight_scale"}}`
	fsys := fstest.MapFS{
		"config.json":       {Data: []byte(`{}`)},
		"shared.json":       {Data: []byte(manifest)},
		"model.safetensors": {Data: safetensorsBytes(t, []safetensors.Tensor{head}, meta)},
	}
	v, err := weightsVersion(fsys, emb)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := unpack(fsys, emb, v, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "tokenizer.json")); err != nil || string(b) != `{"tok":1}` {
		t.Errorf("tokenizer.json: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "shared.json")); err == nil {
		t.Errorf("shared.json was unpacked")
	}
	table.Name, scale.Name = "bert."+table.Name, "bert."+scale.Name
	want := safetensorsBytes(t, []safetensors.Tensor{head, table, scale}, meta)
	if got, err := os.ReadFile(filepath.Join(dir, "model.safetensors")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("assembled model.safetensors (%d bytes, %v) differs from the whole file (%d bytes)", len(got), err, len(want))
	}

	other := emb
	other.weights = safetensorsBytes(t, []safetensors.Tensor{table, scale}, map[string]string{"x": "y"})
	if v2, err := weightsVersion(fsys, other); err != nil || v2 == v {
		t.Errorf("another embedder: version %q, %v; want other than %q", v2, err, v)
	}
	other = emb
	other.files = fstest.MapFS{"tokenizer.json": {Data: []byte(`{"tok":2}`)}}
	if v2, err := weightsVersion(fsys, other); err != nil || v2 == v {
		t.Errorf("another embedder tokenizer: version %q, %v; want other than %q", v2, err, v)
	}

	for name, bad := range map[string]string{
		"missing tensor": `{"tensors": {"bert.x": "nope"}}`,
		"own tensor":     `{"tensors": {"qa_outputs.weight": "embeddings.word_embeddings.weight"}}`,
		"missing file":   `{"files": {"vocab.txt": "vocab.txt"}}`,
		"not json":       `{`,
	} {
		fsys["shared.json"] = &fstest.MapFile{Data: []byte(bad)}
		cache := t.TempDir()
		if _, err := unpack(fsys, emb, "v", cache); err == nil {
			t.Errorf("%s: unpack succeeded", name)
		}
		if left, _ := filepath.Glob(filepath.Join(cache, "ask", "builtin", "*")); len(left) != 0 {
			t.Errorf("%s: left %v", name, left)
		}
	}
}
