package server

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/reader"
)

// codeQuestionTooLong is the error code of a question that leaves no room
// for the context in a window.
const codeQuestionTooLong = "question_too_long"

// Codes of errors the api package has no constant for.
const (
	codeRequestTimeout  = "request_timeout"
	codeHeadersTooLarge = "headers_too_large"
	codeDraining        = "draining"
)

// modelInfo is the API's view of a reader's Info.
func modelInfo(in reader.Info) api.ModelInfo {
	return api.ModelInfo{ID: in.ID, Reader: in.Kind, Revision: in.Revision, ModelType: in.ModelType,
		Architecture: in.Architecture, MaxSeqLen: in.MaxSeqLen, Parameters: in.Parameters, Description: in.Description}
}

// readerParams fills in the API's defaults; the decoder has validated the
// ranges.
func readerParams(p api.Params) reader.Params {
	out := reader.Params{
		TopK:                   p.TopKValue(),
		MaxAnswerLen:           intOrZero(p.MaxAnswerLen), // unset: the reader's default (see reader.CJKMaxAnswerLen)
		HandleImpossibleAnswer: p.HandleImpossibleAnswerValue(),
		SubwordSpans:           !p.AlignToWordsValue(),
		DocStride:              p.DocStride,
	}
	if p.MaxSeqLen != nil {
		out.MaxSeqLen = *p.MaxSeqLen
	}
	return out
}

// intOrZero is *p, or 0 (a reader.Params default) when p is nil.
func intOrZero(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// readResult is one input's answer in the API's shape, and the timings of
// the whole read.
func readResult(resp reader.Response, res reader.Result, info api.ModelInfo) api.AnswerResponse {
	out := api.AnswerResponse{
		Reader: resp.Kind, Model: cmp.Or(res.Model, resp.Model), Windows: res.Windows, ContextTokens: res.PassageTokens,
		Truncated: res.Truncated, Warning: res.Warning, Answers: make([]api.Span, len(res.Answers)),
		Timings: api.Timings{QueueMS: durMS(resp.Timings.Queue), TokenizeMS: durMS(resp.Timings.Tokenize),
			ComputeMS: durMS(resp.Timings.Compute), DecodeMS: durMS(resp.Timings.Decode)},
	}
	if out.Reader == "" {
		out.Reader = info.Reader
	}
	if out.Model == "" && out.Reader == api.ReaderModel {
		out.Model = info.ID
	}
	for i, a := range res.Answers {
		out.Answers[i] = api.Span{Answer: a.Text, Score: a.Score, Start: a.Start, End: a.End, ByteStart: a.ByteStart, ByteEnd: a.ByteEnd}
	}
	return out
}

// panicError is a Reader panic turned into an error, so that a panic on a
// batch goroutine (where no middleware can recover it) still becomes a 500.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("reader panicked: %v", p.value) }

// read asks the reader about every input at once, so that their windows
// meet in the scheduler and the reader can refuse a request too large to
// ever be queued before any work; it recovers a panic into an error.
func (s *Server) read(ctx context.Context, inputs []api.QAInput, params api.Params) (out []api.AnswerResponse, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	req := reader.Request{Inputs: make([]reader.Input, len(inputs)), Params: readerParams(params)}
	for i, in := range inputs {
		req.Inputs[i] = reader.Input{Question: in.Question, Passage: in.Context}
	}
	resp, err := s.reader.Read(ctx, req)
	if re, ok := reader.AsError(err); ok {
		return nil, readerError(re, len(inputs) > 1)
	}
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != len(inputs) {
		return nil, fmt.Errorf("reader returned %d results for %d inputs", len(resp.Results), len(inputs))
	}
	out = make([]api.AnswerResponse, len(inputs))
	for i, res := range resp.Results {
		out[i] = readResult(resp, res, s.info)
		s.metrics.contextTokens.WithLabelValues(out[i].Reader).Add(float64(res.PassageTokens))
	}
	return out, nil
}

// readerError is the API error for a request the reader refused: the
// client's mistakes keep a 4xx, and the message names the setting that
// drew the line.
func readerError(e *reader.Error, batch bool) *api.Error {
	msg := e.Msg
	if batch && e.Input >= 0 {
		msg = fmt.Sprintf("input %d: %s", e.Input, msg)
	}
	if e.Limit != "" {
		msg += fmt.Sprintf(" (the limit is --%s, ASK_%s)", e.Limit, strings.ToUpper(strings.ReplaceAll(e.Limit, "-", "_")))
	}
	switch e.Kind {
	case reader.Empty:
		return api.Errorf(http.StatusBadRequest, api.CodeEmptyField, "%s", msg)
	case reader.QuestionTooLong:
		return api.Errorf(http.StatusBadRequest, codeQuestionTooLong, "%s", msg)
	case reader.PassageTooLong:
		return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeContextTooLong, "%s", msg)
	case reader.TooLarge:
		return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeInputTooLarge, "%s", msg)
	default:
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "%s", msg)
	}
}

func durMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
