package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
	"github.com/qliksense-license/qliksense-license/internal/filelock"
	"github.com/qliksense-license/qliksense-license/internal/stopping"
	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/moves"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/source"
)

// Runner performs the runs of one site: lock, plan, execute, record, deliver.
type Runner struct {
	Site *Site
	Log  *slog.Logger
	Now  func() time.Time
	// RecoverGrace: see DefaultRecoverGrace.
	RecoverGrace time.Duration

	trail   *audit.Trail
	running sync.Mutex // held during a run of this process
}

// NewRunner opens the site's audit trail (audit log, in-flight file, spool and output).
// stdout receives the audit log when audit_log = "stdout".
func NewRunner(site *Site, log *slog.Logger, stdout io.Writer) (*Runner, error) {
	r := &Runner{Site: site, Log: log.With("site", site.Name), Now: time.Now}
	st := site.Settings
	if err := os.MkdirAll(st.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating state_dir: %w", err)
	}
	t, err := audit.Open(st, site.Source.ID(), r.Log, stdout)
	if err != nil {
		return nil, err
	}
	r.trail = t
	return r, nil
}

// DefaultRecoverGrace is the least Recover waits after an interrupted DELETE's intent
// before reading the allocation back (the settle grace when that is longer).
const DefaultRecoverGrace = 5 * time.Second

func (r *Runner) recoverGrace() time.Duration {
	if r.RecoverGrace > 0 {
		return r.RecoverGrace
	}
	return DefaultRecoverGrace
}

// Recover settles the open intents of an earlier run before a new one starts: those of a
// run killed between a DELETE's intent and its outcome, and those a run summarized while
// their effect was unknown (see Executor). The allocations are read back, one filtered
// request per type (gone: released; quarantined: quarantined; still there: failed), and
// each outcome recorded, then a summary
// with Recovery set: for a killed run, everything it did; for a summarized one, what is
// recorded now. It runs under the site's lock at the start of every run; if QRS cannot be
// read, the intents stay open and the run does not start. Intents sent to another source
// (the site repointed since) are left open and an error logged: they are settled only
// against the source they were sent to.
func (r *Runner) Recover(ctx context.Context) error {
	u, err := r.trail.Unfinished()
	if err != nil {
		return err
	}
	for old, n := range u.Foreign {
		// The site was repointed: reading these back from the new source would find
		// nothing and record them released. They stay open, and runs go on.
		r.Log.Error("open changes of an earlier run were sent to another license source: they stay open, unsettled; "+
			"point the site back at that source to settle them, or settle them by hand and remove the in-flight file",
			"count", n, "sent_to", old, "source_now", r.Site.Source.ID(), "inflight_file", r.Site.Settings.InflightFile())
	}
	if len(u.Pending) == 0 && len(u.Done) == 0 {
		return nil
	}
	pending, runID, summarized := u.Pending, u.RunID, u.Summarized
	src := r.Site.Source
	w := src.Words()
	sum := audit.Summary{RunID: runID, Recovery: true}
	if len(pending) > 0 {
		sum.Start = pending[0].Time
	}
	for _, res := range u.Done {
		sum.Count(res)
	}
	// A DELETE sent just before the process died (its answer lost) may still be running
	// in QRS, and one a run left open after an ambiguous answer may land late: read them
	// back only once the settle grace (at least RecoverGrace for a killed run) has passed
	// since the latest intent (audit.Settle).
	if len(pending) > 0 {
		grace := r.Site.Settings.SettleGrace
		if !summarized {
			grace = max(grace, r.recoverGrace())
		}
		latest := pending[0].Time
		for _, o := range pending {
			if o.Time.After(latest) {
				latest = o.Time
			}
		}
		if until := latest.Add(grace); time.Until(until) > 0 {
			r.Log.Info("waiting for DELETEs of an earlier run to settle", "until", until.Format(time.RFC3339))
			if err := ctxsleep.Sleep(ctx, time.Until(until)); err != nil {
				return err
			}
		}
	}
	how := "recovered after an interrupted run"
	if summarized {
		how = "settled by reading it back after its run"
	}
	// One read of the source for all the open intents (QRS: one filtered read per type),
	// not one per holder.
	keys := make([]source.Key, len(pending))
	for i, o := range pending {
		keys[i] = source.Key{Type: o.Type, ID: o.AllocationID}
	}
	back, err := src.ReadBack(ctx, keys)
	if err != nil {
		return fmt.Errorf("settling the open %ss of run %s: %w", w.Change, runID, err)
	}
	for i, o := range pending {
		b, present := back[keys[i]]
		switch {
		case !present:
			o.Result, o.Detail = audit.Released, how+": the "+w.Holder+" is gone; "+o.Detail
		case b.Quarantined:
			o.Result, o.Detail = audit.Quarantined, how+": "+b.Detail+"; "+o.Detail
		case summarized:
			o.Result, o.Reason, o.Detail = audit.Failed, ReasonAnswerLost, how+": the "+w.Change+" did not take effect; the "+w.Holder+" is still there"
		default:
			o.Result, o.Reason, o.Detail = audit.Failed, ReasonInterrupted, "the run was interrupted before its "+w.Change+" took effect; the "+w.Holder+" is still there"
		}
		o.Time = r.Now().UTC()
		if err := r.trail.Outcome(o); err != nil {
			return err
		}
		sum.Count(o.Result)
		r.Log.Warn("settled the outcome of an earlier run's DELETE", "run_id", o.RunID, "allocation_id", o.AllocationID, "outcome", o.Result)
	}
	sum.Site, sum.Interrupted, sum.Time = r.Site.Name, !summarized, r.Now().UTC()
	if sum.Start.IsZero() {
		sum.Start = sum.Time
	}
	sum.Kept, sum.Errors = map[policy.Reason]int{}, []string{}
	if !summarized {
		sum.Errors = []string{"interrupted; recovered at the next start"}
	}
	return r.trail.Summary(sum)
}

