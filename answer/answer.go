// Package answer answers questions over a knowledge base: it retrieves
// passages, has a reader read them all in one request (so a model batches
// their windows together), ranks the spans by the reader's score with the
// retrieval rank breaking ties, merges answers that several passages give,
// and cites each answer's document with exact character offsets. When no
// span scores above a threshold it says there is no answer rather than
// guess.
package answer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/retrieve"
)

// DefaultMinScore is the ranker's score (rank.go) under which the best
// span is not given as an answer. The reader's own score (a probability
// within one window) barely separates SQuAD 2.0's unanswerable questions
// from answerable ones; the ranker's does better. 1.8 is the 10th
// percentile of the best span's score over the answerable tuning questions
// (articles other than the held-out ones): there it abstains on 16% of the
// unanswerable questions of the same articles and costs 2.1 F1 points on
// the answerable (reader score at 0.05: 26% and 13 points). See
// BENCHMARKS.md ("Knowledge base").
const DefaultMinScore = 1.8

// lexicalMinScore is the default threshold of the lexical reader's scores.
const lexicalMinScore = 0.05

// Asker answers questions over collections. Its fields are set once and
// then read concurrently.
type Asker struct {
	Retriever retrieve.Retriever
	Reader    reader.Reader
	// Store reads cited documents to turn offsets into characters.
	Store kb.Store
	// Passages is how many retrieved passages are read per question
	// (default 10).
	Passages int
	// MinScore is the no-answer threshold (default DefaultMinScore; a
	// negative value always answers).
	MinScore float64
}

// Request is one question over one collection.
type Request struct {
	Collection, Question string
	// TopK is how many distinct answers to return (default 1).
	TopK int
	// Passages overrides Asker.Passages when positive.
	Passages int
	Filter   kb.Filter
	// Params are the reader's parameters (TopK among them is ignored: the
	// asker asks each passage for as many answers as the request wants).
	Params reader.Params
}

// Response is the answer to a Request.
type Response struct {
	// Answers are the distinct answers, best first; empty with NoAnswer.
	Answers []Answer
	// NoAnswer reports that no passage held an answer scoring at least the
	// threshold (or that nothing was retrieved).
	NoAnswer bool
	// Passages are the passages read, in retrieval order.
	Passages []retrieve.Passage
	// Reader is the reader's kind, Model its model.
	Reader, Model string
	// Warning is the reader's warning that its model does not cover the
	// question's language (reader.Result.Warning), or empty.
	Warning string
	Timings Timings
}

// Timings split an Ask.
type Timings struct {
	Retrieve, Cite time.Duration
	Read           reader.Timings
}

// Answer is one answer with where it was found.
type Answer struct {
	Text  string
	Score float64
	// PassageRank is the cited passage's place in retrieval order, from 1.
	PassageRank int
	// Support counts the passages that gave this answer.
	Support  int
	Citation Citation
}

// Citation locates an answer in its document. Character offsets count code
// points of the document's extracted text (Python string indices), byte
// offsets its UTF-8 bytes; ends are exclusive.
type Citation struct {
	Collection, DocID, Title, Source string
	// Start and End locate the answer in the document.
	Start, End         int
	ByteStart, ByteEnd int
	// Passage is the chunk the answer was read in; PassageStart and
	// PassageEnd locate it in the document (characters).
	Passage                  string
	PassageStart, PassageEnd int
	// AnswerStart and AnswerEnd locate the answer in Passage (characters).
	AnswerStart, AnswerEnd int
	ChunkSeq               int
}

// ErrEmptyQuestion is a question with nothing to search for.
var ErrEmptyQuestion = errors.New("answer: the question is empty")

func (a *Asker) passages(r Request) int {
	switch {
	case r.Passages > 0:
		return r.Passages
	case a.Passages > 0:
		return a.Passages
	}
	return 10
}

func (a *Asker) minScore() float64 {
	switch {
	case a.MinScore == 0:
		return DefaultMinScore
	case a.MinScore < 0:
		return math.Inf(-1) // always answer
	}
	return a.MinScore
}

type candidate struct {
	ans  reader.Answer
	rank int // retrieval rank, from 1
	p    *retrieve.Passage
	// rank2 is the ranker's score (rank.go).
	rank2 float64
}

