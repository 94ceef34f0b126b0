package qa

import "testing"

func TestIsEcho(t *testing.T) {
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
		{"What is it?", "", false},   // the empty (no) answer
		{"What is it?", "?!", false}, // nothing but punctuation
		{"Ist es Köln?", "KÖLN", true},
		{"Which year, 1999 or 2000?", "2000", true},
	} {
		if got := isEcho(echoKey(c.question), c.answer); got != c.want {
			t.Errorf("isEcho(%q, %q) = %v, want %v", c.question, c.answer, got, c.want)
		}
	}
}
