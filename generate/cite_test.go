package generate

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

var eiffel = []Passage{
	{Title: "Eiffel Tower", Source: "doc-1", Start: 100, End: 186,
		Text: "The Eiffel Tower is in Paris. It was completed in 1889 for the World's Fair."},
	{Title: "Paris", Source: "doc-2",
		Text: "Paris is the capital of France. It lies on the Seine."},
}

func shownAll(ps []Passage) []ShownPassage {
	out := make([]ShownPassage, len(ps))
	for i, p := range ps {
		out[i] = ShownPassage{Chars: utf8.RuneCountInString(p.Text)}
	}
	return out
}

func TestSplitSentences(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"", nil},
		{"One sentence", []string{"One sentence"}},
		{"First. Second! Third? ", []string{"First.", "Second!", "Third?"}},
		{"It is 3.5 m tall. Next.", []string{"It is 3.5 m tall.", "Next."}},
		{"In 1889 [1]. In Paris [2].", []string{"In 1889 [1].", "In Paris [2]."}},
		{"In 1889. [1] In Paris. [2][3]", []string{"In 1889. [1]", "In Paris. [2][3]"}},
		{"In 1889.[1] Then.", []string{"In 1889.[1]", "Then."}},
		{"He said \"yes.\" Then left.", []string{"He said \"yes.\"", "Then left."}},
		{"Wait... what?! Ok.", []string{"Wait...", "what?!", "Ok."}},
		{"- one [1]\n- two [2]\n\nEnd.", []string{"- one [1]", "- two [2]", "End."}},
		{"巴黎是法国的首都。它在塞纳河畔[1]。", []string{"巴黎是法国的首都。", "它在塞纳河畔[1]。"}},
		{"Paris [1], on the Seine [2].", []string{"Paris [1], on the Seine [2]."}},
	} {
		var got []string
		for _, s := range splitSentences(tc.text) {
			got = append(got, tc.text[s.start:s.end])
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitSentences(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestMarkerNumbers(t *testing.T) {
	for _, tc := range []struct {
		marker string
		want   []int
	}{
		{"[1]", []int{1}},
		{"[ 12 ]", []int{12}},
		{"[1, 2]", []int{1, 2}},
		{"[1,2;4]", []int{1, 2, 4}},
		{"[2-4]", []int{2, 3, 4}},
		{"[2–3]", []int{2, 3}},
		{"[1 and 3]", []int{1, 3}},
		{"[Passage 2]", []int{2}},
		{"[sources 1, 2]", []int{1, 2}},
		{"[#3]", []int{3}},
		{"[1, 1]", []int{1}},
		{"[4-2]", []int{4, 2}},
		{"[1-999999]", []int{1, 999999}}, // beyond maxRange: the ends only
	} {
		if !citeGroup.MatchString(tc.marker) {
			t.Errorf("%q is not recognised as a citation", tc.marker)
			continue
		}
		if got := markerNumbers(tc.marker); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("markerNumbers(%q) = %v, want %v", tc.marker, got, tc.want)
		}
	}
	for _, notCite := range []string{"[a]", "[]", "[1a]", "[x1]", "[1234567]", "[-1]"} {
		if citeGroup.MatchString(notCite) {
			t.Errorf("%q taken for a citation", notCite)
		}
	}
}

func TestCheckCitations(t *testing.T) {
	answer := "The tower is in Paris [1][2]. It was completed in 1889 [1, 3]. Paris is lovely. [0]"
	got := CheckCitations(answer, eiffel, shownAll(eiffel))

	type cite struct{ n, passage, start, end, supStart, supEnd int }
	var cited []cite
	for _, c := range got.Cited {
		cited = append(cited, cite{c.Number, c.Passage, c.Start, c.End, c.SupportStart, c.SupportEnd})
	}
	want := []cite{
		// Passage 1 sits at 100..176 of doc-1: its first sentence shares
		// "tower", "is", "in", "paris" with the citing one.
		{1, 0, 100, 176, 100, 129},
		// Passage 2 is a whole source (offsets 0): "paris" is in its first sentence.
		{2, 1, 0, 53, 0, 31},
		// "completed in 1889" is the second sentence of passage 1.
		{1, 0, 100, 176, 130, 176},
	}
	if !reflect.DeepEqual(cited, want) {
		t.Errorf("cited = %+v\nwant    %+v", cited, want)
	}
	c := got.Cited[0]
	if c.Source != "doc-1" || c.Title != "Eiffel Tower" {
		t.Errorf("citation 1 source/title = %q/%q", c.Source, c.Title)
	}
	if m := []rune(answer)[c.MarkerStart:c.MarkerEnd]; string(m) != "[1]" {
		t.Errorf("marker offsets give %q", string(m))
	}
	if s := string([]rune(answer)[c.SentenceStart:c.SentenceEnd]); s != "The tower is in Paris [1][2]." {
		t.Errorf("sentence offsets give %q", s)
	}
	var missing []int
	for _, m := range got.Missing {
		missing = append(missing, m.Number)
		if m.Passage != -1 {
			t.Errorf("missing citation %d has passage %d", m.Number, m.Passage)
		}
	}
	if !reflect.DeepEqual(missing, []int{3, 0}) {
		t.Errorf("missing = %v, want [3 0]", missing)
	}
	if len(got.Uncited) != 1 || got.Uncited[0].Text != "Paris is lovely. [0]" {
		t.Errorf("uncited = %+v, want the one sentence citing only [0]", got.Uncited)
	}
	u := got.Uncited[0]
	if s := string([]rune(answer)[u.Start:u.End]); s != u.Text {
		t.Errorf("uncited offsets give %q, text %q", s, u.Text)
	}
}

func TestCheckCitationsTrimmedAndDropped(t *testing.T) {
	// Passage 1 was cut after its first sentence, passage 2 dropped: a
	// citation of 2 is to a passage the model never saw.
	shown := []ShownPassage{{Chars: 29, Trimmed: true}}
	got := CheckCitations("It was completed in 1889 [1]. Paris is the capital [2].", eiffel, shown)
	if len(got.Cited) != 1 || got.Cited[0].End != 129 || got.Cited[0].SupportEnd > 129 {
		t.Errorf("cited = %+v, want passage 1 bounded by what was shown (end 129)", got.Cited)
	}
	if len(got.Missing) != 1 || got.Missing[0].Number != 2 {
		t.Errorf("missing = %+v, want [2]", got.Missing)
	}
	if len(got.Uncited) != 1 {
		t.Errorf("uncited = %+v, want the sentence citing only the dropped passage", got.Uncited)
	}
}

func TestCheckCitationsNoWords(t *testing.T) {
	got := CheckCitations("[1]\n\n…\n- ", eiffel, shownAll(eiffel))
	if len(got.Uncited) != 0 {
		t.Errorf("uncited = %+v; a line of punctuation states nothing", got.Uncited)
	}
	if got.Cited == nil || got.Missing == nil || got.Uncited == nil {
		t.Error("empty lists must be non-nil so they encode as []")
	}
}

func FuzzCheckCitations(f *testing.F) {
	for _, s := range []string{
		"The tower is in Paris [1][2]. It was completed in 1889 [1, 3].",
		"巴黎是法国的首都[2]。", "[1-4]. [0] x.[2]y", "\xff[1]\n. [", "a [Passage 2 and 1]. \"b.\" [2]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, answer string) {
		got := CheckCitations(answer, eiffel, shownAll(eiffel))
		runes := utf8.RuneCountInString(answer)
		for _, c := range append(got.Cited, got.Missing...) {
			if c.MarkerStart < c.SentenceStart || c.MarkerEnd > c.SentenceEnd || c.SentenceEnd > runes || c.MarkerStart >= c.MarkerEnd {
				t.Fatalf("bad offsets %+v in %q (%d runes)", c, answer, runes)
			}
		}
		for _, c := range got.Cited {
			if c.SupportStart < c.Start || c.SupportEnd > c.End || c.SupportStart > c.SupportEnd {
				t.Fatalf("support %d..%d outside the passage %d..%d", c.SupportStart, c.SupportEnd, c.Start, c.End)
			}
		}
		for _, s := range got.Uncited {
			if s.Start > s.End || s.End > runes || !strings.Contains(answer, s.Text) {
				t.Fatalf("bad sentence %+v", s)
			}
		}
	})
}
