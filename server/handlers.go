package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/sched"
)

// handleAsk serves POST /api/ask: the seed and Hugging Face shapes, answered
// in the Python pipeline's shape (an object for exactly one answer to a
// single input, a list otherwise; a list of those for a batch).
func (s *Server) handleAsk(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	gen, body, err := api.DecodeGenerate(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if namesCollection(body) {
		creq, err := api.DecodeCollectionAsk(body)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.askCollection(w, r, creq, gen, start)
		return
	}
	req, err := api.DecodeAsk(body)
	if err == nil {
		err = checkGenerateAsk(gen, req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(req.Inputs) > s.opts.MaxBatchInputs {
		s.fail(w, r, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeTooManyInputs,
			"request has %d question/context pairs; this server accepts at most %d (ASK_MAX_BATCH_INPUTS)",
			len(req.Inputs), s.opts.MaxBatchInputs))
		return
	}
	for i, in := range req.Inputs {
		if err := s.checkContext(in.Context, i, len(req.Inputs) > 1); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	resps, err := s.read(r.Context(), req.Inputs, req.Params)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t := resps[0].Timings // one read: the same for every input
	t.TotalMS = msSince(start)
	setServerTiming(w, t)
	if gen.Generate {
		s.askGenerated(w, r, gen, req.Inputs[0], resps[0], t)
		return
	}
	setWarningHeader(w, resps)
	if len(resps) == 1 {
		answers := pipelineAnswers(resps[0])
		if len(answers) == 1 {
			writeJSON(w, r, http.StatusOK, api.AskAnswer{Answer: answers[0], Model: resps[0].Model, Warning: resps[0].Warning, Timings: &t})
			return
		}
		writeJSON(w, r, http.StatusOK, answers)
		return
	}
	out := make([]any, len(resps))
	for i, resp := range resps {
		answers := pipelineAnswers(resp)
		if len(answers) == 1 {
			out[i] = answers[0]
		} else {
			out[i] = answers
		}
	}
	writeJSON(w, r, http.StatusOK, out)
}

// setWarningHeader repeats the first answer's warning (see
// api.AnswerResponse.Warning) in an Ask-Warning header, which the
// pipeline's list shapes of /api/ask have no field for.
func setWarningHeader(w http.ResponseWriter, resps []api.AnswerResponse) {
	for _, r := range resps {
		if r.Warning != "" {
			w.Header().Set("Ask-Warning", r.Warning)
			return
		}
	}
}

// pipelineAnswers converts spans to the Python pipeline's answers; never nil,
// so "no answer" encodes as [] rather than null.
func pipelineAnswers(resp api.AnswerResponse) []api.Answer {
	out := make([]api.Answer, len(resp.Answers))
	for i, a := range resp.Answers {
		out[i] = api.Answer{Answer: a.Answer, Score: a.Score, Start: a.Start, End: a.End}
	}
	return out
}

// handleAnswer serves POST /v1/answer.
func (s *Server) handleAnswer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	gen, body, err := api.DecodeGenerate(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := api.DecodeAnswer(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkContext(req.Context, 0, false); err != nil {
		s.fail(w, r, err)
		return
	}
	resps, err := s.read(r.Context(), []api.QAInput{{Question: req.Question, Context: req.Context}}, req.Params)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := resps[0]
	resp.Timings.TotalMS = msSince(start)
	setServerTiming(w, resp.Timings)
	if gen.Generate {
		s.answerGenerated(w, r, gen, req, resp)
		return
	}
	writeJSON(w, r, http.StatusOK, resp)
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	list := api.ModelList{Models: []api.ModelInfo{s.info}}
	if s.opts.Embedder != nil {
		list.Models = append(list.Models, embedModelInfo(s.opts.Embedder))
	}
	writeJSON(w, r, http.StatusOK, list)
}

// handleHealth is the liveness probe: the process serves HTTP. It says
// what answers, like /readyz, so that it never reads as "no model" while
// one is loaded.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	rd := api.Readiness{Status: "ok", Reader: s.info.Reader, ModelLoaded: s.info.Reader == api.ReaderModel}
	if rd.ModelLoaded {
		rd.Model = s.info.ID
	}
	writeJSON(w, r, http.StatusOK, rd)
}

// handleReady is the readiness probe: the server can answer questions now.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	rd := api.Readiness{
		Status:      "ready",
		Reader:      s.info.Reader,
		ModelLoaded: s.info.Reader == api.ReaderModel,
		Message:     s.opts.Notice,
	}
	if rd.ModelLoaded {
		rd.Model = s.info.ID
	}
	status := http.StatusOK
	if rc, ok := s.reader.(reader.ReadyChecker); ok {
		if err := rc.Ready(); err != nil {
			rd.Status, rd.Message, status = "not_ready", err.Error(), http.StatusServiceUnavailable
		}
	}
	if s.draining.Load() {
		rd.Status, status = "draining", http.StatusServiceUnavailable
	}
	writeJSON(w, r, status, rd)
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIJSON)
}

