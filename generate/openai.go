package generate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
)

// Options configure an OpenAI-compatible endpoint.
type Options struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1 or
	// http://127.0.0.1:8000/v1.
	BaseURL string
	// Model is the model name sent with every request.
	Model string
	// APIKey is sent as a bearer token; local servers often need none.
	APIKey string
	// Timeout bounds one whole generation, first byte to last; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxTokens is the default answer length bound; 0 means
	// DefaultMaxTokens.
	MaxTokens int
	// MaxRetries is how many times a failed call (429, 5xx, connection
	// errors) is retried, honouring Retry-After within Timeout. The default
	// 0 answers at once with the extractive fallback: an interactive
	// question should not wait on a busy endpoint.
	MaxRetries int
	// Temperature, when set, is sent as is; nil leaves the endpoint's
	// default.
	Temperature *float64
	// Prompt bounds the prompt.
	Prompt PromptOptions
	// HTTPClient, when set, carries the requests (tests, proxies).
	HTTPClient *http.Client
}

// Defaults of Options.
const (
	DefaultTimeout   = 60 * time.Second
	DefaultMaxTokens = 512
)

// OpenAI is a Generator for any endpoint that speaks OpenAI's chat
// completions API with streaming. It is safe for concurrent use.
type OpenAI struct {
	client openai.Client
	opts   Options
	// noStreamOptions is set once the endpoint has rejected stream_options
	// (transformers serve answers 422 to it): later requests leave it out
	// and go without usage counts.
	noStreamOptions atomic.Bool
}

// NewOpenAI checks the options and returns a generator. It sends nothing:
// an unreachable endpoint shows on the first question, as an *Error.
func NewOpenAI(o Options) (*OpenAI, error) {
	if o.BaseURL == "" {
		return nil, errors.New("generate: no base URL; set --llm-base-url or OPENAI_BASE_URL (e.g. https://api.openai.com/v1)")
	}
	if !strings.HasPrefix(o.BaseURL, "http://") && !strings.HasPrefix(o.BaseURL, "https://") {
		return nil, fmt.Errorf("generate: base URL %q must start with http:// or https://", o.BaseURL)
	}
	if o.Model == "" {
		return nil, errors.New("generate: no model; set --llm-model to a model the endpoint serves")
	}
	if o.Timeout < 0 || o.MaxTokens < 0 || o.MaxRetries < 0 {
		return nil, fmt.Errorf("generate: timeout (%s), max tokens (%d) and retries (%d) must be ≥ 0", o.Timeout, o.MaxTokens, o.MaxRetries)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = DefaultMaxTokens
	}
	opts := []option.RequestOption{
		option.WithBaseURL(o.BaseURL),
		option.WithAPIKey(o.APIKey),
		option.WithMaxRetries(o.MaxRetries),
	}
	if o.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(o.HTTPClient))
	}
	return &OpenAI{client: openai.NewClient(opts...), opts: o}, nil
}

// Model returns the configured model name.
func (g *OpenAI) Model() string { return g.opts.Model }

// Prompt returns the prompt Generate sends for req.
func (g *OpenAI) Prompt(req Request) Prompt { return BuildPrompt(req, g.opts.Prompt) }

// Generate builds the prompt, streams the answer and checks its citations.
func (g *OpenAI) Generate(ctx context.Context, req Request, onDelta DeltaFunc) (*Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, g.opts.Timeout)
	defer cancel()
	prompt := BuildPrompt(req, g.opts.Prompt)
	params := openai.ChatCompletionNewParams{
		Model: g.opts.Model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(prompt.System),
			openai.UserMessage(prompt.User),
		},
	}
	maxTokens := req.MaxTokens
	if maxTokens == 0 {
		maxTokens = g.opts.MaxTokens
	}
	// max_tokens, not max_completion_tokens: every compatible server reads
	// the older name (transformers serve rejects the newer one).
	params.MaxTokens = openai.Int(int64(maxTokens))
	if g.opts.Temperature != nil {
		params.Temperature = openai.Float(*g.opts.Temperature)
	}
	res := &Result{Prompt: prompt.Info}
	var b strings.Builder
	err := g.stream(ctx, params, res, &b, start, onDelta)
	if err != nil && g.rejectsStreamOptions(err) && b.Len() == 0 {
		g.noStreamOptions.Store(true)
		err = g.stream(ctx, params, res, &b, start, onDelta)
	}
	res.Elapsed = time.Since(start)
	if err != nil {
		return nil, err
	}
	res.Answer = b.String()
	if strings.TrimSpace(res.Answer) == "" {
		return nil, &Error{Kind: KindBadResponse, Message: fmt.Sprintf("the endpoint returned an empty answer (finish reason %q)", res.FinishReason)}
	}
	res.Citations = CheckCitations(res.Answer, req.Passages, prompt.Info.Passages)
	return res, nil
}

