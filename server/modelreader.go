package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/model"
	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/sched"
)

// ModelReader answers with a transformer QA model: it tokenizes a request
// into windows, submits them to the shared batcher (which packs windows of
// concurrent requests into one forward pass) and decodes the answers.
type ModelReader struct {
	p    *qa.Pipeline
	b    *sched.Batcher[*qa.Window]
	info api.ModelInfo
}

// NewModelReader binds a pipeline to a batcher whose compute function is
// p.RunBatch.
func NewModelReader(p *qa.Pipeline, b *sched.Batcher[*qa.Window], info api.ModelInfo) *ModelReader {
	return &ModelReader{p: p, b: b, info: info}
}

// Describe implements Reader.
func (r *ModelReader) Describe() api.ModelInfo { return r.info }

// params overlays the request's parameters on the pipeline's defaults, the
// way Python's pipeline fills what the caller leaves out.
func (r *ModelReader) params(in api.Params) qa.Params {
	par := r.p.DefaultParams()
	par.TopK = in.TopKValue()
	par.MaxAnswerLen = in.MaxAnswerLenValue()
	par.HandleImpossibleAnswer = in.HandleImpossibleAnswerValue()
	par.AlignToWords = in.AlignToWordsValue()
	if in.MaxSeqLen != nil {
		par.MaxSeqLen = *in.MaxSeqLen
		par.DocStride = min(par.MaxSeqLen/2, 128)
	}
	if in.DocStride != nil {
		par.DocStride = *in.DocStride
	}
	return par
}

// Answer implements Reader.
func (r *ModelReader) Answer(ctx context.Context, req api.AnswerRequest) (api.AnswerResponse, error) {
	t0 := time.Now()
	prep, err := r.p.Prepare(qa.Request{Question: req.Question, Context: req.Context, Params: r.params(req.Params)})
	switch {
	case errors.Is(err, qa.ErrInvalid):
		return api.AnswerResponse{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "%v", err)
	case errors.Is(err, qa.ErrTooLong):
		return api.AnswerResponse{}, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeContextTooLong, "%v (raise it with ASK_MAX_CONTEXT_WINDOWS)", err)
	case err != nil:
		return api.AnswerResponse{}, fmt.Errorf("prepare: %w", err)
	}
	t1 := time.Now()
	jobs := make([]sched.Job[*qa.Window], len(prep.Windows))
	for i, w := range prep.Windows {
		jobs[i] = sched.Job[*qa.Window]{Tokens: w.Len(), Payload: w}
	}
	if err := r.b.Do(ctx, jobs...); err != nil {
		if errors.Is(err, model.ErrInput) {
			return api.AnswerResponse{}, api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "%v", err)
		}
		return api.AnswerResponse{}, fmt.Errorf("forward: %w", err)
	}
	t2 := time.Now()
	res := r.p.Decode(prep)
	t3 := time.Now()
	out := api.AnswerResponse{
		Reader: api.ReaderModel, Model: r.info.ID, Windows: res.Windows,
		ContextTokens: res.ContextTokens, Truncated: res.Truncated,
		Answers: make([]api.Span, len(res.Answers)),
		Timings: api.Timings{TokenizeMS: ms(t1.Sub(t0)), ComputeMS: ms(t2.Sub(t1)), DecodeMS: ms(t3.Sub(t2))},
	}
	for i, a := range res.Answers {
		out.Answers[i] = api.Span{Answer: a.Answer, Score: a.Score, Start: a.Start, End: a.End, ByteStart: a.ByteStart, ByteEnd: a.ByteEnd}
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
