package webtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/askqa/ask/cli"
	"github.com/askqa/ask/generate/generatetest"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// The documents the tests upload: the built-in reader answers the
// questions below from them (checked with "ask answer" when written).
const (
	eiffelText = `The Eiffel Tower

The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named after the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889.

The tower is 330 metres tall, about the same height as an 81-storey building, and the tallest structure in Paris. It was the tallest man-made structure in the world until the Chrysler Building in New York City was finished in 1930.

The tower has three levels for visitors, with restaurants on the first and second levels. Tickets can be bought to ascend by stairs or lift to the first and second levels.
`
	riversText = `# Rivers of Europe

The Danube is Europe's second-longest river, after the Volga. It flows through much of Central and Southeastern Europe, from the Black Forest into the Black Sea.

The Rhine begins in the Swiss Alps and flows into the North Sea in the Netherlands.
`
	heightQuestion = "How tall is the Eiffel Tower?"
	heightAnswer   = "330 metres"
)

// TestPage drives the page in Chromium against a real ask server with the
// built-in reader and embedder and a temporary SQLite knowledge base.
func TestPage(t *testing.T) {
	chrome := chromePath(t)
	base := startAsk(t, nil)
	b := newBrowser(t, chrome)
	dir := t.TempDir()
	eiffel := writeFile(t, dir, "eiffel.txt", eiffelText)
	rivers := writeFile(t, dir, "rivers.md", riversText)
	bad := writeFile(t, dir, "tool.exe", "MZ not a document")

	b.do("open the page", chromedp.Navigate(base+"/"))
	b.waitVisible("the collection chooser", "#collection")

	t.Run("collection", func(t *testing.T) {
		b.use(t)
		b.do("create a collection",
			chromedp.SetValue(chromedp.CSS("#new-collection"), "docs"),
			chromedp.Click(chromedp.CSS("#create")))
		b.waitText("the collection created", "#kb-msg", "Created “docs”")
		b.shot("created")

		b.do("choose a file", chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{eiffel}))
		b.waitText("the upload of eiffel.txt", "#upload-log", "eiffel.txt: added")
		b.dropFiles("#drop", rivers)
		b.waitText("the upload of rivers.md", "#upload-log", "rivers.md: added")
		b.waitText("the uploads' end", "#upload-status", "All files added.")
		b.waitText("the document list", "#doc-rows", "eiffel.txt")
		b.waitText("the document list", "#doc-rows", "rivers.md")
		for _, sel := range []string{"#more-docs", "#upload-progress", "#stop"} {
			if b.visible(sel) {
				t.Errorf("%s is shown after the uploads", sel)
			}
		}
		b.shot("uploaded")

		// A file the server refuses: its JSON error is shown, and the
		// other documents stay.
		b.do("choose a file ask cannot read", chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{bad}))
		b.waitText("the refused upload's error", "#upload-error", "tool.exe")
		if got := b.text("#upload-error"); !strings.Contains(got, "ask reads .txt") {
			t.Errorf("upload error %q does not carry the server's message", got)
		}
		b.shot("refused")

		b.ask(heightQuestion)
		b.waitVisible("the highlighted answer", "#best-passage mark.best")
		if got := b.text("#best-passage mark.best"); got != heightAnswer {
			t.Errorf("highlighted answer %q, want %q", got, heightAnswer)
		}
		if got := b.text("#best-answer"); got != heightAnswer {
			t.Errorf("answer %q, want %q", got, heightAnswer)
		}
		if got := b.text("#best-passage"); !strings.Contains(got, "The tower is 330 metres tall") {
			t.Errorf("the answer's passage %q is not the one around it", got)
		}
		if got := b.text("#best .cite"); !strings.Contains(got, "The Eiffel Tower") {
			t.Errorf("citation %q does not name the document", got)
		}
		if got := b.text("#passages"); !strings.Contains(got, "Danube") {
			t.Errorf("the other candidate passages %q lack the rivers document", got)
		}
		b.shot("answered")

		// The document link shows the document, the answer marked in it.
		b.do("open the cited document", chromedp.Click(chromedp.CSS("#best .doc-link")))
		b.waitVisible("the document view", "#doc-view-text mark")
		if got := b.text("#doc-view-text mark"); got != heightAnswer {
			t.Errorf("document view marks %q, want %q", got, heightAnswer)
		}
		if got := b.text("#doc-view-text"); got != strings.TrimSpace(eiffelText) && got != eiffelText {
			t.Errorf("document view shows %q", got)
		}
		b.shot("document")
		b.do("close the document", chromedp.Click(chromedp.CSS("#doc-view-close")))
	})

	t.Run("no answer", func(t *testing.T) {
		b.use(t)
		b.ask("What is the capital of Japan?")
		b.waitVisible("the no-answer notice", "#no-answer")
		if b.count("#best-passage") != 0 {
			t.Error("a no-answer reply still shows an answer")
		}
		b.shot("no-answer")
	})

	t.Run("generate without a language model", func(t *testing.T) {
		b.use(t)
		b.do("ask for a written answer", chromedp.Click(chromedp.CSS("#generate")))
		b.ask(heightQuestion)
		b.waitVisible("the generation error", "#gen-error")
		b.waitVisible("the extractive answer", "#best-passage mark.best")
		if got := b.text("#gen-error"); !strings.Contains(got, "not_configured") || !strings.Contains(got, "--llm-base-url") {
			t.Errorf("generation error %q: want its kind and the fix naming --llm-base-url", got)
		}
		if got := b.text("#best-answer"); got != heightAnswer {
			t.Errorf("the extractive answer next to the generation error is %q, want %q", got, heightAnswer)
		}
		if b.count("#sources li") != 0 || b.visible("#sources-heading") {
			t.Error("sources are listed although no model was asked")
		}
		b.shot("not-configured")
		b.do("stop asking for written answers", chromedp.Click(chromedp.CSS("#generate")))
	})

	t.Run("several answers", func(t *testing.T) {
		b.use(t)
		b.do("ask for three answers", chromedp.SetValue(chromedp.CSS("#topk"), "3"))
		b.ask("When was the tower built?")
		b.waitVisible("the best answer", "#best-answer")
		if n := b.count("#other-answers li"); n > 2 {
			t.Errorf("%d other answers for top_k 3", n)
		}
		if b.count("#other-answers li") > 0 && !b.visible("#other-answers-heading") {
			t.Error("other answers without their heading")
		}
		b.shot("several")
		b.do("back to one answer", chromedp.SetValue(chromedp.CSS("#topk"), "1"))
	})

	t.Run("delete a document", func(t *testing.T) {
		b.use(t)
		del := chromedp.CSS(`button[aria-label="Delete rivers.md"]`)
		b.do("arm the delete button", chromedp.Click(del))
		b.waitText("the armed button", `button[aria-label="Delete rivers.md"]`, "Really delete?")
		b.do("delete", chromedp.Click(del))
		b.waitFor("rivers.md to leave the list", `!document.querySelector("#doc-rows").textContent.includes("rivers.md")`)
		if !strings.Contains(b.text("#doc-rows"), "eiffel.txt") {
			t.Error("deleting rivers.md took eiffel.txt with it")
		}
		b.shot("deleted")
	})

	t.Run("documents page by page", func(t *testing.T) {
		b.use(t)
		docs := map[string]string{}
		for i := range 57 {
			docs[fmt.Sprintf("note-%02d.txt", i)] = fmt.Sprintf("Note number %d is about nothing in particular.", i)
		}
		addDocuments(t, base, "many", docs)
		b.do("reload the page", chromedp.Navigate(base+"/"))
		b.waitText("the new collection", "#collection", "many (57 documents)")
		b.do("choose it", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("#collection"); s.value = "many"; s.dispatchEvent(new Event("change")); })()`))
		b.waitFor("the first page", `document.querySelectorAll("#doc-rows tr").length === 50`)
		b.waitVisible("the next-page button", "#more-docs")
		b.do("show the next page", chromedp.Click(chromedp.CSS("#more-docs")))
		b.waitFor("the second page", `document.querySelectorAll("#doc-rows tr").length === 57`)
		if b.visible("#more-docs") {
			t.Error("the next-page button is still shown after the last page")
		}
		if got := b.text("#doc-rows tr:last-child"); !strings.Contains(got, "note-56.txt") {
			t.Errorf("last row %q, want note-56.txt", got)
		}
		b.shot("paged")
		b.do("choose docs again", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("#collection"); s.value = "docs"; s.dispatchEvent(new Event("change")); })()`))
		b.waitText("the docs collection's documents", "#doc-rows", "eiffel.txt")
	})

	t.Run("content security policy", func(t *testing.T) {
		b.use(t)
		// Markup injected into the page cannot run script: the policy
		// allows the page's own script only (and the console watcher sees
		// the refusal, as it would one of the page's own mistakes).
		ran, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { const s = document.createElement("script"); s.textContent = "window.injected = true"; document.body.append(s); return window.injected === true; })()`))
		if err != nil || ran {
			t.Errorf("an injected inline script ran (%v, %v): the page has no working Content-Security-Policy", ran, err)
		}
		deadline := time.Now().Add(stepTimeout)
		for !b.takeProblem("Content Security Policy") {
			if time.Now().After(deadline) {
				t.Fatal("the browser reported no Content-Security-Policy refusal for the injected script")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("pasted text", func(t *testing.T) {
		b.use(t)
		b.do("switch to pasted text",
			chromedp.Click(chromedp.CSS("#mode-text")),
			chromedp.SetValue(chromedp.CSS("#context"), "HuggingFace was founded in Paris."))
		b.ask("Where was HuggingFace founded?")
		b.waitVisible("the highlighted answer", "#shown mark.best")
		if got := b.text("#shown mark.best"); got != "Paris" {
			t.Errorf("highlighted answer %q, want Paris", got)
		}
		if got := b.text("#answers"); !strings.HasPrefix(got, "Paris") {
			t.Errorf("answers %q", got)
		}
		b.shot("pasted")
	})
}

// TestPageGenerated streams a written answer from a scripted
// OpenAI-compatible upstream: the sources first, the text as it comes,
// then the final text with citation chips that point at the sources; then
// an upstream that refuses (429), shown with its fix next to the
// extractive answer.
func TestPageGenerated(t *testing.T) {
	chrome := chromePath(t)
	if !serveHasFlag(t, "llm-base-url") {
		t.Skip("ask serve has no --llm-base-url yet: generated answers are not served")
	}
	const written = "The tower is 330 metres tall [1]. It is the tallest structure in Paris [1] [42]."
	up := generatetest.New(t, generatetest.Reply{
		Chunks: generatetest.Words(written),
		// Slow enough that the page shows the text before the end.
		Delay: 150 * time.Millisecond,
		Usage: &generatetest.Usage{PromptTokens: 120, CompletionTokens: 20, TotalTokens: 140},
	}, generatetest.Reply{Chunks: []string{"Never finished "}, Hang: true})
	up.Always(func(generatetest.Request) generatetest.Reply {
		return generatetest.Reply{Status: http.StatusTooManyRequests, ErrorMessage: "slow down", Header: http.Header{"Retry-After": {"7"}}}
	})
	base := startAsk(t, map[string]string{"OPENAI_API_KEY": "sk-test"}, "--llm-base-url", up.URL, "--llm-model", "tiny")
	addDocuments(t, base, "docs", map[string]string{"eiffel.txt": eiffelText, "rivers.md": riversText})

	b := newBrowser(t, chrome)
	b.do("open the page", chromedp.Navigate(base+"/"))
	b.waitText("the collection", "#collection", "docs")
	b.do("ask for a written answer", chromedp.Click(chromedp.CSS("#generate")))
	b.ask(heightQuestion)

	// While the answer streams: the sources are listed and the text so far
	// is shown, without chips yet.
	b.waitFor("the streamed text", `document.querySelectorAll("#sources li").length > 0 &&
		document.querySelector("#gen-text").textContent.includes("The tower is") &&
		!document.querySelector("#gen-text .chip")`)
	b.shot("streaming")

	b.waitVisible("the citation chips", "#gen-text .chip")
	if got := b.text("#gen-text"); got != written {
		t.Errorf("written answer %q, want %q", got, written)
	}
	if n := b.count("#gen-text .chip.invalid"); n != 1 {
		t.Errorf("%d chips marked invalid, want 1 ([42])", n)
	}
	if got := b.text("#gen-warn"); !strings.Contains(got, "[42]") {
		t.Errorf("warning %q does not name the invalid citation [42]", got)
	}
	if got := b.text("#best-answer"); got != heightAnswer {
		t.Errorf("the extractive answer beside the written one is %q, want %q", got, heightAnswer)
	}
	b.do("click the first chip", chromedp.Click(chromedp.CSS(`#gen-text .chip[data-n="1"]`)))
	b.waitFor("source 1 highlighted", `document.querySelector("#source-1").classList.contains("cited")`)
	if got := b.text("#source-1"); !strings.Contains(got, heightAnswer) {
		t.Errorf("source [1] %q is not the passage with the answer", got)
	}
	b.shot("written")

	// An answer that never ends: Stop closes the stream, which cancels
	// the upstream call.
	b.ask(heightQuestion)
	b.waitText("the hanging answer's first words", "#gen-text", "Never finished")
	b.do("stop", chromedp.Click(chromedp.CSS("#stop")))
	b.waitText("the page to say it stopped", "#error", "stopped")
	for deadline := time.Now().Add(stepTimeout); up.Gone() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.fail("the upstream call went on after Stop")
		}
	}
	if b.visible("#stop") || b.count("#ask:disabled") != 0 {
		t.Error("after Stop, the page still looks busy")
	}
	b.shot("stopped")

	// The upstream refuses: the page says so, with the fix, and the
	// extractive answer stands.
	b.ask(heightQuestion)
	b.waitVisible("the generation error", "#gen-error")
	b.waitVisible("the extractive answer", "#best-passage mark.best")
	if got := b.text("#gen-error"); !strings.Contains(got, "rate_limited") {
		t.Errorf("generation error %q does not say it was rate limited", got)
	}
	if b.count("#gen-error-fix") != 1 {
		t.Error("the generation error shows no fix")
	}
	b.shot("rate-limited")

	// Over pasted text: the text is the one source.
	up.Push(generatetest.Reply{Chunks: generatetest.Words("It was founded in Paris [1].")})
	b.do("switch to pasted text",
		chromedp.Click(chromedp.CSS("#mode-text")),
		chromedp.SetValue(chromedp.CSS("#context"), "HuggingFace was founded in Paris."))
	b.ask("Where was HuggingFace founded?")
	b.waitVisible("the citation chip", `#gen-text .chip[data-n="1"]`)
	b.waitVisible("the highlighted answer", "#shown mark.best")
	if got := b.text("#gen-text"); got != "It was founded in Paris [1]." {
		t.Errorf("written answer %q", got)
	}
	if got := b.text("#source-1"); !strings.Contains(got, "the pasted text") || !strings.Contains(got, "HuggingFace was founded in Paris.") {
		t.Errorf("source [1] %q is not the pasted text", got)
	}
	if got := b.text("#shown mark.best"); got != "Paris" {
		t.Errorf("highlighted answer %q, want Paris", got)
	}
	b.shot("pasted")
}

