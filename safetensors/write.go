package safetensors

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Tensor is one tensor to write.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64
	// Data holds the values for F32, F16 and BF16 tensors; F16 and BF16 are
	// rounded to nearest-even (see Float32ToF16, Float32ToBF16).
	Data []float32
	// Raw, when non-nil, is written verbatim (little-endian) instead of
	// Data, for any dtype: integer tensors, exact half bit patterns.
	Raw []byte
}

// Write serializes tensors and metadata in the safetensors format.
//
// The output is byte-identical to the reference library's (Python
// safetensors.*.save_file) for the same tensors: entries are laid out by
// descending dtype rank then name, the header is compact JSON with
// serde_json's string escaping, "__metadata__" first, padded with spaces
// to a multiple of 8 bytes. The reference iterates a hash map for metadata
// keys, so with more than one key its order is arbitrary; we sort them.
// A nil metadata map omits "__metadata__"; an empty one writes {}.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order := make([]int, len(tensors))
	seen := make(map[string]bool, len(tensors))
	sizes := make([]uint64, len(tensors))
	for i := range tensors {
		t := &tensors[i]
		order[i] = i
		size, err := checkTensor(t)
		if err != nil {
			return err
		}
		if seen[t.Name] {
			return fmt.Errorf("safetensors: write: tensor %q: duplicate name", t.Name)
		}
		seen[t.Name] = true
		sizes[i] = size
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("safetensors: write: metadata %q: not valid UTF-8", k)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(tensors[b].DType, tensors[a].DType); c != 0 {
			return c
		}
		return cmp.Compare(tensors[a].Name, tensors[b].Name)
	})

	hdr := []byte{'{'}
	if metadata != nil {
		hdr = appendJSONString(hdr, metadataKey)
		hdr = append(hdr, ':', '{')
		keys := slices.Sorted(maps.Keys(metadata))
		for i, k := range keys {
			if i > 0 {
				hdr = append(hdr, ',')
			}
			hdr = appendJSONString(hdr, k)
			hdr = append(hdr, ':')
			hdr = appendJSONString(hdr, metadata[k])
		}
		hdr = append(hdr, '}')
	}
	var off uint64
	for j, i := range order {
		t := &tensors[i]
		if j > 0 || metadata != nil {
			hdr = append(hdr, ',')
		}
		hdr = appendJSONString(hdr, t.Name)
		hdr = append(hdr, `:{"dtype":`...)
		hdr = appendJSONString(hdr, t.DType.String())
		hdr = append(hdr, `,"shape":[`...)
		for k, d := range t.Shape {
			if k > 0 {
				hdr = append(hdr, ',')
			}
			hdr = strconv.AppendInt(hdr, d, 10)
		}
		hdr = append(hdr, `],"data_offsets":[`...)
		hdr = strconv.AppendUint(hdr, off, 10)
		hdr = append(hdr, ',')
		off += sizes[i]
		hdr = strconv.AppendUint(hdr, off, 10)
		hdr = append(hdr, ']', '}')
	}
	hdr = append(hdr, '}')
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	if len(hdr) > MaxHeaderSize {
		return fmt.Errorf("safetensors: write: header of %d bytes exceeds the %d-byte limit", len(hdr), MaxHeaderSize)
	}

	bw := bufio.NewWriterSize(w, 1<<20)
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(hdr)))
	if _, err := bw.Write(prefix[:]); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	if _, err := bw.Write(hdr); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	var buf [4]byte
	for _, i := range order {
		t := &tensors[i]
		var err error
		switch {
		case t.Raw != nil:
			_, err = bw.Write(t.Raw)
		case t.DType == F32:
			for _, v := range t.Data {
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
				if _, err = bw.Write(buf[:4]); err != nil {
					break
				}
			}
		case t.DType == F16 || t.DType == BF16:
			conv := Float32ToF16
			if t.DType == BF16 {
				conv = Float32ToBF16
			}
			for _, v := range t.Data {
				binary.LittleEndian.PutUint16(buf[:], conv(v))
				if _, err = bw.Write(buf[:2]); err != nil {
					break
				}
			}
		}
		if err != nil {
			return fmt.Errorf("safetensors: write: tensor %q: %w", t.Name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	return nil
}

// checkTensor validates t and returns its data size in bytes.
func checkTensor(t *Tensor) (uint64, error) {
	bad := func(format string, args ...any) (uint64, error) {
		return 0, fmt.Errorf("safetensors: write: tensor %q: %s", t.Name, fmt.Sprintf(format, args...))
	}
	if t.Name == metadataKey {
		return bad("name is reserved for metadata")
	}
	if !utf8.ValidString(t.Name) {
		return bad("name is not valid UTF-8")
	}
	if t.DType <= DTypeInvalid || t.DType >= numDTypes {
		return bad("invalid dtype %d", t.DType)
	}
	numel := uint64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return bad("negative dimension in shape %v", t.Shape)
		}
		hi, lo := bits.Mul64(numel, uint64(d))
		if hi != 0 {
			return bad("shape %v overflows", t.Shape)
		}
		numel = lo
	}
	hi, nbits := bits.Mul64(numel, dtypeBits[t.DType])
	if hi != 0 || nbits%8 != 0 {
		return bad("shape %v of %s is not a whole number of bytes", t.Shape, t.DType)
	}
	size := nbits / 8
	if t.Raw != nil {
		if t.Data != nil {
			return bad("both Data and Raw are set")
		}
		if uint64(len(t.Raw)) != size {
			return bad("Raw has %d bytes, shape %v of %s needs %d", len(t.Raw), t.Shape, t.DType, size)
		}
		return size, nil
	}
	switch t.DType {
	case F32, F16, BF16:
	default:
		return bad("%s needs Raw bytes (Data converts only to F32, F16, BF16)", t.DType)
	}
	if uint64(len(t.Data)) != numel {
		return bad("Data has %d values, shape %v needs %d", len(t.Data), t.Shape, numel)
	}
	return size, nil
}

// appendJSONString appends s as a JSON string escaped exactly as serde_json
// does (the reference writer): only '"', '\\' and control characters are
// escaped, short forms where JSON has them, else \u00xx in lowercase hex;
// everything else, non-ASCII included, is written as is.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			dst = append(dst, '\\', '"')
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// WriteFile writes to path atomically: into a temporary file in the same
// folder, then renamed over path, so a reader (or a crash) never sees a
// half-written checkpoint, and a File that has the old one mapped keeps
// its (unlinked) pages instead of faulting.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = Write(tmp, tensors, metadata); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
