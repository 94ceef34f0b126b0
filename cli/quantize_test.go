package cli

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/safetensors"
)

// TestQuantizeCheckpoint writes an int8 copy of each tiny architecture,
// checks which tensors became I8, and runs it: --model OUT runs in int8 with
// the same weights as --quantize int8 on the original (re-quantizing q·scale
// gives q back), and near fp32 (loosely: tiny random models, ALBERT
// repeating one layer, magnify the rounding; accuracy is measured on a
// real model in bench/accuracy_int8.py).
func TestQuantizeCheckpoint(t *testing.T) {
	for _, arch := range []string{"bert-qa", "distilbert-qa", "albert-qa", "electra-qa", "roberta-qa", "bert-qa-f16"} {
		t.Run(arch, func(t *testing.T) {
			in := filepath.Join("../model/testdata/tiny", arch)
			out := filepath.Join(t.TempDir(), "q")
			stdout, errs, code := run(t, "", "quantize", in, out)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(stdout, "in int8") {
				t.Errorf("summary: %q", stdout)
			}
			if _, err := os.Stat(filepath.Join(out, "config.json")); err != nil {
				t.Fatalf("config.json not copied: %v", err)
			}
			set, err := safetensors.OpenDir(out)
			if err != nil {
				t.Fatal(err)
			}
			i8 := 0
			for _, n := range set.Names() {
				info, _ := set.Info(n)
				if info.DType == safetensors.I8 {
					i8++
					if _, ok := set.Info(n + "_scale"); !ok {
						t.Errorf("%s: no scales", n)
					}
				}
				if info.DType == safetensors.I8 && (strings.Contains(n, "embeddings") || strings.Contains(n, "qa_outputs")) {
					t.Errorf("%s quantized; embeddings and heads stay as they were", n)
				}
			}
			set.Close()
			if i8 == 0 {
				t.Fatal("no I8 tensors written")
			}

			in1 := `{"input_ids":[1,5,6,7,8,9,2],"token_type_ids":[0,0,0,1,1,1,1]}` + "\n"
			logits := func(args ...string) []float32 {
				t.Helper()
				o, e, c := run(t, in1, append([]string{"infer", "--threads", "1"}, args...)...)
				if c != 0 {
					t.Fatalf("infer %v: exit %d: %s", args, c, e)
				}
				var r inferOutput
				if err := json.Unmarshal([]byte(o), &r); err != nil {
					t.Fatal(err)
				}
				return append(r.StartLogits, r.EndLogits...)
			}
			fromFile := logits("--model", out)
			dynamic := logits("--model", in, "--quantize", "int8")
			fp32 := logits("--model", in)
			asFP32 := logits("--model", out, "--quantize", "none")
			for i := range fp32 {
				if d := math.Abs(float64(fromFile[i] - dynamic[i])); d > 1e-4 {
					t.Errorf("logit %d: int8 file %v, --quantize int8 %v", i, fromFile[i], dynamic[i])
				}
				if d := math.Abs(float64(fromFile[i] - fp32[i])); d > 0.25*(1+math.Abs(float64(fp32[i]))) {
					t.Errorf("logit %d: int8 %v, fp32 %v", i, fromFile[i], fp32[i])
				}
				if d := math.Abs(float64(asFP32[i] - fp32[i])); d > 0.25*(1+math.Abs(float64(fp32[i]))) {
					t.Errorf("logit %d: int8 file run in fp32 %v, fp32 %v", i, asFP32[i], fp32[i])
				}
			}
		})
	}
}

func TestQuantizeErrors(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"no args":      {[]string{"quantize"}, 2, "usage"},
		"same folder":  {[]string{"quantize", tinyQA, tinyQA}, 1, "new folder"},
		"missing in":   {[]string{"quantize", filepath.Join(dir, "nope"), filepath.Join(dir, "out")}, 1, "quantize"},
		"bad flag":     {[]string{"infer", "--model", tinyQA, "--quantize", "int4"}, 2, "int8"},
		"bench flag":   {[]string{"bench", "--model", tinyQA, "--quantize", "fp16"}, 2, "int8"},
		"already int8": {[]string{"quantize", tinyQA, filepath.Join(dir, "a")}, 0, ""},
	} {
		_, errs, code := run(t, "", c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%s: exit %d (want %d), stderr %q (want %q in it)", name, code, c.code, errs, c.msg)
		}
	}
	// Quantizing an int8 checkpoint again finds nothing left to do.
	_, errs, code := run(t, "", "quantize", filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	if code != 1 || !strings.Contains(errs, "no encoder Linear weights") {
		t.Errorf("int8 input: exit %d, %q", code, errs)
	}
}