// stream makes one streaming call, appending the answer to b.
func (g *OpenAI) stream(ctx context.Context, params openai.ChatCompletionNewParams, res *Result, b *strings.Builder, start time.Time, onDelta DeltaFunc) error {
	if !g.noStreamOptions.Load() {
		params.StreamOptions.IncludeUsage = openai.Bool(true)
	}
	// The stream's context is canceled when we stop reading early (a delta
	// callback failed), which ends the upstream request.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream := g.client.Chat.Completions.NewStreaming(ctx, params)
	defer stream.Close()
	for stream.Next() {
		chunk := stream.Current()
		if chunk.Model != "" {
			res.Model = chunk.Model
		}
		if chunk.Usage.TotalTokens > 0 || chunk.Usage.PromptTokens > 0 {
			res.Usage = Usage{
				PromptTokens:     int(chunk.Usage.PromptTokens),
				CompletionTokens: int(chunk.Usage.CompletionTokens),
				TotalTokens:      int(chunk.Usage.TotalTokens),
			}
		}
		for _, c := range chunk.Choices {
			if c.Index != 0 {
				continue
			}
			if c.FinishReason != "" {
				res.FinishReason = c.FinishReason
			}
			if c.Delta.Content == "" {
				continue
			}
			if b.Len() == 0 {
				res.FirstToken = time.Since(start)
			}
			b.WriteString(c.Delta.Content)
			if onDelta != nil {
				if err := onDelta(c.Delta.Content); err != nil {
					return err
				}
			}
		}
	}
	if err := stream.Err(); err != nil {
		return g.classify(ctx, err)
	}
	return nil
}

// rejectsStreamOptions reports an endpoint refusing the stream_options
// field rather than the request.
func (g *OpenAI) rejectsStreamOptions(err error) bool {
	var e *Error
	if g.noStreamOptions.Load() || !errors.As(err, &e) || e.Kind != KindBadRequest {
		return false
	}
	return strings.Contains(e.Message, "stream_options")
}

// classify turns what the SDK returned into an *Error saying what happened.
func (g *OpenAI) classify(ctx context.Context, err error) error {
	var api *openai.Error
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var streamErr *ssestream.StreamError
	var netErr net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindTimeout, Err: err,
			Message: fmt.Sprintf("%s did not finish within %s", g.opts.BaseURL, g.opts.Timeout)}
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return &Error{Kind: KindCanceled, Err: err, Message: "the request was canceled"}
	case errors.As(err, &api):
		e := &Error{Kind: statusKind(api.StatusCode), Status: api.StatusCode, Err: err}
		if api.Response != nil {
			e.RetryAfter = retryAfter(api.Response.Header)
		}
		detail := api.Message
		if detail == "" {
			detail = strings.TrimSpace(api.RawJSON())
		}
		if detail == "" && api.Response != nil {
			detail = http.StatusText(api.StatusCode)
		}
		e.Message = fmt.Sprintf("%s answered %d: %s", g.opts.BaseURL, api.StatusCode, truncate(detail, 300))
		return e
	case errors.As(err, &streamErr):
		return &Error{Kind: KindUpstream, Err: err, Message: fmt.Sprintf("%s failed mid-stream: %s", g.opts.BaseURL, truncate(streamErr.Message, 300))}
	case errors.As(err, &syntax), errors.As(err, &typeErr):
		return &Error{Kind: KindBadResponse, Err: err, Message: fmt.Sprintf("%s sent a chunk that is not a chat completion: %v", g.opts.BaseURL, err)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Kind: KindUpstream, Err: err, Message: fmt.Sprintf("%s closed the stream before it finished", g.opts.BaseURL)}
	case errors.As(err, &netErr):
		return &Error{Kind: KindUnreachable, Err: err, Message: fmt.Sprintf("cannot reach %s: %v", g.opts.BaseURL, err)}
	}
	return &Error{Kind: KindBadResponse, Err: err, Message: fmt.Sprintf("%s: %v", g.opts.BaseURL, err)}
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
