package release

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Journal records outcomes: first one JSON line in the audit log (the record of what was
// done), then, when an output is configured, one line in the spool, from which the
// deliverer writes points to InfluxDB. Both files are appended and synced line by line,
// so a crash loses nothing written before it.
type Journal struct {
	mu    sync.Mutex
	audit io.Writer
	file  *os.File // the audit file, nil for stdout
	spool *Spool   // nil: audit only
}

// OpenJournal opens the audit log (a path, or "stdout") and the spool (nil for none).
func OpenJournal(auditLog string, stdout io.Writer, spool *Spool) (*Journal, error) {
	j := &Journal{spool: spool}
	if auditLog == "stdout" {
		j.audit = stdout
		return j, nil
	}
	if err := os.MkdirAll(filepath.Dir(auditLog), 0o750); err != nil {
		return nil, fmt.Errorf("creating the audit log folder: %w", err)
	}
	f, err := os.OpenFile(auditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	j.audit, j.file = f, f
	return j, nil
}

// auditRecord is one audit line: an outcome or a run summary.
type auditRecord struct {
	Kind    string   `json:"kind"` // "outcome" or "run"
	Outcome *Outcome `json:"outcome,omitempty"`
	Run     *Summary `json:"run,omitempty"`
}

// Outcome records one allocation's outcome.
func (j *Journal) Outcome(o Outcome) error { return j.write(auditRecord{Kind: "outcome", Outcome: &o}) }

// Summary records a run's summary.
func (j *Journal) Summary(s Summary) error { return j.write(auditRecord{Kind: "run", Run: &s}) }

func (j *Journal) write(r auditRecord) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.audit.Write(line); err != nil {
		return fmt.Errorf("writing the audit log: %w", err)
	}
	if j.file != nil {
		if err := j.file.Sync(); err != nil {
			return fmt.Errorf("syncing the audit log: %w", err)
		}
	}
	if j.spool != nil {
		return j.spool.Append(line)
	}
	return nil
}

// Close closes the audit file.
func (j *Journal) Close() error {
	if j.file != nil {
		return j.file.Close()
	}
	return nil
}
