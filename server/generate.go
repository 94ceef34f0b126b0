package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/askqa/ask/answer"
	"github.com/askqa/ask/api"
	"github.com/askqa/ask/generate"
)

// Generated answers ("generate": true). The extractive answer is always
// computed first and in full: it is the evidence next to the generated
// text and the whole answer when generation fails, so a failed, slow or
// unconfigured language model never costs more than "generated": false
// and a generation_error. A request the extractive route would refuse is
// refused the same way, before any stream starts.

// genCall is one generated answer: the passages, best first, and how the
// route builds its whole response around what generation adds.
type genCall struct {
	opts       api.GenerateOptions
	req        generate.Request
	collection string
	// unavailable, when set, is why nothing can be generated.
	unavailable *api.GenerationError
	respond     func(api.GenerationFields) any
}

// checkGenerateAsk refuses a POST /api/ask batch with "generate": a
// generated answer answers one question.
func checkGenerateAsk(opts api.GenerateOptions, req api.AskRequest) error {
	if opts.Generate && len(req.Inputs) != 1 {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter,
			`"generate" answers one question over one context; this request has %d: send them one at a time`, len(req.Inputs))
	}
	return nil
}

// askGenerated answers POST /api/ask over a context with "generate".
func (s *Server) askGenerated(w http.ResponseWriter, r *http.Request, opts api.GenerateOptions, in api.QAInput, resp api.AnswerResponse, t api.Timings) {
	answers := pipelineAnswers(resp)
	out := api.GeneratedAsk{AskAnswer: api.AskAnswer{Timings: &t}}
	if len(answers) > 0 {
		out.Answer = answers[0]
	}
	if len(answers) > 1 {
		out.Answers = answers
	}
	s.writeGenerated(w, r, genCall{opts: opts, req: s.contextRequest(in.Question, in.Context, resp),
		respond: func(f api.GenerationFields) any { out.GenerationFields = f; return out }})
}

// answerGenerated answers POST /v1/answer with "generate".
func (s *Server) answerGenerated(w http.ResponseWriter, r *http.Request, opts api.GenerateOptions, req api.AnswerRequest, resp api.AnswerResponse) {
	s.writeGenerated(w, r, genCall{opts: opts, req: s.contextRequest(req.Question, req.Context, resp),
		respond: func(f api.GenerationFields) any {
			return api.GeneratedAnswer{AnswerResponse: resp, GenerationFields: f}
		}})
}

// contextRequest makes the passages of a context question: the context
// itself, or its pieces around the extractive answer when it is too long
// for the prompt.
func (s *Server) contextRequest(question, text string, resp api.AnswerResponse) generate.Request {
	focus := -1
	if len(resp.Answers) > 0 && resp.Answers[0].End > resp.Answers[0].Start {
		focus = resp.Answers[0].Start
	}
	return generate.Request{Question: question, Passages: generate.ContextPassages(s.opts.Generator, question, text, focus)}
}

// collectionGenerated answers a question over a collection with
// "generate": the passages are the ones retrieved and read, in retrieval
// order.
func (s *Server) collectionGenerated(ctx context.Context, w http.ResponseWriter, r *http.Request, opts api.GenerateOptions,
	k *Knowledge, req api.CollectionAskRequest, resp answer.Response, out api.CollectionAskResponse) {
	c := genCall{opts: opts, collection: req.Collection,
		respond: func(f api.GenerationFields) any {
			return api.GeneratedCollectionAsk{CollectionAskResponse: out, GenerationFields: f}
		}}
	ps, err := generate.CollectionPassages(ctx, k.Store, req.Collection, resp.Passages)
	if err != nil {
		s.log.Warn("generation: passages", "request_id", RequestID(r.Context()), "err", err)
		c.unavailable = &api.GenerationError{Kind: api.GenNoPassages, Message: err.Error(), Fix: "ask again"}
	}
	c.req = generate.Request{Question: req.Question, Passages: ps}
	s.writeGenerated(w, r, c)
}

