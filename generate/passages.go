package generate

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/retrieve"
)

// ContextPieceChars is the length, in code points, of the pieces a context
// too long for the prompt is cut into.
const ContextPieceChars = 1200

// ContextPassages turns a question's context into passages. A context the
// prompt of g shows whole is one passage; a longer one is cut into pieces
// of about ContextPieceChars code points at paragraph, sentence or word
// ends, ordered best first: the piece holding code point focus (where the
// extractive reader found its answer; -1 for none) and then the others by
// their distance from it, so that the prompt's budget keeps the text
// around the answer. Offsets are code points of the context.
func ContextPassages(g Generator, question, context string, focus int) []Passage {
	n := utf8.RuneCountInString(context)
	whole := []Passage{{Text: context, Start: 0, End: n}}
	if info := promptOf(g, Request{Question: question, Passages: whole}).Info; len(info.Passages) == 1 && !info.Passages[0].Trimmed {
		return whole
	}
	pieces := cutPieces(context, ContextPieceChars)
	at := 0
	for i, p := range pieces {
		if focus >= p.Start && focus < p.End {
			at = i
		}
	}
	if focus < 0 {
		return pieces
	}
	// at, at+1, at-1, at+2, at-2, ...
	out := make([]Passage, 0, len(pieces))
	out = append(out, pieces[at])
	for d := 1; len(out) < len(pieces); d++ {
		if at+d < len(pieces) {
			out = append(out, pieces[at+d])
		}
		if at-d >= 0 {
			out = append(out, pieces[at-d])
		}
	}
	return out
}

// promptOf is g's prompt, or the default prompt when there is no generator
// (the sources of a "not configured" answer are the ones a default prompt
// would show).
func promptOf(g Generator, req Request) Prompt {
	if g == nil {
		return BuildPrompt(req, PromptOptions{})
	}
	return g.Prompt(req)
}

// Shown returns what the prompt of g (nil: the default prompt) shows of
// req's passages.
func Shown(g Generator, req Request) PromptInfo { return promptOf(g, req).Info }

// cutPieces cuts text into pieces of at most max code points (a word
// longer than that is cut inside), each ending after a paragraph break,
// else a sentence end, else a space, in the second half of its room.
// White space between pieces goes with the piece before.
func cutPieces(text string, max int) []Passage {
	var out []Passage
	startRune, startByte := 0, 0
	for startByte < len(text) {
		rest := text[startByte:]
		if utf8.RuneCountInString(rest) <= max {
			out = append(out, Passage{Text: rest, Start: startRune, End: startRune + utf8.RuneCountInString(rest)})
			break
		}
		limit := 0 // byte length of max runes of rest
		for k := 0; k < max; k++ {
			_, size := utf8.DecodeRuneInString(rest[limit:])
			limit += size
		}
		room := rest[:limit]
		cut := -1
		if i := strings.LastIndex(room, "\n\n"); i >= limit/2 {
			cut = i + 2
		} else if i := lastSentenceEnd(room); i >= limit/2 {
			cut = i
		} else if i := strings.LastIndexFunc(room, unicode.IsSpace); i >= limit/2 {
			cut = i
		}
		if cut <= 0 {
			cut = limit
		}
		// Keep the white space after the cut with this piece.
		for cut < len(rest) {
			r, size := utf8.DecodeRuneInString(rest[cut:])
			if !unicode.IsSpace(r) {
				break
			}
			cut += size
		}
		piece := rest[:cut]
		n := utf8.RuneCountInString(piece)
		out = append(out, Passage{Text: piece, Start: startRune, End: startRune + n})
		startRune += n
		startByte += cut
	}
	return out
}

// CollectionPassages turns retrieved passages (best first) into passages
// with code-point offsets in their documents, reading each cited document
// once from store. Source is the document's ID.
func CollectionPassages(ctx context.Context, store kb.Store, collection string, ps []retrieve.Passage) ([]Passage, error) {
	docs := map[string]string{}
	out := make([]Passage, 0, len(ps))
	for _, p := range ps {
		text, ok := docs[p.DocID]
		if !ok {
			d, err := store.Document(ctx, collection, p.DocID)
			if err != nil {
				return nil, fmt.Errorf("generate: read document %q for its offsets: %w", p.DocID, err)
			}
			text, docs[p.DocID] = d.Text, d.Text
		}
		if p.Start < 0 || p.End > len(text) || p.Start > p.End || text[p.Start:p.End] != p.Text {
			return nil, fmt.Errorf("generate: document %q changed while the question was answered; ask again", p.DocID)
		}
		start := utf8.RuneCountInString(text[:p.Start])
		out = append(out, Passage{Title: p.Title, Text: p.Text, Source: p.DocID, Start: start, End: start + utf8.RuneCountInString(p.Text)})
	}
	return out, nil
}
