package cli

import (
	"encoding/json"
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

// TestEmbedQuantize runs the built-in embedder with --quantize int8: the
// vector stays within the cosine bar of the fp32 one, and
// --quantize none is fp32.
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
	fp32 := vec()
	if c := cos(fp32, vec("--quantize", "int8")); c < 0.99 || c > 0.999999 {
		t.Errorf("--quantize int8: cosine to fp32 %.7f, want in [0.99, 1)", c)
	}
	if c := cos(fp32, vec("--quantize", "none")); c < 0.999999 {
		t.Errorf("--quantize none: cosine to fp32 %.6f", c)
	}
}