// Ask answers one question.
func (a *Asker) Ask(ctx context.Context, r Request) (Response, error) {
	if strings.TrimSpace(r.Question) == "" {
		return Response{}, ErrEmptyQuestion
	}
	topK := max(r.TopK, 1)
	t0 := time.Now()
	ps, err := a.Retriever.Retrieve(ctx, retrieve.Request{Collection: r.Collection, Query: r.Question, K: a.passages(r), Filter: r.Filter})
	if err != nil {
		return Response{}, fmt.Errorf("retrieve: %w", err)
	}
	resp := Response{Passages: ps, Timings: Timings{Retrieve: time.Since(t0)}}
	info := a.Reader.Describe()
	resp.Reader, resp.Model = info.Kind, info.ID
	if len(ps) == 0 {
		resp.NoAnswer = true
		return resp, nil
	}
	req := reader.Request{Params: r.Params, Inputs: make([]reader.Input, len(ps))}
	// The ranker weighs each span against its passage's alternatives and
	// the reader's no-answer score.
	req.Params.TopK = max(topK, readerTopK)
	req.Params.HandleImpossibleAnswer = true
	for i, p := range ps {
		req.Inputs[i] = reader.Input{Question: r.Question, Passage: p.Text}
	}
	rr, err := a.Reader.Read(ctx, req)
	if err != nil {
		return Response{}, fmt.Errorf("read %d passages: %w", len(ps), err)
	}
	resp.Timings.Read = rr.Timings
	// A reader that picks its model by the question (reader.ScriptRouter)
	// names it on each result; the first warning (a model that does not
	// cover the question's language) speaks for all.
	for _, res := range rr.Results {
		resp.Model = cmp.Or(res.Model, resp.Model)
		resp.Warning = cmp.Or(resp.Warning, res.Warning)
	}
	feats, cands := rankFeatures(r.Question, ps, rr.Results)
	minScore := a.minScore()
	for i := range cands {
		if info.Kind == reader.KindModel {
			cands[i].rank2 = rankScore(feats[i])
		} else {
			// The ranker was fitted on a QA model's spans; the lexical
			// reader's sentence scores rank as they are.
			cands[i].rank2 = cands[i].ans.Score
		}
	}
	if info.Kind != reader.KindModel && a.MinScore == 0 {
		minScore = lexicalMinScore
	}
	// The ranker's score first; between equal scores the passage the
	// retrievers ranked higher.
	slices.SortStableFunc(cands, func(x, y candidate) int {
		if c := cmp.Compare(y.rank2, x.rank2); c != 0 {
			return c
		}
		return cmp.Compare(x.rank, y.rank)
	})
	t1 := time.Now()
	docs := map[string]string{} // document text by ID, read once per Ask
	seen := map[string]int{}    // normalised answer → index in resp.Answers
	for _, c := range cands {
		if c.rank2 < minScore {
			break // sorted: the rest score lower still
		}
		key := normalize(c.ans.Text)
		if i, ok := seen[key]; ok {
			resp.Answers[i].Support++
			continue
		}
		if len(resp.Answers) == topK {
			continue // still counting support for the ones kept
		}
		cit, err := a.cite(ctx, r.Collection, c, docs)
		if err != nil {
			return Response{}, err
		}
		seen[key] = len(resp.Answers)
		resp.Answers = append(resp.Answers, Answer{Text: c.ans.Text, Score: c.ans.Score, PassageRank: c.rank, Support: 1, Citation: cit})
	}
	resp.Timings.Cite = time.Since(t1)
	resp.NoAnswer = len(resp.Answers) == 0
	return resp, nil
}

// cite locates a span in its document. Chunks keep byte offsets into the
// document's text; characters need the document's text before the chunk.
func (a *Asker) cite(ctx context.Context, collection string, c candidate, docs map[string]string) (Citation, error) {
	p := c.p
	text, ok := docs[p.DocID]
	if !ok {
		d, err := a.Store.Document(ctx, collection, p.DocID)
		if err != nil {
			return Citation{}, fmt.Errorf("cite document %q: %w", p.DocID, err)
		}
		text = d.Text
		docs[p.DocID] = text
	}
	if p.Start < 0 || p.End > len(text) || text[p.Start:p.End] != p.Text {
		// The document changed between retrieval and citation.
		return Citation{}, fmt.Errorf("cite document %q: it changed while the question was answered; ask again", p.DocID)
	}
	pStart := utf8.RuneCountInString(text[:p.Start])
	return Citation{
		Collection: collection, DocID: p.DocID, Title: p.Title, Source: p.Source,
		Start: pStart + c.ans.Start, End: pStart + c.ans.End,
		ByteStart: p.Start + c.ans.ByteStart, ByteEnd: p.Start + c.ans.ByteEnd,
		Passage: p.Text, PassageStart: pStart, PassageEnd: pStart + utf8.RuneCountInString(p.Text),
		AnswerStart: c.ans.Start, AnswerEnd: c.ans.End, ChunkSeq: p.Seq,
	}, nil
}

// normalize folds an answer for deduplication: case, punctuation and
// surrounding space do not make a different answer.
func normalize(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	}), " ")
}
