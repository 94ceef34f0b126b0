package api

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
)

// ReaderEmbedding marks an embedding model in ModelInfo.Reader.
const ReaderEmbedding = "embedding"

// EmbeddingsRequest is the body of POST /v1/embeddings, OpenAI's shape, so
// that the official OpenAI clients work unchanged.
type EmbeddingsRequest struct {
	// Input is one text or several.
	Input []string `json:"input"`
	// Model names the embedding model; empty means the one served.
	Model string `json:"model,omitempty"`
	// EncodingFormat is "float" (the default) or "base64" (little-endian
	// float32, as OpenAI sends it).
	EncodingFormat string `json:"encoding_format,omitempty"`
	// Dimensions asks for shorter vectors; only the model's own size is
	// accepted (0: not given).
	Dimensions int `json:"dimensions,omitempty"`
	// User is accepted and ignored, as OpenAI uses it for abuse tracking.
	User string `json:"user,omitempty"`
	// PromptName picks a named prompt of the model (an ask extension, as in
	// sentence-transformers' encode(prompt_name=...)).
	PromptName string `json:"prompt_name,omitempty"`
	// InputType is "query" or "document" ("passage"), for models that embed
	// the two with different prompts (an ask extension; Cohere and Voyage
	// name it the same).
	InputType string `json:"input_type,omitempty"`
}

// EmbeddingsResponse is the reply of POST /v1/embeddings.
type EmbeddingsResponse struct {
	Object string          `json:"object"` // "list"
	Data   []Embedding     `json:"data"`
	Model  string          `json:"model"`
	Usage  EmbeddingsUsage `json:"usage"`
}

// Embedding is one input's vector.
type Embedding struct {
	Object    string `json:"object"` // "embedding"
	Index     int    `json:"index"`
	Embedding Vector `json:"embedding"`
}

// EmbeddingsUsage counts the tokens the model saw.
type EmbeddingsUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// Vector is an embedding written as a JSON array of numbers or, when
// Base64 is set, as the base64 of its little-endian float32 bytes.
type Vector struct {
	Values []float32
	Base64 bool
}

// MarshalJSON implements json.Marshaler.
func (v Vector) MarshalJSON() ([]byte, error) {
	if !v.Base64 {
		if v.Values == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(v.Values)
	}
	raw := make([]byte, 4*len(v.Values))
	for i, f := range v.Values {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(raw))
}

// UnmarshalJSON implements json.Unmarshaler: it reads either form.
func (v *Vector) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return err
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return err
		}
		if len(raw)%4 != 0 {
			return errors.New("base64 embedding is not a whole number of float32 values")
		}
		v.Values = make([]float32, len(raw)/4)
		for i := range v.Values {
			v.Values[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		v.Base64 = true
		return nil
	}
	v.Base64 = false
	return json.Unmarshal(b, &v.Values)
}

// TEIEmbedRequest is the body of POST /embed in the shape of Hugging Face
// Text Embeddings Inference.
type TEIEmbedRequest struct {
	Inputs []string `json:"inputs"`
	// Normalize asks for unit-length vectors (TEI's default: true).
	Normalize *bool `json:"normalize,omitempty"`
	// Truncate cuts inputs longer than the model's limit instead of
	// refusing them (TEI's default: false).
	Truncate   *bool  `json:"truncate,omitempty"`
	PromptName string `json:"prompt_name,omitempty"`
}

// DecodeEmbeddings parses a POST /v1/embeddings body.
func DecodeEmbeddings(body []byte) (EmbeddingsRequest, error) {
	m, err := decodeBodyObject(body)
	if err != nil {
		return EmbeddingsRequest{}, err
	}
	if err := checkKeys("", m, []string{"input", "model", "encoding_format", "dimensions", "user", "prompt_name", "input_type"}); err != nil {
		return EmbeddingsRequest{}, err
	}
	var req EmbeddingsRequest
	if req.Input, err = embedInputs("input", m["input"]); err != nil {
		return EmbeddingsRequest{}, err
	}
	for name, dst := range map[string]*string{"model": &req.Model, "encoding_format": &req.EncodingFormat,
		"user": &req.User, "prompt_name": &req.PromptName, "input_type": &req.InputType} {
		if *dst, err = optionalString(name, m[name]); err != nil {
			return EmbeddingsRequest{}, err
		}
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return EmbeddingsRequest{}, Errorf(http.StatusBadRequest, CodeInvalidParameter,
			"encoding_format %q is not supported; use \"float\" or \"base64\"", req.EncodingFormat)
	}
	switch req.InputType {
	case "", "query", "document", "passage":
	default:
		return EmbeddingsRequest{}, Errorf(http.StatusBadRequest, CodeInvalidParameter,
			"input_type %q is not supported; use \"query\" or \"document\"", req.InputType)
	}
	if raw, ok := m["dimensions"]; ok && jsonKind(raw) != "null" {
		if req.Dimensions, err = decodeInt("dimensions", raw); err != nil {
			return EmbeddingsRequest{}, err
		}
		if req.Dimensions < 1 {
			return EmbeddingsRequest{}, Errorf(http.StatusBadRequest, CodeInvalidParameter, "dimensions must be at least 1, got %d", req.Dimensions)
		}
	}
	return req, nil
}

