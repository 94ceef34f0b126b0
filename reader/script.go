package reader

import (
	"context"
	"errors"
	"sync"
	"unicode"
)

// IsCJK reports whether r is a letter of Chinese, Japanese or Korean text:
// a Han character (any block), kana or Hangul.
func IsCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// HasCJK reports whether s holds a Chinese, Japanese or Korean letter.
func HasCJK(s string) bool {
	for _, r := range s {
		if IsCJK(r) {
			return true
		}
	}
	return false
}

// ScriptRouter reads each input with one of two readers, chosen by the
// script of its question: a question with a Chinese, Japanese or Korean
// letter goes to CJK (a multilingual model), every other one to Default
// (an English model, which reads English better than a multilingual model
// of its size). The question alone decides, so the passages of one
// question (a collection's retrieved passages, say) are all read by the
// same model and their scores compare.
//
// Questions routed to CJK are read with SubwordSpans: Chinese and Japanese
// text has no spaces, so aligning an answer to whole words (split at
// whitespace, the pipeline's align_to_words) would widen it to its whole
// clause. They are read with SkipEchoes: the multilingual model sometimes
// answers "什么是X？" ("what is X?") with X itself, read back from the
// question. Where the caller sets no MaxAnswerLen they are read with
// CJKMaxAnswerLen. A caller that wants the pipeline's behaviour exactly
// names the multilingual model itself instead of going through the router.
//
// Each Result names the model that read it. Inputs for both readers are
// read concurrently, each reader batching its own.
type ScriptRouter struct {
	Default, CJK Reader
}

var _ Reader = (*ScriptRouter)(nil)

// NewScriptRouter routes questions in CJK scripts to cjk and the rest to
// def. With cjk nil it returns def itself: one model answers everything.
func NewScriptRouter(def, cjk Reader) Reader {
	if cjk == nil {
		return def
	}
	return &ScriptRouter{Default: def, CJK: cjk}
}

// Describe implements Reader: the default reader's Info, its description
// naming the CJK reader.
func (s *ScriptRouter) Describe() Info {
	in := s.Default.Describe()
	note := "questions in Chinese, Japanese or Korean are read by " + s.CJK.Describe().ID
	if in.Description == "" {
		in.Description = note
	} else {
		in.Description += "; " + note
	}
	return in
}

// Ready implements ReadyChecker: ready when both readers are.
func (s *ScriptRouter) Ready() error {
	var errs []error
	for _, r := range []Reader{s.Default, s.CJK} {
		if rc, ok := r.(ReadyChecker); ok {
			errs = append(errs, rc.Ready())
		}
	}
	return errors.Join(errs...)
}

// Read implements Reader. A refusal of one input (a *Error) names its
// index in req.
func (s *ScriptRouter) Read(ctx context.Context, req Request) (Response, error) {
	var def, cjk []int // indices into req.Inputs
	for i, in := range req.Inputs {
		if HasCJK(in.Question) {
			cjk = append(cjk, i)
		} else {
			def = append(def, i)
		}
	}
	switch {
	case len(cjk) == 0:
		return read(ctx, s.Default, req)
	case len(def) == 0:
		return read(ctx, s.CJK, cjkRequest(req))
	}
	// Both: read concurrently; the first failure cancels the other read.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type part struct {
		idx  []int
		resp Response
		err  error
	}
	parts := []*part{{idx: def}, {idx: cjk}}
	var wg sync.WaitGroup
	for k, rd := range []Reader{s.Default, s.CJK} {
		p := parts[k]
		sub := Request{Params: req.Params, Inputs: make([]Input, len(p.idx))}
		if k == 1 { // the CJK reader
			sub = cjkRequest(sub)
		}
		for j, i := range p.idx {
			sub.Inputs[j] = req.Inputs[i]
		}
		wg.Go(func() {
			p.resp, p.err = read(ctx, rd, sub)
			if p.err != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	// The error that cancelled the other read, not the cancellation.
	var first *part
	for _, p := range parts {
		if p.err != nil && (first == nil || errors.Is(first.err, context.Canceled)) {
			first = p
		}
	}
	if first != nil {
		return Response{}, remapInput(first.err, first.idx)
	}
	out := Response{Kind: parts[0].resp.Kind, Model: parts[0].resp.Model, Results: make([]Result, len(req.Inputs))}
	for _, p := range parts {
		for j, i := range p.idx {
			out.Results[i] = p.resp.Results[j]
		}
		t := p.resp.Timings
		out.Timings.Queue = max(out.Timings.Queue, t.Queue)
		out.Timings.Tokenize = max(out.Timings.Tokenize, t.Tokenize)
		out.Timings.Compute = max(out.Timings.Compute, t.Compute)
		out.Timings.Decode = max(out.Timings.Decode, t.Decode)
	}
	if parts[1].resp.Kind != out.Kind {
		out.Kind = KindModel
	}
	return out, nil
}

// read asks rd and names its model on every result.
func read(ctx context.Context, rd Reader, req Request) (Response, error) {
	resp, err := rd.Read(ctx, req)
	if err != nil {
		return resp, err
	}
	model := resp.Model
	if model == "" {
		model = rd.Describe().ID
	}
	for i := range resp.Results {
		if resp.Results[i].Model == "" {
			resp.Results[i].Model = model
		}
	}
	return resp, nil
}

// remapInput turns the input index of a sub-request's *Error into the
// index in the whole request.
func remapInput(err error, idx []int) error {
	e, ok := AsError(err)
	if !ok || e.Input < 0 || e.Input >= len(idx) {
		return err
	}
	c := *e
	c.Input = idx[e.Input]
	return &c
}

// CJKMaxAnswerLen is the longest answer, in tokens, of a question the
// ScriptRouter sends to its CJK reader when the caller sets none.
//
// The pipeline's default, 15, counts English word pieces. A multilingual
// vocabulary cuts Chinese into pieces of one or two characters, and Chinese
// reading comprehension often answers with a whole clause: in the CMRC 2018
// articles the built-in multilingual model trained on, 46% of the answers
// are longer than 15 of its tokens and 5% longer than 67 (DRCD's are short:
// 99% within 15). 64 admits nearly all of them; a longer limit only adds
// candidates, which the model still has to score highest.
const CJKMaxAnswerLen = 64

// cjkRequest is req as the CJK reader gets it: with SubwordSpans and
// SkipEchoes, and CJKMaxAnswerLen unless the caller set a limit (see
// ScriptRouter).
func cjkRequest(req Request) Request {
	req.Params.SubwordSpans = true
	req.Params.SkipEchoes = true
	if req.Params.MaxAnswerLen == 0 {
		req.Params.MaxAnswerLen = CJKMaxAnswerLen
	}
	return req
}
