package debertav2_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/askqa/ask/engine"
	"github.com/askqa/ask/model"
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
