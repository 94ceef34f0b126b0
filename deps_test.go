package ask_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/askqa/ask"

// rule is one row of the "may import" table of DEVELOPERS.md: what one
// package of the module may import besides the standard library.
type rule struct {
	// may lists module packages (paths relative to the module root) and
	// third-party import paths. A trailing "/..." matches the path and
	// everything below it; "..." alone matches every module package.
	may []string
	// anyThirdParty allows every third-party import (cli, dev tools).
	anyThirdParty bool
	// runtime marks the model runtime and what must stay as portable as it:
	// neither it nor anything it links may import the network, processes
	// or cgo (forbiddenInRuntime).
	runtime bool
	// noModel forbids linking the model runtime at all: the package must
	// stay small for programs that only ask questions over HTTP.
	noModel bool
}

// rules is the table. Adding a package: add its row here and in
// DEVELOPERS.md's table, saying what it may import and nothing more.
var rules = map[string]rule{
	"":        {},
	"cmd/ask": {may: []string{"cli"}},
	"cli":     {may: []string{"..."}, anyThirdParty: true},
	"api":     {},
	"config":  {},
	"server": {may: []string{"api", "reader", "sched", "hub", "embed", "kb", "ingest", "retrieve", "answer", "chunk", "tokenizer", "generate",
		"github.com/prometheus/client_golang/..."}, noModel: true},
	"reader":         {may: []string{"lexical"}, noModel: true},
	"reader/qamodel": {may: []string{"reader", "qa", "sched", "model", "tokenizer"}, runtime: true},
	"sched":          {runtime: true},
	"lexical":        {runtime: true},
	"qa":             {may: []string{"tokenizer", "model", "golang.org/x/text/..."}, runtime: true},
	"qa/squad":       {may: []string{"golang.org/x/text/..."}, runtime: true},
	"qa/cmrc":        {may: []string{"qa/squad", "golang.org/x/text/..."}, runtime: true},
	"tokenizer":      {may: []string{"golang.org/x/text/...", "google.golang.org/protobuf/encoding/protowire"}, runtime: true},
	"model":          {may: []string{"nn", "tensor", "safetensors", "torchbin"}, runtime: true},
	"model/...":      {may: []string{"model", "nn", "tensor", "safetensors"}, runtime: true},
	"engine":         {may: []string{"model", "model/...", "nn", "tensor", "safetensors"}, runtime: true},
	"nn":             {may: []string{"tensor"}, runtime: true},
	"tensor":         {may: []string{"golang.org/x/sys/cpu"}, runtime: true},
	"safetensors":    {may: []string{"golang.org/x/sys/..."}, runtime: true},
	"torchbin":       {may: []string{"safetensors"}, runtime: true},
	"builtin":        {may: []string{"safetensors"}, runtime: true},
	"hub":            {may: []string{"progress", "golang.org/x/sys/...", "golang.org/x/term"}},
	"hub/hubtest":    {may: []string{"hub"}},
	"progress":       {may: []string{"golang.org/x/term", "golang.org/x/sys/..."}},

	// Sentence embeddings: the seam, its fake, and the engine-backed one.
	"embed":           {runtime: true},
	"embed/embedtest": {may: []string{"embed"}, runtime: true},
	"embed/sentence":  {may: []string{"embed", "engine", "model", "tokenizer", "sched", "builtin", "safetensors"}, runtime: true},

	// The knowledge base: store interface and backends, retrieval,
	// ingestion (extraction and chunking), generation.
	"kb": {may: []string{"embed", "chunk"}},
	"kb/...": {may: []string{"kb", "kb/...", "embed", "embed/...", "chunk",
		"modernc.org/sqlite", "github.com/jackc/pgx/v5/...", "github.com/pressly/goose/v3/..."}},
	"chunk":    {may: []string{"tokenizer"}, runtime: true},
	"retrieve": {may: []string{"kb", "kb/...", "embed", "reader", "lexical", "chunk"}},
	"ingest": {may: []string{"kb", "embed", "chunk", "tokenizer", "golang.org/x/net/html/...", "golang.org/x/text/...",
		"github.com/ledongthuc/pdf"}},
	"answer":                {may: []string{"api", "kb", "reader", "retrieve", "embed"}, noModel: true},
	"generate":              {may: []string{"github.com/openai/openai-go/...", "api", "reader", "kb", "retrieve"}},
	"generate/generatetest": {may: []string{"generate"}},

	// The web page's tests in a headless Chromium (tests only: doc.go
	// imports nothing; its tests use cli, generate/generatetest, chromedp).
	"webtest": {may: []string{"cli", "generate/generatetest", "github.com/chromedp/..."}},

	// Developer tools, never linked into ask.
	"tools/...": {may: []string{"..."}, anyThirdParty: true},
}

