// Package api holds the public request and response types of the ask HTTP
// server and a Go client for it. It imports only the standard library so that
// any program (the CLI, tests, users' services) can speak to a server without
// pulling in the runtime.
//
// Two request shapes are accepted on POST /api/ask, both inherited from the
// Python world this server replaces:
//
//   - the seed shape {"question": ..., "context": ...}, and
//   - the Hugging Face Inference shape
//     {"inputs": {"question": ..., "context": ...}, "parameters": {...}}.
//
// Either may be a batch (a JSON array of pairs, "inputs" as an array, or
// "question"/"context" as arrays). POST /v1/answer takes one pair and returns
// the richer AnswerResponse.
package api

import (
	"fmt"
	"net/http"
)

// Reader names, reported in AnswerResponse.Reader and ModelInfo.Reader.
const (
	// ReaderModel marks answers from a transformer QA model.
	ReaderModel = "model"
	// ReaderLexical marks answers from the BM25 sentence fallback, used when no
	// model is loaded.
	ReaderLexical = "lexical"
)

// Params are the question-answering pipeline's parameters (QA_PIPELINE.md §3),
// spelt as in the Hugging Face task spec. A nil field means "use the
// default": some defaults depend on the model (max_seq_len follows the
// tokenizer's model_max_length), so only the reader can fill them in.
type Params struct {
	// TopK is how many answers to return (≥1; default 1).
	TopK *int `json:"top_k,omitempty"`
	// MaxAnswerLen is the longest answer in tokens, inclusive (≥1; default
	// 15, or 64 for a question the built-in model reads with its
	// multilingual model: see reader.CJKMaxAnswerLen).
	MaxAnswerLen *int `json:"max_answer_len,omitempty"`
	// HandleImpossibleAnswer adds the empty "no answer" candidate (default false).
	HandleImpossibleAnswer *bool `json:"handle_impossible_answer,omitempty"`
	// DocStride is the token overlap between windows (default
	// min(max_seq_len/2, 128)); it must not exceed MaxSeqLen.
	DocStride *int `json:"doc_stride,omitempty"`
	// MaxSeqLen is the window length in tokens, question and specials
	// included (default min(model_max_length, 384)).
	MaxSeqLen *int `json:"max_seq_len,omitempty"`
	// MaxQuestionLen is accepted for compatibility; the fast pipeline never
	// truncates the question, so it has no effect.
	MaxQuestionLen *int `json:"max_question_len,omitempty"`
	// AlignToWords snaps answer boundaries to whole words (default true).
	// A question the built-in model reads with its multilingual model is
	// read with subword spans whatever it says, and without spans that
	// only repeat words of the question (see reader.ScriptRouter).
	AlignToWords *bool `json:"align_to_words,omitempty"`
}

// Defaults of the parameters that do not depend on the model.
const (
	DefaultTopK         = 1
	DefaultMaxAnswerLen = 15
	// MaxTopK bounds top_k so one request cannot ask for an unbounded
	// candidate sort; the Python pipeline has no bound, but no caller needs
	// more than this many answers over one context.
	MaxTopK = 100
)

// TopKValue returns top_k or its default.
func (p Params) TopKValue() int { return intOr(p.TopK, DefaultTopK) }

// MaxAnswerLenValue returns max_answer_len or its default.
func (p Params) MaxAnswerLenValue() int { return intOr(p.MaxAnswerLen, DefaultMaxAnswerLen) }

// HandleImpossibleAnswerValue returns handle_impossible_answer or false.
func (p Params) HandleImpossibleAnswerValue() bool { return boolOr(p.HandleImpossibleAnswer, false) }

