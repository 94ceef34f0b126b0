package safetensors

import (
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"unsafe"
)

// File is one open .safetensors file.
//
// On unix the file is memory-mapped read-only and Open only parses the
// header: tensor data is paged in by the kernel when first touched, and the
// page cache is shared by every process serving the same checkpoint.
//
// A File is safe for concurrent use. Slices returned by Float32 (for F32
// tensors) and Bytes alias the mapping: they are read-only (writing to them
// faults and kills the process) and are invalid after Close (reading them
// then faults too). Copy what must outlive the File. Truncating the file on
// disk while it is mapped likewise faults on access; replace checkpoints by
// renaming a new file into place instead.
type File struct {
	path string
	hdr  *header

	mu      sync.RWMutex // read: an access in progress; write: Close
	data    []byte       // whole file; nil once closed
	release func() error
}

// Reader is the read side shared by *File and *Set, for code (model
// loaders) that should not care whether a checkpoint is sharded.
type Reader interface {
	Names() []string
	Info(name string) (TensorInfo, bool)
	Float32(name string) ([]float32, []int64, error)
	Bytes(name string) ([]byte, TensorInfo, error)
	Metadata() map[string]string
	Close() error
}

var (
	_ Reader = (*File)(nil)
	_ Reader = (*Set)(nil)
)

// Open maps path and validates its header. Errors name the file, and the
// tensor when one entry is at fault; format errors match ErrInvalid.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close() // the mapping outlives the descriptor
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, &FormatError{Path: path, Reason: "not a regular file"}
	}
	size := st.Size()
	if size < 8 {
		return nil, &FormatError{Path: path, Reason: fmt.Sprintf("file is %d bytes, shorter than the 8-byte header length prefix", size)}
	}
	data, release, err := mapFile(f, size)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	hdr, err := parseHeader(data)
	if err != nil {
		_ = release()
		return nil, withPath(err, path)
	}
	return &File{path: path, hdr: hdr, data: data, release: release}, nil
}

// Path is the path the file was opened with.
func (f *File) Path() string { return f.path }

// Names lists the tensor names, sorted. The slice is the caller's.
func (f *File) Names() []string { return slices.Clone(f.hdr.names) }

// Info describes a tensor. Shape is a copy.
func (f *File) Info(name string) (TensorInfo, bool) {
	i, ok := f.hdr.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.hdr.tensors[i].clone(), true
}

// Metadata returns a copy of the header's __metadata__ (nil if absent).
func (f *File) Metadata() map[string]string { return maps.Clone(f.hdr.metadata) }

// Bytes returns the raw little-endian bytes of any tensor, with its info,
// as a view into the file (see File for the lifetime rules). It is how
// dtypes without a float32 conversion (integers, F64, F8, ...) are read.
func (f *File) Bytes(name string) ([]byte, TensorInfo, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	info, raw, err := f.lookup(name)
	if err != nil {
		return nil, TensorInfo{}, err
	}
	return raw, info, nil
}

// Float32 returns a tensor's values as float32, row-major, and its shape.
//
// F32 data that is 4-byte aligned is returned as a zero-copy view into the
// file (read-only; invalid after Close). The reference writer aligns the
// data section to 8 bytes and every F32 tensor offset is then a multiple of
// 4 unless an odd-sized tensor precedes it, so the copy path is rare.
// F16 and BF16 are upcast exactly into a new slice the caller owns.
// Other dtypes fail with ErrUnsupportedDType; use Bytes.
func (f *File) Float32(name string) ([]float32, []int64, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	info, raw, err := f.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	switch info.DType {
	case F32:
		n := len(raw) / 4
		if n == 0 {
			return []float32{}, info.Shape, nil
		}
		p := unsafe.Pointer(unsafe.SliceData(raw))
		if nativeLittleEndian && uintptr(p)%unsafe.Alignof(float32(0)) == 0 {
			return unsafe.Slice((*float32)(p), n), info.Shape, nil
		}
		out := make([]float32, n)
		f32LEToFloat32s(out, raw)
		return out, info.Shape, nil
	case F16:
		out := make([]float32, len(raw)/2)
		f16ToFloat32s(out, raw)
		return out, info.Shape, nil
	case BF16:
		out := make([]float32, len(raw)/2)
		bf16ToFloat32s(out, raw)
		return out, info.Shape, nil
	}
	return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: %w: it is %s (use Bytes)", f.path, name, ErrUnsupportedDType, info.DType)
}

// lookup finds a tensor's info and bytes; the caller holds f.mu.RLock.
func (f *File) lookup(name string) (TensorInfo, []byte, error) {
	if f.data == nil {
		return TensorInfo{}, nil, fmt.Errorf("safetensors: %s: tensor %q: %w", f.path, name, ErrClosed)
	}
	i, ok := f.hdr.byName[name]
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("safetensors: %s: tensor %q: %w", f.path, name, ErrNotFound)
	}
	info := f.hdr.tensors[i].clone()
	b := f.hdr.dataStart + info.Offsets[0]
	e := f.hdr.dataStart + info.Offsets[1]
	return info, f.data[b:e:e], nil
}

// Close unmaps the file. Views previously returned by Float32 and Bytes
// become invalid; later calls return ErrClosed. Close is idempotent.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.data == nil {
		return nil
	}
	f.data = nil
	if err := f.release(); err != nil {
		return fmt.Errorf("safetensors: close %s: %w", f.path, err)
	}
	return nil
}

// nativeLittleEndian gates the zero-copy F32 view: the format is
// little-endian, so on a big-endian host every F32 read is a swapping copy.
var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1
