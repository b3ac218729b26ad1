package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// Period is what the audit log says of the runs of a period: the outcomes counted by
// result and by reason, the failures that need a person, and the runs' errors. The
// license report reads it; nothing is recomputed, the log is what happened.
type Period struct {
	From, To time.Time
	// Runs counts the run summaries (recoveries excluded); LastRun is the latest one's time.
	Runs    int
	LastRun time.Time
	// Results counts outcomes by result; Reasons the released and quarantined ones (what
	// was reclaimed) by the plan's reason.
	Results map[Result]int
	Reasons map[string]int
	// Failures are the failed outcomes (failed, notice_failed, move_failed), oldest first.
	Failures []Outcome
	// Errors are the runs' errors (a list that could not be read…), with how often each
	// came, in the order first seen.
	Errors []CountedError
	// First is the time of the log's earliest record (zero: none): after From, the log
	// does not cover the whole period (a new install, or a rotated file).
	First time.Time
}

// CountedError is a run error and how many runs of the period reported it.
type CountedError struct {
	Error string
	Runs  int
}

// Reclaimed is how many allocations the period's runs released or got quarantined.
func (p *Period) Reclaimed() int { return p.Results[Released] + p.Results[Quarantined] }

// ErrNoAuditFile: the audit log goes to stdout, so there is no file to read a period from.
var ErrNoAuditFile = errors.New(`audit_log = "stdout": the audit log is not in a file the report can read`)

// ReadPeriod reads the records of the audit log at path whose time is in [from, to). A
// missing file is an empty period (no run yet); a line that is not a record is skipped, as
// the delivery skips it.
func ReadPeriod(path string, from, to time.Time) (*Period, error) {
	p := &Period{From: from, To: to, Results: map[Result]int{}, Reasons: map[string]int{}}
	if path == "stdout" {
		return nil, ErrNoAuditFile
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer f.Close()
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r auditRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		if t, ok := r.time(); ok && (p.First.IsZero() || t.Before(p.First)) {
			p.First = t
		}
		switch {
		case r.Kind == "outcome" && r.Outcome != nil && in(r.Outcome.Time):
			o := r.Outcome
			p.Results[o.Result]++
			switch o.Result {
			case Released, Quarantined:
				p.Reasons[o.Reason]++
			case Failed, NoticeFailed, MoveFailed:
				p.Failures = append(p.Failures, *o)
			}
		case r.Kind == "run" && r.Run != nil && in(r.Run.Time) && !r.Run.Recovery:
			p.Runs++
			if r.Run.Time.After(p.LastRun) {
				p.LastRun = r.Run.Time
			}
			for _, e := range r.Run.Errors {
				i := slices.IndexFunc(p.Errors, func(c CountedError) bool { return c.Error == e })
				if i < 0 {
					p.Errors = append(p.Errors, CountedError{Error: e})
					i = len(p.Errors) - 1
				}
				p.Errors[i].Runs++
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	return p, nil
}

// time is when the record was written.
func (r *auditRecord) time() (time.Time, bool) {
	switch {
	case r.Outcome != nil:
		return r.Outcome.Time, !r.Outcome.Time.IsZero()
	case r.Run != nil:
		return r.Run.Time, !r.Run.Time.IsZero()
	case r.Reload != nil:
		return r.Reload.Time, !r.Reload.Time.IsZero()
	}
	return time.Time{}, false
}
