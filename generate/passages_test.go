package generate

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/askqa/ask/api"
)

func TestCutPieces(t *testing.T) {
	for _, text := range []string{
		"",
		"short",
		strings.Repeat("Une phrase courte, café crème. ", 200),
		strings.Repeat("段落。", 1000) + "\n\n" + strings.Repeat("word ", 500),
		strings.Repeat("x", 3000), // no break at all
	} {
		pieces := cutPieces(text, 100)
		var b strings.Builder
		end := 0
		for i, p := range pieces {
			n := utf8.RuneCountInString(p.Text)
			// White space after a cut goes with the piece, past max.
			if p.Start != end || p.End != p.Start+n || n == 0 || utf8.RuneCountInString(strings.TrimRightFunc(p.Text, unicode.IsSpace)) > 100 {
				t.Fatalf("piece %d [%d:%d] of %d code points after %d", i, p.Start, p.End, n, end)
			}
			end = p.End
			b.WriteString(p.Text)
		}
		if b.String() != text {
			t.Errorf("pieces do not rebuild the text %.30q", text)
		}
	}
	// Cuts fall at sentence ends where there are some.
	for _, p := range cutPieces(strings.Repeat("Une phrase courte, café crème. ", 200), 100) {
		if !strings.HasSuffix(p.Text, ". ") {
			t.Errorf("piece %q does not end a sentence", p.Text)
		}
	}
}

func TestContextPassages(t *testing.T) {
	short := "The tower is in Paris."
	if ps := ContextPassages(nil, "q", short, 4); len(ps) != 1 || ps[0].Text != short || ps[0].End != len(short) {
		t.Errorf("short context: %+v", ps)
	}
	long := strings.Repeat("Filler words go here and on. ", 1000) + "The key is under the mat. " + strings.Repeat("More filler. ", 500)
	focus := strings.Index(long, "The key")
	ps := ContextPassages(nil, "where is the key?", long, focus)
	if len(ps) < 3 || !strings.Contains(ps[0].Text, "The key is under the mat.") {
		t.Fatalf("long context: %d passages, first %.60q", len(ps), ps[0].Text)
	}
	// Then by distance: the neighbours come next.
	if d1, d2 := ps[1].Start-ps[0].End, ps[0].Start-ps[2].End; d1 != 0 || d2 != 0 {
		t.Errorf("second and third passages are not the first's neighbours: %d %d", d1, d2)
	}
	if n := len(ContextPassages(nil, "q", long, -1)); n != len(ps) {
		t.Errorf("without focus %d passages, with %d", n, len(ps))
	}
}

func TestAPIError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind string
	}{
		{&Error{Kind: KindRateLimited, RetryAfter: 7 * time.Second, Message: "429"}, api.GenRateLimited},
		{&Error{Kind: KindUnreachable, Message: "no"}, api.GenUnreachable},
		{&Error{Kind: KindTimeout, Message: "slow"}, api.GenTimeout},
		{&Error{Kind: KindUnauthorized, Message: "key"}, api.GenUnauthorized},
		{&Error{Kind: KindBadResponse, Message: "junk"}, api.GenBadResponse},
		{&Error{Kind: KindUpstream, Message: "5xx"}, api.GenUpstreamError},
		{&Error{Kind: KindBadRequest, Message: "4xx"}, api.GenBadRequest},
		{&Error{Kind: KindCanceled, Message: "gone"}, api.GenCanceled},
		{errors.New("other"), api.GenUpstreamError},
	} {
		e := APIError(tc.err)
		if e.Kind != tc.kind || e.Message == "" {
			t.Errorf("%v: %+v, want kind %s", tc.err, e, tc.kind)
		}
		if tc.kind == api.GenRateLimited && e.RetryAfterSeconds != 7 {
			t.Errorf("retry after %v", e.RetryAfterSeconds)
		}
	}
}

func TestAPISources(t *testing.T) {
	ps := []Passage{{Title: "A", Text: "café crème brûlée", Source: "a.md", Start: 10, End: 27}, {Text: "dropped", Start: 0, End: 7}}
	got := APISources(ps, PromptInfo{Passages: []ShownPassage{{Chars: 10, Trimmed: true}}}, "docs")
	want := api.Source{N: 1, Title: "A", DocumentID: "a.md", Collection: "docs", Text: "café crème", Start: 10, End: 20}
	if len(got) != 1 || got[0] != want {
		t.Errorf("sources %+v, want %+v", got, want)
	}
}
