// Package generate writes answers with a language model from retrieved
// passages, grounded in them and cited: the prompt numbers the passages and
// asks for [n] citations, the answer streams back as text deltas, and the
// final Result maps every citation to its passage and reports the sentences
// that cite nothing and the citations to passages that do not exist.
//
// The passages are data, never instructions: the system message says so and
// holds no document text; the passages travel in the user message.
//
// Generator is the seam: OpenAI speaks to any OpenAI-compatible endpoint
// (OpenAI, vLLM, Ollama, llama.cpp, TGI, transformers serve) through the
// official SDK, and generatetest holds a scripted fake server for tests.
// When generation fails the caller keeps its extractive answer: Error says
// what happened and what to fix, so a server can answer with the exact span
// and "generated": false instead of an error status.
package generate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Passage is one piece of text the answer may draw on: a context given with
// the question, or a chunk retrieved from a collection.
type Passage struct {
	// Title names the document (may be empty).
	Title string
	// Text is the passage itself.
	Text string
	// Source identifies the document the passage comes from: a document id,
	// a file name or a URL (may be empty for an inline context).
	Source string
	// Start and End are the passage's code-point offsets in its source
	// document, End exclusive; both zero when the passage is the whole
	// source. Citations report offsets in the same frame.
	Start, End int
}

// Request is one question over its passages, best first: when the prompt
// budget runs out, the last passages are the ones trimmed or dropped.
type Request struct {
	Question string
	Passages []Passage
	// MaxTokens bounds the answer's length in the model's tokens; 0 means the
	// generator's default.
	MaxTokens int
}

// Validate reports a request no generator can answer.
func (r Request) Validate() error {
	if r.Question == "" {
		return errors.New("generate: the question is empty")
	}
	if len(r.Passages) == 0 {
		return errors.New("generate: no passages to answer from; give a context or a collection")
	}
	if r.MaxTokens < 0 {
		return fmt.Errorf("generate: max tokens must be ≥ 0, got %d", r.MaxTokens)
	}
	return nil
}

// DeltaFunc receives the answer's text as it streams, one piece at a time.
// Returning an error stops the generation (for example when the client who
// asked has gone) and Generate returns that error.
type DeltaFunc func(delta string) error

// Generator writes an answer to a question from passages.
type Generator interface {
	// Generate streams the answer's text to onDelta (which may be nil) and
	// returns the whole answer with its citations checked. A failure is an
	// *Error unless onDelta stopped the generation.
	Generate(ctx context.Context, req Request, onDelta DeltaFunc) (*Result, error)
	// Prompt returns the prompt Generate would send for req, without
	// sending it: which passages it shows is known before the answer
	// starts (a server lists them first).
	Prompt(req Request) Prompt
	// Model names the model answers come from.
	Model() string
}

// Usage is the token count the endpoint reported; zero when it reported
// none.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Result is a finished answer.
type Result struct {
	// Answer is the generated text, citation markers included.
	Answer string
	Citations
	// FinishReason is the endpoint's stop reason: "stop", "length" (the
	// answer was cut at the token limit), "content_filter", ...
	FinishReason string
	Usage        Usage
	// Model is the model the endpoint says answered.
	Model string
	// Prompt tells which passages the model saw.
	Prompt PromptInfo
	// FirstToken is the time from the call to the first text delta.
	FirstToken time.Duration
	// Elapsed is the whole call.
	Elapsed time.Duration
}

// Error kinds: what went wrong, stable so that API clients may switch on
// them.
const (
	// KindUnreachable: no connection to the endpoint.
	KindUnreachable = "llm_unreachable"
	// KindTimeout: the endpoint did not finish within the request timeout.
	KindTimeout = "llm_timeout"
	// KindRateLimited: the endpoint answered 429.
	KindRateLimited = "llm_rate_limited"
	// KindUnauthorized: the endpoint refused the key (401 or 403).
	KindUnauthorized = "llm_unauthorized"
	// KindBadRequest: the endpoint rejected the request (4xx: an unknown
	// model, a prompt too long for its context window).
	KindBadRequest = "llm_bad_request"
	// KindUpstream: the endpoint failed (5xx).
	KindUpstream = "llm_upstream_error"
	// KindBadResponse: the endpoint answered something that is not an
	// OpenAI chat completion stream, or an empty answer.
	KindBadResponse = "llm_bad_response"
	// KindCanceled: the caller canceled the request.
	KindCanceled = "llm_canceled"
	// KindNotConfigured: no endpoint is configured.
	KindNotConfigured = "llm_not_configured"
)

// Error is a failed generation: what happened, and what to do about it.
type Error struct {
	// Kind is one of the Kind constants.
	Kind string
	// Status is the endpoint's HTTP status, when it answered with one.
	Status int
	// RetryAfter is how long the endpoint asked to wait (429, 503).
	RetryAfter time.Duration
	// Message says what happened and what to fix.
	Message string
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string { return "generate: " + e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Fix returns advice for an operator, by kind.
func (e *Error) Fix() string {
	switch e.Kind {
	case KindUnreachable:
		return "check --llm-base-url (OPENAI_BASE_URL) and that the endpoint is running"
	case KindTimeout:
		return "raise --llm-timeout, lower --llm-max-tokens, or use a faster endpoint"
	case KindRateLimited:
		if e.RetryAfter > 0 {
			return fmt.Sprintf("retry after %s or raise the endpoint's rate limit", e.RetryAfter.Round(time.Second))
		}
		return "retry later or raise the endpoint's rate limit"
	case KindUnauthorized:
		return "set OPENAI_API_KEY to a key the endpoint accepts"
	case KindBadRequest:
		return "check --llm-model names a model the endpoint serves, and that the prompt fits its context window"
	case KindUpstream:
		return "the endpoint failed; check its logs"
	case KindBadResponse:
		return "check that --llm-base-url points at an OpenAI-compatible /v1 endpoint"
	case KindNotConfigured:
		return "start the server with --llm-base-url and --llm-model (or OPENAI_BASE_URL)"
	}
	return ""
}

// statusKind maps an endpoint's HTTP status to an error kind.
func statusKind(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindUnauthorized
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return KindTimeout
	case status >= 500:
		return KindUpstream
	case status >= 400:
		return KindBadRequest
	}
	return KindBadResponse
}
