package qa

import (
	"strings"
	"testing"
	"unicode"
)

func TestEchoes(t *testing.T) {
	for _, c := range []struct {
		question, answer string
		want             bool
	}{
		{"什么是人工智能？", "人工智能", true},
		{"什么是人工智能？", "人工智能是一种模拟人类智能的技术", false},
		{"什么是人工智能？", "智能", true},
		{"有田中井手之战是怎样一场战争？", "有田中井手之战 -", true}, // punctuation and spaces do not count
		{"2008年，吉斯伯恩大区的人口数是多少？", "2008年） 。", true},
		{"2008年，吉斯伯恩大区的人口数是多少？", "33,700人", false},
		{"Where is PARIS?", "Paris", true}, // case does not count
		{"Where is Paris?", "Paris, France", false},
		{"What is it?", "?!", false}, // nothing but punctuation
		{"Ist es Köln?", "KÖLN", true},
		{"Which year, 1999 or 2000?", "2000", true},
	} {
		// The answer as the whole context, and inside a longer one.
		for _, pad := range []string{"", "（注）"} {
			ctx := []rune(pad + c.answer + pad)
			n := len([]rune(pad))
			if got := newEchoes(c.question, ctx).holds(n, len(ctx)-n); got != c.want {
				t.Errorf("question %q, answer %q in %q: echo %v, want %v", c.question, c.answer, string(ctx), got, c.want)
			}
		}
	}
}

// unicodeKey is echoKey from the Unicode tables alone, without its fast
// paths.
func unicodeKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// TestEchoesEverySpan: holds agrees with the key of the span's own text,
// taken from the Unicode tables, for every span of a context mixing
// scripts, case, digits, marks and punctuation, and refuses empty and
// out-of-range spans.
func TestEchoesEverySpan(t *testing.T) {
	const question = "Was ist 人工智能（AI）und 2024 é, ÄÖ, 鿿 Ⅻ？"
	ctx := []rune("人工智能， AI-ai 2024年; é (e\u0301) ist – Was? äö 一鿿龥 ⅻ _@[`{~")
	x := newEchoes(question, ctx)
	q := unicodeKey(question)
	if k := echoKey(question); k != q {
		t.Fatalf("echoKey(%q) = %q, want %q", question, k, q)
	}
	for start := 0; start <= len(ctx); start++ {
		for end := start; end <= len(ctx); end++ {
			a := unicodeKey(string(ctx[start:end]))
			want := a != "" && strings.Contains(q, a)
			if got := x.holds(start, end); got != want {
				t.Errorf("span %d–%d %q: echo %v, want %v", start, end, string(ctx[start:end]), got, want)
			}
		}
	}
	for _, s := range [][2]int{{-1, 2}, {3, 3}, {4, 2}, {0, len(ctx) + 1}} {
		if x.holds(s[0], s[1]) {
			t.Errorf("span %d–%d: echo, want not", s[0], s[1])
		}
	}
}
