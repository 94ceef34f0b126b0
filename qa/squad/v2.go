package squad

import (
	"cmp"
	"slices"
)

// ResultV2 is the official v2.0 output (the keys of its JSON).
type ResultV2 struct {
	Exact        float64  `json:"exact"`
	F1           float64  `json:"f1"`
	Total        int      `json:"total"`
	HasAnsExact  *float64 `json:"HasAns_exact,omitempty"`
	HasAnsF1     *float64 `json:"HasAns_f1,omitempty"`
	HasAnsTotal  int      `json:"HasAns_total,omitempty"`
	NoAnsExact   *float64 `json:"NoAns_exact,omitempty"`
	NoAnsF1      *float64 `json:"NoAns_f1,omitempty"`
	NoAnsTotal   int      `json:"NoAns_total,omitempty"`
	BestExact    *float64 `json:"best_exact,omitempty"`
	BestExactTh  *float64 `json:"best_exact_thresh,omitempty"`
	BestF1       *float64 `json:"best_f1,omitempty"`
	BestF1Thresh *float64 `json:"best_f1_thresh,omitempty"`
	Missing      int      `json:"missing"`
}

// EvaluateV2 is the official v2.0 evaluation: a question whose no-answer
// probability exceeds thresh (the official default is 1.0) counts as
// answered with nothing. naProbs may be nil (all 0). Missing predictions are
// skipped, as the official script does.
func EvaluateV2(f *File, preds map[string]string, naProbs map[string]float64, thresh float64) ResultV2 {
	type q struct {
		id           string
		hasAns       bool
		exact, f1    float64 // after the no-answer threshold
		rawEx, rawF1 float64 // before it: what best_* searches over
		predEmpty    bool
		naProb       float64
		hasScoring   bool
	}
	var qs []q
	var r ResultV2
	for _, a := range f.Data {
		for _, p := range a.Paragraphs {
			for _, qa := range p.QAs {
				var golds []string
				for _, g := range qa.Answers {
					if Normalize(g.Text) != "" {
						golds = append(golds, g.Text)
					}
				}
				hasAns := len(golds) > 0
				if !hasAns {
					golds = []string{""}
				}
				item := q{id: qa.ID, hasAns: hasAns, naProb: naProbs[qa.ID]}
				pred, ok := preds[qa.ID]
				if !ok {
					r.Missing++
					qs = append(qs, item)
					continue
				}
				item.hasScoring = true
				item.predEmpty = pred == ""
				for _, g := range golds {
					item.rawEx = max(item.rawEx, ExactMatch(pred, g))
					item.rawF1 = max(item.rawF1, F1v2(pred, g))
				}
				item.exact, item.f1 = item.rawEx, item.rawF1
				if item.naProb > thresh {
					v := 0.0
					if !hasAns {
						v = 1
					}
					item.exact, item.f1 = v, v
				}
				qs = append(qs, item)
			}
		}
	}
	mean := func(filter func(q) bool) (ex, f1 float64, n int) {
		for _, x := range qs {
			if x.hasScoring && filter(x) {
				ex += x.exact
				f1 += x.f1
				n++
			}
		}
		if n > 0 {
			ex, f1 = 100*ex/float64(n), 100*f1/float64(n)
		}
		return ex, f1, n
	}
	r.Exact, r.F1, r.Total = mean(func(q) bool { return true })
	if ex, f1, n := mean(func(x q) bool { return x.hasAns }); n > 0 {
		r.HasAnsExact, r.HasAnsF1, r.HasAnsTotal = &ex, &f1, n
	}
	if ex, f1, n := mean(func(x q) bool { return !x.hasAns }); n > 0 {
		r.NoAnsExact, r.NoAnsF1, r.NoAnsTotal = &ex, &f1, n
	}
	if r.Total > 0 {
		best := func(score func(q) float64) (float64, float64) {
			noAns := 0
			for _, x := range qs {
				if !x.hasAns {
					noAns++
				}
			}
			cur := float64(noAns)
			bestScore, bestTh := cur, 0.0
			order := slices.Clone(qs)
			slices.SortStableFunc(order, func(a, b q) int { return cmp.Compare(a.naProb, b.naProb) })
			for _, x := range order {
				if !x.hasScoring {
					continue
				}
				var diff float64
				switch {
				case x.hasAns:
					diff = score(x)
				case !x.predEmpty:
					diff = -1
				}
				cur += diff
				if cur > bestScore {
					bestScore, bestTh = cur, x.naProb
				}
			}
			return 100 * bestScore / float64(r.Total), bestTh
		}
		be, bet := best(func(x q) float64 { return x.rawEx })
		bf, bft := best(func(x q) float64 { return x.rawF1 })
		r.BestExact, r.BestExactTh, r.BestF1, r.BestF1Thresh = &be, &bet, &bf, &bft
	}
	return r
}