// Close releases the files, the output client and the source's idle connections.
func (r *Runner) Close() {
	r.Site.Source.Close()
	if r.trail != nil {
		r.trail.Close()
	}
}

// Plan evaluates the site now, with the stage of each candidate of a type that gives
// notice; it changes nothing and takes no lock.
func (r *Runner) Plan(ctx context.Context) (*plan.Plan, error) {
	p, _, err := r.plan(ctx)
	return p, err
}

func (r *Runner) plan(ctx context.Context) (*plan.Plan, *notice.State, error) {
	n := r.Site.Notifier
	if n == nil {
		p, err := r.Site.Source.Plan(ctx, r.Site.Policy, r.Site.Name, r.Now(), nil)
		return p, nil, err
	}
	state, err := notice.Load(n.StatePath)
	if err != nil {
		return nil, nil, err
	}
	p, err := r.Site.Source.Plan(ctx, r.Site.Policy, r.Site.Name, r.Now(), n.Stager(r.Site.Policy, state))
	return p, state, err
}

// Once performs one run. It returns ErrLocked (wrapped) when a run of the site is in
// progress, here or in another process. Closing stop finishes the DELETEs in flight and
// starts no more.
func (r *Runner) Once(ctx context.Context, stop <-chan struct{}) (audit.Summary, error) {
	if !r.running.TryLock() {
		return audit.Summary{}, fmt.Errorf("%w (in this process)", ErrLocked)
	}
	defer r.running.Unlock()
	lock, err := filelock.Acquire(r.Site.Settings.LockFile)
	if errors.Is(err, filelock.ErrHeld) {
		return audit.Summary{}, fmt.Errorf("%w (%v)", ErrLocked, err)
	}
	if err != nil {
		return audit.Summary{}, err
	}
	if err := r.Recover(ctx); err != nil {
		_ = lock.Unlock()
		return audit.Summary{}, err
	}
	sum, err := r.locked(ctx, stop)
	if uerr := lock.Unlock(); uerr != nil {
		r.Log.Warn("releasing the lock failed", "err", uerr)
	}
	if stopping.Requested(stop) {
		// Stopping: the caller makes the one bounded delivery attempt (FinalFlush).
		return sum, err
	}
	if r.trail.Delivers() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, ferr := r.Flush(fctx); ferr != nil {
			r.Log.Warn("outcomes stay in the spool until the output is back", "spool", r.trail.SpoolPath(), "err", ferr)
		}
	}
	return sum, err
}

// StopDeliveryTimeout bounds the one delivery attempt made when the process stops.
const StopDeliveryTimeout = 15 * time.Second

// FinalFlush makes one delivery attempt of the spooled outcomes, bounded by
// StopDeliveryTimeout, when the process stops; what is not delivered stays in the spool
// for the next start.
func (r *Runner) FinalFlush(ctx context.Context) {
	if r.Pending() == 0 {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StopDeliveryTimeout)
	defer cancel()
	n, err := r.Flush(fctx)
	if err != nil {
		r.Log.Warn("stopping with outcomes in the spool: the next start delivers them", "delivered", n, "pending", r.Pending(), "err", err)
		return
	}
	r.Log.Info("spooled outcomes delivered", "count", n)
}

func (r *Runner) locked(ctx context.Context, stop <-chan struct{}) (audit.Summary, error) {
	p, state, err := r.plan(ctx)
	if err != nil {
		return audit.Summary{}, fmt.Errorf("planning: %w", err)
	}
	st := r.Site.Settings
	ex := &Executor{
		Source: r.Site.Source, Policy: r.Site.Policy, Site: r.Site.Name, Now: r.Now,
		Pacing: st.Pacing, Concurrency: st.Concurrency, MaxRecheckAge: st.RecheckMaxAge, SettleGrace: st.SettleGrace, Recorder: r.trail, Log: r.Log,
		Notifier: r.Site.Notifier, Notices: state, SpoolSkipped: r.trail.TakeSkipped(),
	}
	if rs := r.Site.RightsizeSettings; rs != nil {
		ex.Moves = &moves.Mover{Client: r.Site.Client, Policy: r.Site.Policy, Settings: rs, Path: st.MovesFile(), Site: r.Site.Name, Now: r.Now, Log: r.Log,
			SettleGrace: st.SettleGrace, Recorded: r.trail.Recorded}
	}
	return ex.Run(ctx, stop, p), nil
}

// Flush delivers spooled outcomes; nothing to do without an output.
func (r *Runner) Flush(ctx context.Context) (int, error) { return r.trail.Flush(ctx) }

// Trail is the site's audit trail.
func (r *Runner) Trail() *audit.Trail { return r.trail }

// Pending is the number of outcomes waiting in the spool.
func (r *Runner) Pending() int { return r.trail.Pending() }
