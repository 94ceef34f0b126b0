package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// errNoLocks says the filesystem (or the platform) has no file locks.
var errNoLocks = errors.New("file locks not supported here")

// lockFile takes an exclusive lock on path, the same lock huggingface_hub
// (filelock) takes on .locks/models--org--name/{etag}.lock, so ask and
// Python processes never download the same blob into the cache at once:
// flock(2) on Unix, LockFileEx of the first byte on Windows (what
// filelock's msvcrt.locking takes). Both are per open file, so two
// goroutines of one process exclude each other too. It polls without
// blocking so ctx can cancel the wait, and calls waiting once if it has to
// wait. The file is never deleted (a waiter must lock the same file); if
// another party replaced it, the lock is retaken on the new file.
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
			var ok bool
			ok, err = tryLock(f)
			if ok || err != nil {
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
			if errors.Is(err, errNoLocks) {
				// Proceed unlocked like huggingface_hub's WeakFileLock;
				// the blob is still renamed into place atomically.
				return func() {}, nil
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return func() {
				unlockFile(f)
				f.Close()
			}, nil
		}
		f.Close() // the path was replaced while we waited: lock the new file
	}
}
