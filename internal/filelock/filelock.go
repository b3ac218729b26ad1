// Package filelock is an exclusive lock on a file, held by this process until Unlock. The
// operating system releases it when the process dies, even by SIGKILL, so a crash never
// leaves anything locked. The sidecar locks a site's runs with it (one run at a time, also
// across processes), and a spool's appends and deliveries.
package filelock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrHeld is what Acquire's error wraps when another holder has the lock.
var ErrHeld = errors.New("the lock is held")

// heldError names the lock and, when it wrote it, the holder's pid.
type heldError struct{ path, pid string }

func (e *heldError) Error() string {
	if e.pid != "" {
		return fmt.Sprintf("lock %s held by pid %s", e.path, e.pid)
	}
	return "lock " + e.path
}

func (e *heldError) Is(target error) bool { return target == ErrHeld }

// Lock is a held lock.
type Lock struct {
	f    *os.File
	keep bool // leave the file's content (Wait writes no pid)
}

// Acquire takes the lock at path without waiting (its folder is created) and writes this
// process's pid into it. An error wrapping ErrHeld, naming the holder's pid when known,
// says another process or run holds it.
func Acquire(path string) (*Lock, error) {
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
			return nil, &heldError{path: path, pid: strings.TrimSpace(string(b[:n]))}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{f: f}, nil
}

// Wait takes the lock at path, waiting while another holder has it: for short critical
// sections (a spool's append or truncation), never for a run.
func Wait(path string) (*Lock, error) {
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
