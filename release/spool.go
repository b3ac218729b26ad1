package release

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Spool is an append-only file of records waiting for delivery, with the offset of what
// was delivered kept beside it (<spool>.offset, replaced atomically). Delivery reads from
// the offset; after a successful write it advances the offset. A crash between a write and
// the offset update makes the next delivery send those records again: InfluxDB keeps one
// point per series and timestamp, so a repeat overwrites itself instead of counting twice.
//
// When the audit log is a file, the spool is the audit log itself (shared): what was
// audited and what is delivered cannot differ, and it is never emptied. Otherwise it is a
// file of its own, emptied once everything in it is delivered.
type Spool struct {
	mu     sync.Mutex
	path   string
	shared bool
}

// OpenSpool prepares a spool file of its own at path (its folder is created).
func OpenSpool(path string) (*Spool, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating the spool folder: %w", err)
	}
	return &Spool{path: path}, nil
}

// AuditSpool delivers from the audit log at path: the journal appends, the spool reads.
func AuditSpool(path string) *Spool { return &Spool{path: path, shared: true} }

// Path of the spool file.
func (s *Spool) Path() string { return s.path }

// Append adds one line and syncs it to disk.
func (s *Spool) Append(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("opening the spool: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing the spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("syncing the spool: %w", err)
	}
	return f.Close()
}

func (s *Spool) offset() (int64, error) {
	b, err := os.ReadFile(s.path + ".offset")
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

func (s *Spool) setOffset(n int64) error {
	tmp := s.path + ".offset.tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(n, 10)+"\n"), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, s.path+".offset")
}

// Pending reads the records not yet delivered, at most max lines, and the offset just
// after them.
func (s *Spool) Pending(max int) (records []auditRecord, next int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingLocked(max)
}

func (s *Spool) pendingLocked(max int) ([]auditRecord, int64, error) {
	off, err := s.offset()
	if err != nil {
		return nil, 0, fmt.Errorf("reading the spool offset: %w", err)
	}
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, 0, err
	}
	r := bufio.NewReader(f)
	var out []auditRecord
	next := off
	for len(out) < max {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			next += int64(len(line))
			var rec auditRecord
			if jerr := json.Unmarshal(bytes.TrimSpace(line), &rec); jerr != nil {
				return nil, 0, fmt.Errorf("spool %s at byte %d: %w", s.path, next-int64(len(line)), jerr)
			}
			out = append(out, rec)
		}
		if err != nil {
			break // EOF, or a last line without its newline (a crash mid-append): left for later
		}
	}
	return out, next, nil
}

// Delivered marks everything before next as delivered, and empties the spool when that
// is all of it.
func (s *Spool) Delivered(next int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	if next >= fi.Size() && !s.shared {
		if err := os.Truncate(s.path, 0); err != nil {
			return err
		}
		return s.setOffset(0)
	}
	return s.setOffset(next)
}

// Len counts the records waiting.
func (s *Spool) Len() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, _, err := s.pendingLocked(1 << 30)
	return len(recs), err
}
