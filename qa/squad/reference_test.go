package squad

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// testdata: ../testdata/squad_metrics.json holds the official metric code's
// outputs (transformers.data.metrics.squad_metrics, the port of the v2.0
// script, whose normalisation is v1.1's) on real predictions, written by
// tools/reference/gen_qa_goldens.py.
type metricsRef struct {
	SquadV1 struct {
		Dataset     string               `json:"dataset"`
		ExactMatch  float64              `json:"exact_match"`
		F1          float64              `json:"f1"`
		Total       int                  `json:"total"`
		Predictions map[string]string    `json:"predictions"`
		PerQuestion map[string][]float64 `json:"per_question"`
	} `json:"squad_v1"`
	SquadV2 struct {
		Dataset          string             `json:"dataset"`
		Eval             map[string]float64 `json:"eval"`
		EvalWithNAProbs  map[string]float64 `json:"eval_with_na_probs"`
		EvalSynthetic    map[string]float64 `json:"eval_synthetic"`
		Predictions      map[string]string  `json:"predictions"`
		NAProbs          map[string]float64 `json:"na_probs"`
		NAProbsSynthetic map[string]float64 `json:"na_probs_synthetic"`
	} `json:"squad_v2"`
	Pairs []struct {
		Prediction, Gold     string
		NormalizedPrediction string  `json:"normalized_prediction"`
		NormalizedGold       string  `json:"normalized_gold"`
		Exact                float64 `json:"exact"`
		F1                   float64 `json:"f1"`
		F1v1                 float64 `json:"f1_v1"`
	} `json:"pairs"`
}

func loadRef(t *testing.T) *metricsRef {
	b, err := os.ReadFile("../testdata/squad_metrics.json")
	if err != nil {
		t.Fatal(err)
	}
	var r metricsRef
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func readShared(t *testing.T, rel string) *File {
	p := filepath.Join("../../../shared/data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is absent (../shared/data comes with the project's CI checkout)", p)
	}
	f, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const metricTol = 1e-9

func TestPairsMatchOfficialCode(t *testing.T) {
	for _, p := range loadRef(t).Pairs {
		if got := Normalize(p.Prediction); got != p.NormalizedPrediction {
			t.Errorf("Normalize(%q) = %q, official %q", p.Prediction, got, p.NormalizedPrediction)
		}
		if got := ExactMatch(p.Prediction, p.Gold); got != p.Exact {
			t.Errorf("exact(%q, %q) = %v, official %v", p.Prediction, p.Gold, got, p.Exact)
		}
		if got := F1v2(p.Prediction, p.Gold); math.Abs(got-p.F1) > metricTol {
			t.Errorf("f1 v2(%q, %q) = %v, official %v", p.Prediction, p.Gold, got, p.F1)
		}
		if got := F1v1(p.Prediction, p.Gold); math.Abs(got-p.F1v1) > metricTol {
			t.Errorf("f1 v1.1(%q, %q) = %v, official %v", p.Prediction, p.Gold, got, p.F1v1)
		}
	}
}

func TestV1MatchesOfficialCode(t *testing.T) {
	ref := loadRef(t)
	f := readShared(t, ref.SquadV1.Dataset)
	r := EvaluateV1(f, ref.SquadV1.Predictions)
	if math.Abs(r.ExactMatch-ref.SquadV1.ExactMatch) > metricTol || math.Abs(r.F1-ref.SquadV1.F1) > metricTol || r.Total != ref.SquadV1.Total {
		t.Fatalf("v1.1: %+v, official exact %v f1 %v total %d", r, ref.SquadV1.ExactMatch, ref.SquadV1.F1, ref.SquadV1.Total)
	}
}

func TestV2MatchesOfficialCode(t *testing.T) {
	ref := loadRef(t)
	f := readShared(t, ref.SquadV2.Dataset)
	for _, c := range []struct {
		name    string
		naProbs map[string]float64
		thresh  float64
		want    map[string]float64
	}{
		{"no na_probs", nil, 1.0, ref.SquadV2.Eval},
		{"na_probs", ref.SquadV2.NAProbs, 1.0, ref.SquadV2.EvalWithNAProbs},
		{"synthetic na_probs, threshold 0.5", ref.SquadV2.NAProbsSynthetic, 0.5, ref.SquadV2.EvalSynthetic},
	} {
		r := EvaluateV2(f, ref.SquadV2.Predictions, c.naProbs, c.thresh)
		b, _ := json.Marshal(r)
		var got map[string]float64
		json.Unmarshal(b, &got)
		for k, w := range c.want {
			g, ok := got[k]
			if !ok || math.Abs(g-w) > metricTol {
				t.Errorf("%s: %s = %v (present %v), official %v", c.name, k, g, ok, w)
			}
		}
	}
}