// writeGenerated generates the answer and writes the route's response:
// one JSON object, or with "stream" the events sources, delta... and done,
// done carrying that same object.
func (s *Server) writeGenerated(w http.ResponseWriter, r *http.Request, c genCall) {
	g := s.opts.Generator
	f := api.GenerationFields{Sources: generate.APISources(c.req.Passages, generate.Shown(g, c.req), c.collection)}
	why := c.unavailable
	switch {
	case why != nil:
	case len(f.Sources) == 0:
		why = generate.NoPassages()
	case g == nil:
		why = generate.NotConfigured()
	}
	if !c.opts.Stream {
		s.generateInto(r, &f, c.req, why, nil)
		if r.Context().Err() != nil && !errors.Is(context.Cause(r.Context()), errCut) {
			s.fail(w, r, r.Context().Err()) // the client went away: nobody reads
			return
		}
		// The read and the generation each have their own timeout; together
		// they may outlast the server's WriteTimeout, which would drop the
		// answer unwritten.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.opts.RequestTimeout + 15*time.Second))
		writeJSON(w, r, http.StatusOK, c.respond(f))
		return
	}
	es := s.newEventStream(w)
	if es.send(api.EventSources, api.SourcesEvent{Sources: f.Sources}) != nil {
		s.clientGone(w, r)
		return
	}
	err := s.generateInto(r, &f, c.req, why, func(delta string) error {
		return es.send(api.EventDelta, api.DeltaEvent{Text: delta})
	})
	if err != nil || r.Context().Err() != nil && !errors.Is(context.Cause(r.Context()), errCut) {
		// A delta could not be written, or the client went away: the
		// generation has stopped, and nobody reads a done event.
		s.clientGone(w, r)
		return
	}
	if es.send(api.EventDone, c.respond(f)) != nil {
		s.clientGone(w, r)
	}
}

// generateInto runs the generation (unless why says it cannot) and fills
// f. It returns only onDelta's error: every failure of the language model
// is written into f as its generation_error.
func (s *Server) generateInto(r *http.Request, f *api.GenerationFields, req generate.Request, why *api.GenerationError, onDelta generate.DeltaFunc) error {
	if why != nil {
		f.GenerationError = why
		return nil
	}
	var deltaErr error
	var wrapped generate.DeltaFunc
	if onDelta != nil {
		wrapped = func(d string) error {
			deltaErr = onDelta(d)
			return deltaErr
		}
	}
	res, err := s.opts.Generator.Generate(r.Context(), req, wrapped)
	if deltaErr != nil {
		return deltaErr
	}
	if err != nil {
		f.GenerationError = generate.APIError(err)
		if errors.Is(context.Cause(r.Context()), errCut) {
			f.GenerationError = &api.GenerationError{Kind: api.GenCanceled,
				Message: "the server shut down before the answer was generated (its drain timeout, ASK_SHUTDOWN_TIMEOUT, ran out)", Fix: "ask again"}
		}
		if r.Context().Err() == nil {
			s.log.Warn("generation failed; answering with the extractive answer", "request_id", RequestID(r.Context()),
				"kind", f.GenerationError.Kind, "err", err)
		}
		return nil
	}
	f.Generated = true
	f.Generation = generate.APIGeneration(res, f.Sources)
	return nil
}

// clientGone records a stream whose client went away.
func (s *Server) clientGone(w http.ResponseWriter, r *http.Request) {
	if rec, ok := w.(*recorder); ok {
		rec.clientGone = true
	}
	s.log.Info("client closed the event stream", "request_id", RequestID(r.Context()), "path", r.URL.Path)
}

// eventStream writes Server-Sent Events, each flushed at once.
type eventStream struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf bytes.Buffer
	// deadline is how long one event may take to write: the server's
	// WriteTimeout covers a whole response, which a long answer may
	// outlast, so each event extends it instead.
	deadline time.Duration
}

func (s *Server) newEventStream(w http.ResponseWriter) *eventStream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events through as they come
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	return &eventStream{w: w, rc: http.NewResponseController(w), deadline: s.opts.RequestTimeout + 15*time.Second}
}

// send writes one event: its data is v as one line of JSON.
func (es *eventStream) send(name string, v any) error {
	es.buf.Reset()
	fmt.Fprintf(&es.buf, "event: %s\ndata: ", name)
	enc := json.NewEncoder(&es.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// A NaN score, say: a server bug; say so in the event rather than
		// end the stream without one.
		es.buf.Reset()
		fmt.Fprintf(&es.buf, "event: %s\ndata: {\"error\":{\"code\":%q,\"message\":\"could not encode the response\"}}\n", name, api.CodeInternal)
	}
	es.buf.WriteByte('\n')
	// Not every ResponseWriter can (a test recorder); then the server's
	// WriteTimeout stands.
	_ = es.rc.SetWriteDeadline(time.Now().Add(es.deadline))
	if _, err := es.w.Write(es.buf.Bytes()); err != nil {
		return err
	}
	if err := es.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
