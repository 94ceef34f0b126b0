package torchbin

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/askqa/ask/safetensors"
)

// ErrLegacy marks a checkpoint in torch's pre-1.6 format (a bare pickle
// stream rather than a zip), which this package does not read.
var ErrLegacy = errors.New("legacy (pre-1.6) torch checkpoint format")

// maxElements bounds one tensor (2^40 values): shapes in a hostile pickle
// must not overflow the size arithmetic.
const maxElements = 1 << 40

// File is one open pytorch_model.bin. It is safe for concurrent use.
type File struct {
	path string

	mu     sync.RWMutex         // read: a read in progress; write: Close
	ra     io.ReaderAt          // nil once closed
	closer io.Closer            // the os.File behind ra, if any
	data   map[string]*zip.File // storage key → its entry

	tensors map[string]*tensorRef
	names   []string // sorted
}

var _ safetensors.Reader = (*File)(nil)

// storageDType maps a torch storage class to its element type.
func storageDType(class string) (safetensors.DType, bool) {
	switch class {
	case "FloatStorage":
		return safetensors.F32, true
	case "HalfStorage":
		return safetensors.F16, true
	case "BFloat16Storage":
		return safetensors.BF16, true
	case "DoubleStorage":
		return safetensors.F64, true
	case "LongStorage":
		return safetensors.I64, true
	case "IntStorage":
		return safetensors.I32, true
	case "ShortStorage":
		return safetensors.I16, true
	case "CharStorage":
		return safetensors.I8, true
	case "ByteStorage":
		return safetensors.U8, true
	case "BoolStorage":
		return safetensors.BOOL, true
	}
	return safetensors.DTypeInvalid, false
}

// Open reads the index of the checkpoint at path; tensor data is read from
// the file when asked for.
func Open(name string) (*File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("torchbin: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("torchbin: %w", err)
	}
	tf, err := newFile(name, f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	tf.closer = f
	return tf, nil
}

// newFile parses the archive in r; it is Open without the file system, for
// tests and fuzzing.
func newFile(name string, r io.ReaderAt, size int64) (*File, error) {
	var head [2]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return nil, fmt.Errorf("torchbin: %s: %w", name, err)
	}
	if head[0] == 0x80 || head[0] == 0x1f || string(head[:]) == "\x00\x00" {
		// A pickle stream (protocol opcode) or the even older tar layout.
		return nil, fmt.Errorf("torchbin: %s: %w: convert it with a Python you trust: "+
			"torch.save(torch.load(p, weights_only=True), p), or save_pretrained to write model.safetensors", name, ErrLegacy)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("torchbin: %s: not a torch zip checkpoint: %w", name, err)
	}
	t := &File{path: name, ra: r, data: map[string]*zip.File{}}
	var pkl *zip.File
	prefix := ""
	for _, e := range zr.File {
		if strings.HasSuffix(e.Name, "/data.pkl") && strings.Count(e.Name, "/") == 1 {
			if pkl != nil {
				return nil, fmt.Errorf("torchbin: %s: two data.pkl entries", name)
			}
			pkl = e
			prefix = strings.TrimSuffix(e.Name, "data.pkl")
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("torchbin: %s: no <archive>/data.pkl entry: not a torch checkpoint", name)
	}
	for _, e := range zr.File {
		switch rest, ok := strings.CutPrefix(e.Name, prefix); {
		case !ok:
		case strings.HasPrefix(rest, "data/"):
			if err := checkEntry(e, size); err != nil {
				return nil, fmt.Errorf("torchbin: %s: %w", name, err)
			}
			t.data[strings.TrimPrefix(rest, "data/")] = e
		case rest == "byteorder":
			b, err := readEntry(e, 16)
			if err != nil {
				return nil, fmt.Errorf("torchbin: %s: %w", name, err)
			}
			if string(b) != "little" {
				return nil, fmt.Errorf("torchbin: %s: byte order %q: only little-endian checkpoints are supported", name, b)
			}
		}
	}
	if pkl.UncompressedSize64 > 256<<20 {
		return nil, fmt.Errorf("torchbin: %s: data.pkl of %d bytes is implausibly large", name, pkl.UncompressedSize64)
	}
	p, err := readEntry(pkl, int64(pkl.UncompressedSize64))
	if err != nil {
		return nil, fmt.Errorf("torchbin: %s: %w", name, err)
	}
	top, err := unpickle(p)
	if err != nil {
		return nil, fmt.Errorf("torchbin: %s: %w", name, err)
	}
	d, ok := top.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("torchbin: %s: the pickle holds a %s, not a state dict", name, typeName(top))
	}
	t.tensors = make(map[string]*tensorRef, len(d.keys))
	for _, k := range d.keys {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("torchbin: %s: state dict key %v is not a string", name, k)
		}
		tr, ok := d.vals[k].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("torchbin: %s: %q holds a %s, not a tensor", name, ks, typeName(d.vals[k]))
		}
		if err := t.check(tr); err != nil {
			return nil, fmt.Errorf("torchbin: %s: tensor %q: %w", name, ks, err)
		}
		t.tensors[ks] = tr
		t.names = append(t.names, ks)
	}
	slices.Sort(t.names)
	return t, nil
}

