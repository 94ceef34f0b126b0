package server

import (
	"bytes"
	"encoding/json"
	"os/exec"
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
