// Package qamodel is the reader backed by a transformer question-answering
// model: it tokenizes each input into windows (package qa), submits all the
// windows of a request to a shared batcher (package sched), which packs the
// windows of concurrent requests into forward passes, and decodes the
// answers.
package qamodel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/sched"
	"github.com/askqa/ask/tokenizer"
)

// Reader reads with a QA model. It is safe for concurrent use.
type Reader struct {
	p    *qa.Pipeline
	b    *sched.Batcher[*qa.Window]
	info reader.Info
}

var _ reader.Reader = (*Reader)(nil)

// New binds a pipeline to a batcher whose compute function is p.RunBatch.
// info.Kind is set to reader.KindModel.
func New(p *qa.Pipeline, b *sched.Batcher[*qa.Window], info reader.Info) *Reader {
	info.Kind = reader.KindModel
	return &Reader{p: p, b: b, info: info}
}

// Describe implements reader.Reader.
func (r *Reader) Describe() reader.Info { return r.info }

// params overlays the request's parameters on the pipeline's defaults, the
// way Python's pipeline fills what the caller leaves out.
func (r *Reader) params(in reader.Params) qa.Params {
	par := r.p.DefaultParams()
	par.TopK = in.TopKValue()
	par.MaxAnswerLen = in.MaxAnswerLenValue()
	par.HandleImpossibleAnswer = in.HandleImpossibleAnswer
	par.AlignToWords = !in.SubwordSpans
	par.SkipEchoes = in.SkipEchoes
	if in.MaxSeqLen != 0 {
		par.MaxSeqLen = in.MaxSeqLen
		par.DocStride = min(par.MaxSeqLen/2, 128)
	}
	if in.DocStride != nil {
		par.DocStride = *in.DocStride
	}
	return par
}

// Read implements reader.Reader. It tokenizes every input first and
// refuses, before any forward pass, a request whose windows could never be
// queued at once (a *reader.Error of kind TooLarge naming the queue size);
// then it submits all the windows together, so a request is computed whole
// or not at all.
func (r *Reader) Read(ctx context.Context, req reader.Request) (reader.Response, error) {
	t0 := time.Now()
	par := r.params(req.Params)
	preps := make([]*qa.Prepared, len(req.Inputs))
	windows := 0
	for i, in := range req.Inputs {
		if err := ctx.Err(); err != nil {
			return reader.Response{}, err
		}
		prep, err := r.p.Prepare(qa.Request{Question: in.Question, Context: in.Passage, Params: par})
		if err != nil {
			return reader.Response{}, r.prepareError(i, in.Question, par, err)
		}
		preps[i] = prep
		windows += len(prep.Windows)
	}
	if c := r.b.Capacity(); windows > c {
		e := reader.Errorf(reader.TooLarge, -1,
			"the request needs %d windows of %d tokens and the queue holds at most %d: send fewer or shorter contexts, or raise the queue size",
			windows, par.MaxSeqLen, c)
		e.Limit = "queue-size"
		return reader.Response{}, e
	}
	t1 := time.Now()
	jobs := make([]sched.Job[*qa.Window], 0, windows)
	for _, prep := range preps {
		for _, w := range prep.Windows {
			jobs = append(jobs, sched.Job[*qa.Window]{Tokens: w.Len(), Payload: w})
		}
	}
	timing, err := r.b.DoTimed(ctx, jobs...)
	if err != nil {
		if errors.Is(err, model.ErrInput) {
			return reader.Response{}, &reader.Error{Kind: reader.Invalid, Input: -1, Msg: err.Error(), Err: err}
		}
		return reader.Response{}, fmt.Errorf("forward: %w", err)
	}
	t2 := time.Now()
	out := reader.Response{Kind: reader.KindModel, Model: r.info.ID, Results: make([]reader.Result, len(preps))}
	for i, prep := range preps {
		res := r.p.Decode(prep)
		answers := make([]reader.Answer, len(res.Answers))
		for k, a := range res.Answers {
			answers[k] = reader.Answer{Text: a.Answer, Score: a.Score, Start: a.Start, End: a.End, ByteStart: a.ByteStart, ByteEnd: a.ByteEnd}
		}
		warning, err := Warning(r.p.Tokenizer(), r.info.ID, req.Inputs[i].Question, req.Inputs[i].Passage)
		if err != nil {
			return reader.Response{}, fmt.Errorf("input %d: %w", i, err)
		}
		out.Results[i] = reader.Result{Answers: answers, Windows: res.Windows, PassageTokens: res.ContextTokens, Truncated: res.Truncated,
			Model: r.info.ID, Warning: warning}
	}
	out.Timings = reader.Timings{Tokenize: t1.Sub(t0), Queue: timing.Queue, Compute: timing.Compute, Decode: time.Since(t2)}
	return out, nil
}

// prepareError turns the pipeline's refusal of input i into a
// *reader.Error that says what to change.
func (r *Reader) prepareError(i int, question string, par qa.Params, err error) error {
	switch {
	case errors.Is(err, tokenizer.ErrSequenceTooShort):
		// The tokenizer's own words ("sequence to truncate too short")
		// name no parameter the client sent: say what is too long.
		q := 0
		if enc, qerr := r.p.Tokenizer().Encode(question, false); qerr == nil {
			q = enc.Len()
		}
		return &reader.Error{Kind: reader.QuestionTooLong, Input: i, Err: err, Msg: fmt.Sprintf(
			"the question is too long for the model's window: %d tokens leave too little room for the context in a window of max_seq_len %d with doc_stride %d; shorten the question (or raise max_seq_len, or lower doc_stride)",
			q, par.MaxSeqLen, par.DocStride)}
	case errors.Is(err, qa.ErrTooLong):
		return &reader.Error{Kind: reader.PassageTooLong, Input: i, Limit: "max-context-windows", Msg: err.Error(), Err: err}
	case errors.Is(err, qa.ErrInvalid):
		return &reader.Error{Kind: reader.Invalid, Input: i, Msg: err.Error(), Err: err}
	}
	return fmt.Errorf("input %d: prepare: %w", i, err)
}
