package debertav2

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/askqa/ask/model"
)

// reference is what tools/reference/gen_deberta.py writes from
// transformers' DebertaV2Model / DebertaV2ForQuestionAnswering.
type reference struct {
	ModelClass string `json:"model_class"`
	Cases      []struct {
		Name            string        `json:"name"`
		InputIDs        [][]int32     `json:"input_ids"`
		AttentionMask   [][]int32     `json:"attention_mask"`
		TokenTypeIDs    [][]int32     `json:"token_type_ids"`
		StartLogits     [][]float64   `json:"start_logits"`
		EndLogits       [][]float64   `json:"end_logits"`
		LastHiddenState [][][]float64 `json:"last_hidden_state"`
	} `json:"cases"`
}

func readReference(t *testing.T, path string) *reference {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.NewDecoder(zr).Decode(&ref); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &ref
}

func flatten(rows [][]int32) []int32 {
	var out []int32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func load(t testing.TB, dir string, threads int) model.Encoder {
	t.Helper()
	cfg, err := model.ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := model.OpenWeights(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m, head, err := Load(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	return model.NewEncoder(m, head, threads)
}

// tol is the engine's bar: logits within 1e-4 absolute, hidden states
// within 1e-4 relative (absolute below magnitude 1). Padded positions are
// compared too.
const tol = 1e-4

func check(t *testing.T, dir string, threads int) {
	ref := readReference(t, filepath.Join(dir, "reference.json.gz"))
	enc := load(t, dir, threads)
	defer enc.Close()
	var out model.Output
	for _, c := range ref.Cases {
		b := model.Batch{Size: len(c.InputIDs), SeqLen: len(c.InputIDs[0]), InputIDs: flatten(c.InputIDs),
			AttentionMask: flatten(c.AttentionMask)}
		if c.TokenTypeIDs != nil {
			b.TokenTypeIDs = flatten(c.TokenTypeIDs)
		}
		if err := enc.Forward(context.Background(), &b, &out); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		worst := 0.0
		cmp := func(what string, at int, got float32, want float64, rel bool) {
			d := math.Abs(float64(got) - want)
			if rel {
				d /= math.Max(1, math.Abs(want))
			}
			worst = math.Max(worst, d)
			if d > tol || math.IsNaN(float64(got)) {
				t.Fatalf("%s: %s[%d] = %v, transformers %v (|Δ| %.3g > %g)", c.Name, what, at, got, want, d, tol)
			}
		}
		switch {
		case c.StartLogits != nil:
			for r := range c.StartLogits {
				for i := range c.StartLogits[r] {
					cmp("start_logits", r*b.SeqLen+i, out.StartLogits[r*b.SeqLen+i], c.StartLogits[r][i], false)
					cmp("end_logits", r*b.SeqLen+i, out.EndLogits[r*b.SeqLen+i], c.EndLogits[r][i], false)
				}
			}
		case c.LastHiddenState != nil:
			h := out.HiddenSize
			for r := range c.LastHiddenState {
				for i := range c.LastHiddenState[r] {
					for j, want := range c.LastHiddenState[r][i] {
						at := (r*b.SeqLen+i)*h + j
						cmp("last_hidden_state", at, out.Hidden[at], want, true)
					}
				}
			}
		default:
			t.Fatalf("%s: no expected output", c.Name)
		}
		t.Logf("%s: batch %d×%d, max |Δ| %.2g", c.Name, b.Size, b.SeqLen, worst)
	}
}

func TestMatchesTransformers(t *testing.T) {
	for _, name := range []string{"v3-qa", "v2-qa", "c2p-bare", "norel-bare"} {
		for _, threads := range []int{1, 2} {
			t.Run(name, func(t *testing.T) { check(t, filepath.Join("testdata", name), threads) })
		}
	}
}

// TestBase checks a deberta-v3-base-shaped checkpoint generated on demand
// (too large to commit): gen_deberta.py --base DIR, then
// ASK_DEBERTA_BASE=DIR go test -run Base ./model/debertav2.
func TestBase(t *testing.T) {
	dir := os.Getenv("ASK_DEBERTA_BASE")
	if dir == "" {
		t.Skip("ASK_DEBERTA_BASE not set: generate the base-size checkpoint with tools/reference/gen_deberta.py --base DIR")
	}
	check(t, dir, 0)
}

// BenchmarkBase times one forward pass of the base-size checkpoint
// (ASK_DEBERTA_BASE, see TestBase) at 1×128 and 1×384 on GOMAXPROCS
// threads (-cpu 1,2), reporting the process's CPU time per pass as well:
// on a machine shared with other jobs that is the figure that holds.
func BenchmarkBase(b *testing.B) {
	dir := os.Getenv("ASK_DEBERTA_BASE")
	if dir == "" {
		b.Skip("ASK_DEBERTA_BASE not set")
	}
	enc := load(b, dir, 0)
	defer enc.Close()
	for _, L := range []int{128, 384} {
		b.Run(fmt.Sprintf("1x%d", L), func(b *testing.B) {
			in := model.Batch{Size: 1, SeqLen: L, InputIDs: make([]int32, L)}
			for i := range in.InputIDs {
				in.InputIDs[i] = int32(4 + i%900)
			}
			var out model.Output
			if err := enc.Forward(context.Background(), &in, &out); err != nil {
				b.Fatal(err)
			}
			cpu0 := cpuSeconds()
			for b.Loop() {
				if err := enc.Forward(context.Background(), &in, &out); err != nil {
					b.Fatal(err)
				}
			}
			if cpu := cpuSeconds() - cpu0; cpu > 0 {
				b.ReportMetric(cpu*1e3/float64(b.N), "cpu-ms/op")
			}
		})
	}
}
