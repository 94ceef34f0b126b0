package reader

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/askqa/ask/lexical"
)

// LexicalID is the id the lexical reader reports in Info.
const LexicalID = "lexical-bm25"

// Lexical answers with each passage's best-matching sentences under BM25
// (package lexical). It needs no model, so a server answers with it when
// none is loaded. It is stateless and safe for concurrent use.
type Lexical struct{}

// NewLexical returns the lexical reader.
func NewLexical() Lexical { return Lexical{} }

// Describe implements Reader.
func (Lexical) Describe() Info {
	return Info{
		ID:          LexicalID,
		Kind:        KindLexical,
		Description: "sentence retrieval with BM25 (k1=1.2, b=0.75) over the context; answers are whole sentences",
	}
}

// Read implements Reader. Scores are lexical.Rank's, in [0,1]. Model-only
// parameters (MaxAnswerLen, DocStride, MaxSeqLen, SubwordSpans) have no
// effect.
func (Lexical) Read(ctx context.Context, req Request) (Response, error) {
	t0 := time.Now()
	for i, in := range req.Inputs {
		if strings.TrimSpace(in.Question) == "" {
			return Response{}, Errorf(Empty, i, "question must not be empty")
		}
		if strings.TrimSpace(in.Passage) == "" {
			return Response{}, Errorf(Empty, i, "context must not be empty")
		}
	}
	if err := checkParams(req.Params); err != nil {
		return Response{}, err
	}
	out := Response{Kind: KindLexical, Results: make([]Result, len(req.Inputs))}
	for i, in := range req.Inputs {
		if err := ctx.Err(); err != nil {
			return Response{}, fmt.Errorf("lexical reader: %w", err)
		}
		out.Results[i] = lexicalResult(in, req.Params)
	}
	// Ranking is the whole of the work: report it as compute.
	out.Timings.Compute = time.Since(t0)
	return out, nil
}

func lexicalResult(in Input, p Params) Result {
	matches, words := lexical.Rank(in.Question, in.Passage)
	topK := p.TopKValue()
	var answers []Answer
	for _, m := range matches {
		if len(answers) == topK {
			break
		}
		if m.Score <= 0 && len(answers) > 0 {
			break // only the best sentence stands in when nothing matches
		}
		answers = append(answers, Answer{Text: m.Text, Score: m.Score,
			Start: m.Start, End: m.End, ByteStart: m.ByteStart, ByteEnd: m.ByteEnd})
	}
	if p.HandleImpossibleAnswer {
		best := 0.0
		if len(answers) > 0 {
			best = answers[0].Score
		}
		// As in the Python pipeline: the empty answer joins the candidates,
		// then a stable sort by score keeps the top_k.
		answers = append(answers, Answer{Score: 1 - best})
		slices.SortStableFunc(answers, func(x, y Answer) int {
			switch {
			case x.Score > y.Score:
				return -1
			case x.Score < y.Score:
				return 1
			}
			return 0
		})
		answers = answers[:min(len(answers), topK)]
	}
	return Result{Answers: answers, Windows: 1, PassageTokens: words}
}

// checkParams rejects parameters no reader can honour.
func checkParams(p Params) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"top_k", p.TopK}, {"max_answer_len", p.MaxAnswerLen}, {"max_seq_len", p.MaxSeqLen}} {
		if f.v < 0 {
			return Errorf(Invalid, -1, "%s must be ≥ 1, got %d", f.name, f.v)
		}
	}
	if p.DocStride != nil && *p.DocStride < 0 {
		return Errorf(Invalid, -1, "doc_stride must be ≥ 0, got %d", *p.DocStride)
	}
	return nil
}