// forbiddenInRuntime are the standard packages the runtime must not link:
// the network, other processes, plugins, and cgo ("C" directly, runtime/cgo
// through a dependency that uses it).
var forbiddenInRuntime = []string{"net", "net/http", "os/exec", "plugin", "C", "runtime/cgo"}

// modelRuntime are the packages a noModel package must not link.
var modelRuntime = []string{"tensor", "nn", "model", "engine", "safetensors"}

// listed is what go list says about one package.
type listed struct {
	path     string
	standard bool
	imports  []string
	deps     []string
	cgoFiles []string
}

// goList lists every package of the module and its dependencies with cgo
// enabled: with CGO_ENABLED=0 the go command silently drops the files
// that import "C", so a cgo file would pass unseen.
func goList(t *testing.T, dir string) map[string]*listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f",
		"{{.ImportPath}}\t{{.Standard}}\t{{join .Imports \" \"}}\t{{join .Deps \" \"}}\t{{join .CgoFiles \" \"}}", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	pkgs := map[string]*listed{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			t.Fatalf("go list: unexpected line %q", sc.Text())
		}
		pkgs[f[0]] = &listed{path: f[0], standard: f[1] == "true",
			imports: strings.Fields(f[2]), deps: strings.Fields(f[3]), cgoFiles: strings.Fields(f[4])}
	}
	return pkgs
}

// ruleFor returns the row of a module package (path relative to the
// module): its own, or the closest "/..." row above it.
func ruleFor(rel string) (rule, bool) {
	if r, ok := rules[rel]; ok {
		return r, true
	}
	for dir := rel; dir != "." && dir != ""; dir = filepath.ToSlash(filepath.Dir(dir)) {
		if r, ok := rules[dir+"/..."]; ok {
			return r, true
		}
	}
	return rule{}, false
}

// matches reports whether path (relative to the module for module
// packages, full otherwise) is covered by one of the patterns.
func matches(patterns []string, path string) bool {
	for _, p := range patterns {
		if p == "..." {
			if !strings.Contains(path, ".") || strings.HasPrefix(path, module) {
				return true
			}
			continue
		}
		if base, ok := strings.CutSuffix(p, "/..."); ok {
			if path == base || strings.HasPrefix(path, base+"/") {
				return true
			}
			continue
		}
		if path == p {
			return true
		}
	}
	return false
}

func rel(path string) string {
	if path == module {
		return ""
	}
	return strings.TrimPrefix(path, module+"/")
}

