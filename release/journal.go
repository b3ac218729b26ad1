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
	"sync"
)

// Journal records outcomes as JSON lines in the audit log, synced line by line, so a
// crash loses nothing written before it. With an output, the audit file is also the spool
// the deliverer reads; with the audit log on stdout, a spool file of its own gets each line
// first. Before each DELETE it notes an intent in the in-flight file, and the outcome
// after it, so a run killed in between can be completed by Recover.
type Journal struct {
	mu       sync.Mutex
	audit    io.Writer
	file     *os.File // the audit file, nil for stdout
	spool    *Spool   // a spool of its own (audit on stdout), or nil
	inflight string
}

// OpenJournal opens the audit log (a path, or "stdout"), with the in-flight file at
// inflight and, for an audit log on stdout, a spool of its own (nil for none).
func OpenJournal(auditLog, inflight string, stdout io.Writer, spool *Spool) (*Journal, error) {
	j := &Journal{inflight: inflight}
	if auditLog == "stdout" {
		j.audit, j.spool = stdout, spool
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

// inflightRecord is one line of the in-flight file: an intent (an Outcome without a
// result yet) before a DELETE, or the allocation id once its outcome is recorded.
type inflightRecord struct {
	Intent *Outcome `json:"intent,omitempty"`
	Done   string   `json:"done,omitempty"`
	Result Result   `json:"result,omitempty"`
	RunID  string   `json:"run_id,omitempty"`
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
	if j.spool != nil {
		if err := j.spool.Append(line); err != nil {
			return err
		}
	}
	if _, err := j.audit.Write(line); err != nil {
		return fmt.Errorf("writing the audit log: %w", err)
	}
	if j.file != nil {
		if err := j.file.Sync(); err != nil {
			return fmt.Errorf("syncing the audit log: %w", err)
		}
	}
	if r.Kind == "outcome" {
		return j.note(inflightRecord{Done: r.Outcome.AllocationID, Result: r.Outcome.Result, RunID: r.Outcome.RunID})
	}
	return j.clearInflight()
}

// Intent notes that a DELETE is about to be sent.
func (j *Journal) Intent(o Outcome) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.note(inflightRecord{Intent: &o})
}

func (j *Journal) note(r inflightRecord) error {
	if j.inflight == "" {
		return nil
	}
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(j.inflight, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("opening the in-flight file: %w", err)
	}
	_, werr := f.Write(append(line, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("writing the in-flight file: %w", err)
	}
	return nil
}

// clearInflight empties the in-flight file once a run's summary is recorded.
func (j *Journal) clearInflight() error {
	if j.inflight == "" {
		return nil
	}
	if err := os.Truncate(j.inflight, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clearing the in-flight file: %w", err)
	}
	return nil
}

// Unfinished returns the intents of an interrupted run that have no outcome, and the
// results of those that have one.
func (j *Journal) Unfinished() (pending []Outcome, done []Result, runID string, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.inflight == "" {
		return nil, nil, "", nil
	}
	b, err := os.ReadFile(j.inflight)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, "", nil
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("reading the in-flight file: %w", err)
	}
	var intents []Outcome
	finished := map[string]bool{}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var r inflightRecord
		if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &r) != nil {
			continue // a line cut by the crash: its DELETE was not sent yet
		}
		if r.Intent != nil {
			intents = append(intents, *r.Intent)
			runID = r.Intent.RunID
		}
		if r.Done != "" {
			finished[r.Done] = true
			done = append(done, r.Result)
			runID = r.RunID
		}
	}
	// The process may have died between writing an outcome to the audit log and noting it
	// here: an outcome already in the log is not pending.
	recorded, err := j.recordedLocked(runID)
	if err != nil {
		return nil, nil, "", err
	}
	for _, in := range intents {
		if finished[in.AllocationID] {
			continue
		}
		if r, ok := recorded[in.AllocationID]; ok {
			done = append(done, r)
			continue
		}
		pending = append(pending, in)
	}
	return pending, done, runID, nil
}

// recordedLocked reads the outcomes of a run from the journal's file: the audit log, or
// the spool when the audit log is stdout (which cannot be read back).
func (j *Journal) recordedLocked(runID string) (map[string]Result, error) {
	path := ""
	switch {
	case j.file != nil:
		path = j.file.Name()
	case j.spool != nil:
		path = j.spool.path
	}
	out := map[string]Result{}
	if path == "" || runID == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	needle := []byte(`"run_id":"` + runID + `"`)
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), needle) {
			continue
		}
		var r auditRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Outcome != nil {
			out[r.Outcome.AllocationID] = r.Outcome.Result
		}
	}
	return out, sc.Err()
}

// Close closes the audit file.
func (j *Journal) Close() error {
	if j.file != nil {
		return j.file.Close()
	}
	return nil
}
