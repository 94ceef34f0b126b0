package safetensors

import (
	"errors"
	"strconv"
)

// Sentinel errors, matched with errors.Is. Every error this package returns
// wraps one of them (or an *os.PathError / I/O error from the OS), so callers
// can tell a corrupt checkpoint from a missing tensor from a dtype we do not
// convert, without parsing messages.
var (
	// ErrInvalid marks a file or index that breaks the format: the checkpoint
	// is corrupt, truncated or was written by a buggy tool.
	ErrInvalid = errors.New("invalid safetensors data")
	// ErrNotFound marks a lookup of a tensor name that is not present.
	ErrNotFound = errors.New("tensor not found")
	// ErrUnsupportedDType marks a float32 read of a dtype we do not upcast
	// (only F32, F16 and BF16 are converted; the rest are readable as bytes).
	ErrUnsupportedDType = errors.New("dtype cannot be read as float32")
	// ErrClosed marks a call on a File or Set after Close.
	ErrClosed = errors.New("safetensors file is closed")
)

// FormatError describes why a file or index was rejected. It names the file
// and, when the problem is local to one entry, the tensor, because a
// checkpoint with hundreds of tensors is otherwise hard to debug.
// It matches ErrInvalid under errors.Is.
type FormatError struct {
	Path      string // file the problem was found in; "" when parsing bytes
	Tensor    string // tensor (or header key) at fault; see HasTensor
	HasTensor bool   // Tensor is meaningful (a tensor may be named "")
	Reason    string
}

func (e *FormatError) Error() string {
	s := "safetensors: "
	if e.Path != "" {
		s += e.Path + ": "
	}
	if e.HasTensor {
		s += "tensor " + strconv.Quote(e.Tensor) + ": "
	}
	return s + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FormatError) Unwrap() error { return ErrInvalid }

func fileErr(reason string) *FormatError { return &FormatError{Reason: reason} }

func tensorErr(name, reason string) *FormatError {
	return &FormatError{Tensor: name, HasTensor: true, Reason: reason}
}

// withPath stamps path onto a *FormatError (the header parser works on
// bytes and does not know where they came from); other errors pass through.
func withPath(err error, path string) error {
	var fe *FormatError
	if errors.As(err, &fe) && fe.Path == "" {
		c := *fe
		c.Path = path
		return &c
	}
	return err
}
