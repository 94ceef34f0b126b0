// Package qa is the extractive question-answering pipeline: it splits a
// (question, context) pair into windows, runs them through an encoder in
// batches, and decodes answer spans exactly as transformers' (5.2)
// question-answering pipeline does — see docs/QA_PIPELINE.md §3.
package qa

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/tokenizer"
)

// Params are the pipeline's parameters, named as in Python, and one of
// ours (SkipEchoes), which Python does not have.
type Params struct {
	TopK                   int
	DocStride              int
	MaxAnswerLen           int
	MaxSeqLen              int
	HandleImpossibleAnswer bool
	AlignToWords           bool
	// SkipEchoes leaves out of each window's candidates the spans whose
	// text the question already holds, ignoring case, spaces and
	// punctuation: a model that answers 什么是人工智能？ ("what is AI?")
	// with 人工智能 ("AI") has read the question's subject back, not an
	// answer. The next-best spans take their place, scored as before (a
	// passage made only of the question's words gets the empty answer,
	// score 0). Off, the pipeline is Python's exactly.
	SkipEchoes bool
}

// ErrInvalid marks a request the pipeline rejects where Python raises
// ValueError; callers map it to a client error.
var ErrInvalid = errors.New("invalid question-answering request")

// ErrTooLong is returned when a context needs more windows than allowed.
var ErrTooLong = errors.New("context too long")

// Request is one question over one context.
type Request struct {
	Question string
	Context  string
	Params   Params
}

// Answer is one answer span. Start and End are code-point indices into the
// context (as Python returns them); ByteStart and ByteEnd index the UTF-8
// bytes.
type Answer struct {
	Answer    string  `json:"answer"`
	Score     float64 `json:"score"`
	Start     int     `json:"start"`
	End       int     `json:"end"`
	ByteStart int     `json:"byte_start"`
	ByteEnd   int     `json:"byte_end"`
}

// Result is the outcome of one request.
type Result struct {
	// Answers are sorted by score, at most TopK; the no-answer entry
	// (empty text, 0–0) is among them when HandleImpossibleAnswer is set.
	Answers []Answer
	// Windows is the number of windows the context was split into.
	Windows int
	// ContextTokens is the context's length in tokens.
	ContextTokens int
	// Truncated reports whether any of the context was not read; windows
	// cover the whole context, so it is false unless a limit says otherwise.
	Truncated bool
}

// Pipeline binds a tokenizer to an encoder with a question-answering head.
// It is safe for concurrent use.
type Pipeline struct {
	tok           *tokenizer.Tokenizer
	enc           model.Encoder
	questionFirst bool
	clsID         int32
	hasCLS        bool
	padID         int32
	feedTypes     bool
	// MaxBatchTokens bounds the padded tokens of one forward pass.
	MaxBatchTokens int
	// MaxWindows bounds the windows of one request (0: no bound).
	MaxWindows int
}

// New returns a pipeline; the encoder must have a question-answering head.
func New(tok *tokenizer.Tokenizer, enc model.Encoder) (*Pipeline, error) {
	if enc.Info().Head != model.HeadQuestionAnswering {
		return nil, fmt.Errorf("qa: model %s has no question-answering head (architectures must be *ForQuestionAnswering)", enc.Info().Architecture)
	}
	p := &Pipeline{tok: tok, enc: enc, questionFirst: tok.PaddingSide() != "left", MaxBatchTokens: 8 * 384}
	p.clsID, p.hasCLS = tok.CLSID()
	p.padID, _ = tok.PadID()
	p.feedTypes = tok.UsesTokenTypeIDs() && enc.Info().TakesTokenTypes
	return p, nil
}

// DefaultParams are Python's defaults for this pipeline's tokenizer.
func (p *Pipeline) DefaultParams() Params {
	seq := min(p.tok.ModelMaxLength(), 384)
	return Params{TopK: 1, MaxSeqLen: seq, DocStride: DefaultDocStride(seq), MaxAnswerLen: 15, AlignToWords: true}
}

// DefaultDocStride is the pipeline's doc_stride for windows of maxSeqLen
// tokens when none is given: min(max_seq_len/2, 128), as in transformers.
func DefaultDocStride(maxSeqLen int) int { return min(maxSeqLen/2, 128) }

// Encoder is the model the pipeline runs.
func (p *Pipeline) Encoder() model.Encoder { return p.enc }

// Tokenizer is the pipeline's tokenizer.
func (p *Pipeline) Tokenizer() *tokenizer.Tokenizer { return p.tok }