// AlignToWordsValue returns align_to_words or true.
func (p Params) AlignToWordsValue() bool { return boolOr(p.AlignToWords, true) }

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// Validate checks the ranges the pipeline would reject with a ValueError, so
// that a client's mistake becomes a 400 before any work is queued. Checks
// that need the model (max_seq_len against the position table) are the
// reader's.
func (p Params) Validate() error {
	pos := func(name string, v *int) error {
		if v != nil && *v < 1 {
			return Errorf(http.StatusBadRequest, CodeInvalidParameter, "parameters.%s must be ≥ 1, got %d", name, *v)
		}
		return nil
	}
	for _, c := range []struct {
		name string
		v    *int
	}{{"top_k", p.TopK}, {"max_answer_len", p.MaxAnswerLen}, {"max_seq_len", p.MaxSeqLen}, {"max_question_len", p.MaxQuestionLen}} {
		if err := pos(c.name, c.v); err != nil {
			return err
		}
	}
	if p.TopK != nil && *p.TopK > MaxTopK {
		return Errorf(http.StatusBadRequest, CodeInvalidParameter, "parameters.top_k must be ≤ %d, got %d", MaxTopK, *p.TopK)
	}
	if p.DocStride != nil && *p.DocStride < 0 {
		return Errorf(http.StatusBadRequest, CodeInvalidParameter, "parameters.doc_stride must be ≥ 0, got %d", *p.DocStride)
	}
	if p.DocStride != nil && p.MaxSeqLen != nil && *p.DocStride > *p.MaxSeqLen {
		return Errorf(http.StatusBadRequest, CodeInvalidParameter,
			"parameters.doc_stride (%d) must not exceed parameters.max_seq_len (%d)", *p.DocStride, *p.MaxSeqLen)
	}
	return nil
}

// QAInput is one question over one context.
type QAInput struct {
	Question string `json:"question"`
	Context  string `json:"context"`
}

// AskRequest is a decoded POST /api/ask body, whatever shape it came in.
type AskRequest struct {
	Inputs []QAInput
	Params Params
	// Batch reports that the inputs came as a list, so the response is a
	// list with one entry per input even when there is only one.
	Batch bool
}

// AnswerRequest is one question over one context with its parameters: the
// body of POST /v1/answer and what a server hands its reader.
type AnswerRequest struct {
	Question string `json:"question"`
	Context  string `json:"context"`
	Params   Params `json:"parameters"`
}

// Answer is one answer in the Python pipeline's shape. Start and End are
// code-point offsets into the context (Python string indices), End exclusive.
type Answer struct {
	Answer string  `json:"answer"`
	Score  float64 `json:"score"`
	Start  int     `json:"start"`
	End    int     `json:"end"`
}

// AskAnswer is the single-answer response of POST /api/ask: the Python
// pipeline's object plus the server's timings (extra keys are ignored by
// clients written for the Python pipeline).
type AskAnswer struct {
	Answer
	// Model names the model that answered (when the server holds one).
	Model string `json:"model,omitempty"`
	// Warning is AnswerResponse.Warning.
	Warning string   `json:"warning,omitempty"`
	Timings *Timings `json:"timings,omitempty"`
}

// Span is an answer of the versioned API: Answer plus UTF-8 byte offsets,
// which Go, Rust and C callers can slice with directly.
type Span struct {
	Answer    string  `json:"answer"`
	Score     float64 `json:"score"`
	Start     int     `json:"start"`
	End       int     `json:"end"`
	ByteStart int     `json:"byte_start"`
	ByteEnd   int     `json:"byte_end"`
}

// Timings break one request's latency down, in milliseconds.
type Timings struct {
	// QueueMS is the time windows waited for a batch slot.
	QueueMS float64 `json:"queue_ms"`
	// TokenizeMS covers tokenizing and windowing (or sentence splitting).
	TokenizeMS float64 `json:"tokenize_ms"`
	// ComputeMS is the model's forward passes (or BM25 scoring).
	ComputeMS float64 `json:"compute_ms"`
	// DecodeMS covers span search, alignment and merging.
	DecodeMS float64 `json:"decode_ms"`
	// TotalMS is the whole request as the server saw it.
	TotalMS float64 `json:"total_ms"`
}

