package cmrc

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/askqa/ask/qa/squad"
)

// golden is testdata/cmrc_metric.json: the official cmrc2018_evaluate.py
// (from the paddlehub 1.8.3 wheel on PyPI) run over hand-written strings and
// over real CMRC 2018 and DRCD questions with baseline predictions, by
// tools/reference/gen_cmrc_goldens.py.
type golden struct {
	Reference string `json:"reference"`
	Segments  []struct {
		Text           string   `json:"text"`
		Segments       []string `json:"segments"`
		SegmentsRmPunc []string `json:"segments_rm_punc"`
		NoPunct        string   `json:"no_punct"`
	} `json:"segments"`
	Scores []struct {
		Prediction string   `json:"prediction"`
		Answers    []string `json:"answers"`
		EM         float64  `json:"em"`
		F1         float64  `json:"f1"`
	} `json:"scores"`
	Datasets []struct {
		Dataset   string `json:"dataset"`
		Questions int    `json:"questions"`
		Result    struct {
			F1, EM      float64
			Total, Skip int
		} `json:"result"`
		Predictions map[string]string     `json:"predictions"`
		Kinds       map[string]string     `json:"kinds"`
		PerQuestion map[string][2]float64 `json:"per_question"`
	} `json:"datasets"`
}

func loadGolden(t *testing.T) *golden {
	t.Helper()
	b, err := os.ReadFile("testdata/cmrc_metric.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

const tol = 1e-9

func TestSegmentMatchesOfficialScript(t *testing.T) {
	for _, c := range loadGolden(t).Segments {
		if got := Segment(c.Text, false); !slices.Equal(got, c.Segments) && !(len(got) == 0 && len(c.Segments) == 0) {
			t.Errorf("Segment(%q, false) = %q, official %q", c.Text, got, c.Segments)
		}
		if got := Segment(c.Text, true); !slices.Equal(got, c.SegmentsRmPunc) && !(len(got) == 0 && len(c.SegmentsRmPunc) == 0) {
			t.Errorf("Segment(%q, true) = %q, official %q", c.Text, got, c.SegmentsRmPunc)
		}
		if got := RemovePunctuation(c.Text); got != c.NoPunct {
			t.Errorf("RemovePunctuation(%q) = %q, official %q", c.Text, got, c.NoPunct)
		}
	}
}

func TestScoresMatchOfficialScript(t *testing.T) {
	for _, c := range loadGolden(t).Scores {
		if got := ExactMatch(c.Prediction, c.Answers); got != c.EM {
			t.Errorf("ExactMatch(%q, %q) = %v, official %v", c.Prediction, c.Answers, got, c.EM)
		}
		if got := F1(c.Prediction, c.Answers); math.Abs(got-c.F1) > tol {
			t.Errorf("F1(%q, %q) = %v, official %v", c.Prediction, c.Answers, got, c.F1)
		}
	}
}

// TestRealDataMatchesOfficialScript scores the golden's predictions over the
// real CMRC 2018 trial and DRCD test questions, question by question and in
// total.
func TestRealDataMatchesOfficialScript(t *testing.T) {
	g := loadGolden(t)
	for _, d := range g.Datasets {
		t.Run(filepath.Base(d.Dataset), func(t *testing.T) {
			p := filepath.Join("../../../shared/data", d.Dataset)
			if _, err := os.Stat(p); err != nil {
				t.Skipf("%s is absent (../shared/data comes with the project's CI checkout)", p)
			}
			f, err := squad.Read(p)
			if err != nil {
				t.Fatal(err)
			}
			f = firstQuestions(f, d.Questions)
			checked := 0
			for _, a := range f.Data {
				for _, para := range a.Paragraphs {
					for _, q := range para.QAs {
						want, ok := d.PerQuestion[q.ID]
						if !ok {
							continue
						}
						golds := make([]string, len(q.Answers))
						for i, a := range q.Answers {
							golds[i] = a.Text
						}
						pred := d.Predictions[q.ID]
						if em := ExactMatch(pred, golds); em != want[0] {
							t.Errorf("%s (%s): EM(%q, %q) = %v, official %v", q.ID, d.Kinds[q.ID], pred, golds, em, want[0])
						}
						if f1 := F1(pred, golds); math.Abs(f1-want[1]) > tol {
							t.Errorf("%s (%s): F1(%q, %q) = %v, official %v", q.ID, d.Kinds[q.ID], pred, golds, f1, want[1])
						}
						checked++
					}
				}
			}
			if checked != len(d.PerQuestion) {
				t.Errorf("checked %d questions, the golden has %d", checked, len(d.PerQuestion))
			}
			r := Evaluate(f, d.Predictions)
			if math.Abs(r.F1-d.Result.F1) > tol || math.Abs(r.ExactMatch-d.Result.EM) > tol || r.Total != d.Result.Total || r.Missing != d.Result.Skip {
				t.Errorf("Evaluate = %+v, official %+v", r, d.Result)
			}
			if !IsChinese(f) {
				t.Errorf("IsChinese(%s) = false", d.Dataset)
			}
		})
	}
}

// firstQuestions keeps the first n questions in file order (all when n is 0).
func firstQuestions(f *squad.File, n int) *squad.File {
	if n <= 0 {
		return f
	}
	out := &squad.File{Version: f.Version}
	for _, a := range f.Data {
		na := squad.Article{Title: a.Title}
		for _, p := range a.Paragraphs {
			np := squad.Paragraph{Context: p.Context}
			for _, q := range p.QAs {
				if n > 0 {
					np.QAs = append(np.QAs, q)
					n--
				}
			}
			if len(np.QAs) > 0 {
				na.Paragraphs = append(na.Paragraphs, np)
			}
		}
		if len(na.Paragraphs) > 0 {
			out.Data = append(out.Data, na)
		}
	}
	return out
}

func TestIsChinese(t *testing.T) {
	file := func(ctx string) *squad.File {
		return &squad.File{Data: []squad.Article{{Paragraphs: []squad.Paragraph{{Context: ctx}}}}}
	}
	for _, c := range []struct {
		ctx  string
		want bool
	}{
		{"人工智能是一种模拟人类智能的技术。", true},
		{"人工智能（AI）是一种技术。", true},
		{"Artificial intelligence is a technology, 人工智能.", false},
		{"", false},
		{"1234 ... !!!", false},
	} {
		if got := IsChinese(file(c.ctx)); got != c.want {
			t.Errorf("IsChinese(%q) = %v, want %v", c.ctx, got, c.want)
		}
	}
}

func TestF1NoGolds(t *testing.T) {
	if got := F1("x", nil); got != 0 {
		t.Errorf("F1 with no golds = %v, want 0", got)
	}
}

func FuzzSegment(f *testing.F) {
	for _, s := range []string{"Hello World", "1990年", "can't", "'tis", "“引号”", "a--b", "x.\n", "wanna go", "\xff'a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs := Segment(s, true)
		for _, tok := range segs {
			if tok == "" {
				t.Fatalf("Segment(%q) has an empty token: %q", s, segs)
			}
		}
		if F1(s, []string{s}) != 0 && len(segs) == 0 {
			t.Fatalf("F1 of an empty segmentation is not 0")
		}
		if ExactMatch(s, []string{s}) != 1 {
			t.Fatalf("ExactMatch(%q, itself) != 1", s)
		}
	})
}

func ExampleF1() {
	golds := []string{"1990年", "九十年代"}
	fmt.Printf("EM %.0f F1 %.2f\n", ExactMatch("1990年代", golds), F1("1990年代", golds))
	fmt.Printf("EM %.0f F1 %.2f\n", ExactMatch("“1990年”。", golds), F1("“1990年”。", golds))
	// Output:
	// EM 0 F1 0.80
	// EM 1 F1 1.00
}
