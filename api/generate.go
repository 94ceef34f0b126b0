package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Generated answers: a question with "generate": true is answered as usual
// (the extractive answer, the evidence and the fallback) and, in addition,
// by a language model writing from the same passages and citing them as
// [n]. With "stream": true as well the reply is a Server-Sent Events stream:
//
//	event: sources   data: {"sources": [...]}
//	event: delta     data: {"text": "next piece of the answer"}   (zero or more)
//	event: done      data: the whole response, as without "stream"
//
// A failed generation is never an error status: the response carries the
// extractive answer with "generated": false and a GenerationError.

// Event names of a generated answer's stream, in the order they come.
const (
	EventSources = "sources"
	EventDelta   = "delta"
	EventDone    = "done"
)

// Generation error kinds (GenerationError.Kind). They are stable: clients
// may switch on them.
const (
	GenUnreachable   = "unreachable"
	GenTimeout       = "timeout"
	GenRateLimited   = "rate_limited"
	GenUnauthorized  = "unauthorized"
	GenBadRequest    = "bad_request"
	GenUpstreamError = "upstream_error"
	GenBadResponse   = "bad_response"
	GenCanceled      = "canceled"
	GenNotConfigured = "not_configured"
	// GenNoPassages: nothing was retrieved to answer from.
	GenNoPassages = "no_passages"
)

// GenerateOptions are the request fields that ask for a generated answer.
// They may be added to the body of POST /api/ask, POST /v1/answer and
// POST /v1/collections/{c}/ask.
type GenerateOptions struct {
	// Generate asks for an answer written by the configured language model
	// next to the extractive one.
	Generate bool `json:"generate,omitempty"`
	// Stream (only with Generate) answers with Server-Sent Events.
	Stream bool `json:"stream,omitempty"`
}

// Source is one numbered passage the model was shown: passage [N] of the
// prompt. Start and End are its character (code point) offsets in its
// document (Collection and DocumentID set) or in the request's context.
type Source struct {
	N          int    `json:"n"`
	Title      string `json:"title"`
	DocumentID string `json:"document_id"`
	Collection string `json:"collection"`
	Text       string `json:"text"`
	Start      int    `json:"start"`
	End        int    `json:"end"`
}

// GeneratedCitation is one [N] marker of the generated text that names a
// passage the model was shown. Passage indexes the response's Sources;
// Start and End are that source's.
type GeneratedCitation struct {
	N          int    `json:"n"`
	Passage    int    `json:"passage"`
	DocumentID string `json:"document_id"`
	Title      string `json:"title"`
	Start      int    `json:"start"`
	End        int    `json:"end"`
}

// Usage is the token count the language model's endpoint reported (zeros
// when it reported none).
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Generation is an answer written by the language model.
type Generation struct {
	// Model is the model the endpoint says answered.
	Model string `json:"model"`
	// Text is the answer, [n] citation markers included.
	Text      string              `json:"text"`
	Citations []GeneratedCitation `json:"citations"`
	// UncitedSentences are the sentences of Text that state something and
	// cite no source.
	UncitedSentences []string `json:"uncited_sentences"`
	// InvalidCitations are the numbers cited that name no source.
	InvalidCitations []int `json:"invalid_citations"`
	Usage            Usage `json:"usage"`
	// FinishReason is the endpoint's: "stop", or "length" when the answer
	// was cut at the token limit.
	FinishReason       string  `json:"finish_reason"`
	TimeToFirstTokenMS float64 `json:"time_to_first_token_ms"`
	TotalMS            float64 `json:"total_ms"`
}

// GenerationError says why no answer was generated and what to fix; the
// response still carries the extractive answer.
type GenerationError struct {
	// Kind is one of the Gen* constants.
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	// RetryAfterSeconds is the endpoint's Retry-After, when it sent one.
	RetryAfterSeconds float64 `json:"retry_after_seconds,omitempty"`
}

// GenerationFields are what "generate": true adds to a response.
type GenerationFields struct {
	Generated       bool             `json:"generated"`
	Generation      *Generation      `json:"generation,omitempty"`
	GenerationError *GenerationError `json:"generation_error,omitempty"`
	// Sources are the numbered passages the prompt showed, [1] first.
	Sources []Source `json:"sources"`
}

// GeneratedAnswer is the response of POST /v1/answer with "generate".
type GeneratedAnswer struct {
	AnswerResponse
	GenerationFields
}

// GeneratedAsk is the response of POST /api/ask with "generate" over a
// context: always one object, the best extractive answer's fields (empty
// when there is none) with Answers listing them all when top_k > 1.
type GeneratedAsk struct {
	AskAnswer
	Answers []Answer `json:"answers,omitempty"`
	GenerationFields
}

// GeneratedCollectionAsk is the response of POST /v1/collections/{c}/ask
// (and POST /api/ask with "collection") with "generate".
type GeneratedCollectionAsk struct {
	CollectionAskResponse
	GenerationFields
}

// SourcesEvent is the data of the stream's first event.
type SourcesEvent struct {
	Sources []Source `json:"sources"`
}

// DeltaEvent is the data of a delta event: the next piece of the answer.
type DeltaEvent struct {
	Text string `json:"text"`
}

