package debertav2_test

import (
	"compress/gzip"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/askqa/ask/engine"
	"github.com/askqa/ask/model"
	"github.com/askqa/ask/safetensors"
)

// TestEngineLoadsBin loads, through engine.Load, a folder holding only a
// pytorch_model.bin of bfloat16 storages (read by package torchbin) and
// compares with transformers loading the same folder.
func TestEngineLoadsBin(t *testing.T) {
	dir := filepath.Join("testdata", "v3-qa-bin")
	enc, err := engine.Load(dir, engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if got := enc.Info().Architecture; got != "DebertaV2ForQuestionAnswering" {
		t.Fatalf("architecture %q", got)
	}
	compareQA(t, enc, dir)
}

// compareQA checks enc's logits on the cases of dir/reference.json.gz.
func compareQA(t *testing.T, enc model.Encoder, dir string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "reference.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			InputIDs      [][]int32   `json:"input_ids"`
			AttentionMask [][]int32   `json:"attention_mask"`
			StartLogits   [][]float64 `json:"start_logits"`
			EndLogits     [][]float64 `json:"end_logits"`
		} `json:"cases"`
	}
	if err := json.NewDecoder(zr).Decode(&ref); err != nil {
		t.Fatal(err)
	}
	var out model.Output
	for ci, c := range ref.Cases {
		b := model.Batch{Size: len(c.InputIDs), SeqLen: len(c.InputIDs[0])}
		for r := range c.InputIDs {
			b.InputIDs = append(b.InputIDs, c.InputIDs[r]...)
			b.AttentionMask = append(b.AttentionMask, c.AttentionMask[r]...)
		}
		if err := enc.Forward(context.Background(), &b, &out); err != nil {
			t.Fatal(err)
		}
		for r := range c.StartLogits {
			for i := range c.StartLogits[r] {
				k := r*b.SeqLen + i
				if d := math.Max(math.Abs(float64(out.StartLogits[k])-c.StartLogits[r][i]), math.Abs(float64(out.EndLogits[k])-c.EndLogits[r][i])); d > 1e-4 {
					t.Fatalf("case %d, token %d: |Δ| %.3g", ci, k, d)
				}
			}
		}
	}
}

// The v3-qa checkpoint as a program would embed it.
var (
	//go:embed testdata/v3-qa/config.json
	embeddedConfig []byte
	//go:embed testdata/v3-qa/model.safetensors
	embeddedWeights []byte
)

// TestLoadFromMemory loads a checkpoint held in memory through
// engine.LoadFrom, as the built-in models are: the configuration must come
// from the bytes parsed, not from a config.json on disk (the name given is
// not a file).
func TestLoadFromMemory(t *testing.T) {
	cfg, err := model.ParseConfig(embeddedConfig, "embedded:v3-qa/config.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.OpenBytes("embedded:v3-qa/model.safetensors", embeddedWeights)
	if err != nil {
		t.Fatal(err)
	}
	set, err := safetensors.SetOf(f)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := engine.LoadFrom(cfg, model.NewWeights(set, "embedded:v3-qa"), engine.Options{Threads: 1})
	if err != nil {
		t.Fatalf("LoadFrom: %v", err)
	}
	defer enc.Close()
	compareQA(t, enc, filepath.Join("testdata", "v3-qa"))
}

// cancelAfter is a context whose Err turns to Canceled after n checks: the
// injected fault of "the client left during layer n".
type cancelAfter struct {
	context.Context
	n, checks int
}

func (c *cancelAfter) Err() error {
	c.checks++
	if c.checks > c.n {
		return context.Canceled
	}
	return nil
}

// TestForwardStopsBetweenLayers checks that a forward pass checks its
// context before every layer (DeBERTa runs its layers itself, outside
// nn.Workspace.ForwardContext): a cancelled request stops within one layer
// with ctx's error, and the next one on the same encoder is unharmed.
func TestForwardStopsBetweenLayers(t *testing.T) {
	dir := filepath.Join("testdata", "v2-qa") // 3 layers
	enc, err := engine.Load(dir, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	in := model.Batch{Size: 1, SeqLen: 6, InputIDs: []int32{1, 5, 6, 7, 8, 2}}
	var want, got model.Output
	if err := enc.Forward(context.Background(), &in, &want); err != nil {
		t.Fatal(err)
	}
	// One check on entry to Forward, then one before each of the 3 layers.
	for n := 1; n <= 3; n++ {
		ctx := &cancelAfter{Context: context.Background(), n: n}
		if err := enc.Forward(ctx, &in, &got); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled after %d checks: err %v", n, err)
		}
		if ctx.checks != n+1 {
			t.Errorf("cancelled after %d checks: %d checks, want %d (it ran on past the cancellation)", n, ctx.checks, n+1)
		}
	}
	if err := enc.Forward(context.Background(), &in, &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.StartLogits, want.StartLogits) || !slices.Equal(got.EndLogits, want.EndLogits) {
		t.Error("a pass after cancelled ones differs from the first")
	}
}
