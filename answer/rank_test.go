package answer

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/retrieve"
)

// The ranker's features are computed twice: in Go here, and in Python by
// tools/kbrank/fit.py, which fitted the weights on them. The golden holds
// real reader output for four SQuAD questions over a knowledge base and the
// features fit.py computed from it (fit.py --golden); a difference would
// mean the weights are applied to something other than what they were
// fitted on.
func TestRankFeaturesMatchFit(t *testing.T) {
	b, err := os.ReadFile("testdata/rank_features.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden []struct {
		Record struct {
			Q string
			P []struct {
				Rank, LexRank, DenseRank int
				Score                    float64
				Text                     string
				Answers                  []reader.Answer
			}
		}
		Features [][numFeatures]float64
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	for qi, g := range golden {
		var ps []retrieve.Passage
		var results []reader.Result
		for _, p := range g.Record.P {
			ps = append(ps, retrieve.Passage{Hit: kb.Hit{Chunk: kb.Chunk{Text: p.Text}, Score: p.Score},
				Scores: retrieve.Scores{LexicalRank: p.LexRank, DenseRank: p.DenseRank, Fused: p.Score}})
			results = append(results, reader.Result{Answers: p.Answers})
		}
		feats, cands := rankFeatures(g.Record.Q, ps, results)
		if len(feats) != len(g.Features) || len(cands) != len(feats) {
			t.Fatalf("question %d: %d feature rows, fit.py has %d", qi, len(feats), len(g.Features))
		}
		for i := range feats {
			for j := range feats[i] {
				if d := math.Abs(feats[i][j] - g.Features[i][j]); d > 1e-9 {
					t.Errorf("question %d span %d (%q) feature %d: %v, fit.py %v", qi, i, cands[i].ans.Text, j, feats[i][j], g.Features[i][j])
				}
			}
		}
	}
}

func TestSentenceAround(t *testing.T) {
	text := []rune("First one. The Broncos won it. Last\nline here")
	for _, c := range []struct {
		start, end int
		want       string
	}{
		{15, 22, " The Broncos won it"},
		{0, 5, "First one"},
		{37, 41, "line here"},
	} {
		if got := string(sentenceAround(text, c.start, c.end)); got != c.want {
			t.Errorf("sentenceAround(%d, %d) = %q, want %q", c.start, c.end, got, c.want)
		}
	}
}