// Prepared is a tokenized request waiting for its logits.
type Prepared struct {
	Req     Request
	Windows []*Window
	ctxTok  int
}

// Window is one model input of a request and, after Forward, its logits.
type Window struct {
	Enc        *tokenizer.Encoding
	Start, End []float32
}

// Len is the window's length in tokens.
func (w *Window) Len() int { return w.Enc.Len() }

func (p *Pipeline) check(r *Request) error {
	switch {
	case r.Question == "" || r.Context == "":
		return fmt.Errorf("%w: question and context must not be empty", ErrInvalid)
	case !utf8.ValidString(r.Question) || !utf8.ValidString(r.Context):
		return fmt.Errorf("%w: question and context must be valid UTF-8", ErrInvalid)
	case r.Params.TopK < 1:
		return fmt.Errorf("%w: top_k parameter should be >= 1 (got %d)", ErrInvalid, r.Params.TopK)
	case r.Params.MaxAnswerLen < 1:
		return fmt.Errorf("%w: max_answer_len parameter should be >= 1 (got %d)", ErrInvalid, r.Params.MaxAnswerLen)
	case r.Params.MaxSeqLen < 1:
		return fmt.Errorf("%w: max_seq_len parameter should be >= 1 (got %d)", ErrInvalid, r.Params.MaxSeqLen)
	case r.Params.DocStride < 0:
		return fmt.Errorf("%w: doc_stride parameter should be >= 0 (got %d)", ErrInvalid, r.Params.DocStride)
	case r.Params.DocStride > r.Params.MaxSeqLen:
		return fmt.Errorf("%w: `doc_stride` (%d) is larger than `max_seq_len` (%d)", ErrInvalid, r.Params.DocStride, r.Params.MaxSeqLen)
	}
	return nil
}

// Prepare validates and tokenizes a request into windows.
func (p *Pipeline) Prepare(r Request) (*Prepared, error) {
	if err := p.check(&r); err != nil {
		return nil, err
	}
	opts := tokenizer.PairOptions{MaxLength: r.Params.MaxSeqLen, Stride: r.Params.DocStride}
	var encs []*tokenizer.Encoding
	var err error
	if p.questionFirst {
		opts.Strategy = tokenizer.OnlySecond
		encs, err = p.tok.EncodePair(r.Question, r.Context, opts)
	} else {
		opts.Strategy = tokenizer.OnlyFirst
		encs, err = p.tok.EncodePair(r.Context, r.Question, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// Python fails in the model when a window outgrows the position table;
	// failing here keeps the error to this request instead of its batch.
	for _, e := range encs {
		if n, limit := e.Len(), p.enc.Info().MaxPositions; n > limit {
			return nil, fmt.Errorf("%w: a window of %d tokens exceeds the model's %d positions: lower max_seq_len", ErrInvalid, n, limit)
		}
	}
	if p.MaxWindows > 0 && len(encs) > p.MaxWindows {
		return nil, fmt.Errorf("%w: the context needs %d windows of %d tokens; the limit is %d", ErrTooLong, len(encs), r.Params.MaxSeqLen, p.MaxWindows)
	}
	prep := &Prepared{Req: r, Windows: make([]*Window, len(encs))}
	ctxSeq := p.contextSeq()
	for i, e := range encs {
		prep.Windows[i] = &Window{Enc: e}
		n := 0
		for _, s := range e.SequenceIDs {
			if s == ctxSeq {
				n++
			}
		}
		// Consecutive windows overlap by exactly doc_stride tokens.
		if i > 0 {
			n -= r.Params.DocStride
		}
		prep.ctxTok += n
	}
	return prep, nil
}

func (p *Pipeline) contextSeq() int {
	if p.questionFirst {
		return 1
	}
	return 0
}

// Answer runs requests end to end, batching all their windows together.
// Errors of single requests are returned per request in errs.
func (p *Pipeline) Answer(ctx context.Context, reqs []Request) (results []Result, errs []error) {
	results = make([]Result, len(reqs))
	errs = make([]error, len(reqs))
	preps := make([]*Prepared, len(reqs))
	var all []*Window
	for i, r := range reqs {
		preps[i], errs[i] = p.Prepare(r)
		if errs[i] == nil {
			all = append(all, preps[i].Windows...)
		}
	}
	if err := p.Forward(ctx, all); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return results, errs
	}
	for i, prep := range preps {
		if errs[i] == nil {
			results[i] = p.Decode(prep)
		}
	}
	return results, errs
}
