package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// skipped elements hold no reading text: code, styling, navigation, forms.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Nav: true, atom.Noscript: true,
	atom.Template: true, atom.Svg: true, atom.Iframe: true, atom.Head: true,
	atom.Button: true, atom.Select: true, atom.Textarea: true, atom.Object: true,
}

// blocks end a paragraph; lines end a line within one.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true, atom.Main: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Ul: true, atom.Ol: true, atom.Dl: true, atom.Table: true, atom.Blockquote: true,
	atom.Pre: true, atom.Header: true, atom.Footer: true, atom.Aside: true, atom.Figure: true,
	atom.Hr: true, atom.Form: true, atom.Fieldset: true, atom.Details: true, atom.Address: true,
}

var lines = map[atom.Atom]bool{
	atom.Br: true, atom.Li: true, atom.Tr: true, atom.Dt: true, atom.Dd: true,
	atom.Figcaption: true, atom.Caption: true, atom.Summary: true,
}

// extractHTML returns the readable text of an HTML page: paragraphs
// separated by blank lines, white space collapsed outside <pre>, scripts,
// styles and navigation dropped. The title is <title>, else the first <h1>.
func extractHTML(data []byte) (Extracted, error) {
	enc, name, _ := charset.DetermineEncoding(data, "text/html")
	if name != "utf-8" {
		d, err := enc.NewDecoder().Bytes(data)
		if err != nil {
			return Extracted{}, fmt.Errorf("%w: decode HTML from %s: %v", ErrCorrupt, name, err)
		}
		data = d
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return Extracted{}, fmt.Errorf("%w: a NUL byte at %d: this looks like a binary file, not HTML", ErrCorrupt, i)
	}
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		return Extracted{}, fmt.Errorf("%w: parse HTML: %v", ErrCorrupt, err)
	}
	w := &htmlWriter{}
	var title, h1 string
	var walk func(n *html.Node, pre int)
	walk = func(n *html.Node, pre int) {
		switch n.Type {
		case html.TextNode:
			w.text(n.Data, pre > 0)
			return
		case html.ElementNode:
			if n.DataAtom == atom.Title && title == "" {
				title = strings.Join(strings.Fields(nodeText(n)), " ")
			}
			if n.DataAtom == atom.H1 && h1 == "" {
				h1 = strings.Join(strings.Fields(nodeText(n)), " ")
			}
			if skipped[n.DataAtom] {
				return
			}
			if n.DataAtom == atom.Pre {
				pre++
			}
		}
		brk := blocks[n.DataAtom] || lines[n.DataAtom]
		if brk {
			w.brk(blocks[n.DataAtom])
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, pre)
		}
		if brk {
			w.brk(blocks[n.DataAtom])
		}
	}
	// The title lives in <head>, which the walk skips.
	var findTitle func(n *html.Node)
	findTitle = func(n *html.Node) {
		if n.Type == html.ElementNode && n.DataAtom == atom.Title && title == "" {
			title = strings.Join(strings.Fields(nodeText(n)), " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			findTitle(c)
		}
	}
	findTitle(doc)
	walk(doc, 0)
	if title == "" {
		title = h1
	}
	return Extracted{Title: clip(title, 200), Text: w.String()}, nil
}

func nodeText(n *html.Node) string {
	var b strings.Builder
	var f func(*html.Node)
	f = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			f(c)
		}
	}
	f(n)
	return b.String()
}

// htmlWriter builds the text: pending breaks are written only before more
// text, so there is no leading, trailing or doubled blank line.
type htmlWriter struct {
	b      strings.Builder
	para   bool // a paragraph break is pending
	line   bool // a line break is pending
	space  bool // a space is pending
	inLine bool // the current line has text
}

func (w *htmlWriter) brk(para bool) {
	if para {
		w.para = true
	} else {
		w.line = true
	}
	w.space = false
}

func (w *htmlWriter) flush() {
	switch {
	case w.b.Len() == 0:
	case w.para:
		w.b.WriteString("\n\n")
	case w.line:
		w.b.WriteString("\n")
	case w.space && w.inLine:
		w.b.WriteByte(' ')
	}
	if w.para || w.line {
		w.inLine = false
	}
	w.para, w.line, w.space = false, false, false
}

func (w *htmlWriter) text(s string, pre bool) {
	if pre {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				w.line = true
			}
			if line != "" {
				w.flush()
				w.b.WriteString(strings.TrimRightFunc(line, unicode.IsSpace))
				w.inLine = true
			}
		}
		return
	}
	for i, f := range strings.Fields(s) {
		if i > 0 || (len(s) > 0 && unicode.IsSpace(rune(s[0]))) {
			w.space = true
		}
		w.flush()
		w.b.WriteString(f)
		w.inLine = true
	}
	if len(s) > 0 && unicode.IsSpace(rune(s[len(s)-1])) {
		w.space = true
	}
}

func (w *htmlWriter) String() string { return w.b.String() }