// DecodeTEIEmbed parses a POST /embed body.
func DecodeTEIEmbed(body []byte) (TEIEmbedRequest, error) {
	m, err := decodeBodyObject(body)
	if err != nil {
		return TEIEmbedRequest{}, err
	}
	if err := checkKeys("", m, []string{"inputs", "normalize", "truncate", "prompt_name", "truncation_direction"}); err != nil {
		return TEIEmbedRequest{}, err
	}
	var req TEIEmbedRequest
	if req.Inputs, err = embedInputs("inputs", m["inputs"]); err != nil {
		return TEIEmbedRequest{}, err
	}
	for name, dst := range map[string]**bool{"normalize": &req.Normalize, "truncate": &req.Truncate} {
		raw, ok := m[name]
		if !ok || jsonKind(raw) == "null" {
			continue
		}
		if jsonKind(raw) != "boolean" {
			return TEIEmbedRequest{}, wrongType(name, "a boolean", raw)
		}
		v := bytes.HasPrefix(bytes.TrimSpace(raw), []byte("true"))
		*dst = &v
	}
	if req.PromptName, err = optionalString("prompt_name", m["prompt_name"]); err != nil {
		return TEIEmbedRequest{}, err
	}
	if raw, ok := m["truncation_direction"]; ok {
		dir, err := optionalString("truncation_direction", raw)
		if err != nil {
			return TEIEmbedRequest{}, err
		}
		if dir != "" && dir != "Right" && dir != "right" {
			return TEIEmbedRequest{}, Errorf(http.StatusBadRequest, CodeInvalidParameter,
				"truncation_direction %q is not supported; inputs are cut on the right", dir)
		}
	}
	return req, nil
}

func decodeBodyObject(body []byte) (map[string]json.RawMessage, error) {
	raw, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	if jsonKind(raw) != "object" {
		return nil, wrongType("request body", "a JSON object", raw)
	}
	return decodeObject("body", raw)
}

func optionalString(path string, raw json.RawMessage) (string, error) {
	if raw == nil || jsonKind(raw) == "null" {
		return "", nil
	}
	if jsonKind(raw) != "string" {
		return "", wrongType(path, "a string", raw)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", Errorf(http.StatusBadRequest, CodeInvalidJSON, "%s: %s", path, err.Error())
	}
	return s, nil
}

// embedInputs decodes a text or a non-empty list of texts. Token arrays,
// which OpenAI also takes, are refused by name: their ids would be of
// OpenAI's tokenizer, not the model's.
func embedInputs(path string, raw json.RawMessage) ([]string, error) {
	if raw == nil || jsonKind(raw) == "null" {
		return nil, missing(path)
	}
	if jsonKind(raw) == "array" {
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, Errorf(http.StatusBadRequest, CodeInvalidJSON, "%s: %s", path, err.Error())
		}
		if len(elems) > 0 && (jsonKind(elems[0]) == "number" || jsonKind(elems[0]) == "array") {
			return nil, Errorf(http.StatusBadRequest, CodeWrongType,
				"%s holds token ids; this server takes text only (token ids are specific to one tokenizer): send strings", path)
		}
	}
	list, _, err := stringOrList(path, raw)
	if err != nil {
		return nil, err
	}
	return list, nil
}

// InputIndex names element i of an input list in error messages.
func InputIndex(path string, i, n int) string {
	if n == 1 {
		return path
	}
	return path + "[" + strconv.Itoa(i) + "]"
}