func isModule(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

// TestImportRules enforces the "may import" table: every package of the
// module has a row, and imports only the module packages and third-party
// packages its row allows; the runtime links no network, processes or cgo;
// no package of the module uses cgo at all.
func TestImportRules(t *testing.T) {
	pkgs := goList(t, ".")
	var paths []string
	for p := range pkgs {
		if isModule(p) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	if len(paths) < 10 {
		t.Fatalf("go list found only %d packages of %s: %v", len(paths), module, paths)
	}
	for _, p := range paths {
		pkg, name := pkgs[p], rel(p)
		if name == "" {
			name = "(root)"
		}
		r, ok := ruleFor(rel(p))
		if !ok {
			t.Errorf("%s has no import rule: add a row for %s in deps_test.go and DEVELOPERS.md", p, name)
			continue
		}
		if len(pkg.cgoFiles) > 0 {
			t.Errorf("%s uses cgo (%s): ask must build with CGO_ENABLED=0 for every platform", name, strings.Join(pkg.cgoFiles, ", "))
		}
		for _, imp := range pkg.imports {
			switch {
			case imp == "C":
				t.Errorf("%s imports \"C\": ask uses no cgo", name)
			case isModule(imp):
				if !matches(r.may, rel(imp)) {
					t.Errorf("%s imports %s, which its row does not allow: change the code, or the row for %s in deps_test.go and DEVELOPERS.md", name, rel(imp), name)
				}
			case pkgs[imp] != nil && pkgs[imp].standard:
				if r.runtime && slices.Contains(forbiddenInRuntime, imp) {
					t.Errorf("%s imports %s; the runtime must not", name, imp)
				}
			default:
				if !r.anyThirdParty && !matches(r.may, imp) {
					t.Errorf("%s imports third-party %s, which its row does not allow: change the code, or the row for %s in deps_test.go and DEVELOPERS.md", name, imp, name)
				}
			}
		}
		for _, dep := range pkg.deps {
			if r.runtime && slices.Contains(forbiddenInRuntime, dep) {
				t.Errorf("%s links %s through its dependencies; the runtime must not (go list -deps %s shows the path)", name, dep, p)
			}
			if r.noModel && isModule(dep) && slices.Contains(modelRuntime, rel(dep)) {
				t.Errorf("%s links the model runtime (%s): it must stay free of it", name, rel(dep))
			}
		}
	}
	// Rows for packages that are gone (or not written yet) are harmless,
	// but a typo in one would silently match nothing: report them.
	for pattern := range rules {
		base := strings.TrimSuffix(pattern, "/...")
		found := false
		for _, p := range paths {
			if rp := rel(p); rp == base || (strings.HasSuffix(pattern, "/...") && strings.HasPrefix(rp, base+"/")) {
				found = true
				break
			}
		}
		if !found {
			t.Logf("no package matches the row %q (yet)", pattern)
		}
	}
}

// TestRuleMatching pins the pattern semantics the table relies on.
func TestRuleMatching(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		path     string
		want     bool
	}{
		{[]string{"model/..."}, "model", true},
		{[]string{"model/..."}, "model/bert", true},
		{[]string{"model/..."}, "modelx", false},
		{[]string{"..."}, "tensor", true},
		{[]string{"..."}, "golang.org/x/text", false},
		{[]string{"golang.org/x/text/..."}, "golang.org/x/text/unicode/norm", true},
		{[]string{"tensor"}, "tensor/asm", false},
	} {
		if got := matches(tc.patterns, tc.path); got != tc.want {
			t.Errorf("matches(%q, %q) = %v, want %v", tc.patterns, tc.path, got, tc.want)
		}
	}
	for _, tc := range []struct {
		path string
		want bool
	}{{"model/debertav2", true}, {"kb/postgres", true}, {"tools/new", true}, {"newpkg", false}} {
		if _, ok := ruleFor(tc.path); ok != tc.want {
			t.Errorf("ruleFor(%q) found = %v, want %v", tc.path, ok, tc.want)
		}
	}
}

// The check sees a cgo file where CGO_ENABLED=0 would hide it: a module
// with one file importing "C" (never compiled, only listed).
func TestCgoDetected(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.22\n",
		"p/p.go": "package p\n",
		"p/c.go": "package p\n\n// #include <stdlib.h>\nimport \"C\"\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := goList(t, dir)["example.com/m/p"]
	if p == nil || !slices.Equal(p.cgoFiles, []string{"c.go"}) || !slices.Contains(p.imports, "C") {
		t.Fatalf("go list saw %+v; want c.go among the cgo files", p)
	}
}
