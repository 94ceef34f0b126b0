package ask_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRuntimeDeps keeps the model runtime free of HTTP and cgo: it must
// build into any program and stay small.
func TestRuntimeDeps(t *testing.T) {
	runtime := []string{"./tensor", "./nn", "./safetensors", "./model/...", "./engine", "./tokenizer", "./qa/..."}
	forbidden := []string{"net/http", "net", "runtime/cgo", "os/exec"}
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, runtime...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f {
				t.Errorf("the runtime imports %s", dep)
			}
		}
	}
}