// AnswerResponse is the response of POST /v1/answer and what a reader
// returns for one AnswerRequest.
type AnswerResponse struct {
	// Answers are sorted by score, best first; at most top_k of them.
	Answers []Span `json:"answers"`
	// Reader is ReaderModel or ReaderLexical.
	Reader string `json:"reader"`
	// Model identifies the model (a Hub id or a folder name); empty for the
	// lexical reader.
	Model string `json:"model,omitempty"`
	// Windows is how many windows the context was cut into (1 when it fit).
	Windows int `json:"windows"`
	// ContextTokens is the context's length in the reader's tokens.
	ContextTokens int `json:"context_tokens"`
	// Truncated reports that part of the context was not read (for example
	// a window limit was reached).
	Truncated bool `json:"truncated"`
	// Warning, when present, says that the model does not cover the
	// question's language (most of its characters are unknown to the
	// model's tokenizer), so the answers are unreliable, and which model
	// to use instead.
	Warning string  `json:"warning,omitempty"`
	Timings Timings `json:"timings"`
}

// ModelInfo describes what a server answers with: GET /v1/models.
type ModelInfo struct {
	// ID is a Hub repo id, a folder name, or "lexical-bm25".
	ID string `json:"id"`
	// Reader is ReaderModel or ReaderLexical.
	Reader       string `json:"reader"`
	Revision     string `json:"revision,omitempty"`
	ModelType    string `json:"model_type,omitempty"`
	Architecture string `json:"architecture,omitempty"`
	// MaxSeqLen is the default window length.
	MaxSeqLen int `json:"max_seq_len,omitempty"`
	// Parameters is the number of weights, in elements.
	Parameters  int64  `json:"parameters,omitempty"`
	Description string `json:"description,omitempty"`
}

// ModelList is the response of GET /v1/models.
type ModelList struct {
	Models []ModelInfo `json:"models"`
}

// Readiness is the response of GET /readyz (and, with Status "ok", of
// GET /healthz).
type Readiness struct {
	// Status is "ok", "ready", "draining" or "not_ready".
	Status string `json:"status"`
	Reader string `json:"reader,omitempty"`
	// Model is the loaded model's id; empty when no model is loaded.
	Model string `json:"model,omitempty"`
	// ModelLoaded is false when the server answers with the lexical reader.
	ModelLoaded bool `json:"model_loaded"`
	// Message tells an operator what to do, e.g. how to get a model.
	Message string `json:"message,omitempty"`
}

// Error codes carried in ErrorBody. They are stable: clients may switch on
// them.
const (
	CodeInvalidJSON      = "invalid_json"
	CodeInvalidUTF8      = "invalid_utf8"
	CodeMissingField     = "missing_field"
	CodeEmptyField       = "empty_field"
	CodeWrongType        = "wrong_type"
	CodeUnknownField     = "unknown_field"
	CodeInvalidParameter = "invalid_parameter"
	CodeBadRequest       = "bad_request"
	CodeBodyTooLarge     = "body_too_large"
	CodeContextTooLong   = "context_too_long"
	CodeTooManyInputs    = "too_many_inputs"
	CodeInputTooLarge    = "input_too_large"
	CodeUnauthorized     = "unauthorized"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeQueueFull        = "queue_full"
	CodeTimeout          = "timeout"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
)

// Error is an API error: the HTTP status plus the body's code and message.
// Readers return it for a client's mistake so the server can answer with the
// right status instead of a 500; the client returns it for any non-2xx reply.
type Error struct {
	// Status is the HTTP status code; it is not part of the JSON body.
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// RequestID is the server's X-Request-ID for this request, when known.
	RequestID string `json:"request_id,omitempty"`
}

// Errorf returns an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	}
	return e.Code + ": " + e.Message
}

// ErrorBody is the JSON shape of every error response:
// {"error":{"code":...,"message":...}}.
type ErrorBody struct {
	Error *Error `json:"error"`
}
