//go:build !unix || safetensors_nommap

package safetensors

import (
	"fmt"
	"io"
	"os"
)

// mapFile reads the whole file into memory, for platforms without mmap (and
// for testing that path on unix with -tags safetensors_nommap). Open is then
// O(file size), the price of portability.
func mapFile(f *os.File, size int64) (data []byte, release func() error, err error) {
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("file of %d bytes does not fit in the address space", size)
	}
	data = make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	return data, func() error { return nil }, nil
}
