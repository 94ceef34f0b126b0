package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/askqa/ask/answer"
	"github.com/askqa/ask/api"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/ingest"
	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/retrieve"
)

// Knowledge is the knowledge base behind /v1/collections: the store, the
// ingester that extracts, chunks and embeds uploads into it, and the
// embedder for queries (nil: lexical retrieval only). Questions are read
// by the server's Reader.
type Knowledge struct {
	Store    kb.Store
	Ingester *ingest.Ingester
	Embedder embed.Embedder
	// MinScore is the no-answer threshold (0: answer.DefaultMinScore).
	MinScore float64
	// MaxUploadBytes bounds one upload request (default 64 MiB).
	MaxUploadBytes int64
}

func (k *Knowledge) maxUpload() int64 {
	if k.MaxUploadBytes <= 0 {
		return 64 << 20
	}
	return k.MaxUploadBytes
}

// addCollectionRoutes registers the knowledge-base routes.
func (s *Server) addCollectionRoutes(add func(string, map[string]http.HandlerFunc)) {
	add("/v1/collections", map[string]http.HandlerFunc{http.MethodGet: s.handleListCollections, http.MethodPost: s.handleCreateCollection})
	add("/v1/collections/{collection}", map[string]http.HandlerFunc{http.MethodGet: s.handleGetCollection, http.MethodDelete: s.handleDeleteCollection})
	add("/v1/collections/{collection}/documents", map[string]http.HandlerFunc{http.MethodGet: s.handleListDocuments, http.MethodPost: s.handleAddDocuments})
	add("/v1/collections/{collection}/search", map[string]http.HandlerFunc{http.MethodPost: s.handleSearch})
	add("/v1/collections/{collection}/ask", map[string]http.HandlerFunc{http.MethodPost: s.handleCollectionAsk})
	add("/v1/collections/{collection}/documents/{id...}", map[string]http.HandlerFunc{http.MethodGet: s.handleGetDocument, http.MethodDelete: s.handleDeleteDocument})
}

var errNoKnowledge = api.Errorf(http.StatusNotFound, api.CodeNotFound,
	"this server has no knowledge base: it was started without one (ask serve keeps it under --data)")

// knowledge returns the knowledge base or writes the 404 that says there
// is none.
func (s *Server) knowledge(w http.ResponseWriter, r *http.Request) (*Knowledge, bool) {
	if s.opts.Knowledge == nil {
		s.fail(w, r, errNoKnowledge)
		return nil, false
	}
	return s.opts.Knowledge, true
}

// kbError maps the knowledge base's errors to the client's 4xx.
func kbError(err error) error {
	switch {
	case errors.Is(err, kb.ErrNotFound):
		return api.Errorf(http.StatusNotFound, api.CodeNotFound, "%v", err)
	case errors.Is(err, kb.ErrUnavailable):
		return api.Errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "the knowledge base's database is unavailable: %v; retry shortly", err)
	case errors.Is(err, kb.ErrExists):
		return api.Errorf(http.StatusConflict, api.CodeConflict, "%v", err)
	case errors.Is(err, kb.ErrInvalid):
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "%v", err)
	case errors.Is(err, ingest.ErrTooLarge):
		return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeInputTooLarge, "%v", err)
	case errors.Is(err, ingest.ErrCorrupt):
		return api.Errorf(http.StatusBadRequest, api.CodeCorruptFile, "%v", err)
	case errors.Is(err, answer.ErrEmptyQuestion):
		return api.Errorf(http.StatusBadRequest, api.CodeEmptyField, "question must not be empty")
	case errors.Is(err, embed.ErrInput):
		return api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "%v", err)
	}
	if re, ok := reader.AsError(err); ok {
		return readerError(re, false)
	}
	return err
}

func apiCollection(c kb.Collection) api.Collection {
	return api.Collection{Name: c.Name, Embedder: c.Embedder, Dim: c.Dim, Documents: c.Documents, Chunks: c.Chunks, Created: c.Created}
}

