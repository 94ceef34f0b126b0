package cli

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/askqa/ask/safetensors"
	"github.com/askqa/ask/torchbin"
)

// convertResult is what ask convert --json prints.
type convertResult struct {
	Output  string   `json:"output"`  // the model.safetensors written
	Sources []string `json:"sources"` // the .bin files read
	Tensors int      `json:"tensors"`
	Bytes   int64    `json:"bytes"` // size of the file written
}

func runConvert(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "convert", "DIR [--force] [--json]\n\n"+
		"Writes DIR/model.safetensors with the tensors of DIR's pytorch_model.bin (or of the\n"+
		"shards that pytorch_model.bin.index.json lists), each in its stored dtype, with the\n"+
		"metadata {\"format\":\"pt\"} that transformers writes. The .bin files are read without\n"+
		"running their pickle: anything but tensors is refused. The new file is written under\n"+
		"a temporary name and renamed, so a failed run leaves DIR as it was; an existing\n"+
		"model.safetensors (or model.safetensors.index.json) is kept unless --force. Loaders,\n"+
		"Python's included, prefer model.safetensors to the .bin files, which are left in place.")
	force := fs.Bool("force", false, "replace an existing model.safetensors")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf(fs, "want one folder, got %d arguments", fs.NArg())
	}
	res, err := convertDir(ctx, fs.Arg(0), *force)
	if err != nil {
		return err // Run says "ask convert: " before it
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	fmt.Fprintf(env.Stdout, "%s: %d tensors, %.1f MB, from %d .bin file(s)\n", res.Output, res.Tensors, float64(res.Bytes)/1e6, len(res.Sources))
	return nil
}

// convertDir writes dir/model.safetensors from dir's torch checkpoint.
func convertDir(ctx context.Context, dir string, force bool) (*convertResult, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder: give the folder that holds pytorch_model.bin", dir)
	}
	out := filepath.Join(dir, safetensors.SingleFileName)
	if !force {
		for _, existing := range []string{safetensors.SingleFileName, safetensors.IndexFileName} {
			if _, err := os.Stat(filepath.Join(dir, existing)); err == nil {
				return nil, fmt.Errorf("%s already has %s, which ask loads instead of the .bin files: nothing to do (--force to write model.safetensors anyway)", dir, existing)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	set, err := torchbin.OpenDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s has no %s or %s to convert", dir, torchbin.SingleFileName, torchbin.IndexFileName)
		}
		// torchbin's errors say what was refused and, for the legacy
		// format, how to convert it with Python.
		return nil, err
	}
	defer set.Close()
	n, err := writeStreamed(ctx, out, set, map[string]string{"format": "pt"})
	if err != nil {
		return nil, err
	}
	return &convertResult{Output: out, Sources: set.Files(), Tensors: len(set.Names()), Bytes: n}, nil
}