// chromePath finds Chromium or Chrome: $ASK_CHROME, else the usual names
// on PATH. The test is skipped without one.
func chromePath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ASK_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium or Chrome found (apt-get install chromium, or set ASK_CHROME to the browser): the web page is not tested in a browser")
	return ""
}

// lockedBuffer is serve's stderr, written by its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// askEnv is the environment serve sees: the cache folders (for the
// built-in models, unpacked once) and env; nothing else of the
// developer's, so no ASK_* or OPENAI_* setting changes the test.
func askEnv(env map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		switch k {
		case "HOME", "XDG_CACHE_HOME", "TMPDIR":
			return os.Getenv(k)
		case "HF_HUB_OFFLINE":
			return "1"
		}
		return ""
	}
}

// startAsk runs "ask serve" in this process on a free loopback port, with
// a knowledge base in a temporary folder, and returns its base URL. It
// stops when the test ends.
func startAsk(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	data := t.TempDir()
	pr, pw := io.Pipe()
	stderr := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code := cli.Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, args...),
			cli.Env{Stdin: strings.NewReader(""), Stdout: pw, Stderr: stderr, Getenv: askEnv(env)})
		pw.Close()
		done <- code
	}()
	first := make(chan string, 1)
	go func() {
		// Reads stdout to its end (serve closes it), so serve never blocks
		// on a write.
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case first <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("ask serve did not stop within 30 s of its context's end")
		}
		if t.Failed() {
			t.Logf("ask serve's log:\n%s", stderr)
		}
	})
	select {
	case line := <-first:
		_, rest, ok := strings.Cut(line, "listening on ")
		if !ok {
			t.Fatalf("ask serve printed %q, not its address\n%s", line, stderr)
		}
		url, _, _ := strings.Cut(rest, " ")
		return url
	case code := <-done:
		t.Fatalf("ask serve exited with status %d before listening:\n%s", code, stderr)
	case <-time.After(3 * time.Minute):
		t.Fatalf("ask serve did not listen within 3 minutes:\n%s", stderr)
	}
	return ""
}

