package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ClientOptions configure a Client; the zero value is usable.
type ClientOptions struct {
	// HTTPClient sends the requests; nil means a client without a global
	// timeout (each call's context bounds it instead).
	HTTPClient *http.Client
	// APIKey, when set, is sent as "Authorization: Bearer <key>".
	APIKey string
	// UserAgent overrides the default "ask-go-client".
	UserAgent string
	// MaxResponseBytes bounds how much of a response is read (default 64 MiB),
	// so a misbehaving server cannot exhaust the caller's memory.
	MaxResponseBytes int64
}

// Client talks to an ask server. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	apiKey  string
	agent   string
	maxResp int64
}

// NewClient returns a client for the server at baseURL, e.g.
// "http://127.0.0.1:8080".
func NewClient(baseURL string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("api: parse base URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("api: base URL %q: scheme must be http or https", baseURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("api: base URL %q has no host", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{base: u, http: opts.HTTPClient, apiKey: opts.APIKey, agent: opts.UserAgent, maxResp: opts.MaxResponseBytes}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.agent == "" {
		c.agent = "ask-go-client"
	}
	if c.maxResp <= 0 {
		c.maxResp = 64 << 20
	}
	return c, nil
}

// Answer calls POST /v1/answer.
func (c *Client) Answer(ctx context.Context, req AnswerRequest) (AnswerResponse, error) {
	var resp AnswerResponse
	if err := c.do(ctx, http.MethodPost, "/v1/answer", req, &resp); err != nil {
		return AnswerResponse{}, err
	}
	return resp, nil
}

// Ask calls POST /api/ask with one pair and returns its answers (none, one or
// several; the server's object-or-list shape is unwrapped).
func (c *Client) Ask(ctx context.Context, in QAInput, p Params) ([]Answer, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodPost, "/api/ask", hfRequest{Inputs: in, Parameters: p}, &raw); err != nil {
		return nil, err
	}
	return answersOf(raw)
}

// AskBatch calls POST /api/ask with several pairs and returns each one's
// answers, in order.
func (c *Client) AskBatch(ctx context.Context, ins []QAInput, p Params) ([][]Answer, error) {
	if len(ins) == 0 {
		return nil, errors.New("api: AskBatch needs at least one input")
	}
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodPost, "/api/ask", hfRequest{Inputs: ins, Parameters: p}, &raw); err != nil {
		return nil, err
	}
	if len(ins) == 1 { // the server, like Python, answers a batch of one as a single input
		a, err := answersOf(raw)
		return [][]Answer{a}, err
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("api: decode batch response: %w", err)
	}
	if len(elems) != len(ins) {
		return nil, fmt.Errorf("api: batch response has %d results for %d inputs", len(elems), len(ins))
	}
	out := make([][]Answer, len(elems))
	for i, e := range elems {
		a, err := answersOf(e)
		if err != nil {
			return nil, fmt.Errorf("api: batch result %d: %w", i, err)
		}
		out[i] = a
	}
	return out, nil
}

// Models calls GET /v1/models.
func (c *Client) Models(ctx context.Context) ([]ModelInfo, error) {
	var resp ModelList
	if err := c.do(ctx, http.MethodGet, "/v1/models", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Models, nil
}

// Ready calls GET /readyz; a server that is not ready yields an *Error with
// status 503 and the readiness body is still returned.
func (c *Client) Ready(ctx context.Context) (Readiness, error) {
	var r Readiness
	err := c.do(ctx, http.MethodGet, "/readyz", nil, &r)
	return r, err
}

// hfRequest is the Hugging Face Inference request shape.
type hfRequest struct {
	Inputs     any    `json:"inputs"`
	Parameters Params `json:"parameters"`
}

// answersOf unwraps the Python pipeline's "one answer is an object, anything
// else a list" response.
func answersOf(raw json.RawMessage) ([]Answer, error) {
	if jsonKind(raw) == "object" {
		var a Answer
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("api: decode answer: %w", err)
		}
		return []Answer{a}, nil
	}
	var as []Answer
	if err := json.Unmarshal(raw, &as); err != nil {
		return nil, fmt.Errorf("api: decode answers: %w", err)
	}
	return as, nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("api: encode %s request: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	u := *c.base
	u.Path += path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("api: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("api: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResp+1))
	if err != nil {
		return fmt.Errorf("api: %s %s: read response: %w", method, path, err)
	}
	if int64(len(data)) > c.maxResp {
		return fmt.Errorf("api: %s %s: response larger than %d bytes", method, path, c.maxResp)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := &Error{Status: resp.StatusCode, Code: "http_" + fmt.Sprint(resp.StatusCode),
			Message: strings.TrimSpace(string(data)), RequestID: resp.Header.Get("X-Request-ID")}
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
			apiErr.Code, apiErr.Message = eb.Error.Code, eb.Error.Message
			if eb.Error.RequestID != "" {
				apiErr.RequestID = eb.Error.RequestID
			}
		}
		if out != nil && resp.StatusCode == http.StatusServiceUnavailable {
			_ = json.Unmarshal(data, out) // readiness bodies carry detail even when not ready
		}
		return apiErr
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("api: %s %s: decode response: %w", method, path, err)
	}
	return nil
}