// DecodeGenerate takes "generate" and "stream" out of a request body and
// returns the body without them, for the route's own decoder. A body that
// is not a JSON object, or names neither, comes back as it was, so the
// route's decoder reports its errors.
func DecodeGenerate(body []byte) (GenerateOptions, []byte, error) {
	var m map[string]json.RawMessage
	if !bytes.Contains(body, []byte(`"generate"`)) && !bytes.Contains(body, []byte(`"stream"`)) ||
		json.Unmarshal(body, &m) != nil {
		return GenerateOptions{}, body, nil
	}
	var o GenerateOptions
	found := false
	for name, dst := range map[string]*bool{"generate": &o.Generate, "stream": &o.Stream} {
		raw, ok := m[name]
		if !ok {
			continue
		}
		found = true
		delete(m, name)
		switch jsonKind(raw) {
		case "boolean":
			*dst = bytes.HasPrefix(bytes.TrimSpace(raw), []byte("true"))
		case "null":
		default:
			return GenerateOptions{}, nil, wrongType(name, "a boolean", raw)
		}
	}
	if !found {
		return GenerateOptions{}, body, nil
	}
	if o.Stream && !o.Generate {
		return GenerateOptions{}, nil, Errorf(http.StatusBadRequest, CodeInvalidParameter,
			`"stream": true streams a generated answer: send "generate": true with it`)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return GenerateOptions{}, nil, Errorf(http.StatusBadRequest, CodeInvalidJSON, "invalid JSON: %v", err)
	}
	return o, buf.Bytes(), nil
}

// Event is one event of a generated answer's stream. Data is the event's
// JSON: a SourcesEvent, a DeltaEvent, or the whole response.
type Event struct {
	Name string
	Data json.RawMessage
}

// AnswerStream calls POST /v1/answer with "generate" and "stream", handing
// each event to onEvent as it arrives (nil: none), and returns the final
// response. An error from onEvent stops the stream (the server then
// cancels the generation) and is returned.
func (c *Client) AnswerStream(ctx context.Context, req AnswerRequest, onEvent func(Event) error) (GeneratedAnswer, error) {
	body := struct {
		AnswerRequest
		GenerateOptions
	}{req, GenerateOptions{Generate: true, Stream: true}}
	var out GeneratedAnswer
	err := c.AskStream(ctx, "/v1/answer", body, onEvent, &out)
	return out, err
}

// CollectionAskStream calls POST /v1/collections/{collection}/ask with
// "generate" and "stream", as AnswerStream does.
func (c *Client) CollectionAskStream(ctx context.Context, collection string, req CollectionAskRequest, onEvent func(Event) error) (GeneratedCollectionAsk, error) {
	req.Collection = ""
	body := struct {
		CollectionAskRequest
		GenerateOptions
	}{req, GenerateOptions{Generate: true, Stream: true}}
	var out GeneratedCollectionAsk
	err := c.AskStream(ctx, "/v1/collections/"+url.PathEscape(collection)+"/ask", body, onEvent, &out)
	return out, err
}

// AskStream posts body, which must ask for "generate" and "stream", to
// path and reads the event stream: each event goes to onEvent (nil: none)
// and the done event's data is decoded into out. A refused request is an
// *Error, as from the other methods.
func (c *Client) AskStream(ctx context.Context, path string, body any, onEvent func(Event) error, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("api: encode %s request: %w", path, err)
	}
	u := *c.base
	u.Path += path
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // closes the connection when we stop early, which cancels the generation
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("api: POST %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", c.agent)
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("api: POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResp))
		if err != nil {
			return fmt.Errorf("api: POST %s: read response: %w", path, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return fmt.Errorf("api: POST %s: the server answered %q, not an event stream: does it support \"stream\"?", path, resp.Header.Get("Content-Type"))
		}
		return responseError(resp, data)
	}
	done := false
	err = ReadEvents(resp.Body, c.maxResp, func(ev Event) error {
		if onEvent != nil {
			if err := onEvent(ev); err != nil {
				return err
			}
		}
		if ev.Name == EventDone {
			done = true
			if out != nil {
				if err := json.Unmarshal(ev.Data, out); err != nil {
					return fmt.Errorf("api: POST %s: decode the done event: %w", path, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !done {
		return fmt.Errorf("api: POST %s: the stream ended without its done event", path)
	}
	return nil
}

// ReadEvents reads Server-Sent Events from r, calling fn for each; an
// event's data lines are joined with newlines, and events bigger than max
// bytes are an error. It returns fn's first error, or nil at the end.
func ReadEvents(r io.Reader, max int64, fn func(Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), int(min(max, 1<<30)))
	var ev Event
	var data []byte
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if ev.Name != "" || data != nil {
				if ev.Name == "" {
					ev.Name = "message"
				}
				ev.Data = json.RawMessage(data)
				if err := fn(ev); err != nil {
					return err
				}
			}
			ev, data = Event{}, nil
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.Name = string(value)
		case "data":
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, value...)
			if int64(len(data)) > max {
				return fmt.Errorf("api: event larger than %d bytes", max)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("api: read event stream: %w", err)
	}
	return nil
}

// responseError is the *Error of a refused request, from its JSON error
// body when it has one.
func responseError(resp *http.Response, data []byte) error {
	e := &Error{Status: resp.StatusCode, Code: "http_" + fmt.Sprint(resp.StatusCode),
		Message: strings.TrimSpace(string(data)), RequestID: resp.Header.Get("X-Request-ID")}
	var eb ErrorBody
	if json.Unmarshal(data, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
		if eb.Error.RequestID != "" {
			e.RequestID = eb.Error.RequestID
		}
	}
	return e
}