// serveHasFlag reports whether "ask serve" takes --name.
func serveHasFlag(t *testing.T, name string) bool {
	t.Helper()
	var out bytes.Buffer
	cli.Run(context.Background(), []string{"help", "serve"}, cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: askEnv(nil)})
	return regexp.MustCompile(`-` + regexp.QuoteMeta(name) + `\b`).Match(out.Bytes())
}

// addDocuments stores documents through the API, creating the collection.
func addDocuments(t *testing.T, base, collection string, docs map[string]string) {
	t.Helper()
	var body struct {
		Documents []map[string]string `json:"documents"`
	}
	for id, text := range docs {
		body.Documents = append(body.Documents, map[string]string{"id": id, "text": text})
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/v1/collections/"+collection+"/documents", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("add documents: %v", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add documents: %s: %s", resp.Status, reply)
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// browser is one headless Chromium tab. Its helpers fail the current test
// (set by use) with a screenshot, the page's error messages and the
// console's errors.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int

	mu       sync.Mutex
	problems []string
}

// stepTimeout bounds one step: the machines that run the tests are slow
// and shared, and the first question loads the models' weights.
const stepTimeout = 2 * time.Minute

func newBrowser(t *testing.T, chrome string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.WindowSize(1280, 1000))
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox (CI runs as root).
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx, shots: artifactDir(t)}
	messages := chromedp.Console(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for m, err := range messages {
			if err != nil {
				return
			}
			// HTTP error statuses ("network") are the page's business: it
			// shows the server's message. Script errors and refusals by
			// the Content-Security-Policy are bugs.
			if (m.Type == chromedp.ConsoleError || m.IsException()) && m.Source != "network" {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		<-watched
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chrome, err)
	}
	t.Cleanup(func() {
		if b.t.Failed() {
			b.shot("failed")
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser console: %s", p)
		}
	})
	return b
}

