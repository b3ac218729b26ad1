package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/atomicfile"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// journal records outcomes as JSON lines in the audit log, synced line by line, so a
// crash loses nothing written before it. With an output, the audit file is also the spool
// the deliverer reads; with the audit log on stdout, a spool file of its own gets each line
// first. Before each DELETE it notes an intent in the in-flight file, and the outcome
// after it, so a run killed in between can be completed by the runner's Recover (release).
//
// Invariant: an intent leaves the in-flight file only with its outcome. A run's summary
// clears the notes of settled intents and keeps the open ones (DELETEs whose effect is
// unknown), marked as summarized, for Recover to settle; so every allocation a run sent a
// DELETE for gets exactly one outcome line, with what QRS did.
type journal struct {
	mu       sync.Mutex
	audit    io.Writer
	file     *os.File   // the audit file, nil for stdout
	spool    *spoolFile // a spool of its own (audit on stdout), or nil
	inflight string
	// source identifies the license source the site releases through now (see
	// source.Source.ID): each intent carries it, and only intents of this source (or of
	// none, written before intents carried one) are settled.
	source string
	crash  func(step string) // tests: a kill at a step ("outcome-written", "summary-written")
}

// openJournal opens the audit log (a path, or "stdout"), with the in-flight file at
// inflight and, for an audit log on stdout, a spool of its own (nil for none).
func openJournal(auditLog, inflight, source string, stdout io.Writer, spool *spoolFile) (*journal, error) {
	j := &journal{inflight: inflight, source: source}
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

// auditRecord is one audit line: an outcome, a run summary or a reload.
type auditRecord struct {
	Kind    string        `json:"kind"` // "outcome", "run" or "reload"
	Outcome *Outcome      `json:"outcome,omitempty"`
	Run     *Summary      `json:"run,omitempty"`
	Reload  *ReloadStatus `json:"reload,omitempty"`
}

// ReloadStatus is the result of a configuration reload as one site saw it: a
// qlik_sense_license_release_reload point, so a failed reload can be alerted on.
type ReloadStatus struct {
	Time    time.Time `json:"time"`
	Site    string    `json:"site"`
	Success bool      `json:"success"`
	Error   string    `json:"error,omitempty"`
}

// inflightRecord is one line of the in-flight file: an intent (an Outcome without a
// result yet) before a DELETE, the type and allocation id once its outcome is recorded,
// or the mark that the run's summary is recorded while intents stay open.
type inflightRecord struct {
	Intent     *Outcome       `json:"intent,omitempty"`
	Source     string         `json:"source,omitempty"` // of an intent: the source it is sent to
	Done       string         `json:"done,omitempty"`
	DoneType   qrs.AccessType `json:"done_type,omitempty"`
	Result     Result         `json:"result,omitempty"`
	RunID      string         `json:"run_id,omitempty"`
	Summarized string         `json:"summarized,omitempty"`
}

// holder identifies a change: its type and allocation id (a tenant's allocation id is the
// subject, which may hold an assignment of each type).
type holder struct {
	Type qrs.AccessType
	ID   string
}

func holderOf(o *Outcome) holder { return holder{o.Type, o.AllocationID} }

// outcome records one allocation's outcome.
func (j *journal) outcome(o Outcome) error { return j.write(auditRecord{Kind: "outcome", Outcome: &o}) }

// summary records a run's summary.
func (j *journal) summary(s Summary) error { return j.write(auditRecord{Kind: "run", Run: &s}) }

// reload records the result of a configuration reload.
func (j *journal) reload(r ReloadStatus) error {
	return j.write(auditRecord{Kind: "reload", Reload: &r})
}

func (j *journal) write(r auditRecord) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.spool != nil {
		if err := j.spool.add(line); err != nil {
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
	if j.crash != nil {
		j.crash(map[string]string{"outcome": "outcome-written", "run": "summary-written"}[r.Kind])
	}
	switch r.Kind {
	case "outcome":
		return j.note(inflightRecord{Done: r.Outcome.AllocationID, DoneType: r.Outcome.Type, Result: r.Outcome.Result, RunID: r.Outcome.RunID})
	case "run":
		return j.closeRun(r.Run.RunID)
	}
	return nil
}

// intent notes that a DELETE is about to be sent.
func (j *journal) intent(o Outcome) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.note(inflightRecord{Intent: &o, Source: j.source})
}

func (j *journal) note(r inflightRecord) error {
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

// closeRun rewrites the in-flight file once a run's summary is recorded: empty when every
// intent is settled, else the open intents and the summarized mark. The new content is
// written atomically (internal/atomicfile), so a crash leaves one or the other.
func (j *journal) closeRun(runID string) error {
	if j.inflight == "" {
		return nil
	}
	st, err := j.readInflight()
	if err != nil {
		return err
	}
	open := st.open()
	if len(open) > 0 {
		// An outcome written to the audit log just before a crash, without its done note,
		// settles its intent too (rare: the log is read only when intents remain open).
		recorded, err := j.recordedLocked(st.runID)
		if err != nil {
			return err
		}
		open = slices.DeleteFunc(open, func(o Outcome) bool { _, ok := recorded[holderOf(&o)]; return ok })
	}
	if len(open) == 0 {
		if _, err := os.Stat(j.inflight); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err := atomicfile.Write(j.inflight, nil); err != nil {
			return fmt.Errorf("clearing the in-flight file: %w", err)
		}
		return nil
	}
	var b bytes.Buffer
	for _, o := range open {
		line, _ := json.Marshal(inflightRecord{Intent: &o, Source: st.sources[holderOf(&o)]})
		b.Write(append(line, '\n'))
	}
	line, _ := json.Marshal(inflightRecord{Summarized: runID})
	b.Write(append(line, '\n'))
	if err := atomicfile.Write(j.inflight, b.Bytes()); err != nil {
		return fmt.Errorf("rewriting the in-flight file: %w", err)
	}
	return nil
}

// inflightState is what the in-flight file says.
type inflightState struct {
	intents    []Outcome
	sources    map[holder]string // the source of each intent ("" for one written before intents carried it)
	finished   map[holder]bool   // a done note without a type (an older file) has Type ""
	done       []Result          // results noted since the run's summary, or all when there is none
	runID      string
	summarized bool // the run's summary is in the audit log; its open intents remain
}

// open returns the intents without an outcome noted.
func (st inflightState) open() []Outcome {
	var out []Outcome
	for _, in := range st.intents {
		if !st.finished[holderOf(&in)] && !st.finished[holder{ID: in.AllocationID}] {
			out = append(out, in)
		}
	}
	return out
}

func (j *journal) readInflight() (inflightState, error) {
	st := inflightState{finished: map[holder]bool{}, sources: map[holder]string{}}
	b, err := os.ReadFile(j.inflight)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("reading the in-flight file: %w", err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var r inflightRecord
		if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &r) != nil {
			continue // a line cut by the crash: its DELETE was not sent yet
		}
		switch {
		case r.Intent != nil:
			// A change sent again (after a read proved it not done) notes its intent
			// again: the latest replaces the earlier one.
			if i := slices.IndexFunc(st.intents, func(o Outcome) bool { return holderOf(&o) == holderOf(r.Intent) }); i >= 0 {
				st.intents[i] = *r.Intent
			} else {
				st.intents = append(st.intents, *r.Intent)
			}
			st.sources[holderOf(r.Intent)] = r.Source
			st.newRun(r.Intent.RunID)
		case r.Done != "":
			st.finished[holder{r.DoneType, r.Done}] = true
			st.done = append(st.done, r.Result)
			st.newRun(r.RunID)
		case r.Summarized != "":
			st.summarized, st.runID = true, r.Summarized
		}
	}
	return st, nil
}

// newRun notes a line of run id: a run after the summarized one (intents of another
// source kept open, then a new run of the current source) is not summarized.
func (st *inflightState) newRun(id string) {
	if st.summarized && id != st.runID {
		st.summarized = false
	}
	st.runID = id
}

// Unfinished is what an earlier run left open: the intents without an outcome, the
// results of those that have one (since the run's summary, when it has one), the run's
// id, and whether its summary is recorded already.
type Unfinished struct {
	Pending    []Outcome
	Done       []Result
	RunID      string
	Summarized bool
	// Foreign counts, by source, the open intents sent to another source than the
	// current one (the site was repointed): they stay open, neither settled nor dropped.
	Foreign map[string]int
}

// unfinished reads what an earlier run left open.
func (j *journal) unfinished() (Unfinished, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.inflight == "" {
		return Unfinished{}, nil
	}
	st, err := j.readInflight()
	if err != nil {
		return Unfinished{}, err
	}
	// The process may have died between writing an outcome to the audit log and noting it
	// here, or between writing the run's summary and rewriting this file: the audit log
	// says what is recorded and summarized already, so that no outcome and no summary is
	// written twice.
	rl, err := j.runLogLocked(st.runID)
	if err != nil {
		return Unfinished{}, err
	}
	u := Unfinished{Done: st.done, RunID: st.runID, Summarized: st.summarized}
	if rl.summarized {
		u.Summarized, u.Done = true, rl.afterSummary
	}
	logs := map[string]runLog{st.runID: rl}
	for _, in := range st.open() {
		// An intent of an earlier run (kept open while the site pointed elsewhere) is
		// looked up in its own run's outcomes.
		irl, ok := logs[in.RunID]
		if !ok {
			if irl, err = j.runLogLocked(in.RunID); err != nil {
				return Unfinished{}, err
			}
			logs[in.RunID] = irl
		}
		if r, ok := irl.results[holderOf(&in)]; ok {
			if in.RunID == st.runID && !rl.summarized {
				u.Done = append(u.Done, r)
			}
			continue
		}
		if src := st.sources[holderOf(&in)]; src != "" && j.source != "" && src != j.source {
			if u.Foreign == nil {
				u.Foreign = map[string]int{}
			}
			u.Foreign[src]++
			continue
		}
		u.Pending = append(u.Pending, in)
	}
	if len(u.Done) == 0 && len(u.Pending) > 0 && u.Pending[0].RunID != "" && u.Pending[0].RunID != u.RunID &&
		!slices.ContainsFunc(u.Pending, func(o Outcome) bool { return o.RunID != u.Pending[0].RunID }) {
		// Intents kept open while the site pointed elsewhere, all of one earlier run: what is
		// left is that run's, summarized or not as its own audit lines say (not as the
		// latest run's mark).
		u.RunID = u.Pending[0].RunID
		u.Summarized = logs[u.RunID].summarized
	}
	if len(u.Pending) == 0 && len(u.Done) == 0 && len(u.Foreign) == 0 && len(st.intents)+len(st.done) > 0 {
		// Everything recorded and summarized: only the file's rewrite was lost.
		if err := atomicfile.Write(j.inflight, nil); err != nil {
			return Unfinished{}, fmt.Errorf("clearing the in-flight file: %w", err)
		}
	}
	return u, nil
}

// recordedLocked reads the outcomes of a run from the journal's file: the audit log, or
// the spool when the audit log is stdout (which cannot be read back).
func (j *journal) recordedLocked(runID string) (map[holder]Result, error) {
	rl, err := j.runLogLocked(runID)
	return rl.results, err
}

// runLog is what the journal's file holds of one run: its outcomes (the latest of each
// allocation), whether a summary of it is there, and the results recorded after the
// latest such summary (counted by none yet).
type runLog struct {
	results      map[holder]Result
	summarized   bool
	afterSummary []Result
}

func (j *journal) runLogLocked(runID string) (runLog, error) {
	path := ""
	switch {
	case j.file != nil:
		path = j.file.Name()
	case j.spool != nil:
		path = j.spool.path
	}
	out := runLog{results: map[holder]Result{}}
	if path == "" || runID == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("reading the audit log: %w", err)
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
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		switch {
		case r.Outcome != nil && r.Outcome.RunID == runID:
			out.results[holderOf(r.Outcome)] = r.Outcome.Result
			out.afterSummary = append(out.afterSummary, r.Outcome.Result)
		case r.Run != nil && r.Run.RunID == runID:
			out.summarized, out.afterSummary = true, nil
		}
	}
	return out, sc.Err()
}

// close closes the audit file.
func (j *journal) close() error {
	if j.file != nil {
		return j.file.Close()
	}
	return nil
}
