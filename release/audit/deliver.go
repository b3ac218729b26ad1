package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
	"github.com/qliksense-license/qliksense-license/internal/filelock"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// Measurements the sidecar writes.
const (
	MeasurementRelease    = "qlik_sense_license_release"
	MeasurementReleaseRun = "qlik_sense_license_release_run"
	MeasurementReload     = "qlik_sense_license_release_reload"
)

// writeFunc writes points; it is influxdb-client-go's WriteAPIBlocking.WritePoint.
type writeFunc func(ctx context.Context, points ...*write.Point) error

// newInfluxWriter connects influxdb-client-go to the output: InfluxDB 2.x (token, org,
// bucket), InfluxDB 1.8+ (token "user:password", bucket "db/rp") or Telegraf's
// influxdb_v2_listener. It uses WriteAPIBlocking, whose errors are returned, unlike the
// asynchronous API's. The token is read once here and goes only into the client.
func newInfluxWriter(o *siteconfig.OutputConfig) (writeFunc, func(), error) {
	token := ""
	if !o.Token.Empty() {
		buf, err := o.Token.Get()
		if err != nil {
			return nil, nil, fmt.Errorf("reading release.output.token: %w", err)
		}
		token = buf.String()
		buf.Destroy()
	}
	timeout := time.Duration(o.Timeout)
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	tlsCfg, err := o.TLSConfig()
	if err != nil {
		return nil, nil, err
	}
	opts := influxdb2.DefaultOptions().
		SetHTTPRequestTimeout(uint(timeout / time.Second)).
		SetTLSConfig(tlsCfg).
		SetApplicationName("qliksense-license-release").
		SetUseGZip(true)
	client := influxdb2.NewClientWithOptions(o.URL, token, opts)
	api := client.WriteAPIBlocking(o.Org, o.Bucket)
	return api.WritePoint, client.Close, nil
}

// measurementDoctor is the measurement of the connection doctor's test write: not one the
// dashboards or alert rules read.
const measurementDoctor = "qlik_sense_license_doctor"

// ErrOutputSettings marks a CheckOutput error of the settings themselves
// (release.output), not of InfluxDB.
var ErrOutputSettings = errors.New("release.output")

// settingsError is an error of the settings, as its own message says.
type settingsError struct{ error }

func (e settingsError) Unwrap() []error { return []error{e.error, ErrOutputSettings} }

// CheckOutput checks the site's InfluxDB output for the connection doctor: one test write
// of a qlik_sense_license_doctor point (it reaches InfluxDB 2.x, 1.8 and Telegraf's
// influxdb_v2_listener alike, which a ping does not). It returns what was written, or
// InfluxDB's own error.
func CheckOutput(ctx context.Context, site string, o *siteconfig.OutputConfig) (string, error) {
	write, closeOut, err := newInfluxWriter(o)
	if err != nil {
		return "", settingsError{err}
	}
	defer closeOut()
	p := influxdb2.NewPoint(measurementDoctor, map[string]string{"site": site}, map[string]any{"ok": true}, time.Now())
	if err := write(ctx, p); err != nil {
		return "", fmt.Errorf("%s: test write: %w", o.URL, err)
	}
	return fmt.Sprintf("%s: a test point (%s) written to %q", o.URL, measurementDoctor, o.Bucket), nil
}

// deliverer moves spooled records to InfluxDB, in batches, with retries.
type deliverer struct {
	spool *spoolFile
	write writeFunc
	tags  map[string]string
	log   *slog.Logger
	// retries of one batch on a server or connection error (default 3), with backoff
	// starting at retryDelay (default 1s) and honouring Retry-After.
	retries    int
	retryDelay time.Duration
	batchSize  int

	sleep   func(context.Context, time.Duration) error
	skipped atomic.Int64
}

// flush delivers everything spooled; it stops at the first batch that cannot be written,
// which stays in the spool for the next flush. When another delivery of the same spool is
// under way (this process or another), it delivers nothing and returns at once.
func (d *deliverer) flush(ctx context.Context) (delivered int, err error) {
	batch := d.batchSize
	if batch <= 0 {
		batch = 1000
	}
	lock, err := d.spool.deliveryLock()
	if errors.Is(err, filelock.ErrHeld) {
		if d.log != nil {
			d.log.Info("another delivery of the spool is under way: leaving it to that one", "spool", d.spool.path)
		}
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("locking the spool for delivery: %w", err)
	}
	defer func() { _ = lock.Unlock() }()
	for {
		b, err := d.spool.pending(batch)
		if err != nil {
			return delivered, err
		}
		if len(b.Records) == 0 && b.Skipped == 0 {
			return delivered, nil
		}
		points := make([]*write.Point, 0, len(b.Records))
		for _, r := range b.Records {
			if p := d.point(r); p != nil {
				points = append(points, p)
			}
		}
		if len(points) > 0 {
			if err := d.writeWithRetry(ctx, points); err != nil {
				return delivered, err
			}
		}
		d.spool.step("written")
		if err := d.spool.deliveredIn(b.File, b.Next); err != nil {
			return delivered, fmt.Errorf("advancing the spool: %w", err)
		}
		d.skipped.Add(int64(b.Skipped))
		delivered += len(b.Records)
	}
}