// takeProblem removes the first console problem that contains sub and
// reports whether there was one.
func (b *browser) takeProblem(sub string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, p := range b.problems {
		if strings.Contains(p, sub) {
			b.problems = append(b.problems[:i], b.problems[i+1:]...)
			return true
		}
	}
	return false
}

// use makes t the test the helpers report to.
func (b *browser) use(t *testing.T) { b.t = t }

// artifactDir is where screenshots go: $ASK_TEST_ARTIFACTS (kept after
// the run, for CI to collect) or the test's temporary folder.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("ASK_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("ASK_TEST_ARTIFACTS: %v", err)
	}
	return dir
}

func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	var errs []string
	for _, id := range []string{"error", "kb-error", "upload-error"} {
		if s := b.text("#" + id); s != "" {
			errs = append(errs, "#"+id+": "+s)
		}
	}
	b.mu.Lock()
	problems := strings.Join(b.problems, "\n")
	b.mu.Unlock()
	b.t.Fatalf("%s\npage errors: %s\nconsole: %s\nscreenshots in %s", fmt.Sprintf(format, args...), strings.Join(errs, "; "), problems, b.shots)
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// ask asks question with the page's button.
func (b *browser) ask(question string) {
	b.t.Helper()
	b.do("ask "+question,
		chromedp.SetValue(chromedp.CSS("#question"), question),
		chromedp.Click(chromedp.CSS("#ask")))
}

