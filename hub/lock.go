package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive flock on path, the same lock huggingface_hub
// (filelock) takes on .locks/models--org--name/{etag}.lock, so ask and
// Python processes never download the same blob into the cache at once.
// flock is per open file description, so two goroutines of one process
// exclude each other too. It polls with LOCK_NB so ctx can cancel the wait,
// and calls waiting once if it has to wait. The file is never deleted (a
// waiter must lock the same inode); if another party replaced it, the lock
// is retaken on the new file.
func lockFile(ctx context.Context, path string, waiting func()) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	notified := false
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o664)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		for {
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
			if err == nil || !errors.Is(err, unix.EWOULDBLOCK) {
				break
			}
			if !notified && waiting != nil {
				waiting()
				notified = true
			}
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				f.Close()
				return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
			case <-t.C:
			}
		}
		if err != nil {
			f.Close()
			if errors.Is(err, unix.ENOLCK) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
				// No flock on this filesystem: proceed unlocked like
				// huggingface_hub's WeakFileLock; the blob is still
				// renamed into place atomically.
				return func() {}, nil
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		var held, now unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(path, &now) == nil && held.Ino == now.Ino && held.Dev == now.Dev {
			return func() {
				unix.Flock(int(f.Fd()), unix.LOCK_UN)
				f.Close()
			}, nil
		}
		f.Close() // the path was replaced while we waited: lock the new file
	}
}
