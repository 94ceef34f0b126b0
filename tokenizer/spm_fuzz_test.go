package tokenizer

import (
	"os"
	"testing"
)

// FuzzSPModel feeds arbitrary bytes (seeded with the committed models and
// truncations of one) to the ModelProto reader and, when it accepts them,
// builds every class's tokenizer and encodes a string: errors are fine,
// panics are not.
func FuzzSPModel(f *testing.F) {
	for _, p := range []string{"testdata/spm/albert/spiece.model", "testdata/spm/xlm-roberta/sentencepiece.bpe.model"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), 4096)])
		}
	}
	f.Add([]byte("\x0a\x0b\x0a\x05<unk>\x15\x00\x00\x00\x00\x18\x02\x0a\x09\x0a\x03\xe2\x96\x81\x15\x00\x00\x80\xbf"))
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseSPModel(b)
		if err != nil {
			return
		}
		for class, sc := range spmClasses {
			doc, err := spmTokenizerJSON(m, map[string]any{}, class, sc)
			if err != nil {
				continue
			}
			tk, err := parseTokenizerJSON(doc)
			if err != nil {
				continue
			}
			tk.Encode("Hello, wörld ``x''  y", true) //nolint:errcheck
		}
	})
}