// checkEntry rejects an entry whose declared size the file cannot hold, so
// that the sizes the pickle is checked against are real and no read
// allocates more than the archive could deliver.
func checkEntry(e *zip.File, size int64) error {
	off, err := e.DataOffset()
	if err != nil {
		return fmt.Errorf("%s: %w", e.Name, err)
	}
	c, u := e.CompressedSize64, e.UncompressedSize64
	switch {
	case c > uint64(size) || off < 0 || uint64(off)+c > uint64(size):
		return fmt.Errorf("%s: %d bytes at offset %d run past the end of the file", e.Name, c, off)
	case e.Method == zip.Store && c != u:
		return fmt.Errorf("%s: stored entry declares %d bytes but holds %d", e.Name, u, c)
	case e.Method != zip.Store && u > 1100*c+1024:
		// Deflate cannot expand more than about 1032 times.
		return fmt.Errorf("%s: declares %d bytes from %d compressed", e.Name, u, c)
	}
	return nil
}

func readEntry(e *zip.File, limit int64) ([]byte, error) {
	rc, err := e.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: longer than %d bytes", e.Name, limit)
	}
	return b, nil
}

// check validates a tensor against its storage: the dtype is known, the
// element count cannot overflow, every element it addresses lies inside
// the storage and the storage's entry holds that many bytes.
func (t *File) check(tr *tensorRef) error {
	dt, ok := storageDType(tr.storage.dtype)
	if !ok {
		return fmt.Errorf("storage class %s", tr.storage.dtype)
	}
	e, ok := t.data[tr.storage.key]
	if !ok {
		return fmt.Errorf("storage %q has no data/%s entry", tr.storage.key, tr.storage.key)
	}
	esize := int64(dt.Bits() / 8)
	if tr.storage.numel > maxElements || uint64(tr.storage.numel*esize) > e.UncompressedSize64 {
		return fmt.Errorf("storage %q: %d elements of %d bytes but the entry has %d bytes", tr.storage.key, tr.storage.numel, esize, e.UncompressedSize64)
	}
	n := int64(1)
	last := tr.offset
	for i, d := range tr.shape {
		if d == 0 {
			return nil // empty: addresses nothing
		}
		if d > maxElements || n > maxElements/d {
			return fmt.Errorf("shape %v is too large", tr.shape)
		}
		n *= d
		if tr.stride[i] > maxElements || (d-1) > maxElements/max(tr.stride[i], 1) {
			return fmt.Errorf("stride %v is too large", tr.stride)
		}
		last += (d - 1) * tr.stride[i]
	}
	if last >= tr.storage.numel {
		return fmt.Errorf("offset %d, shape %v, stride %v reach element %d of a storage of %d", tr.offset, tr.shape, tr.stride, last, tr.storage.numel)
	}
	return nil
}

// Path is the file's name as given to Open.
func (t *File) Path() string { return t.path }

