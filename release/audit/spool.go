package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/qliksense-license/qliksense-license/internal/atomicfile"
	"github.com/qliksense-license/qliksense-license/internal/filelock"
)

// spoolFile is an append-only file of records waiting for delivery, with the offset of what
// was delivered kept beside it (<spool>.offset, written atomically). Delivery reads from
// the offset; after a successful write it advances the offset. A crash between a write and
// the offset update makes the next delivery send those records again: InfluxDB keeps one
// point per series and timestamp, so a repeat overwrites itself instead of counting twice.
// That is the only repeat there is.
//
// When the audit log is a file, the spool is the audit log itself (shared): what was
// audited and what is delivered cannot differ, and it is never emptied. Otherwise it is a
// file of its own, emptied once everything in it is delivered.
//
// Nothing jams it for good:
//   - The offset records a fingerprint of the bytes just before it. An offset beyond the
//     end of the file, or whose fingerprint no longer matches, means the file was rotated
//     or replaced. A rotated file beside it (<spool>.1, <spool>-20260504 …, not
//     compressed) that the fingerprint matches is the one delivery was in: its undelivered
//     tail is delivered first (the offset names it while it is drained), then the new file
//     from its beginning. Without one, delivery starts again at the new file's beginning.
//   - An unreadable offset file (which the atomic write should never leave) restarts at
//     the beginning too: repeats are harmless, losses are not.
//   - A corrupt line is skipped, logged and counted (Skipped; the run point's
//     spool_skipped); a record appended after a line torn by a crash is still found.
//   - Emptying a spool of its own sets the offset to 0 before truncating, both under the
//     spool's lock, which appends take too: a crash in between repeats, never skips.
//   - One delivery at a time, across processes (<spool>.deliver.lock): a `once` and the
//     `run` service of the same site never send and advance the same spool together.
type spoolFile struct {
	mu     sync.Mutex // this process's appends and offset changes
	path   string
	shared bool
	log    *slog.Logger
	// crash, in tests only, is called at each step of Delivered, to kill the process there.
	crash func(step string)
}

// openSpool prepares a spool file of its own at path (its folder is created).
func openSpool(path string, log *slog.Logger) (*spoolFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating the spool folder: %w", err)
	}
	return &spoolFile{path: path, log: log}, nil
}

// auditSpool delivers from the audit log at path: the journal appends, the spool reads.
func auditSpool(path string, log *slog.Logger) *spoolFile {
	return &spoolFile{path: path, shared: true, log: log}
}

// appendLock serialises appends and truncation across processes (a spool of its own only:
// the audit log is never truncated).
func (s *spoolFile) appendLock() (*filelock.Lock, error) {
	return filelock.Wait(s.path + ".lock")
}

// add appends one line and syncs it to disk.
func (s *spoolFile) add(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.appendLock()
	if err != nil {
		return fmt.Errorf("locking the spool: %w", err)
	}
	defer func() { _ = l.Unlock() }()
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

// spoolOffset is the content of <spool>.offset: what was delivered, and a fingerprint of
// the bytes just before it (see spoolFile).
type spoolOffset struct {
	Offset int64  `json:"offset"`
	Tail   string `json:"tail,omitempty"`
	// File is the rotated file being drained (its name beside the spool); "" for the
	// spool itself.
	File string `json:"file,omitempty"`
}

// tailLen is how many bytes before the offset its fingerprint covers: a record's time and
// run id make a match by chance practically impossible.
const tailLen = 256

func fingerprint(f io.ReaderAt, off int64) (string, error) {
	if off == 0 {
		return "", nil
	}
	n := min(off, tailLen)
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off-n); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16]), nil
}

// readOffset reads <spool>.offset; ok is false when there is none or it is unreadable.
func (s *spoolFile) readOffset() (spoolOffset, bool) {
	b, err := os.ReadFile(s.path + ".offset")
	if errors.Is(err, os.ErrNotExist) {
		return spoolOffset{}, false
	}
	var o spoolOffset
	if err == nil {
		txt := strings.TrimSpace(string(b))
		if n, perr := strconv.ParseInt(txt, 10, 64); perr == nil { // the format before the fingerprint
			o.Offset = n
		} else {
			err = json.Unmarshal(b, &o)
		}
	}
	if err != nil || o.Offset < 0 {
		s.warn("the spool's offset is unreadable: delivering from the start again (repeats overwrite themselves)", "err", err)
		return spoolOffset{}, false
	}
	return o, true
}

