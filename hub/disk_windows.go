package hub

import (
	"errors"

	"golang.org/x/sys/windows"
)

// freeSpace reports the bytes available to this user on dir's volume.
func freeSpace(dir string) (int64, bool) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, false
	}
	var avail, total, totalFree uint64
	if windows.GetDiskFreeSpaceEx(p, &avail, &total, &totalFree) != nil {
		return 0, false
	}
	return int64(avail), true
}

// isDiskFull reports whether err is the volume (or a quota) running out.
func isDiskFull(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL) ||
		errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED)
}
