package ingest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtractText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     Format
		in    string
		title string
		text  string
		err   error
	}{
		{"plain", Text, "First line\r\nsecond\r\n", "First line", "First line\nsecond\n", nil},
		{"bom", Text, "\xef\xbb\xbfHi", "Hi", "Hi", nil},
		{"markdown heading", Markdown, "intro\n\n# The Title\n\nbody *em*", "The Title", "intro\n\n# The Title\n\nbody *em*", nil},
		{"latin-1", Text, "caf\xe9", "", "", ErrCorrupt},
		{"utf-16", Text, "\xff\xfeh\x00i\x00", "", "", ErrCorrupt},
		{"binary", Markdown, "ab\x00cd", "", "", ErrCorrupt},
		{"unsupported", Format("docx"), "x", "", "", ErrUnsupported},
	} {
		ex, err := Extract(tc.f, []byte(tc.in), Limits{})
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err == nil && (ex.Title != tc.title || ex.Text != tc.text) {
			t.Errorf("%s: %+v, want title %q text %q", tc.name, ex, tc.title, tc.text)
		}
	}
	if _, err := Extract(Text, make([]byte, 100), Limits{MaxFileBytes: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a file over the limit: %v, want ErrTooLarge", err)
	}
	if _, err := Extract(Text, []byte(strings.Repeat("a", 100)), Limits{MaxTextBytes: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("text over the limit: %v, want ErrTooLarge", err)
	}
}

func TestExtractHTML(t *testing.T) {
	page := `<!doctype html><html><head><title> The  Page </title><style>p{color:red}</style>
<script>var x = "not text";</script></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<h1>Heading</h1>
<p>First   paragraph with <b>bold</b> and <a href="#">a link</a>.</p>
<ul><li>one</li><li>two</li></ul>
<pre>code  line 1
  indented</pre>
<div>Tea &amp; cake<br>next line</div>
<noscript>enable js</noscript>
</body></html>`
	ex, err := Extract(HTML, []byte(page), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := "Heading\n\nFirst paragraph with bold and a link.\n\none\ntwo\n\ncode  line 1\n  indented\n\nTea & cake\nnext line"
	if ex.Text != want {
		t.Errorf("text:\n%q\nwant\n%q", ex.Text, want)
	}
	if ex.Title != "The Page" {
		t.Errorf("title %q, want %q", ex.Title, "The Page")
	}
	// A declared charset is honoured.
	ex, err = Extract(HTML, []byte(`<meta charset="iso-8859-1"><p>caf`+"\xe9"+`</p>`), Limits{})
	if err != nil || ex.Text != "café" {
		t.Errorf("latin-1 page: %q, %v; want café", ex.Text, err)
	}
}

// TestExtractHTMLGoDocs reads a real page: Effective Go.
func TestExtractHTMLGoDocs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "shared", "data", "docs", "go", "effective_go.html"))
	if err != nil {
		t.Skipf("the Go docs are not here (%v): see ../shared/data/README.md", err)
	}
	ex, err := Extract(HTML, data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Go is an open-source programming language", "Java programs are written in Java, not Go.", "gofmt"} {
		if !strings.Contains(ex.Text, want) {
			t.Errorf("the text lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "function(", "{color"} {
		if strings.Contains(ex.Text, bad) {
			t.Errorf("the text holds markup or code %q", bad)
		}
	}
}

func TestExtractPDF(t *testing.T) {
	data := makePDF([][]string{{"Hello world, this is a PDF.", "Second line (here)."}, {"Page two text."}}, 0)
	ex, err := Extract(PDF, data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hello world, this is a PDF.\nSecond line (here).\n\nPage two text."; ex.Text != want || ex.Title != "Generated test" {
		t.Errorf("got %+v, want title %q text %q", ex, "Generated test", want)
	}
	if _, err := Extract(PDF, makePDF([][]string{{"x"}}, 8<<20), Limits{MaxInflatedBytes: 1 << 20}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a PDF bomb: %v, want ErrTooLarge", err)
	}
	if _, err := Extract(PDF, makePDF([][]string{{"a"}, {"b"}, {"c"}}, 0), Limits{MaxPDFPages: 2}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too many pages: %v, want ErrTooLarge", err)
	}
	for name, bad := range map[string][]byte{
		"not a pdf": []byte("hello"),
		"truncated": data[:len(data)/2],
		"garbage":   append([]byte("%PDF-1.4\n"), make([]byte, 500)...),
		"no text":   makePDF([][]string{{}}, 0),
	} {
		if _, err := Extract(PDF, bad, Limits{}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestExtractRealPDF reads a real PDF from Debian's documentation: the
// Shared MIME-info specification (package shared-mime-info, DocBook
// typeset).
func TestExtractRealPDF(t *testing.T) {
	p := "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"
	data, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("%v: install Debian's shared-mime-info package for this test", err)
	}
	ex, err := Extract(PDF, data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Title != "Shared MIME-info Database" {
		t.Errorf("title %q", ex.Title)
	}
	for _, want := range []string{
		"This is version 0.21 of the Shared MIME-info Database specification",
		"to work out the correct MIME type for a file", // NFKC undid the "ﬁ" ligature
	} {
		if !strings.Contains(strings.ReplaceAll(ex.Text, "\n", " "), want) {
			t.Errorf("the text lacks %q", want)
		}
	}
}

func FuzzExtractHTML(f *testing.F) {
	f.Add([]byte("<p>a<b>b</b></p><script>x</script>"))
	f.Add([]byte("<pre>a\n b</pre><li>x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := Extract(HTML, data, Limits{})
		if err != nil {
			return
		}
		if strings.TrimSpace(ex.Text) != ex.Text && !strings.HasSuffix(ex.Text, " ") {
			t.Errorf("text %q has leading or trailing space", ex.Text)
		}
	})
}

func FuzzExtractPDF(f *testing.F) {
	f.Add(makePDF([][]string{{"Hello"}}, 0))
	f.Add([]byte("%PDF-1.4\n1 0 obj << >> endobj trailer << /Root 1 0 R >>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Extract(PDF, data, Limits{MaxInflatedBytes: 1 << 20, MaxPDFPages: 10}) // must not panic
	})
}
