// Package embed is the seam for sentence embeddings: the Embedder
// interface that the knowledge base, the server and the CLI consume, with
// its options and results. It imports nothing but the standard library;
// embed/sentence implements it on the engine (sentence-transformers
// folders and the built-in model), embed/embedtest fakes it.
package embed

import (
	"context"
	"errors"
	"math"
)

// Embedder computes sentence embeddings. Implementations are safe for
// concurrent use. The knowledge base, the server and the CLI depend on this
// interface only; embedtest.Fake stands in for a model in their tests.
type Embedder interface {
	// Embed returns one result per text, in order.
	Embed(ctx context.Context, texts []string, opts Options) ([]Result, error)
	// Info describes the model.
	Info() Info
}

// Role says what a text is, for models that embed queries and documents
// with different prompts (E5's "query: " / "passage: ", BGE's instruction).
type Role int

const (
	// RoleNone uses the model's default prompt, if any.
	RoleNone Role = iota
	// RoleQuery marks a search query: the prompt named "query".
	RoleQuery
	// RoleDocument marks a passage to be searched: the prompt named
	// "document" or, failing that, "passage".
	RoleDocument
)

// Options tune one Embed call.
type Options struct {
	// Prompt names a prompt of the model's config_sentence_transformers.json;
	// it wins over Role. An unknown name is an error (ErrUnknownPrompt).
	Prompt string
	// Role picks a prompt by what the texts are, when Prompt is empty; a
	// model without such a prompt embeds the text as is.
	Role Role
	// NoTruncate refuses texts longer than the model's limit with ErrTooLong
	// (before any computing) instead of cutting them.
	NoTruncate bool
	// Unnormalized skips a Normalize module, returning the pooled vectors
	// as they are (TEI's normalize=false).
	Unnormalized bool
}

// Result is one text's embedding.
type Result struct {
	Vector []float32
	// Tokens counts the tokens the model saw, special tokens and prompt
	// included.
	Tokens int
	// Truncated reports that the text was cut to the model's max_seq_length.
	Truncated bool
	// Unknown is the share of the text's tokens (specials and prompt
	// aside) that are the model's unknown token: how little of the text
	// the model can see. A model whose vocabulary covers the text's
	// language, or one that cannot tell (byte-level BPE), gives 0.
	Unknown float64
}

// Info describes a loaded embedding model.
type Info struct {
	// Name is how the model was named (a folder, a Hub id or "builtin").
	Name string
	// Dim is the length of every vector.
	Dim int
	// MaxSeqLen is the longest input in tokens; longer texts are truncated.
	MaxSeqLen int
	// Normalized reports unit-length vectors (a Normalize module), for which
	// the dot product is the cosine.
	Normalized bool
	// Similarity is sentence-transformers' similarity_fn_name ("cosine",
	// "dot", "euclidean", "manhattan").
	Similarity string
	// Pooling is "cls", "mean", "max" or "lasttoken".
	Pooling string
	// Prompts are the named prompts the model defines.
	Prompts map[string]string
}

var (
	// ErrUnknownPrompt means Options.Prompt names no prompt of the model.
	ErrUnknownPrompt = errors.New("embed: unknown prompt")
	// ErrInput means a text cannot be embedded (for example invalid UTF-8).
	ErrInput = errors.New("embed: invalid input")
	// ErrTooLong means a text exceeds the model's limit and Options said
	// not to truncate.
	ErrTooLong = errors.New("embed: text longer than the model's limit")
)

// Normalize scales v to unit length in place, as sentence-transformers'
// Normalize module (torch.nn.functional.normalize) does: v / max(‖v‖,
// 1e-12), summed in float32 like torch.
func Normalize(v []float32) {
	var ss float32
	for _, x := range v {
		ss += x * x
	}
	n := max(float32(math.Sqrt(float64(ss))), 1e-12)
	for i := range v {
		v[i] /= n
	}
}