// writeStreamed writes the tensors of r to path as safetensors.Write would,
// but reads and writes one tensor at a time, so converting a checkpoint
// needs memory for its largest tensor rather than for all of them. The
// header (and with it the order of the data) comes from safetensors.Write
// itself, run over placeholder bytes and stopped once the header is out.
// The file is written under a temporary name, synced, checked (header and
// a CRC of every tensor's bytes) and renamed over path.
func writeStreamed(ctx context.Context, path string, r safetensors.Reader, meta map[string]string) (_ int64, err error) {
	names := r.Names()
	infos := make([]safetensors.TensorInfo, len(names))
	var largest int64
	for i, name := range names {
		info, ok := r.Info(name)
		if !ok {
			return 0, fmt.Errorf("tensor %q listed but not found", name)
		}
		size := info.NumElements() * int64(info.DType.Bits()) / 8
		if info.DType == safetensors.DTypeInvalid || size < 0 {
			return 0, fmt.Errorf("tensor %q: no safetensors dtype for its storage", name)
		}
		infos[i] = info
		largest = max(largest, size)
	}
	// Every placeholder aliases one zeroed buffer: never written to, so it
	// costs address space, not memory, and Write reads at most a buffer's
	// worth of it before the header capture stops it.
	zeros := make([]byte, largest)
	placeholders := make([]safetensors.Tensor, len(names))
	for i, info := range infos {
		placeholders[i] = safetensors.Tensor{Name: info.Name, DType: info.DType, Shape: info.Shape,
			Raw: zeros[:info.NumElements()*int64(info.DType.Bits())/8]}
	}
	var hc headerCapture
	if werr := safetensors.Write(&hc, placeholders, meta); !errors.Is(werr, errHeaderDone) {
		if werr == nil {
			werr = errors.New("safetensors.Write ended before its header did")
		}
		return 0, werr
	}
	order, err := dataOrder(hc.header[8:])
	if err != nil {
		return 0, err
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(hc.header); err != nil {
		return 0, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	sums := make(map[string]uint32, len(names))
	table := crc32.MakeTable(crc32.Castagnoli)
	for _, e := range order {
		if err = ctx.Err(); err != nil {
			return 0, err
		}
		b, info, rerr := r.Bytes(e.name)
		if rerr != nil {
			return 0, rerr
		}
		if int64(len(b)) != e.size || info.DType.String() != e.dtype {
			return 0, fmt.Errorf("tensor %q: read %d bytes of %s, the header says %d of %s", e.name, len(b), info.DType, e.size, e.dtype)
		}
		if _, err = tmp.Write(b); err != nil {
			return 0, fmt.Errorf("write %s: %w", tmp.Name(), err)
		}
		sums[e.name] = crc32.Checksum(b, table)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return 0, err
	}
	if err = tmp.Sync(); err != nil {
		return 0, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return 0, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	size, err := checkWritten(tmp.Name(), infos, sums, table)
	if err != nil {
		return 0, err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	return size, nil
}

// checkWritten opens the file just written with the safetensors reader
// (which validates its layout) and compares every tensor with what was
// meant to be written.
func checkWritten(path string, infos []safetensors.TensorInfo, sums map[string]uint32, table *crc32.Table) (int64, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return 0, fmt.Errorf("check the file written: %w", err)
	}
	defer f.Close()
	if got := len(f.Names()); got != len(infos) {
		return 0, fmt.Errorf("check %s: %d tensors, want %d", path, got, len(infos))
	}
	for _, want := range infos {
		b, got, err := f.Bytes(want.Name)
		if err != nil {
			return 0, fmt.Errorf("check %s: %w", path, err)
		}
		if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || crc32.Checksum(b, table) != sums[want.Name] {
			return 0, fmt.Errorf("check %s: tensor %q differs from the checkpoint's", path, want.Name)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// errHeaderDone stops safetensors.Write once headerCapture has the header.
var errHeaderDone = errors.New("header captured")

// headerCapture keeps the length prefix and the header of a safetensors
// stream and stops the writer at the data that follows.
type headerCapture struct {
	header []byte
}

func (h *headerCapture) Write(p []byte) (int, error) {
	h.header = append(h.header, p...)
	if len(h.header) < 8 {
		return len(p), nil
	}
	n := binary.LittleEndian.Uint64(h.header)
	if n > safetensors.MaxHeaderSize {
		return 0, fmt.Errorf("safetensors header of %d bytes", n)
	}
	if uint64(len(h.header)) < 8+n {
		return len(p), nil
	}
	h.header = h.header[:8+n]
	return len(p), errHeaderDone
}

// dataEntry is one tensor of a header, in the order of its data.
type dataEntry struct {
	name, dtype string
	begin, size int64
}

// dataOrder reads a safetensors header and lists the tensors by offset,
// checking that they tile the data section with no gap.
func dataOrder(hdr []byte) ([]dataEntry, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("read back the header written: %w", err)
	}
	var out []dataEntry
	for name, v := range raw {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			DType   string   `json:"dtype"`
			Offsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("read back the header written: tensor %q: %w", name, err)
		}
		out = append(out, dataEntry{name: name, dtype: e.DType, begin: e.Offsets[0], size: e.Offsets[1] - e.Offsets[0]})
	}
	slices.SortFunc(out, func(a, b dataEntry) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.size, b.size))
	})
	var at int64
	for _, e := range out {
		if e.begin != at {
			return nil, fmt.Errorf("read back the header written: tensor %q starts at %d, want %d", e.name, e.begin, at)
		}
		at += e.size
	}
	return out, nil
}