// waitFor waits until the JavaScript expression is true.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	poll := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout))
	if _, err := chromedp.Run(ctx, poll); err != nil {
		b.fail("waiting for %s: %v", what, err)
	}
}

func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// visibleJS is true when the element sel names is laid out (neither it
// nor an ancestor is display: none, as the hidden attribute makes it).
func visibleJS(sel string) string {
	return `(() => { const e = document.querySelector(` + js(sel) + `); return !!e && e.getClientRects().length > 0; })()`
}

// waitVisible waits until an element is shown.
func (b *browser) waitVisible(what, sel string) {
	b.t.Helper()
	b.waitFor(what, visibleJS(sel))
}

// visible reports whether an element is shown now.
func (b *browser) visible(sel string) bool {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](visibleJS(sel)))
	if err != nil {
		b.t.Errorf("look at %s: %v", sel, err)
	}
	return v
}

// waitText waits until an element's text contains sub.
func (b *browser) waitText(what, sel, sub string) {
	b.t.Helper()
	b.waitFor(what, `(() => { const e = document.querySelector(`+js(sel)+`); return !!e && e.textContent.includes(`+js(sub)+`); })()`)
}

// text is an element's text content ("" when there is none).
func (b *browser) text(sel string) string {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector(`+js(sel)+`); return e ? e.textContent : ""; })()`))
	if err != nil {
		b.t.Errorf("read %s: %v", sel, err)
	}
	return s
}

func (b *browser) count(sel string) int {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+js(sel)+`).length`))
	if err != nil {
		b.t.Errorf("count %s: %v", sel, err)
	}
	return n
}

// dropFiles drops files on the element sel names, as a file manager
// would: drag enter, drag over, drop.
func (b *browser) dropFiles(sel string, files ...string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	at, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const e = document.querySelector(`+js(sel)+
		`); e.scrollIntoView({ block: "center" }); const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`))
	if err != nil || len(at) != 2 {
		b.fail("find %s to drop on: %v", sel, err)
	}
	data := &input.DragData{Items: []*input.DragDataItem{}, Files: files, DragOperationsMask: 1}
	for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
		if _, err := chromedp.Call(ctx, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: at[0], Y: at[1], Data: data}); err != nil {
			b.fail("drop %v on %s (%s): %v", files, sel, typ, err)
		}
	}
}

// shot keeps a screenshot of the whole page as TEST-NN-name.png.
func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	// No JavaScript value leaked into the page's text as a word.
	leak, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.body.innerText.match(/\b(undefined|null|NaN)\b|\[object Object\]/) || [""])[0]`))
	if err == nil && leak != "" {
		b.t.Errorf("the page shows %q (step %s)", leak, name)
	}
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.n++
	file := fmt.Sprintf("%s-%02d-%s.png", strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name()), b.n, name)
	if err := os.WriteFile(filepath.Join(b.shots, file), img, 0o644); err != nil {
		b.t.Errorf("keep screenshot: %v", err)
	}
}
