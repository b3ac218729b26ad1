package audit

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/influxdata/influxdb-client-go/v2/api/write"
)

// CrashExit is the exit status of a test process killed at a step of a delivery.
const CrashExit = 86

// NewTestDeliverer delivers the spool at path (shared: an audit log, never emptied) in
// batches of batch records to the file out, one line protocol line per point, appended
// and synced. With crashAt, the process exits at that step of the delivery (written,
// offset-zeroed, truncated), as a kill there would leave it.
func NewTestDeliverer(path string, shared bool, out string, batch int, crashAt string, log *slog.Logger) *TestDelivery {
	sp := &spoolFile{path: path, shared: shared, log: log}
	if crashAt != "" {
		sp.crash = func(step string) {
			if step == crashAt {
				os.Exit(CrashExit)
			}
		}
	}
	var mu sync.Mutex
	writeTo := func(_ context.Context, points ...*write.Point) error {
		mu.Lock()
		defer mu.Unlock()
		var b strings.Builder
		for _, p := range points {
			b.WriteString(write.PointToLineProtocol(p, 1))
		}
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return err
		}
		_, werr := f.WriteString(b.String())
		serr := f.Sync()
		return errors.Join(werr, serr, f.Close())
	}
	return &TestDelivery{d: &deliverer{spool: sp, write: writeTo, batchSize: batch, log: log}}
}

// TestDelivery is a delivery of a spool, for the spool tests.
type TestDelivery struct{ d *deliverer }

// Flush delivers what is spooled.
func (t *TestDelivery) Flush(ctx context.Context) (int, error) { return t.d.flush(ctx) }

// TakeSkipped returns and resets the corrupt lines skipped.
func (t *TestDelivery) TakeSkipped() int { return int(t.d.skipped.Swap(0)) }

// Len counts the records waiting.
func (t *TestDelivery) Len() (int, error) { return t.d.spool.count() }

// TestJournal is a journal (audit log and in-flight file), for the crash tests.
type TestJournal struct{ j *journal }

// NewTestJournal opens a journal; with crashAt, the process exits at that step
// ("outcome-written", "summary-written"), as a kill there would leave it.
func NewTestJournal(auditLog, inflight, crashAt string) (*TestJournal, error) {
	j, err := openJournal(auditLog, inflight, "", nil, nil)
	if err != nil {
		return nil, err
	}
	if crashAt != "" {
		j.crash = func(step string) {
			if step == crashAt {
				os.Exit(CrashExit)
			}
		}
	}
	return &TestJournal{j: j}, nil
}

// SetSource makes src the journal's current source (as Open's source).
func (t *TestJournal) SetSource(src string) { t.j.source = src }

func (t *TestJournal) Intent(o Outcome) error          { return t.j.intent(o) }
func (t *TestJournal) Outcome(o Outcome) error         { return t.j.outcome(o) }
func (t *TestJournal) Summary(s Summary) error         { return t.j.summary(s) }
func (t *TestJournal) Unfinished() (Unfinished, error) { return t.j.unfinished() }
func (t *TestJournal) Close() error                    { return t.j.close() }
