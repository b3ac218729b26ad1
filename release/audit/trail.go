package audit

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// Trail is one site's audit trail: the journal (audit log and in-flight intents) and,
// with an output, the spool and its delivery to InfluxDB. It is the Recorder of the
// site's runs.
type Trail struct {
	journal  *journal
	spool    *spoolFile // nil without an output
	delivery *deliverer // nil without an output
	closeOut func()
}

// Open opens a site's audit log, in-flight file, spool and output. stdout receives the
// audit log when audit_log = "stdout" (a spool file of its own then feeds the output).
// source identifies the license source the site releases through (source.Source.ID):
// intents carry it, and only intents of that source are settled (Unfinished.Foreign).
func Open(st *siteconfig.Sidecar, source string, log *slog.Logger, stdout io.Writer) (*Trail, error) {
	t := &Trail{}
	var own *spoolFile // a spool of its own, when the audit log is not a file
	if st.Output != nil {
		sp := auditSpool(st.AuditLog, log)
		if st.AuditLog == "stdout" {
			var err error
			if sp, err = openSpool(st.SpoolFile(), log); err != nil {
				return nil, err
			}
			own = sp
		}
		write, closeFn, err := newInfluxWriter(st.Output)
		if err != nil {
			return nil, err
		}
		t.spool, t.closeOut = sp, closeFn
		t.delivery = &deliverer{spool: sp, write: write, tags: st.Output.Tags, log: log}
	}
	j, err := openJournal(st.AuditLog, st.InflightFile(), source, stdout, own)
	if err != nil {
		t.Close()
		return nil, err
	}
	t.journal = j
	return t, nil
}

// Intent notes, before a change request is sent, what it is about to do.
func (t *Trail) Intent(o Outcome) error { return t.journal.intent(o) }

// Outcome records one allocation's outcome.
func (t *Trail) Outcome(o Outcome) error { return t.journal.outcome(o) }

// Summary records a run's summary.
func (t *Trail) Summary(s Summary) error { return t.journal.summary(s) }

// Reload records the result of a configuration reload.
func (t *Trail) Reload(r ReloadStatus) error { return t.journal.reload(r) }

// Unfinished reads what an earlier run left open (see Unfinished).
func (t *Trail) Unfinished() (Unfinished, error) { return t.journal.unfinished() }

// Recorded returns the results the audit log holds for a run, by allocation id (the
// latest of each): for the right-sizing moves of a QRS site, whose allocation ids are
// unique across types (the in-flight journal keys by type and id).
func (t *Trail) Recorded(runID string) (map[string]Result, error) {
	t.journal.mu.Lock()
	defer t.journal.mu.Unlock()
	byHolder, err := t.journal.recordedLocked(runID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Result, len(byHolder))
	for h, r := range byHolder {
		out[h.ID] = r
	}
	return out, nil
}

// Delivers reports whether the site has an output.
func (t *Trail) Delivers() bool { return t.delivery != nil }

// Flush delivers what is spooled; nothing to do without an output. Another delivery of
// the same spool under way (this process or another) makes it return at once.
func (t *Trail) Flush(ctx context.Context) (int, error) {
	if t.delivery == nil {
		return 0, nil
	}
	return t.delivery.flush(ctx)
}

// Pending is the number of records waiting in the spool.
func (t *Trail) Pending() int {
	if t.spool == nil {
		return 0
	}
	n, _ := t.spool.count()
	return n
}

// SpoolPath names the spool, for messages.
func (t *Trail) SpoolPath() string {
	if t.spool == nil {
		return ""
	}
	return t.spool.path
}

// TakeSkipped returns the corrupt spool lines deliveries skipped since the last call (for
// the next run point's spool_skipped), and resets the count.
func (t *Trail) TakeSkipped() int {
	if t.delivery == nil {
		return 0
	}
	return int(t.delivery.skipped.Swap(0))
}

// SetRetryDelay sets the delay before the first retry of a failed delivery (default 1s,
// doubling at each retry unless InfluxDB's Retry-After says otherwise).
func (t *Trail) SetRetryDelay(d time.Duration) {
	if t.delivery != nil {
		t.delivery.retryDelay = d
	}
}

// Close closes the audit file and the output client.
func (t *Trail) Close() {
	if t.journal != nil {
		_ = t.journal.close()
	}
	if t.closeOut != nil {
		t.closeOut()
	}
}
