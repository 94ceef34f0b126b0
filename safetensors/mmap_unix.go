//go:build unix && !safetensors_nommap

package safetensors

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the whole file read-only. Pages are faulted in lazily, so
// opening costs O(header) and the kernel page cache is shared between
// processes serving the same model; a private copy would double resident
// memory for every replica.
func mapFile(f *os.File, size int64) (data []byte, release func() error, err error) {
	if size <= 0 {
		return []byte{}, func() error { return nil }, nil
	}
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("file of %d bytes does not fit in the address space", size)
	}
	data, err = unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap: %w", err)
	}
	return data, func() error {
		if err := unix.Munmap(data); err != nil {
			return fmt.Errorf("munmap: %w", err)
		}
		return nil
	}, nil
}
