package release

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Lock is an exclusive lock on a file, held by this process until Unlock. The operating
// system releases it when the process dies, even by SIGKILL, so a crash never leaves a
// site locked.
type Lock struct {
	f    *os.File
	keep bool // leave the file's content (waitLock writes no pid)
}

// AcquireLock takes the lock at path without waiting; ErrLocked (wrapped, with the other
// holder's pid when known) when another process or run holds it.
func AcquireLock(path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating the lock folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := lockFile(f); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		_ = f.Close()
		if errors.Is(err, errWouldBlock) {
			holder := strings.TrimSpace(string(b[:n]))
			if holder != "" {
				return nil, fmt.Errorf("%w (lock %s held by pid %s)", ErrLocked, path, holder)
			}
			return nil, fmt.Errorf("%w (lock %s)", ErrLocked, path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{f: f}, nil
}

// waitLock takes the lock at path, waiting while another holder has it: for short
// critical sections (a spool's append or truncation), never for a run.
func waitLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := lockFileWait(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &Lock{f: f, keep: true}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	if !l.keep {
		_ = l.f.Truncate(0)
	}
	err := unlockFile(l.f)
	cerr := l.f.Close()
	l.f = nil
	return errors.Join(err, cerr)
}

var errWouldBlock = errors.New("lock held")