func (s *Server) handleListCollections(w http.ResponseWriter, r *http.Request) {
	k, ok := s.knowledge(w, r)
	if !ok {
		return
	}
	cs, err := k.Store.Collections(r.Context())
	if err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	out := api.CollectionList{Collections: make([]api.Collection, len(cs))}
	for i, c := range cs {
		out.Collections[i] = apiCollection(c)
	}
	writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) handleCreateCollection(w http.ResponseWriter, r *http.Request) {
	k, ok := s.knowledge(w, r)
	if !ok {
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req api.CreateCollectionRequest
	if err := strictJSON(body, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	c := kb.Collection{Name: req.Name}
	if k.Embedder != nil {
		info := k.Embedder.Info()
		c.Embedder, c.Dim = info.Name, info.Dim
	}
	if err := k.Store.CreateCollection(r.Context(), c); err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	got, err := k.Store.Collection(r.Context(), req.Name)
	if err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	writeJSON(w, r, http.StatusCreated, apiCollection(got))
}

func (s *Server) handleGetCollection(w http.ResponseWriter, r *http.Request) {
	k, ok := s.knowledge(w, r)
	if !ok {
		return
	}
	c, err := k.Store.Collection(r.Context(), r.PathValue("collection"))
	if err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	writeJSON(w, r, http.StatusOK, apiCollection(c))
}

func (s *Server) handleDeleteCollection(w http.ResponseWriter, r *http.Request) {
	k, ok := s.knowledge(w, r)
	if !ok {
		return
	}
	name := r.PathValue("collection")
	if err := k.Store.DeleteCollection(r.Context(), name); err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]string{"deleted": name})
}

func (s *Server) handleListDocuments(w http.ResponseWriter, r *http.Request) {
	k, ok := s.knowledge(w, r)
	if !ok {
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "limit must be an integer from 1 to 1000, got %q", v))
			return
		}
		limit = n
	}
	docs, err := k.Store.Documents(r.Context(), r.PathValue("collection"), r.URL.Query().Get("after"), limit)
	if err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	out := api.DocumentList{Documents: make([]api.Document, len(docs))}
	for i, d := range docs {
		out.Documents[i] = apiDocument(d)
	}
	if len(docs) == limit {
		out.Next = docs[len(docs)-1].ID
	}
	writeJSON(w, r, http.StatusOK, out)
}

func apiDocument(d kb.Document) api.Document {
	return api.Document{ID: d.ID, Title: d.Title, Source: d.Source, Hash: d.Hash, Metadata: d.Metadata, Added: d.Added, Chunks: d.Chunks, Text: d.Text}
}

func (s *Server) handleGetDocument(w http.ResponseWriter, r *http.Request) {
	k, ok := s.knowledge(w, r)
	if !ok {
		return
	}
	d, err := k.Store.Document(r.Context(), r.PathValue("collection"), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	writeJSON(w, r, http.StatusOK, apiDocument(d))
}

func (s *Server) handleDeleteDocument(w http.ResponseWriter, r *http.Request) {
	k, ok := s.knowledge(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := k.Store.DeleteDocument(r.Context(), r.PathValue("collection"), id); err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]string{"deleted": id})
}

// handleAddDocuments stores uploaded files (multipart/form-data, each part
// with a file name) or JSON documents. Each document is acknowledged in the
// reply only once durable; the whole request is checked (types, sizes,
// names) before anything is written, so bad input changes nothing.
func (s *Server) handleAddDocuments(w http.ResponseWriter, r *http.Request) {
	k, ok := s.knowledge(w, r)
	if !ok {
		return
	}
	collection := r.PathValue("collection")
	if err := kb.ValidateName(collection); err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	limit := k.maxUpload()
	if r.ContentLength > limit {
		s.fail(w, r, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge,
			"upload of %d bytes exceeds %d bytes (ASK_MAX_UPLOAD_BYTES); send the files in several requests", r.ContentLength, limit))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			s.fail(w, r, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge,
				"upload exceeds %d bytes (ASK_MAX_UPLOAD_BYTES); send the files in several requests", limit))
			return
		}
		s.fail(w, r, fmt.Errorf("read upload: %w", err))
		return
	}
	docs, err := s.uploadedDocuments(r.Header.Get("Content-Type"), body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := k.Ingester.EnsureCollection(r.Context(), collection); err != nil {
		if errors.Is(err, kb.ErrInvalid) || errors.Is(err, kb.ErrNotFound) || errors.Is(err, kb.ErrExists) || errors.Is(err, kb.ErrUnavailable) {
			s.fail(w, r, kbError(err))
			return
		}
		s.fail(w, r, api.Errorf(http.StatusConflict, api.CodeConflict, "%v", err))
		return
	}
	out := api.AddDocumentsResponse{Collection: collection}
	for _, d := range docs {
		res, n, err := k.Ingester.AddDocument(r.Context(), collection, d)
		if err != nil {
			// Documents before this one are stored and durable; say which.
			s.log.Warn("upload stopped", "request_id", RequestID(r.Context()), "doc", d.ID, "stored", len(out.Documents), "err", err)
			s.fail(w, r, kbError(fmt.Errorf("document %q (the %d before it are stored): %w", d.ID, len(out.Documents), err)))
			return
		}
		out.Documents = append(out.Documents, api.AddedDocument{ID: d.ID, Title: d.Title, Status: res.String(), Chunks: n})
	}
	writeJSON(w, r, http.StatusCreated, out)
}

