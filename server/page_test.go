package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"testing"
)

// The page's highlight marks the best answer even when a lower-ranked one
// overlaps it and starts first. The function is run as written in the page,
// under node with a three-line DOM stand-in; skipped without node.
func TestPageHighlightsBestAnswer(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the page's script is not exercised")
	}
	_, rest, ok := bytes.Cut(indexHTML, []byte("function highlight("))
	fn, _, ok2 := bytes.Cut(rest, []byte("\n}\n"))
	if !ok || !ok2 {
		t.Fatal("no function highlight in the page")
	}
	script := `
const box = { parts: [], hidden: true, replaceChildren() { this.parts = []; }, append(...xs) { this.parts.push(...xs); } };
const $ = () => box;
const document = { createElement: () => ({ className: "", textContent: "" }) };
function highlight(` + string(fn) + `
}
highlight("HuggingFace was founded in Paris in 2016.", [
  { start: 27, end: 32 },   // best: "Paris"
  { start: 16, end: 32 },   // overlaps it and starts first: "founded in Paris"
  { start: 36, end: 40 },   // "2016", apart
]);
console.log(JSON.stringify(box.parts.filter((p) => typeof p === "object")));`
	out, err := exec.Command(node, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var marks []struct{ ClassName, TextContent string }
	if err := json.Unmarshal(out, &marks); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(marks) != 2 || marks[0].TextContent != "Paris" || marks[0].ClassName != "best" ||
		marks[1].TextContent != "2016" || marks[1].ClassName != "" {
		t.Errorf("marks %+v; want Paris (best) and 2016", marks)
	}
}

// pageFunction returns the source of a top-level function of the page's
// script, from "function NAME(" to its closing brace at column 0.
func pageFunction(t *testing.T, name string) string {
	t.Helper()
	_, rest, ok := bytes.Cut(indexHTML, []byte("\nfunction "+name+"("))
	body, _, ok2 := bytes.Cut(rest, []byte("\n}\n"))
	if !ok || !ok2 {
		t.Fatalf("no function %s in the page", name)
	}
	return "function " + name + "(" + string(body) + "\n}\n"
}

// runNode runs a script under node and returns its output; the test is
// skipped without node.
func runNode(t *testing.T, script string) []byte {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the page's script is not exercised")
	}
	out, err := exec.Command(node, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	return out
}

// The page reads the generated answer's event stream as fetch hands it
// over: in pieces cut anywhere (inside a field name, between "\r" and
// "\n", inside a multi-byte character's text), with comments, multi-line
// data, and an unfinished event at the end that must be dropped. Each
// stream is fed whole, one character at a time, and in pieces of 7.
func TestPageParsesEventStream(t *testing.T) {
	stream := "\uFEFF: keep-alive\n" +
		"event: sources\ndata: {\"sources\":[{\"n\":1,\"text\":\"é\"}]}\n\n" +
		"event: delta\r\ndata: {\"text\":\"Paris \"}\r\n\r\n" +
		"event: delta\rdata: {\"text\":\"[1]\"}\r\r" +
		"data: line one\ndata: line two\n\n" +
		"event:done\ndata:{\"generated\":true}\n\n" +
		"event: delta\ndata: {\"text\":\"unfinished\"}\n"
	want := `[["sources","{\"sources\":[{\"n\":1,\"text\":\"é\"}]}"],["delta","{\"text\":\"Paris \"}"],["delta","{\"text\":\"[1]\"}"],["message","line one\nline two"],["done","{\"generated\":true}"]]`
	js, _ := json.Marshal(stream)
	script := pageFunction(t, "sseParser") + `
const stream = ` + string(js) + `;
const results = [];
for (const size of [stream.length, 1, 7]) {
  const got = [];
  const p = sseParser((name, data) => got.push([name, data]));
  for (let i = 0; i < stream.length; i += size) p.feed(stream.slice(i, i + size));
  p.end();
  results.push(JSON.stringify(got));
}
console.log(JSON.stringify(results));`
	var results []string
	out := runNode(t, script)
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, got := range results {
		if got != want {
			t.Errorf("feed %d: events\n%s\nwant\n%s", i, got, want)
		}
	}
}

// The citation chips follow the server's reading of markers: one chip per
// passage number, ranges expanded (and bounded).
func TestPageMarkerNumbers(t *testing.T) {
	script := pageFunction(t, "markerNumbers") + `
const text = "A [1]. B [2, 3]. C [passage 4]. D [5-7]. E [2–3; 9]. F [1-999999].";
const groups = ` + citeGroupJS(t) + `;
console.log(JSON.stringify(Array.from(text.matchAll(groups), (m) => markerNumbers(m[0]))));`
	var got [][]int
	out := runNode(t, script)
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got) != 6 || fmt.Sprint(got[:5]) != "[[1] [2 3] [4] [5 6 7] [2 3 9]]" || len(got[5]) != 50 {
		t.Errorf("markers %v", got)
	}
}

// citeGroupJS is the page's citeGroup regular expression literal.
func citeGroupJS(t *testing.T) string {
	t.Helper()
	_, rest, ok := bytes.Cut(indexHTML, []byte("const citeGroup = "))
	lit, _, ok2 := bytes.Cut(rest, []byte(";\n"))
	if !ok || !ok2 {
		t.Fatal("no citeGroup in the page")
	}
	return string(lit)
}

// The page's Content-Security-Policy allows its one script and one style
// by hash: an inline event handler or style attribute would be blocked in
// the browser, silently. The page must have none.
func TestPageHasNoInlineHandlersOrStyles(t *testing.T) {
	markup, _, _ := bytes.Cut(indexHTML, []byte("<script>"))
	_, markup, _ = bytes.Cut(markup, []byte("</style>"))
	if m := regexp.MustCompile(`(?i)\s(on[a-z]+|style)\s*=`).Find(markup); m != nil {
		t.Errorf("the page's markup has %q: the CSP blocks it; attach handlers and styles from the script and the style sheet", m)
	}
	if bytes.Contains(indexHTML, []byte("http://")) || bytes.Contains(indexHTML, []byte("https://")) {
		t.Error("the page names an external address: the CSP allows only its own origin")
	}
}
