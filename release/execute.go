package release

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// Executor carries out a plan, in parts (batch.go): just before the DELETEs of a part it
// re-reads the part's allocations (and their users when the policy needs them) in one
// filtered request and skips each that was used since the plan or is protected now; then
// it sends one DELETE per allocation, never retried, and reads the part back in one
// filtered request to tell released from quarantined — or, when an answer was lost, what
// happened at all.
//
// The audit log never lies: an outcome is recorded only when it is known. A DELETE, once
// sent, and its read-back run under their own request deadlines, detached from ctx and
// from stop, so neither a stop nor a cancelled context cuts them. When a DELETE's effect
// is still unknown after the read-back (its answer was lost and the read-back failed, or
// QRS answered 204 and the read-back failed, so released and quarantined cannot be told
// apart), no outcome is recorded: the run counts it as unsettled and its intent stays
// open in the in-flight file, where Runner.Recover settles it by reading the allocation
// back before the next run.
type Executor struct {
	Client      *qrs.Client
	Policy      *policy.Policy
	Site        string
	Now         func() time.Time
	Pacing      time.Duration // minimum time between two DELETEs
	Concurrency int
	// MaxRecheckAge bounds how old a re-check may be when its DELETE starts (default
	// DefaultMaxRecheckAge); BatchSize caps a part (default: as many ids as one filtered
	// request holds, at most 50). See batch.go.
	MaxRecheckAge time.Duration
	BatchSize     int
	Recorder      Recorder
	Log           *slog.Logger
	// Notifier and Notices: the site's notices (nil: no type gives notice) and the notice
	// state the plan was staged with; notify.go.
	Notifier *Notifier
	Notices  *notice.State
	// Rightsize and MovesPath: the right-sizing action (move.go) and its moves file.
	Rightsize *siteconfig.Rightsize
	MovesPath string
	// SpoolSkipped: corrupt spool lines skipped by deliveries since the previous run, for
	// this run's point (spool_skipped).
	SpoolSkipped int

	sleep func(context.Context, time.Duration) error
}

// NewRunID returns a fresh run id: the start time and a random suffix.
func NewRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Run executes the plan. Closing stop lets the DELETEs in flight finish and starts no
// more; ctx bounds every QRS call. A failure never stops the run; the summary is exact.
func (e *Executor) Run(ctx context.Context, stop <-chan struct{}, p *Plan) Summary {
	start := e.Now()
	sum := Summary{Site: e.Site, RunID: NewRunID(start), Start: start.UTC(), DryRun: p.DryRun, Protected: map[policy.Reason]int{}, Errors: []string{},
		SpoolSkipped: e.SpoolSkipped}
	for _, t := range p.Totals {
		sum.Deferred += t.Deferred
		sum.Waiting += t.Waiting
		sum.Candidates += t.Release + t.Deferred + t.Notice + t.Waiting
		for r, n := range t.Kept {
			sum.Protected[r] += n
		}
	}
	for _, err := range p.Errors {
		sum.Errors = append(sum.Errors, err.Error())
	}
	releases := p.Releases()
	log := e.Log.With("run_id", sum.RunID)
	log.Info("run starting", "dry_run", p.DryRun, "releases", len(releases), "deferred", sum.Deferred)

	var mu sync.Mutex
	var released []Outcome // for the digest
	record := func(o Outcome) {
		mu.Lock()
		defer mu.Unlock()
		if o.Result == Released || o.Result == Quarantined {
			released = append(released, o)
		}
		if o.Result == "" { // unsettled: the intent stays open (see Executor)
			sum.Unsettled++
			log.Warn("outcome unknown: the intent stays open until a later read of QRS settles it", "type", o.Type, "user", o.User,
				"allocation_id", o.AllocationID, "detail", o.Detail)
			return
		}
		sum.add(o.Result)
		if err := e.Recorder.Outcome(o); err != nil {
			log.Error("recording an outcome failed", "allocation_id", o.AllocationID, "err", err)
			sum.Errors = append(sum.Errors, "recording outcome: "+err.Error())
		}
		log.Info("outcome", "type", o.Type, "user", o.User, "allocation_id", o.AllocationID, "outcome", o.Result, "reason", o.Reason, "detail", o.Detail)
	}

	if p.DryRun {
		for _, it := range releases {
			record(e.outcome(sum.RunID, it, DryRun, string(it.Decision.Reason), it.Decision.Detail, true))
		}
		for _, it := range p.Items {
			if it.Decision.Verdict == policy.Notice {
				sum.WouldNotice++
			}
		}
		e.move(ctx, stop, true, sum.RunID, record, &sum)
	} else {
		e.release(ctx, stop, releases, sum.RunID, record, &mu, &sum)
		e.notify(ctx, stop, p, sum.RunID, record, &sum, released)
		e.move(ctx, stop, false, sum.RunID, record, &sum)
	}
	sum.Time = e.Now().UTC()
	if err := e.Recorder.Summary(sum); err != nil {
		log.Error("recording the run summary failed", "err", err)
	}
	log.Info("run finished", "released", sum.Released, "quarantined", sum.Quarantined, "dry_run_releases", sum.WouldRelease,
		"skipped", sum.Skipped, "failed", sum.Failed, "deferred", sum.Deferred, "unsettled", sum.Unsettled, "interrupted", sum.Interrupted,
		"noticed", sum.Noticed, "notice_failed", sum.NoticeFailed, "waiting", sum.Waiting, "dry_run_notices", sum.WouldNotice,
		"moved", sum.Moved, "move_failed", sum.MoveFailed, "move_undone", sum.MoveUndone, "dry_run_moves", sum.WouldMove,
		"duration", sum.Duration().Round(time.Millisecond).String())
	return sum
}

