package server

import (
	"context"
	"sync"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/reader"
)

// answerFunc answers one question over one context in the API's types; the
// test readers are written as such functions and turned into a
// reader.Reader by readEach, which runs the inputs of a request
// concurrently so that they meet in a batcher, as a model's windows do.
type answerFunc func(ctx context.Context, req api.AnswerRequest) (api.AnswerResponse, error)

func readEach(ctx context.Context, req reader.Request, fn answerFunc) (reader.Response, error) {
	p := req.Params
	params := api.Params{TopK: &p.TopK, HandleImpossibleAnswer: &p.HandleImpossibleAnswer, DocStride: p.DocStride}
	if p.MaxAnswerLen != 0 { // 0: the reader's default, as qamodel reads it
		params.MaxAnswerLen = &p.MaxAnswerLen
	}
	align := !p.SubwordSpans
	params.AlignToWords = &align
	if p.MaxSeqLen != 0 {
		params.MaxSeqLen = &p.MaxSeqLen
	}
	out := reader.Response{Results: make([]reader.Result, len(req.Inputs))}
	errs := make([]error, len(req.Inputs))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		panicked []any
	)
	for i, in := range req.Inputs {
		one := func() {
			resp, err := fn(ctx, api.AnswerRequest{Question: in.Question, Context: in.Passage, Params: params})
			if err != nil {
				errs[i] = err
				return
			}
			res := reader.Result{Windows: resp.Windows, PassageTokens: resp.ContextTokens, Truncated: resp.Truncated}
			for _, a := range resp.Answers {
				res.Answers = append(res.Answers, reader.Answer{Text: a.Answer, Score: a.Score, Start: a.Start, End: a.End, ByteStart: a.ByteStart, ByteEnd: a.ByteEnd})
			}
			out.Results[i] = res
			if resp.Reader != "" {
				out.Kind = resp.Reader
			}
		}
		// A reader's own goroutines must hand a panic back to Read's
		// caller (as sched does), where the server recovers it.
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					mu.Lock()
					panicked = append(panicked, v)
					mu.Unlock()
				}
			}()
			one()
		})
	}
	wg.Wait()
	if len(panicked) > 0 {
		panic(panicked[0])
	}
	for _, err := range errs {
		if err != nil {
			return reader.Response{}, err
		}
	}
	return out, nil
}

func infoOf(m api.ModelInfo) reader.Info {
	return reader.Info{ID: m.ID, Kind: m.Reader, ModelType: m.ModelType, Architecture: m.Architecture, MaxSeqLen: m.MaxSeqLen, Parameters: m.Parameters, Description: m.Description}
}

func (f *fakeReader) Read(ctx context.Context, req reader.Request) (reader.Response, error) {
	return readEach(ctx, req, f.fn)
}

func (f *fakeReader) Describe() reader.Info { return infoOf(f.info) }

func (br *batchingReader) Read(ctx context.Context, req reader.Request) (reader.Response, error) {
	return readEach(ctx, req, br.answer)
}

func (br *batchingReader) Describe() reader.Info {
	return reader.Info{ID: "batched", Kind: api.ReaderModel}
}

func (b *blockingReader) Read(ctx context.Context, req reader.Request) (reader.Response, error) {
	return readEach(ctx, req, b.answer)
}

func (b *blockingReader) Describe() reader.Info {
	return reader.Info{ID: "blocking", Kind: api.ReaderModel}
}
