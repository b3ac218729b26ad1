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
