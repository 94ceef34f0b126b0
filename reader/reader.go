// Package reader is the seam between what asks questions (the HTTP server,
// a knowledge base reading the passages it retrieved) and what reads
// passages for answers (a transformer QA model, or the lexical fallback).
// It holds the Reader interface, its request, result and error types, and
// the lexical implementation; the model-backed one lives in reader/qamodel
// so that code which only asks questions does not link the model runtime.
// Nothing here knows about HTTP: errors are typed values, which the server
// maps to status codes.
package reader

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reader reads passages for the answers to questions. Implementations are
// safe for concurrent use and honour ctx: when it ends, Read stops and
// returns ctx's error.
//
// Read reads every input of req together (a model batches their windows
// into the same forward passes), and returns one Result per input, in
// order, or an error for the whole request: an *Error for a problem with
// the request itself (which retrying cannot fix), or a wrapped sched error
// (sched.ErrQueueFull, sched.ErrClosed) for back-pressure and shutdown.
type Reader interface {
	Read(ctx context.Context, req Request) (Response, error)
	// Describe says what reads: shown by /v1/models and /readyz.
	Describe() Info
}

// ReadyChecker may be implemented by a Reader that can become unable to
// answer (a model being reloaded, say); a server reports not ready while
// Ready returns an error.
type ReadyChecker interface {
	Ready() error
}

// Kinds of reader, reported in Info.Kind and Response.Kind; the same
// strings as the API's "reader" field.
const (
	// KindModel marks answers from a transformer QA model.
	KindModel = "model"
	// KindLexical marks answers from the BM25 sentence fallback.
	KindLexical = "lexical"
)

// Request is one or more questions, each over one passage. To read several
// passages for one question, repeat the question in as many inputs.
type Request struct {
	Inputs []Input
	Params Params
}

// Input is a question and the passage to find its answer in.
type Input struct {
	Question string
	Passage  string
}

// Params are the question-answering pipeline's parameters. The zero value
// means the defaults of Hugging Face's pipeline.
type Params struct {
	// TopK is the number of answers per input (0: 1).
	TopK int
	// MaxAnswerLen is the longest answer in tokens, inclusive (0: 15).
	MaxAnswerLen int
	// HandleImpossibleAnswer adds the empty "no answer" candidate.
	HandleImpossibleAnswer bool
	// SubwordSpans keeps answer boundaries where the tokens fall instead of
	// snapping them to whole words (the pipeline's align_to_words=false).
	SubwordSpans bool
	// SkipEchoes passes over answers that the question already holds
	// (ignoring case, spaces and punctuation), taking the next-best spans
	// instead (see qa.Params.SkipEchoes). Not in Hugging Face's pipeline.
	SkipEchoes bool
	// MaxSeqLen is the window length in tokens, question and special tokens
	// included (0: min(the tokenizer's model_max_length, 384)).
	MaxSeqLen int
	// DocStride is the token overlap of consecutive windows (nil:
	// min(MaxSeqLen/2, 128)).
	DocStride *int
}

// TopKValue is TopK or its default.
func (p Params) TopKValue() int { return cmpOr(p.TopK, 1) }

// MaxAnswerLenValue is MaxAnswerLen or its default.
func (p Params) MaxAnswerLenValue() int { return cmpOr(p.MaxAnswerLen, 15) }

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Response is the answer to a Request.
type Response struct {
	// Results hold one entry per input, in order.
	Results []Result
	// Kind is KindModel or KindLexical; Model names the model (empty for
	// the lexical reader).
	Kind, Model string
	// Timings split the time Read took.
	Timings Timings
}

// Result is what was found in one input's passage.
type Result struct {
	// Answers are sorted by score, best first; at most TopK of them. The
	// "no answer" entry (empty text, 0–0) is among them when
	// HandleImpossibleAnswer is set.
	Answers []Answer
	// Windows is how many windows the passage was cut into (1 when it fit).
	Windows int
	// PassageTokens is the passage's length in the reader's tokens (words
	// for the lexical reader).
	PassageTokens int
	// Truncated reports that part of the passage was not read.
	Truncated bool
	// Model names the model that read this input; empty means
	// Response.Model. A reader that picks a model per input (ScriptRouter)
	// sets it.
	Model string
	// Warning, when not empty, says that the model does not cover the
	// input's language (most of its characters are unknown to the model's
	// tokenizer), so the answers are unreliable, and what to use instead.
	Warning string
}

// Answer is one answer span. Start and End count code points of the
// passage (Python string indices, as the Hugging Face pipeline returns
// them); ByteStart and ByteEnd count its UTF-8 bytes. Ends are exclusive.
type Answer struct {
	Text               string
	Score              float64
	Start, End         int
	ByteStart, ByteEnd int
}

// Timings split a Read: Queue is the wait for the model (the batcher's
// queue), Compute the forward passes from the first batch that held one of
// the request's windows to the last, Tokenize and Decode the work around
// them.
type Timings struct {
	Queue, Tokenize, Compute, Decode time.Duration
}

// Info describes a reader.
type Info struct {
	// ID is a Hub repo id, a folder name, or "lexical-bm25".
	ID string
	// Kind is KindModel or KindLexical.
	Kind         string
	Revision     string
	ModelType    string
	Architecture string
	// MaxSeqLen is the default window length.
	MaxSeqLen int
	// Parameters is the number of weights, in elements.
	Parameters  int64
	Description string
}

// ErrorKind classifies a request a reader refuses.
type ErrorKind int

const (
	// Invalid is a parameter or input the reader cannot use (a window
	// longer than the model's positions, say).
	Invalid ErrorKind = iota + 1
	// Empty is an empty question or passage.
	Empty
	// QuestionTooLong is a question that leaves no room in a window for
	// the passage.
	QuestionTooLong
	// PassageTooLong is a passage that needs more windows than one input
	// may use.
	PassageTooLong
	// TooLarge is a request that needs more windows than the reader's
	// queue can ever hold at once: retrying cannot help.
	TooLarge
)

// Error is a request a reader refuses. Its message says what is wrong and
// what to change; Limit names the setting that drew the line, if any.
type Error struct {
	Kind ErrorKind
	// Input is the index of the input at fault, or -1 for the whole request.
	Input int
	// Limit names the server setting that the request ran into (for
	// example "max-context-windows"), or is empty.
	Limit string
	Msg   string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	if e.Input >= 0 {
		return fmt.Sprintf("input %d: %s", e.Input, e.Msg)
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k about input i (-1: the whole request).
func Errorf(k ErrorKind, i int, format string, args ...any) *Error {
	return &Error{Kind: k, Input: i, Msg: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	return errors.AsType[*Error](err)
}
