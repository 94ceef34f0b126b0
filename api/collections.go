package api

import (
	"net/http"
	"time"
)

// Error codes of the knowledge-base routes.
const (
	// CodeConflict: the collection exists already, or holds vectors of
	// another embedding model.
	CodeConflict = "conflict"
	// CodeUnsupportedType: an upload of a kind ask does not read.
	CodeUnsupportedType = "unsupported_type"
	// CodeCorruptFile: an upload that does not parse as its type says.
	CodeCorruptFile = "corrupt_file"
)

// Collection describes a collection of documents.
type Collection struct {
	Name string `json:"name"`
	// Embedder is the embedding model of its vectors ("" for a lexical-only
	// collection), Dim their length.
	Embedder  string    `json:"embedder,omitempty"`
	Dim       int       `json:"dim,omitempty"`
	Documents int       `json:"documents"`
	Chunks    int       `json:"chunks"`
	Created   time.Time `json:"created"`
}

// CollectionList is the reply of GET /v1/collections.
type CollectionList struct {
	Collections []Collection `json:"collections"`
}

// CreateCollectionRequest is the body of POST /v1/collections.
type CreateCollectionRequest struct {
	Name string `json:"name"`
}

// Document describes a stored document; Text is set when one document is
// read.
type Document struct {
	ID       string            `json:"id"`
	Title    string            `json:"title,omitempty"`
	Source   string            `json:"source,omitempty"`
	Hash     string            `json:"hash,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Added    time.Time         `json:"added"`
	Chunks   int               `json:"chunks"`
	Text     string            `json:"text,omitempty"`
}

// DocumentList is a page of GET /v1/collections/{c}/documents; Next is the
// `after` of the next page, empty on the last.
type DocumentList struct {
	Documents []Document `json:"documents"`
	Next      string     `json:"next,omitempty"`
}

// DocumentInput is a document sent as JSON to POST
// /v1/collections/{c}/documents.
type DocumentInput struct {
	ID       string            `json:"id"`
	Title    string            `json:"title,omitempty"`
	Source   string            `json:"source,omitempty"`
	Text     string            `json:"text"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// AddDocumentsRequest is the JSON body of POST /v1/collections/{c}/documents
// (uploads use multipart/form-data instead).
type AddDocumentsRequest struct {
	Documents []DocumentInput `json:"documents"`
}

// AddedDocument says what became of one document: "added", "replaced" or
// "unchanged". It is in the reply only once it is durable.
type AddedDocument struct {
	ID     string `json:"id"`
	Title  string `json:"title,omitempty"`
	Status string `json:"status"`
	Chunks int    `json:"chunks"`
}

// AddDocumentsResponse is the reply of POST /v1/collections/{c}/documents.
type AddDocumentsResponse struct {
	Collection string          `json:"collection"`
	Documents  []AddedDocument `json:"documents"`
}

// Filter narrows a search or a question to some documents.
type Filter struct {
	// DocIDs keeps these documents only.
	DocIDs []string `json:"doc_ids,omitempty"`
	// Metadata keeps documents whose metadata has each key with this value.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// SearchRequest is the body of POST /v1/collections/{c}/search.
type SearchRequest struct {
	Query string `json:"query"`
	// TopK is the number of passages (default 10, at most 100).
	TopK int `json:"top_k,omitempty"`
	// Mode is "hybrid" (default when the collection has vectors),
	// "lexical" or "dense".
	Mode   string  `json:"mode,omitempty"`
	Filter *Filter `json:"filter,omitempty"`
}

// RetrievalScores says what each retriever thought of a passage; a rank of
// 0 means that retriever did not return it.
type RetrievalScores struct {
	Lexical     float64 `json:"lexical"`
	LexicalRank int     `json:"lexical_rank"`
	Dense       float64 `json:"dense"`
	DenseRank   int     `json:"dense_rank"`
	Fused       float64 `json:"fused"`
}

// Passage is a retrieved chunk of a document. ByteStart and ByteEnd locate
// it in the document's text.
type Passage struct {
	DocID     string          `json:"doc_id"`
	Title     string          `json:"title,omitempty"`
	Source    string          `json:"source,omitempty"`
	Seq       int             `json:"seq"`
	Text      string          `json:"text"`
	ByteStart int             `json:"byte_start"`
	ByteEnd   int             `json:"byte_end"`
	Score     float64         `json:"score"`
	Scores    RetrievalScores `json:"scores"`
}

// SearchResponse is the reply of POST /v1/collections/{c}/search.
type SearchResponse struct {
	Collection string    `json:"collection"`
	Mode       string    `json:"mode"`
	Passages   []Passage `json:"passages"`
	TookMS     float64   `json:"took_ms"`
}

// CollectionAskRequest is the body of POST /v1/collections/{c}/ask (and of
// POST /api/ask with "collection").
type CollectionAskRequest struct {
	Question   string `json:"question"`
	Collection string `json:"collection,omitempty"`
	// TopK is the number of distinct answers (default 1).
	TopK int `json:"top_k,omitempty"`
	// Passages is how many retrieved passages the reader reads (default 10,
	// at most 50).
	Passages int     `json:"passages,omitempty"`
	Mode     string  `json:"mode,omitempty"`
	Filter   *Filter `json:"filter,omitempty"`
	// MaxAnswerLen is the longest answer in tokens (default 15, or 64 for
	// a question the built-in model reads with its multilingual model).
	MaxAnswerLen int `json:"max_answer_len,omitempty"`
}

// Citation locates an answer in its document: Start and End count
// characters (code points) of the document's text, ByteStart and ByteEnd
// its bytes; Passage is the chunk it was read in, at PassageStart to
// PassageEnd, the answer at AnswerStart to AnswerEnd within it.
type Citation struct {
	Collection   string `json:"collection"`
	DocID        string `json:"doc_id"`
	Title        string `json:"title,omitempty"`
	Source       string `json:"source,omitempty"`
	Start        int    `json:"start"`
	End          int    `json:"end"`
	ByteStart    int    `json:"byte_start"`
	ByteEnd      int    `json:"byte_end"`
	Passage      string `json:"passage"`
	PassageStart int    `json:"passage_start"`
	PassageEnd   int    `json:"passage_end"`
	AnswerStart  int    `json:"answer_start"`
	AnswerEnd    int    `json:"answer_end"`
}

// CollectionAnswer is one answer over a collection.
type CollectionAnswer struct {
	Answer string  `json:"answer"`
	Score  float64 `json:"score"`
	// PassageRank is the cited passage's place in retrieval order, from 1.
	PassageRank int `json:"passage_rank"`
	// Support counts the passages that gave this answer.
	Support  int      `json:"support"`
	Citation Citation `json:"citation"`
}

// CollectionAskResponse is the reply of POST /v1/collections/{c}/ask.
// Answer and Score repeat the best answer's ("" and NoAnswer when no
// passage held an answer the reader was confident enough of).
type CollectionAskResponse struct {
	Answer   string             `json:"answer"`
	Score    float64            `json:"score"`
	NoAnswer bool               `json:"no_answer"`
	Answers  []CollectionAnswer `json:"answers"`
	Passages []Passage          `json:"passages"`
	Reader   string             `json:"reader"`
	Model    string             `json:"model,omitempty"`
	// Warning is AnswerResponse.Warning: the model does not cover the
	// question's language.
	Warning string     `json:"warning,omitempty"`
	Mode    string     `json:"mode"`
	Timings AskTimings `json:"timings"`
}

// AskTimings split a question over a collection, in milliseconds.
type AskTimings struct {
	RetrieveMS float64 `json:"retrieve_ms"`
	QueueMS    float64 `json:"queue_ms"`
	ReadMS     float64 `json:"read_ms"`
	TotalMS    float64 `json:"total_ms"`
}

// DecodeCollectionAsk parses the body of POST /v1/collections/{c}/ask, or
// of POST /api/ask when it names a collection.
func DecodeCollectionAsk(body []byte) (CollectionAskRequest, error) {
	m, err := decodeBodyObject(body)
	if err != nil {
		return CollectionAskRequest{}, err
	}
	if err := checkKeys("", m, []string{"question", "collection", "top_k", "passages", "mode", "filter", "max_answer_len"}); err != nil {
		return CollectionAskRequest{}, err
	}
	var r CollectionAskRequest
	if r.Question, err = requiredString("question", m["question"]); err != nil {
		return r, err
	}
	if r.Collection, err = optionalString("collection", m["collection"]); err != nil {
		return r, err
	}
	if r.Mode, err = optionalString("mode", m["mode"]); err != nil {
		return r, err
	}
	for name, dst := range map[string]*int{"top_k": &r.TopK, "passages": &r.Passages, "max_answer_len": &r.MaxAnswerLen} {
		raw, ok := m[name]
		if !ok || jsonKind(raw) == "null" {
			continue
		}
		if *dst, err = decodeInt(name, raw); err != nil {
			return r, err
		}
	}
	if r.TopK < 0 || r.TopK > 20 {
		return r, Errorf(http.StatusBadRequest, CodeInvalidParameter, "top_k must be from 1 to 20, got %d", r.TopK)
	}
	if r.Passages < 0 || r.Passages > 50 {
		return r, Errorf(http.StatusBadRequest, CodeInvalidParameter, "passages must be from 1 to 50, got %d", r.Passages)
	}
	if r.MaxAnswerLen < 0 || r.MaxAnswerLen > 512 {
		return r, Errorf(http.StatusBadRequest, CodeInvalidParameter, "max_answer_len must be from 1 to 512, got %d", r.MaxAnswerLen)
	}
	if r.Filter, err = decodeFilter(m["filter"]); err != nil {
		return r, err
	}
	return r, nil
}

// DecodeSearch parses the body of POST /v1/collections/{c}/search.
func DecodeSearch(body []byte) (SearchRequest, error) {
	m, err := decodeBodyObject(body)
	if err != nil {
		return SearchRequest{}, err
	}
	if err := checkKeys("", m, []string{"query", "top_k", "mode", "filter"}); err != nil {
		return SearchRequest{}, err
	}
	var r SearchRequest
	if r.Query, err = requiredString("query", m["query"]); err != nil {
		return r, err
	}
	if r.Mode, err = optionalString("mode", m["mode"]); err != nil {
		return r, err
	}
	if raw, ok := m["top_k"]; ok && jsonKind(raw) != "null" {
		if r.TopK, err = decodeInt("top_k", raw); err != nil {
			return r, err
		}
	}
	if r.TopK < 0 || r.TopK > 100 {
		return r, Errorf(http.StatusBadRequest, CodeInvalidParameter, "top_k must be from 1 to 100, got %d", r.TopK)
	}
	if r.Filter, err = decodeFilter(m["filter"]); err != nil {
		return r, err
	}
	return r, nil
}

func decodeFilter(raw []byte) (*Filter, error) {
	if raw == nil || jsonKind(raw) == "null" {
		return nil, nil
	}
	if jsonKind(raw) != "object" {
		return nil, wrongType("filter", "an object {doc_ids, metadata}", raw)
	}
	m, err := decodeObject("filter", raw)
	if err != nil {
		return nil, err
	}
	if err := checkKeys("filter.", m, []string{"doc_ids", "metadata"}); err != nil {
		return nil, err
	}
	f := &Filter{}
	if raw, ok := m["doc_ids"]; ok && jsonKind(raw) != "null" {
		ids, _, err := stringOrList("filter.doc_ids", raw)
		if err != nil {
			return nil, err
		}
		f.DocIDs = ids
	}
	if raw, ok := m["metadata"]; ok && jsonKind(raw) != "null" {
		if jsonKind(raw) != "object" {
			return nil, wrongType("filter.metadata", "an object of strings", raw)
		}
		md, err := decodeObject("filter.metadata", raw)
		if err != nil {
			return nil, err
		}
		f.Metadata = map[string]string{}
		for k, v := range md {
			s, err := requiredString("filter.metadata."+k, v)
			if err != nil {
				return nil, err
			}
			f.Metadata[k] = s
		}
	}
	return f, nil
}