// uploadedDocuments turns an upload body into documents, extracting the
// text of every file; nothing is stored yet.
func (s *Server) uploadedDocuments(contentType string, body []byte) ([]kb.Document, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return nil, api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedType, "Content-Type %q: %v; send multipart/form-data files or application/json", contentType, err)
	}
	switch mt {
	case "multipart/form-data":
		return s.multipartDocuments(body, params["boundary"])
	case "application/json", "":
		var req api.AddDocumentsRequest
		if err := strictJSON(body, &req); err != nil {
			return nil, err
		}
		if len(req.Documents) == 0 {
			return nil, api.Errorf(http.StatusBadRequest, api.CodeEmptyField, "documents must hold at least one {\"id\",\"text\"}")
		}
		docs := make([]kb.Document, len(req.Documents))
		for i, d := range req.Documents {
			if strings.TrimSpace(d.ID) == "" || strings.TrimSpace(d.Text) == "" {
				return nil, api.Errorf(http.StatusBadRequest, api.CodeEmptyField, "documents[%d] needs a non-empty id and text", i)
			}
			if !utf8.ValidString(d.Text) {
				return nil, api.Errorf(http.StatusBadRequest, api.CodeInvalidUTF8, "documents[%d].text is not valid UTF-8", i)
			}
			title := d.Title
			if title == "" {
				title = d.ID
			}
			docs[i] = kb.Document{ID: d.ID, Title: title, Source: d.Source, Text: d.Text, Metadata: d.Metadata}
		}
		return docs, nil
	}
	return nil, api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedType,
		"Content-Type %q: send files as multipart/form-data or documents as application/json", mt)
}

func (s *Server) multipartDocuments(body []byte, boundary string) ([]kb.Document, error) {
	if boundary == "" {
		return nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var docs []kb.Document
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "malformed multipart body: %v", err)
		}
		raw := part.FileName()
		if raw == "" {
			part.Close()
			continue // a plain form field
		}
		// The name is only ever an ID and a title, never a path on disk;
		// still, keep its last element so "../../etc/passwd" is "passwd".
		name := path.Base(strings.ReplaceAll(raw, "\\", "/"))
		if name == "." || name == "/" || name == ".." || !utf8.ValidString(name) {
			part.Close()
			return nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "upload file name %q is not usable as a document id", raw)
		}
		data, err := io.ReadAll(part)
		part.Close()
		if err != nil {
			return nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "read upload %q: %v", name, err)
		}
		format, ok := ingest.FormatOf(name)
		if !ok || format == ingest.JSONL {
			return nil, api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedType,
				"%q: ask reads .txt, .md, .html and .pdf uploads (JSON lines go through ask add)", name)
		}
		ex, err := ingest.Extract(format, data, s.opts.Knowledge.Ingester.Limits)
		if err != nil {
			return nil, kbError(fmt.Errorf("%s: %w", name, err))
		}
		if strings.TrimSpace(ex.Text) == "" {
			return nil, api.Errorf(http.StatusBadRequest, api.CodeEmptyField, "%q has no text to index", name)
		}
		title := ex.Title
		if title == "" {
			title = name
		}
		docs = append(docs, kb.Document{ID: name, Title: title, Source: "upload:" + name, Text: ex.Text})
	}
	if len(docs) == 0 {
		return nil, api.Errorf(http.StatusBadRequest, api.CodeEmptyField, "the multipart body holds no file")
	}
	return docs, nil
}

