//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package hub

import (
	"errors"
	"syscall"
)

// freeSpace is unknown on this platform; the space warning is skipped.
func freeSpace(string) (int64, bool) { return 0, false }

func isDiskFull(err error) bool { return errors.Is(err, syscall.ENOSPC) }
