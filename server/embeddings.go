package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/embed"
)

// embedModelInfo describes the embedder for /v1/models.
func embedModelInfo(e embed.Embedder) api.ModelInfo {
	in := e.Info()
	return api.ModelInfo{ID: in.Name, Reader: api.ReaderEmbedding, MaxSeqLen: in.MaxSeqLen,
		Description: "sentence embeddings: " + in.Pooling + " pooling, " + strconv.Itoa(in.Dim) +
			" dimensions, similarity " + in.Similarity}
}

// errNoEmbedder answers the embedding routes of a server started without
// an embedding model.
var errNoEmbedder = api.Errorf(http.StatusNotFound, api.CodeNotFound,
	"this server has no embedding model: start it with --embed-model builtin (or a sentence-transformers folder)")

// checkEmbedInputs enforces the input count and size limits before any
// work is done.
func (s *Server) checkEmbedInputs(path string, texts []string) error {
	if len(texts) > s.opts.MaxEmbedInputs {
		return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeTooManyInputs,
			"%s holds %d texts; this server embeds at most %d per request (ASK_MAX_EMBED_INPUTS)", path, len(texts), s.opts.MaxEmbedInputs)
	}
	for i, t := range texts {
		if n := utf8.RuneCountInString(t); n > s.opts.MaxContextChars {
			return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeContextTooLong,
				"%s is %d characters; this server accepts at most %d (ASK_MAX_CONTEXT_CHARS)", api.InputIndex(path, i, len(texts)), n, s.opts.MaxContextChars)
		}
	}
	return nil
}

// embed runs the embedder, turning its typed errors into the client's 4xx.
func (s *Server) embed(ctx context.Context, texts []string, opts embed.Options) ([]embed.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	res, err := s.opts.Embedder.Embed(ctx, texts, opts)
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, embed.ErrUnknownPrompt):
		return nil, api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "%v", err)
	case errors.Is(err, embed.ErrInput):
		return nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "%v", err)
	case errors.Is(err, embed.ErrTooLong):
		return nil, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeInputTooLarge, "%v; send \"truncate\": true to cut it", err)
	}
	return nil, err
}

// handleEmbeddings serves POST /v1/embeddings in OpenAI's shape.
func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	if s.opts.Embedder == nil {
		s.fail(w, r, errNoEmbedder)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := api.DecodeEmbeddings(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	info := s.opts.Embedder.Info()
	if req.Model != "" && req.Model != info.Name && req.Model != s.opts.EmbedderAlias {
		s.fail(w, r, api.Errorf(http.StatusNotFound, api.CodeNotFound,
			"model %q is not served here; this server embeds with %q (send that, or leave model out)", req.Model, info.Name))
		return
	}
	if req.Dimensions != 0 && req.Dimensions != info.Dim {
		s.fail(w, r, api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter,
			"dimensions %d: model %s makes %d-dimensional vectors and cannot shorten them; leave dimensions out", req.Dimensions, info.Name, info.Dim))
		return
	}
	if err := s.checkEmbedInputs("input", req.Input); err != nil {
		s.fail(w, r, err)
		return
	}
	opts := embed.Options{Prompt: req.PromptName}
	switch req.InputType {
	case "query":
		opts.Role = embed.RoleQuery
	case "document", "passage":
		opts.Role = embed.RoleDocument
	}
	res, err := s.embed(r.Context(), req.Input, opts)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := api.EmbeddingsResponse{Object: "list", Model: info.Name, Data: make([]api.Embedding, len(res))}
	for i, e := range res {
		out.Data[i] = api.Embedding{Object: "embedding", Index: i,
			Embedding: api.Vector{Values: e.Vector, Base64: req.EncodingFormat == "base64"}}
		out.Usage.PromptTokens += e.Tokens
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	writeJSON(w, r, http.StatusOK, out)
}

// handleTEIEmbed serves POST /embed in the shape of Text Embeddings
// Inference: a bare array of vectors, normalised unless asked not to, and
// inputs over the model's limit refused unless truncate is set.
func (s *Server) handleTEIEmbed(w http.ResponseWriter, r *http.Request) {
	if s.opts.Embedder == nil {
		s.fail(w, r, errNoEmbedder)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := api.DecodeTEIEmbed(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkEmbedInputs("inputs", req.Inputs); err != nil {
		s.fail(w, r, err)
		return
	}
	opts := embed.Options{Prompt: req.PromptName, NoTruncate: req.Truncate == nil || !*req.Truncate}
	normalize := req.Normalize == nil || *req.Normalize
	opts.Unnormalized = !normalize
	res, err := s.embed(r.Context(), req.Inputs, opts)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([][]float32, len(res))
	for i, e := range res {
		if normalize && !s.opts.Embedder.Info().Normalized {
			embed.Normalize(e.Vector)
		}
		out[i] = e.Vector
	}
	writeJSON(w, r, http.StatusOK, out)
}
