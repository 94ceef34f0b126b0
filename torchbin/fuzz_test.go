package torchbin

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzUnpickle runs the restricted machine over arbitrary bytes: it must
// return an error or a value, never panic or run away with memory.
func FuzzUnpickle(f *testing.F) {
	f.Add([]byte(goodPickle))
	f.Add([]byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R."))
	f.Add([]byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x01a\x94]\x94(K\x01K\x02e\x86."))
	f.Add([]byte("\x80\x02ccollections\nOrderedDict\n)R}X\x09\x00\x00\x00_metadata}sb."))
	f.Fuzz(func(t *testing.T, p []byte) {
		unpickle(p) //nolint:errcheck // only panics matter
	})
}

// FuzzOpen feeds whole archives (the committed checkpoints, then mutations)
// through Open and reads every tensor it accepts.
func FuzzOpen(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.bin"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(archive(f, []byte(goodPickle), map[string][]byte{"0": make([]byte, 8)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		tf, err := newFile("fuzz.bin", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, n := range tf.Names() {
			tf.Bytes(n)   //nolint:errcheck
			tf.Float32(n) //nolint:errcheck
		}
	})
}
