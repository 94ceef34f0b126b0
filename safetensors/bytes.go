package safetensors

import (
	"errors"
	"fmt"
	"slices"
)

// OpenBytes validates a safetensors image held in memory (a file embedded
// in the binary, say) and reads it like a mapped file, without copying: the
// views that Float32 and Bytes return alias data, which must stay unchanged
// for the File's lifetime. name stands in for the path in error messages.
func OpenBytes(name string, data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, &FormatError{Path: name, Reason: fmt.Sprintf("file is %d bytes, shorter than the 8-byte header length prefix", len(data))}
	}
	hdr, err := parseHeader(data)
	if err != nil {
		return nil, withPath(err, name)
	}
	return &File{path: name, hdr: hdr, data: data, release: func() error { return nil }}, nil
}

// SetOf presents already opened files as one Set; a tensor name that two
// files both hold is an error, since which one a loader read would depend
// on the order. The Set owns the files: its Close closes them.
func SetOf(files ...*File) (*Set, error) {
	s := &Set{files: files, owner: map[string]*File{}}
	for _, f := range files {
		for _, n := range f.hdr.names {
			if prev, ok := s.owner[n]; ok {
				return nil, fmt.Errorf("safetensors: tensor %q is in both %s and %s", n, prev.path, f.path)
			}
			s.owner[n] = f
			s.names = append(s.names, n)
		}
	}
	if len(files) == 0 {
		return nil, errors.New("safetensors: a set needs at least one file")
	}
	slices.Sort(s.names)
	return s, nil
}
