//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package hub

import "os"

// tryLock: no file locks on this platform; downloads proceed unlocked.
func tryLock(*os.File) (bool, error) { return false, errNoLocks }

func unlockFile(*os.File) {}
