package reader

import (
	"context"
	"errors"
	"testing"
)

func TestLexicalRead(t *testing.T) {
	r := NewLexical()
	ctxText := "Paris is in France. Rome is in Italy. Paris has the Louvre. Berlin is big."
	for _, tc := range []struct {
		name     string
		question string
		params   Params
		want     []string // answer texts, best first
	}{
		{"top 1", "Where is Rome?", Params{}, []string{"Rome is in Italy."}},
		// Only matching sentences come back, best first.
		{"top 3, two match", "What about Paris?", Params{TopK: 3}, []string{"Paris is in France.", "Paris has the Louvre."}},
		// Nothing matches: the empty answer wins with score 1.
		{"impossible", "Who painted Guernica?", Params{HandleImpossibleAnswer: true}, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := r.Read(context.Background(), Request{Inputs: []Input{{Question: tc.question, Passage: ctxText}}, Params: tc.params})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Kind != KindLexical || len(resp.Results) != 1 {
				t.Fatalf("resp = %+v", resp)
			}
			got := resp.Results[0].Answers
			if len(got) != len(tc.want) {
				t.Fatalf("answers %+v, want %q", got, tc.want)
			}
			for i, a := range got {
				if a.Text != tc.want[i] || (i > 0 && a.Score > got[i-1].Score) {
					t.Errorf("answer %d = %+v, want %q", i, a, tc.want[i])
				}
			}
		})
	}
}

// Several passages for one question: one result each, in order.
func TestLexicalReadsPassages(t *testing.T) {
	resp, err := NewLexical().Read(context.Background(), Request{Inputs: []Input{
		{Question: "Where was HuggingFace founded?", Passage: "Rome is in Italy."},
		{Question: "Where was HuggingFace founded?", Passage: "HuggingFace is a company. HuggingFace was founded in Paris. It makes 🤗 Transformers."},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 2 {
		t.Fatalf("results %+v", resp.Results)
	}
	a := resp.Results[1].Answers[0]
	if a.Text != "HuggingFace was founded in Paris." || a.Start != 26 || a.End != 59 || resp.Results[1].PassageTokens != 12 {
		t.Errorf("second passage: %+v", resp.Results[1])
	}
	if s := resp.Results[0].Answers[0].Score; s != 0 {
		t.Errorf("unrelated passage scored %v", s)
	}
}

func TestLexicalErrors(t *testing.T) {
	r := NewLexical()
	for _, tc := range []struct {
		name string
		req  Request
		kind ErrorKind
		in   int
	}{
		{"empty question", Request{Inputs: []Input{{Question: "q", Passage: "c"}, {Question: " ", Passage: "c"}}}, Empty, 1},
		{"empty passage", Request{Inputs: []Input{{Question: "q", Passage: ""}}}, Empty, 0},
		{"negative top_k", Request{Inputs: []Input{{Question: "q", Passage: "c"}}, Params: Params{TopK: -1}}, Invalid, -1},
	} {
		_, err := r.Read(context.Background(), tc.req)
		e, ok := AsError(err)
		if !ok || e.Kind != tc.kind || e.Input != tc.in {
			t.Errorf("%s: %v, want an *Error of kind %d for input %d", tc.name, err, tc.kind, tc.in)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Read(ctx, Request{Inputs: []Input{{Question: "q", Passage: "c"}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}
