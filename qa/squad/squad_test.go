package squad

import (
	"math"
	"testing"
)

// Hand-checked cases of the official normalisation and scores; the
// comparison with the official code on real predictions is in
// reference_test.go.
func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"The Denver Broncos!":    "denver broncos",
		"  a  theatre, an apple": "theatre apple",
		"Ünïcödé—dash":           "ünïcödé—dash", // U+2014 is not ASCII punctuation
		"the":                    "",
		"A-team":                 "ateam", // punctuation goes first, so no article is left
		"don't":                  "dont",
		"ΣΑΣ":                    "σας",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScores(t *testing.T) {
	if got := F1v1("the cat sat", "a cat sat down"); math.Abs(got-2*(1.0*2.0/3)/(1+2.0/3)) > 1e-12 {
		t.Errorf("F1v1 = %v", got)
	}
	if F1v1("", "") != 0 || F1v2("", "") != 1 || F1v2("x", "") != 0 {
		t.Errorf("empty-answer F1 rules differ between v1.1 and v2.0")
	}
	if ExactMatch("The  Cat.", "cat") != 1 {
		t.Errorf("exact match should ignore case, articles and punctuation")
	}
}