// strictJSON decodes a body into v, refusing unknown fields and invalid
// text with the API's messages.
func strictJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidUTF8, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidJSON, "invalid request: %v", err)
	}
	return nil
}

// retriever picks the retriever of a mode; "" is hybrid when the
// collection has vectors and an embedder is loaded, lexical otherwise.
func (s *Server) retriever(ctx context.Context, k *Knowledge, collection, mode string) (retrieve.Retriever, string, error) {
	if mode == "" {
		mode = string(retrieve.Lexical)
		if k.Embedder != nil {
			c, err := k.Store.Collection(ctx, collection)
			if err != nil {
				return nil, "", kbError(err)
			}
			if c.Dim > 0 {
				mode = string(retrieve.Hybrid)
			}
		}
	}
	m, err := retrieve.ParseMode(mode)
	if err != nil {
		return nil, "", api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "%v", err)
	}
	rt, err := retrieve.New(m, k.Store, k.Embedder)
	if err != nil {
		return nil, "", api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "%v", err)
	}
	return rt, mode, nil
}

func kbFilter(f *api.Filter) kb.Filter {
	if f == nil {
		return kb.Filter{}
	}
	return kb.Filter{DocIDs: f.DocIDs, Metadata: f.Metadata}
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	k, ok := s.knowledge(w, r)
	if !ok {
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := api.DecodeSearch(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	collection := r.PathValue("collection")
	rt, mode, err := s.retriever(r.Context(), k, collection, req.Mode)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ps, err := rt.Retrieve(r.Context(), retrieve.Request{Collection: collection, Query: req.Query, K: req.TopK, Filter: kbFilter(req.Filter)})
	if err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	writeJSON(w, r, http.StatusOK, api.SearchResponse{Collection: collection, Mode: mode, Passages: answer.APIPassages(ps), TookMS: msSince(start)})
}

func (s *Server) handleCollectionAsk(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if _, ok := s.knowledge(w, r); !ok {
		return
	}
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
	req, err := api.DecodeCollectionAsk(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Collection != "" && req.Collection != r.PathValue("collection") {
		s.fail(w, r, api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter,
			"the body names collection %q, the path %q: leave it out of the body", req.Collection, r.PathValue("collection")))
		return
	}
	req.Collection = r.PathValue("collection")
	s.askCollection(w, r, req, gen, start)
}

// askCollection answers a question over a collection (for its own route
// and for POST /api/ask with "collection"); gen asks for a generated
// answer as well.
func (s *Server) askCollection(w http.ResponseWriter, r *http.Request, req api.CollectionAskRequest, gen api.GenerateOptions, start time.Time) {
	k, ok := s.knowledge(w, r)
	if !ok {
		return
	}
	if n := utf8.RuneCountInString(req.Question); n > s.opts.MaxContextChars {
		s.fail(w, r, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeContextTooLong,
			"question is %d characters; this server accepts at most %d (ASK_MAX_CONTEXT_CHARS)", n, s.opts.MaxContextChars))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	rt, mode, err := s.retriever(ctx, k, req.Collection, req.Mode)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a := &answer.Asker{Retriever: rt, Reader: s.reader, Store: k.Store, MinScore: k.MinScore}
	resp, err := a.Ask(ctx, answer.Request{Collection: req.Collection, Question: req.Question, TopK: req.TopK,
		Passages: req.Passages, Filter: kbFilter(req.Filter), Params: reader.Params{MaxAnswerLen: req.MaxAnswerLen}})
	if err != nil {
		s.fail(w, r, kbError(err))
		return
	}
	out := answer.APIResponse(resp, mode)
	out.Timings.TotalMS = msSince(start)
	if gen.Generate {
		s.collectionGenerated(ctx, w, r, gen, k, req, resp, out)
		return
	}
	writeJSON(w, r, http.StatusOK, out)
}

// namesCollection reports whether a POST /api/ask body is a question over
// a collection: an object with a "collection" key.
func namesCollection(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	_, ok := m["collection"]
	return ok
}