// TestQuantizeEmbeddings: --embeddings also stores the word-embedding
// table in int8, on a float checkpoint or on one whose Linear weights are
// int8 already (a calibrated one: those bytes are kept); the table reads
// back within half a quantization step of every value, and the checkpoint
// runs.
func TestQuantizeEmbeddings(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("../model/testdata/tiny", "bert-qa")
	linears, both, again := filepath.Join(dir, "l"), filepath.Join(dir, "b"), filepath.Join(dir, "a")
	for _, c := range [][]string{{"quantize", in, linears}, {"quantize", "--embeddings", in, both}, {"quantize", linears, again, "--embeddings"}} {
		if _, errs, code := run(t, "", c...); code != 0 {
			t.Fatalf("%v: exit %d: %s", c, code, errs)
		}
	}
	const table = "bert.embeddings.word_embeddings.weight"
	orig, err := safetensors.OpenDir(in)
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	want, shape, err := orig.Float32(table)
	if err != nil {
		t.Fatal(err)
	}
	rows, cols := int(shape[0]), int(shape[1])
	for _, out := range []string{both, again} {
		set, err := safetensors.OpenDir(out)
		if err != nil {
			t.Fatal(err)
		}
		raw, info, err := set.Bytes(table)
		if err != nil || info.DType != safetensors.I8 {
			t.Fatalf("%s: %s is %v (%v), want I8", out, table, info.DType, err)
		}
		scale, _, err := set.Float32(table + "_scale")
		if err != nil {
			t.Fatal(err)
		}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				got := float32(int8(raw[r*cols+c])) * scale[r]
				if d := math.Abs(float64(got - want[r*cols+c])); d > 0.5001*float64(scale[r]) {
					t.Fatalf("%s: [%d,%d] = %v, want %v (step %v)", out, r, c, got, want[r*cols+c], scale[r])
				}
			}
		}
		set.Close()
		if _, errs, code := run(t, `{"input_ids":[1,5,6,7,8,9,2]}`+"\n", "infer", "--threads", "1", "--model", out); code != 0 {
			t.Fatalf("infer %s: exit %d: %s", out, code, errs)
		}
	}
	// Without --embeddings an int8 checkpoint has nothing left to quantize.
	if _, errs, code := run(t, "", "quantize", linears, filepath.Join(dir, "x")); code != 1 || !strings.Contains(errs, "--embeddings") {
		t.Errorf("int8 input: exit %d, %q", code, errs)
	}
}

// TestEmbedQuantize runs the built-in embedder, stored in int8: by default
// (and with --quantize int8) in int8, within the cosine bar of
// --quantize none, which runs it in float32.
func TestEmbedQuantize(t *testing.T) {
	in := `{"text":"The Black Death was one of the most devastating pandemics in human history."}` + "\n"
	vec := func(args ...string) []float64 {
		t.Helper()
		o, e, c := run(t, in, append([]string{"embed", "--threads", "1"}, args...)...)
		if c != 0 {
			t.Fatalf("embed %v: exit %d: %s", args, c, e)
		}
		var r struct{ Embedding []float64 }
		if err := json.Unmarshal([]byte(o), &r); err != nil {
			t.Fatal(err)
		}
		return r.Embedding
	}
	cos := func(a, b []float64) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab, aa, bb = ab+a[i]*b[i], aa+a[i]*a[i], bb+b[i]*b[i]
		}
		return ab / math.Sqrt(aa*bb)
	}
	// The built-in embedder is stored in int8, so it runs in int8 unless
	// --quantize none asks for float32.
	fp32, int8 := vec("--quantize", "none"), vec()
	if c := cos(fp32, int8); c < 0.99 || c > 0.999999 {
		t.Errorf("default (int8): cosine to --quantize none %.7f, want in [0.99, 1)", c)
	}
	if c := cos(int8, vec("--quantize", "int8")); c < 0.999999 {
		t.Errorf("--quantize int8: cosine to the default %.6f", c)
	}
}

// TestQuantizeKeepsModules copies a sentence-transformers folder whole: the
// module folders modules.json names (1_Pooling) travel with the weights,
// and a path that leaves the folder is not followed.
func TestQuantizeKeepsModules(t *testing.T) {
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "q")
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join("../model/testdata/tiny/bert", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(in, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	modules := `[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
	{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
	{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"},
	{"idx":3,"name":"3","path":"../outside","type":"sentence_transformers.models.Dense"}]`
	pooling := `{"word_embedding_dimension": 32, "pooling_mode_cls_token": true}`
	if err := os.WriteFile(filepath.Join(in, "modules.json"), []byte(modules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(in, "1_Pooling"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "1_Pooling", "config.json"), []byte(pooling), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := run(t, "", "quantize", in, out); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	got, err := os.ReadFile(filepath.Join(out, "1_Pooling", "config.json"))
	if err != nil || string(got) != pooling {
		t.Errorf("1_Pooling/config.json in the copy: %q, %v; want %q", got, err, pooling)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "outside")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a module path outside the folder was created: %v", err)
	}
}