// fits reports whether an offset is still valid in f (of the given size).
func fits(o spoolOffset, f io.ReaderAt, size int64) bool {
	if o.Offset > size {
		return false
	}
	if o.Tail == "" {
		return true
	}
	fp, err := fingerprint(f, o.Offset)
	return err == nil && fp == o.Tail
}

// start returns where delivery resumes in f (of the given size): the saved offset, or 0
// when the offset is unreadable, beyond the end or no longer matches (rotated, replaced).
func (s *spoolFile) start(f io.ReaderAt, size int64) int64 {
	o, ok := s.readOffset()
	switch {
	case !ok:
		return 0
	case o.File != "":
		return 0 // a rotated file is being drained: the spool itself is all to deliver
	case o.Offset > size:
		s.warn("the spool is shorter than what was delivered (rotated or replaced): delivering from its start", "offset", o.Offset, "size", size)
		return 0
	case !fits(o, f, size):
		s.warn("the spool was rotated or replaced since the last delivery: delivering from its start", "offset", o.Offset)
		return 0
	}
	return o.Offset
}

// rotatedTail finds the rotated file delivery was in when the spool itself no longer
// fits the offset: a file beside it named <spool>.* or <spool>-* (not compressed) that the
// offset fits. It returns its path and the offset, or "" when there is none or nothing is
// left to deliver in it.
func (s *spoolFile) rotatedTail() (string, int64) {
	o, ok := s.readOffset()
	if !ok || o.Tail == "" && o.File == "" {
		return "", 0
	}
	var cands []string
	if o.File != "" {
		cands = []string{filepath.Join(filepath.Dir(s.path), o.File)}
	} else {
		if f, err := os.Open(s.path); err == nil {
			fi, serr := f.Stat()
			fit := serr == nil && fits(o, f, fi.Size())
			_ = f.Close()
			if fit {
				return "", 0 // the spool itself fits: not rotated
			}
		}
		for _, pat := range []string{s.path + ".*", s.path + "-*"} {
			m, _ := filepath.Glob(pat)
			cands = append(cands, m...)
		}
	}
	for _, c := range cands {
		switch {
		case strings.HasSuffix(c, ".offset"), strings.HasSuffix(c, ".lock"), strings.HasSuffix(c, ".gz"),
			strings.HasSuffix(c, ".tmp"), strings.Contains(filepath.Base(c), ".offset"):
			continue
		}
		f, err := os.Open(c)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		fit := err == nil && fi.Mode().IsRegular() && fits(o, f, fi.Size())
		_ = f.Close()
		if fit && fi.Size() > o.Offset {
			return c, o.Offset
		}
	}
	return "", 0
}

func (s *spoolFile) step(name string) {
	if s.crash != nil {
		s.crash(name)
	}
}

func (s *spoolFile) warn(msg string, args ...any) {
	if s.log != nil {
		s.log.Warn(msg, append([]any{"spool", s.path}, args...)...)
	}
}

func (s *spoolFile) setOffset(f io.ReaderAt, n int64) error {
	tail, err := fingerprint(f, n)
	if err != nil {
		return fmt.Errorf("reading the spool: %w", err)
	}
	b, _ := json.Marshal(spoolOffset{Offset: n, Tail: tail})
	return atomicfile.Write(s.path+".offset", append(b, '\n'))
}

// spoolBatch is what pending read: the records, the offset just after them, and the corrupt
// lines skipped on the way.
type spoolBatch struct {
	Records []auditRecord
	Next    int64
	Skipped int
	File    string // a rotated file being drained (its path), "" for the spool itself
}

