// Package embedtest provides a deterministic embed.Embedder for tests of the
// packages that consume embeddings (knowledge base, server, CLI), so they
// run without a model.
package embedtest

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/askqa/ask/embed"
)

// Fake embeds a text as the normalised bag of its lower-cased words (and,
// for CJK, characters), hashed into Dim buckets: texts sharing words are
// close, which is enough for retrieval tests to be meaningful. Its "tokens"
// are the words plus two specials; it has no prompts, so a named prompt is
// embed.ErrUnknownPrompt; with NoTruncate a text of more than MaxSeqLen
// tokens is embed.ErrTooLong, as with a real model.
type Fake struct {
	Dim       int // default 64
	MaxSeqLen int // default 512
}

// Info implements embed.Embedder.
func (f Fake) Info() embed.Info {
	return embed.Info{Name: "fake", Dim: f.dim(), MaxSeqLen: f.maxSeqLen(), Normalized: true, Similarity: "cosine", Pooling: "mean"}
}

func (f Fake) maxSeqLen() int {
	if f.MaxSeqLen <= 0 {
		return 512
	}
	return f.MaxSeqLen
}

func (f Fake) dim() int {
	if f.Dim <= 0 {
		return 64
	}
	return f.Dim
}

// Embed implements embed.Embedder.
func (f Fake) Embed(ctx context.Context, texts []string, opts embed.Options) ([]embed.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Prompt != "" {
		return nil, fmt.Errorf("%w %q: model fake defines no prompts", embed.ErrUnknownPrompt, opts.Prompt)
	}
	out := make([]embed.Result, len(texts))
	for i, t := range texts {
		if !utf8.ValidString(t) {
			return nil, fmt.Errorf("%w: text %d is not valid UTF-8", embed.ErrInput, i)
		}
		ws := words(t)
		limit := f.maxSeqLen() - 2
		cut := len(ws) > limit
		if cut && opts.NoTruncate {
			return nil, fmt.Errorf("%w: text %d has more than %d tokens", embed.ErrTooLong, i, f.maxSeqLen())
		}
		if cut {
			ws = ws[:limit]
		}
		v := make([]float32, f.dim())
		n := 0
		for _, w := range ws {
			h := fnv.New32a()
			h.Write([]byte(w))
			v[h.Sum32()%uint32(len(v))]++
			n++
		}
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		if ss > 0 {
			inv := float32(1 / math.Sqrt(ss))
			for j := range v {
				v[j] *= inv
			}
		}
		out[i] = embed.Result{Vector: v, Tokens: n + 2, Truncated: cut}
	}
	return out, nil
}

func words(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}) {
		if strings.IndexFunc(w, func(r rune) bool { return unicode.Is(unicode.Han, r) }) < 0 {
			out = append(out, w)
			continue
		}
		for _, r := range w {
			out = append(out, string(r))
		}
	}
	return out
}