// Names lists the tensor names, sorted.
func (t *File) Names() []string { return slices.Clone(t.names) }

// Info describes a tensor. Offsets are zero: a torch tensor is a view of a
// storage, not a byte range of the file.
func (t *File) Info(name string) (safetensors.TensorInfo, bool) {
	tr, ok := t.tensors[name]
	if !ok {
		return safetensors.TensorInfo{}, false
	}
	dt, _ := storageDType(tr.storage.dtype)
	return safetensors.TensorInfo{Name: name, DType: dt, Shape: slices.Clone(tr.shape)}, true
}

// Metadata is always nil: a state dict carries none.
func (t *File) Metadata() map[string]string { return nil }

// Bytes returns the tensor's elements, row-major and little-endian, in a
// new slice: views with strides or offsets are gathered.
func (t *File) Bytes(name string) ([]byte, safetensors.TensorInfo, error) {
	info, ok := t.Info(name)
	if !ok {
		return nil, safetensors.TensorInfo{}, fmt.Errorf("torchbin: tensor %q: %w", name, safetensors.ErrNotFound)
	}
	b, err := t.gather(t.tensors[name], int64(info.DType.Bits()/8))
	if err != nil {
		return nil, safetensors.TensorInfo{}, fmt.Errorf("torchbin: %s: tensor %q: %w", t.path, name, err)
	}
	return b, info, nil
}

// Float32 returns an F32, F16 or BF16 tensor as a new float32 slice, and
// its shape.
func (t *File) Float32(name string) ([]float32, []int64, error) {
	b, info, err := t.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	n := len(b) / (info.DType.Bits() / 8)
	out := make([]float32, n)
	switch info.DType {
	case safetensors.F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case safetensors.F16:
		for i := range out {
			out[i] = safetensors.F16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case safetensors.BF16:
		for i := range out {
			out[i] = safetensors.BF16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	default:
		return nil, nil, fmt.Errorf("torchbin: %s: tensor %q has dtype %s; only F32, F16 and BF16 read as float32", t.path, name, info.DType)
	}
	return out, info.Shape, nil
}

// gather reads the elements a view addresses. The storage's bytes are read
// once, as one span from the first to the last element addressed.
func (t *File) gather(tr *tensorRef, esize int64) ([]byte, error) {
	n := int64(1)
	for _, d := range tr.shape {
		n *= d
	}
	if n == 0 {
		return []byte{}, nil
	}
	last := tr.offset
	for i, d := range tr.shape {
		last += (d - 1) * tr.stride[i]
	}
	span, err := t.readSpan(t.data[tr.storage.key], tr.offset*esize, (last+1)*esize)
	if err != nil {
		return nil, err
	}
	if contiguous(tr.shape, tr.stride) {
		return span, nil
	}
	out := make([]byte, 0, n*esize)
	idx := make([]int64, len(tr.shape))
	for {
		var at int64
		for i, x := range idx {
			at += x * tr.stride[i]
		}
		out = append(out, span[at*esize:(at+1)*esize]...)
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < tr.shape[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return out, nil
		}
	}
}

// contiguous reports whether stride is shape's row-major layout (dims of
// size one may have any stride, as in torch).
func contiguous(shape, stride []int64) bool {
	want := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && stride[i] != want {
			return false
		}
		want *= shape[i]
	}
	return true
}

// readSpan reads bytes [begin, end) of a storage entry: directly at its
// offset in the file when stored uncompressed (as torch writes them), else
// by decompressing the entry up to end.
func (t *File) readSpan(e *zip.File, begin, end int64) ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.ra == nil {
		return nil, errors.New("file is closed")
	}
	out := make([]byte, end-begin)
	if e.Method == zip.Store {
		off, err := e.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		if _, err := t.ra.ReadAt(out, off+begin); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		return out, nil
	}
	rc, err := e.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, begin); err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	if _, err := io.ReadFull(rc, out); err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	return out, nil
}

// Close closes the file; later reads fail.
func (t *File) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ra = nil
	c := t.closer
	t.closer = nil
	if c == nil {
		return nil
	}
	return c.Close()
}