// pending reads the records not yet delivered, at most max lines. A corrupt line is
// skipped (logged, counted in Skipped); a last line without its newline (an append cut
// by a crash, or in progress) is left for later.
func (s *spoolFile) pending(max int) (spoolBatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rot, off := s.rotatedTail(); rot != "" {
		f, err := os.Open(rot)
		if err == nil {
			defer f.Close()
			if b, err := s.read(f, off, max, rot); err != nil || len(b.Records) > 0 || b.Skipped > 0 {
				b.File = rot
				return b, err
			}
		}
	}
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return spoolBatch{}, nil
	}
	if err != nil {
		return spoolBatch{}, fmt.Errorf("opening the spool: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return spoolBatch{}, fmt.Errorf("reading the spool: %w", err)
	}
	return s.read(f, s.start(f, fi.Size()), max, s.path)
}

// read reads at most max records of f (named name) from off.
func (s *spoolFile) read(f *os.File, off int64, max int, name string) (spoolBatch, error) {
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return spoolBatch{}, fmt.Errorf("reading the spool: %w", err)
	}
	r := bufio.NewReader(f)
	b := spoolBatch{Next: off}
	for len(b.Records) < max {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			at := b.Next
			b.Next += int64(len(line))
			if rec, ok := decodeSpooled(line); ok {
				b.Records = append(b.Records, rec)
			} else if len(bytes.TrimSpace(line)) > 0 {
				b.Skipped++
				if s.log != nil {
					s.log.Error("skipping a corrupt line of the spool: it cannot be delivered", "spool", name, "byte", at, "length", len(line))
				}
			}
		}
		if err != nil {
			break // EOF, or a last line without its newline: left for later
		}
	}
	return b, nil
}

// decodeSpooled decodes one spooled line. A line torn by a crash mid-append and followed
// by a whole record is decoded from the last record start in it.
func decodeSpooled(line []byte) (auditRecord, bool) {
	var rec auditRecord
	line = bytes.TrimSpace(line)
	if json.Unmarshal(line, &rec) == nil && rec.Kind != "" {
		return rec, true
	}
	if i := bytes.LastIndex(line, []byte(`{"kind":`)); i > 0 {
		rec = auditRecord{}
		if json.Unmarshal(line[i:], &rec) == nil && rec.Kind != "" {
			return rec, true
		}
	}
	return auditRecord{}, false
}

// deliveredIn marks everything before next as delivered. A spool of its own that is
// delivered to its end is emptied: the offset goes to 0 first, then the file is
// truncated, both under the spool's lock so that no append falls in between.
//
// file is a rotated file being drained (its offset is then kept with its name), or "" for
// the spool itself.
func (s *spoolFile) deliveredIn(file string, next int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		tail, err := fingerprint(f, next)
		if err != nil {
			return fmt.Errorf("reading the rotated spool: %w", err)
		}
		b, _ := json.Marshal(spoolOffset{Offset: next, Tail: tail, File: filepath.Base(file)})
		return atomicfile.Write(s.path+".offset", append(b, '\n'))
	}
	if !s.shared {
		l, err := s.appendLock()
		if err != nil {
			return fmt.Errorf("locking the spool: %w", err)
		}
		defer func() { _ = l.Unlock() }()
	}
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if next >= fi.Size() && !s.shared {
		if err := s.setOffset(f, 0); err != nil {
			return err
		}
		s.step("offset-zeroed")
		if err := f.Truncate(0); err != nil {
			return err
		}
		s.step("truncated")
		return f.Sync()
	}
	return s.setOffset(f, next)
}

// count counts the records waiting, by counting line ends after the offset (nothing is
// decoded: a long outage costs no memory).
func (s *spoolFile) count() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	n := 0
	if rot, off := s.rotatedTail(); rot != "" {
		if rf, err := os.Open(rot); err == nil {
			k, _ := countLines(rf, off)
			_ = rf.Close()
			n += k
		}
	}
	k, err := countLines(f, s.start(f, fi.Size()))
	return n + k, err
}

// countLines counts the line ends of f after off.
func countLines(f *os.File, off int64) (int, error) {
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n := 0
	buf := make([]byte, 64<<10)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// deliveryLock takes the spool's delivery lock without waiting; filelock.ErrHeld (wrapped) when
// another delivery, in this process or another, holds it.
func (s *spoolFile) deliveryLock() (*filelock.Lock, error) {
	return filelock.Acquire(s.path + ".deliver.lock")
}