// pacer spaces DELETEs: each caller gets the next slot at least `every` after the
// previous one, whatever the concurrency.
type pacer struct {
	mu    sync.Mutex
	every time.Duration
	last  time.Time
	wait  func(time.Duration) error
}

func (p *pacer) next() error {
	if p.every <= 0 {
		return nil
	}
	p.mu.Lock()
	slot := time.Now()
	if !p.last.IsZero() && p.last.Add(p.every).After(slot) {
		slot = p.last.Add(p.every)
	}
	p.last = slot
	p.mu.Unlock()
	if d := time.Until(slot); d > 0 {
		return p.wait(d)
	}
	return nil
}

func sleepOrStop(ctx context.Context, stop <-chan struct{}, sleep func(context.Context, time.Duration) error, d time.Duration) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-sctx.Done():
		}
	}()
	return sleep(sctx, d)
}

func (e *Executor) outcome(runID string, it Item, r Result, reason, detail string, dryRun bool) Outcome {
	return Outcome{
		Time: e.Now().UTC(), Site: e.Site, RunID: runID, Type: it.Type, AllocationID: it.Allocation.ID, User: it.Allocation.HolderName(),
		DaysSinceLastUse: it.Decision.Inactivity.Hours() / 24, NeverUsed: it.Decision.NeverUsed,
		Result: r, Reason: reason, Detail: detail, DryRun: dryRun,
	}
}

// Reasons of skipped and failed outcomes (released ones carry the policy's reason).
const (
	ReasonGone          = "gone"
	ReasonUsedSincePlan = "used_since_plan"
	ReasonRecheckFailed = "recheck_failed"
	ReasonDeleteFailed  = "delete_failed"
	ReasonAnswerLost    = "answer_lost"
	ReasonJournalFailed = "journal_failed"
	ReasonInterrupted   = "interrupted"
)

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

func quarantinedDetail(back *qrs.Allocation) string {
	end := ""
	if back.QuarantineEnd.Valid() {
		end = " until " + back.QuarantineEnd.UTC().Format(time.RFC3339)
	}
	return "used within the quarantine period: quarantined" + end
}

// ErrLocked means another run of the same site holds the lock.
var ErrLocked = errors.New("another run of this site is in progress")