func (d *deliverer) writeWithRetry(ctx context.Context, points []*write.Point) error {
	retries := d.retries
	if retries == 0 {
		retries = 3
	}
	delay := d.retryDelay
	if delay <= 0 {
		delay = time.Second
	}
	sleep := d.sleep
	if sleep == nil {
		sleep = ctxsleep.Sleep
	}
	var err error
	for attempt := 0; ; attempt++ {
		err = d.write(ctx, points...)
		if err == nil {
			return nil
		}
		var herr *http.Error
		retryable := !errors.As(err, &herr) || herr.StatusCode == 0 || herr.StatusCode == 429 || herr.StatusCode >= 500
		if !retryable || attempt >= retries || ctx.Err() != nil {
			break
		}
		wait := delay << attempt
		if herr != nil && herr.RetryAfter > 0 {
			wait = time.Duration(herr.RetryAfter) * time.Second
		}
		if d.log != nil {
			d.log.Warn("writing outcomes failed; retrying", "err", err, "in", wait.String())
		}
		if sleep(ctx, wait) != nil {
			break
		}
	}
	return fmt.Errorf("writing %d outcome points: %w", len(points), err)
}

// point converts a spooled record. Integers are int64 (InfluxDB 1.8 rejects the unsigned
// integers influxdb-client-go would write for uint fields).
func (d *deliverer) point(r auditRecord) *write.Point {
	tags := map[string]string{}
	for k, v := range d.tags {
		tags[k] = v
	}
	switch {
	case r.Outcome != nil:
		o := r.Outcome
		tags["site"], tags["license_type"], tags["user"] = o.Site, o.Type.LicenseType(), o.User
		tags["outcome"], tags["reason"] = string(o.Result), o.Reason
		return influxdb2.NewPoint(MeasurementRelease, lineTags(tags), map[string]any{
			"days_since_last_use": o.DaysSinceLastUse,
			"allocation_id":       o.AllocationID,
			"detail":              o.Detail,
			"dry_run":             o.DryRun,
			"never_used":          o.NeverUsed,
			"run_id":              o.RunID,
		}, o.Time)
	case r.Run != nil:
		s := r.Run
		tags["site"] = s.Site
		fields := map[string]any{
			"candidates":       int64(s.Candidates),
			"released":         int64(s.Released),
			"quarantined":      int64(s.Quarantined),
			"dry_run_releases": int64(s.WouldRelease),
			"skipped":          int64(s.Skipped),
			"failed":           int64(s.Failed),
			"deferred":         int64(s.Deferred),
			"noticed":          int64(s.Noticed),
			"notice_failed":    int64(s.NoticeFailed),
			"waiting":          int64(s.Waiting),
			"dry_run_notices":  int64(s.WouldNotice),
			"moved":            int64(s.Moved),
			"move_failed":      int64(s.MoveFailed),
			"move_undone":      int64(s.MoveUndone),
			"dry_run_moves":    int64(s.WouldMove),
			"unsettled":        int64(s.Unsettled),
			"spool_skipped":    int64(s.SpoolSkipped),
			"errors":           int64(len(s.Errors)),
			"duration_seconds": s.Duration().Seconds(),
			"dry_run":          s.DryRun,
			"interrupted":      s.Interrupted,
			"recovery":         s.Recovery,
			"run_id":           s.RunID,
		}
		for reason, n := range s.Kept {
			fields["kept_"+strings.ToLower(string(reason))] = int64(n)
		}
		return influxdb2.NewPoint(MeasurementReleaseRun, lineTags(tags), fields, s.Time)
	case r.Reload != nil:
		tags["site"] = r.Reload.Site
		return influxdb2.NewPoint(MeasurementReload, lineTags(tags), map[string]any{
			"success": r.Reload.Success,
			"error":   r.Reload.Error,
		}, r.Reload.Time)
	}
	return nil
}

// lineTags keeps tags writable in line protocol, as Telegraf's serializer does: a value's
// trailing backslashes are trimmed (one would escape the separator after it: a Qlik Cloud
// subject or a user name ending in "\") and an empty value is left out (a holder without
// a name). InfluxDB rejects the whole write otherwise, and the spool would send that batch
// again at every delivery, never reaching the records after it.
func lineTags(tags map[string]string) map[string]string {
	for k, v := range tags {
		if v = strings.TrimRight(v, `\`); v == "" {
			delete(tags, k)
			continue
		}
		tags[k] = v
	}
	return tags
}
