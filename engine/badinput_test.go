package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/safetensors"
)

const tinyBert = "../model/testdata/tiny/bert-qa"

// copyModel copies a checkpoint folder so a test can damage it.
func copyModel(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func editConfig(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rewriteWeights rewrites model.safetensors through keep, which may drop
// (return false) or change a tensor.
func rewriteWeights(t *testing.T, dir string, keep func(*safetensors.Tensor) bool) {
	t.Helper()
	p := filepath.Join(dir, "model.safetensors")
	f, err := safetensors.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		data, shape, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		tn := safetensors.Tensor{Name: n, DType: safetensors.F32, Shape: shape, Data: append([]float32(nil), data...)}
		if keep(&tn) {
			ts = append(ts, tn)
		}
	}
	f.Close()
	if err := safetensors.WriteFile(p, ts, nil); err != nil {
		t.Fatal(err)
	}
}

func TestBrokenCheckpoints(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		want   string
	}{
		{"no config", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "config.json")) }, "no config.json"},
		{"config not JSON", func(t *testing.T, d string) { os.WriteFile(filepath.Join(d, "config.json"), []byte("{oops"), 0o644) }, "invalid JSON"},
		{"unknown model_type", func(t *testing.T, d string) { editConfig(t, d, func(m map[string]any) { m["model_type"] = "gpt2" }) }, `unknown model_type "gpt2"`},
		{"bert weights called deberta", func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["model_type"] = "deberta-v2" })
		}, `unsupported architecture "BertForQuestionAnswering" for model_type "deberta-v2"`},
		{"unknown architecture", func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["architectures"] = []string{"BertForCausalLM"} })
		}, `unsupported architecture "BertForCausalLM"`},
		{"relative positions", func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["position_embedding_type"] = "relative_key" })
		}, `position_embedding_type "relative_key"`},
		{"unknown activation", func(t *testing.T, d string) { editConfig(t, d, func(m map[string]any) { m["hidden_act"] = "swish" }) }, `unsupported activation "swish"`},
		{"shape disagrees with config", func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["intermediate_size"] = 65.0 })
		}, "config.json implies"},
		{"heads do not divide hidden", func(t *testing.T, d string) {
			editConfig(t, d, func(m map[string]any) { m["num_attention_heads"] = 5.0 })
		}, "not divisible"},
		{"missing tensor", func(t *testing.T, d string) {
			rewriteWeights(t, d, func(tn *safetensors.Tensor) bool { return tn.Name != "bert.encoder.layer.1.output.dense.weight" })
		}, `missing tensor "bert.encoder.layer.1.output.dense.weight"`},
		{"missing head", func(t *testing.T, d string) {
			rewriteWeights(t, d, func(tn *safetensors.Tensor) bool { return !strings.HasPrefix(tn.Name, "qa_outputs") })
		}, `missing tensor "qa_outputs.weight"`},
		{"truncated weights", func(t *testing.T, d string) {
			p := filepath.Join(d, "model.safetensors")
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()/2)
		}, "model.safetensors"},
		{"no weights", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "model.safetensors")) }, "neither model.safetensors nor"},
		{"garbage weights", func(t *testing.T, d string) {
			os.WriteFile(filepath.Join(d, "model.safetensors"), []byte("not a safetensors file at all"), 0o644)
		}, "model.safetensors"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyModel(t, tinyBert)
			c.break_(t, dir)
			enc, err := Load(dir, Options{Threads: 1})
			if err == nil {
				enc.Close()
				t.Fatalf("loaded a broken checkpoint")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestBadInputs(t *testing.T) {
	enc, err := Load(tinyBert, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	info := enc.Info()
	ok := func() model.Batch {
		return model.Batch{Size: 1, SeqLen: 3, InputIDs: []int32{1, 2, 3}}
	}
	cases := map[string]func(*model.Batch){
		"id past vocabulary": func(b *model.Batch) { b.InputIDs[1] = int32(info.VocabSize) },
		"negative id":        func(b *model.Batch) { b.InputIDs[0] = -1 },
		"too long": func(b *model.Batch) {
			b.SeqLen = info.MaxPositions + 1
			b.InputIDs = make([]int32, b.SeqLen)
		},
		"ids disagree with shape": func(b *model.Batch) { b.Size = 2 },
		"mask wrong length":       func(b *model.Batch) { b.AttentionMask = []int32{1} },
		"mask not 0/1":            func(b *model.Batch) { b.AttentionMask = []int32{1, 2, 1} },
		"all masked":              func(b *model.Batch) { b.AttentionMask = []int32{0, 0, 0} },
		"token type out of range": func(b *model.Batch) { b.TokenTypeIDs = []int32{0, 7, 0} },
		"empty":                   func(b *model.Batch) { b.Size, b.SeqLen, b.InputIDs = 0, 0, nil },
	}
	var out model.Output
	for name, mutate := range cases {
		b := ok()
		mutate(&b)
		err := enc.Forward(context.Background(), &b, &out)
		if !errors.Is(err, model.ErrInput) {
			t.Errorf("%s: got %v, want an ErrInput", name, err)
		}
	}
	b := ok()
	if err := enc.Forward(context.Background(), &b, &out); err != nil {
		t.Fatalf("a good batch after bad ones: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := enc.Forward(ctx, &b, &out); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: got %v", err)
	}
}

// TestConcurrentForward runs one engine from many goroutines: results must
// equal the serial ones (run with -race to check the sharing).
func TestConcurrentForward(t *testing.T) {
	enc, err := Load(tinyBert, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	batches := make([]model.Batch, 8)
	want := make([]model.Output, len(batches))
	for i := range batches {
		L := 5 + i
		b := model.Batch{Size: 2, SeqLen: L, InputIDs: make([]int32, 2*L)}
		for j := range b.InputIDs {
			b.InputIDs[j] = int32((i*7 + j*3) % enc.Info().VocabSize)
		}
		batches[i] = b
		if err := enc.Forward(context.Background(), &batches[i], &want[i]); err != nil {
			t.Fatal(err)
		}
	}
	errc := make(chan error, 4*len(batches))
	for g := 0; g < 4; g++ {
		go func() {
			for i := range batches {
				var out model.Output
				if err := enc.Forward(context.Background(), &batches[i], &out); err != nil {
					errc <- err
					continue
				}
				for j := range out.StartLogits {
					if out.StartLogits[j] != want[i].StartLogits[j] || out.EndLogits[j] != want[i].EndLogits[j] {
						errc <- errors.New("concurrent forward differs from serial")
						break
					}
				}
				errc <- nil
			}
		}()
	}
	for i := 0; i < 4*len(batches); i++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}