// handleFavicon answers browsers' automatic /favicon.ico with No Content:
// the page has no icon, and a 404 in every browser console looks broken.
func (s *Server) handleFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=86400")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(indexHTML)
}

// readBody reads the whole body under MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.opts.MaxBodyBytes
	tooLarge := api.Errorf(http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge,
		"request body exceeds %d bytes (ASK_MAX_BODY_BYTES)", limit)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// net/http's ReadTimeout: the body trickled in too slowly. (The
			// failed read has cancelled the request's context too, so this
			// comes before the check for a client that went away.)
			w.Header().Set("Connection", "close")
			return nil, api.Errorf(http.StatusRequestTimeout, codeRequestTimeout,
				"the request body did not arrive within %v (ASK_READ_TIMEOUT); send it faster or raise the limit", s.opts.ReadTimeout)
		}
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("read body: %w", ctxErr)
		}
		return nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "could not read the request body: %v", err)
	}
	return body, nil
}

// checkContext enforces MaxContextChars before any work is done.
func (s *Server) checkContext(ctxText string, i int, batch bool) error {
	n := utf8.RuneCountInString(ctxText)
	if n <= s.opts.MaxContextChars {
		return nil
	}
	name := "context"
	if batch {
		name = "context " + strconv.Itoa(i)
	}
	return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeContextTooLong,
		"%s is %d characters; this server accepts at most %d (ASK_MAX_CONTEXT_CHARS)", name, n, s.opts.MaxContextChars)
}

// fail writes the error response for err: the client's mistakes keep their
// 4xx, back-pressure becomes 429, a timeout 504, and only the server's own
// failures become 500, logged with the request id. When the client has gone
// away nothing is written.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	id := RequestID(ctx)
	if ae, ok := errors.AsType[*api.Error](err); ok {
		e := *ae
		if e.Status == 0 {
			e.Status = http.StatusBadRequest
		}
		if e.Status >= 500 {
			s.log.Error("reader error", "request_id", id, "err", err)
		}
		writeError(w, r, &e)
		return
	}
	if pe, ok := errors.AsType[*panicError](err); ok {
		s.log.Error("panic serving request", "request_id", id, "path", r.URL.Path,
			"panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
		writeError(w, r, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "internal error (request id %s)", id))
		return
	}
	switch {
	case errors.Is(err, sched.ErrQueueFull):
		w.Header().Set("Retry-After", "1")
		writeError(w, r, api.Errorf(http.StatusTooManyRequests, api.CodeQueueFull,
			"the server is busy: its queue is full; retry after a second"))
	case errors.Is(err, sched.ErrTooLarge):
		writeError(w, r, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeInputTooLarge, "%v", err))
	case errors.Is(err, sched.ErrClosed):
		w.Header().Set("Retry-After", "5")
		writeError(w, r, api.Errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "the server is shutting down"))
	case errors.Is(context.Cause(ctx), errCut):
		// Shutdown ran out of time: say so, rather than drop the
		// connection, and log it as the server's doing.
		s.log.Warn("request cut by shutdown", "request_id", id, "path", r.URL.Path)
		w.Header().Set("Retry-After", "5")
		w.Header().Set("Connection", "close")
		writeError(w, r, api.Errorf(http.StatusServiceUnavailable, api.CodeUnavailable,
			"the server shut down before this request finished (its drain timeout, ASK_SHUTDOWN_TIMEOUT, ran out); retry"))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		writeError(w, r, api.Errorf(http.StatusGatewayTimeout, api.CodeTimeout,
			"the request took longer than %v (ASK_REQUEST_TIMEOUT)", s.opts.RequestTimeout))
	case ctx.Err() != nil:
		// The client went away (or the server is being forced down): nobody
		// reads a response; record it as 499.
		if rec, ok := w.(*recorder); ok {
			rec.clientGone = true
		}
		s.log.Info("client closed request", "request_id", id, "path", r.URL.Path)
	default:
		s.log.Error("request failed", "request_id", id, "path", r.URL.Path, "err", err)
		writeError(w, r, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "internal error (request id %s)", id))
	}
}

// writeError writes the {"error":{"code","message"}} body.
func writeError(w http.ResponseWriter, r *http.Request, e *api.Error) {
	body := *e
	body.Status = 0
	body.RequestID = RequestID(r.Context())
	writeJSON(w, r, e.Status, api.ErrorBody{Error: &body})
}

// writeJSON encodes v without HTML escaping (answers are text, and the
// Python server does not escape "<" either).
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// A NaN score, say: a server bug, never the client's; the access log
		// records the 500.
		buf.Reset()
		fmt.Fprintf(&buf, `{"error":{"code":%q,"message":"could not encode the response","request_id":%q}}`+"\n",
			api.CodeInternal, RequestID(r.Context()))
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func setServerTiming(w http.ResponseWriter, t api.Timings) {
	w.Header().Set("Server-Timing", fmt.Sprintf("queue;dur=%.3f, tokenize;dur=%.3f, compute;dur=%.3f, decode;dur=%.3f, total;dur=%.3f",
		t.QueueMS, t.TokenizeMS, t.ComputeMS, t.DecodeMS, t.TotalMS))
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
