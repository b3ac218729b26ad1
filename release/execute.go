package release

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/stopping"
	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/moves"
	"github.com/qliksense-license/qliksense-license/release/notices"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/source"
)

// Executor carries out a plan on its license source (release/source): its releases in
// parts (batch.go), then its notices (release/notices), then the right-sizing moves
// (release/moves). Just before the changes of a part the source re-reads the part (on
// QRS: its allocations, and their users when the policy needs them, in one filtered
// request each) and the engine skips each holder that was used since the plan or is
// protected now; then it sends the changes in the source's batches (QRS: one DELETE per
// allocation; Qlik Cloud: one actions/delete call) and reads back what an answer leaves
// open — on QRS always, to tell released from quarantined; after an ambiguous answer,
// what happened at all (settle.go).
//
// The audit log never lies: an outcome is recorded only when it is known, by the truth
// rule (audit.Settle). A DELETE, once sent, and its read-back run under their own request
// deadlines, detached from ctx and from stop, so neither a stop nor a cancelled context
// cuts them. A DELETE a read proved not done after a 5xx, a 429 or a connection error is
// sent again within the client's retry budget. One still pending after an ambiguous
// answer (the allocation still there within the settle grace) is read again before the
// run ends, all in one filtered read per type; what is still not known then gets no
// outcome: the run counts it as unsettled and its intent stays open in the in-flight
// file, where Runner.Recover settles it by reading the allocation back before the next
// run.
type Executor struct {
	// Source is the license source (release/source): QRS or a Qlik Cloud tenant.
	Source      source.Source
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
	// SettleGrace: how long after an ambiguously answered change a read showing the
	// holder still proves nothing (default: the source's timeout; audit.Settle).
	SettleGrace time.Duration
	Recorder    audit.Recorder
	Log         *slog.Logger
	// Notifier and Notices: the site's notices (nil: no type gives notice) and the notice
	// state the plan was staged with (release/notices).
	Notifier *notices.Notifier
	Notices  *notice.State
	// Moves is the right-sizing action (release/moves); nil: none.
	Moves *moves.Mover
	// SpoolSkipped: corrupt spool lines skipped by deliveries since the previous run, for
	// this run's point (spool_skipped).
	SpoolSkipped int

	sleep func(context.Context, time.Duration) error
}

// newRunID returns a fresh run id: the start time and a random suffix.
func newRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Run executes the plan. Closing stop lets the DELETEs in flight finish and starts no
// more; ctx bounds every QRS call. A failure never stops the run; the summary is exact.
func (e *Executor) Run(ctx context.Context, stop <-chan struct{}, p *plan.Plan) audit.Summary {
	start := e.Now()
	sum := audit.Summary{Site: e.Site, RunID: newRunID(start), Start: start.UTC(), DryRun: p.DryRun, Kept: map[policy.Reason]int{}, Errors: []string{},
		SpoolSkipped: e.SpoolSkipped}
	for _, t := range p.Totals {
		sum.Deferred += t.Deferred
		sum.Waiting += t.Waiting
		sum.Candidates += t.Release + t.Deferred + t.Notice + t.Waiting
		for r, n := range t.Kept {
			sum.Kept[r] += n
		}
	}
	for _, err := range p.Errors {
		sum.Errors = append(sum.Errors, err.Error())
	}
	releases := p.Releases()
	log := e.Log.With("run_id", sum.RunID)
	log.Info("run starting", "dry_run", p.DryRun, "releases", len(releases), "deferred", sum.Deferred)

	var mu sync.Mutex
	var released []audit.Outcome // for the digest
	record := func(o audit.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		if o.Result == audit.Released || o.Result == audit.Quarantined {
			released = append(released, o)
		}
		if o.Result == "" { // unsettled: the intent stays open (see Executor)
			sum.Unsettled++
			log.Warn("outcome unknown: the intent stays open until a later read of "+e.Source.Words().Service+" settles it", "type", o.Type, "user", o.User,
				"allocation_id", o.AllocationID, "detail", o.Detail)
			return
		}
		sum.Count(o.Result)
		if err := e.Recorder.Outcome(o); err != nil {
			log.Error("recording an outcome failed", "allocation_id", o.AllocationID, "err", err)
			sum.Errors = append(sum.Errors, "recording outcome: "+err.Error())
		}
		log.Info("outcome", "type", o.Type, "user", o.User, "allocation_id", o.AllocationID, "outcome", o.Result, "reason", o.Reason, "detail", o.Detail)
	}

	if p.DryRun {
		for _, it := range releases {
			record(it.Outcome(e.Now(), e.Site, sum.RunID, audit.DryRun, string(it.Decision.Reason), it.Decision.Detail))
		}
		for _, it := range p.Items {
			if it.Decision.Verdict == policy.Notice {
				sum.WouldNotice++
			}
		}
	} else {
		e.release(ctx, stop, releases, sum.RunID, record, &mu, &sum)
		if e.Notifier != nil && e.Notices != nil {
			mu.Lock()
			gone := slices.Clone(released)
			mu.Unlock()
			errs := e.Notifier.Send(ctx, stop, notices.Run{Plan: p, State: e.Notices, Policy: e.Policy, Site: e.Site, RunID: sum.RunID,
				Now: e.Now, Log: e.Log, Record: record, Released: gone})
			mu.Lock()
			sum.Errors = append(sum.Errors, errs...)
			mu.Unlock()
		}
	}
	if e.Moves != nil {
		rep := e.Moves.Run(ctx, stop, p.DryRun, sum.RunID, record)
		mu.Lock()
		sum.Unsettled += rep.Unsettled
		sum.Errors = append(sum.Errors, rep.Errors...)
		mu.Unlock()
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
	now   func() time.Time // the clock of the slots (nil: time.Now)
}

func (p *pacer) next() error {
	if p.every <= 0 {
		return nil
	}
	now := time.Now
	if p.now != nil {
		now = p.now
	}
	p.mu.Lock()
	slot := now()
	if !p.last.IsZero() && p.last.Add(p.every).After(slot) {
		slot = p.last.Add(p.every)
	}
	p.last = slot
	p.mu.Unlock()
	if d := slot.Sub(now()); d > 0 {
		return p.wait(d)
	}
	return nil
}

func sleepOrStop(ctx context.Context, stop <-chan struct{}, sleep func(context.Context, time.Duration) error, d time.Duration) error {
	sctx, cancel := stopping.Context(ctx, stop)
	defer cancel()
	return sleep(sctx, d)
}

// Reasons of skipped and failed outcomes (released ones carry the policy's reason).
const (
	ReasonGone          = source.ReasonGone
	ReasonUsedSincePlan = source.ReasonUsedSincePlan
	ReasonRecheckFailed = source.ReasonRecheckFailed
	ReasonDeleteFailed  = "delete_failed"
	ReasonAnswerLost    = "answer_lost"
	ReasonJournalFailed = "journal_failed"
	ReasonInterrupted   = "interrupted"
)

// ErrLocked means another run of the same site holds the lock.
var ErrLocked = errors.New("another run of this site is in progress")
