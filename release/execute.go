package release

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Executor carries out a plan: for each allocation to release, it re-reads the
// allocation (and its user when the policy needs it) and skips it if it was used since the
// plan or is protected now; then it sends one DELETE, never retried, and reads the
// allocation back to tell released from quarantined — or, when the answer was lost, what
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
	Recorder    Recorder
	Log         *slog.Logger

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
	sum := Summary{Site: e.Site, RunID: NewRunID(start), Start: start, DryRun: p.DryRun, Protected: map[policy.Reason]int{}, Errors: []string{}}
	for _, t := range p.Totals {
		sum.Deferred += t.Deferred
		sum.Candidates += t.Release + t.Deferred
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
	record := func(o Outcome) {
		mu.Lock()
		defer mu.Unlock()
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
	} else {
		e.release(ctx, stop, releases, sum.RunID, record, &mu, &sum)
	}
	sum.Time = e.Now()
	if err := e.Recorder.Summary(sum); err != nil {
		log.Error("recording the run summary failed", "err", err)
	}
	log.Info("run finished", "released", sum.Released, "quarantined", sum.Quarantined, "dry_run_releases", sum.WouldRelease,
		"skipped", sum.Skipped, "failed", sum.Failed, "deferred", sum.Deferred, "unsettled", sum.Unsettled, "interrupted", sum.Interrupted,
		"duration", sum.Duration().Round(time.Millisecond).String())
	return sum
}

func (e *Executor) release(ctx context.Context, stop <-chan struct{}, items []Item, runID string, record func(Outcome), mu *sync.Mutex, sum *Summary) {
	sleep := e.sleep
	if sleep == nil {
		sleep = ctxsleep.Sleep
	}
	pace := &pacer{every: e.Pacing, wait: func(d time.Duration) error { return sleepOrStop(ctx, stop, sleep, d) }}
	work := make(chan Item)
	var wg sync.WaitGroup
	var notStarted int
	for range max(1, e.Concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n := e.pipeline(ctx, stop, runID, work, pace, record); n > 0 {
				mu.Lock()
				notStarted += n
				mu.Unlock()
			}
		}()
	}
	sent := 0
dispatch:
	for _, it := range items {
		select {
		case <-stop:
			break dispatch
		case <-ctx.Done():
			break dispatch
		case work <- it:
			sent++
		}
	}
	close(work)
	wg.Wait()
	if left := len(items) - sent + notStarted; left > 0 {
		sum.Deferred += left
		sum.Interrupted = true
	}
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

// pipeline is one worker: while one DELETE is in flight, the next allocation is
// re-checked and the previous one is read back, so a release costs about one QRS round
// trip of wall time although it takes three or four requests. It returns how many items
// it took but did not start (stop closed first).
func (e *Executor) pipeline(ctx context.Context, stop <-chan struct{}, runID string, work <-chan Item, pace *pacer, record func(Outcome)) (notStarted int) {
	checked := make(chan Item, 1)     // re-checked, to delete (the re-check runs up to two ahead)
	deleted := make(chan deletion, 1) // sent, to read back
	var stages sync.WaitGroup
	var skippedByStop int
	stages.Add(2)
	go func() { // re-check, one item ahead of the DELETE
		defer stages.Done()
		defer close(checked)
		for it := range work {
			if stopped(stop) {
				skippedByStop++
				continue
			}
			if o, skip := e.recheck(ctx, runID, &it); skip {
				record(o)
				continue
			}
			checked <- it
		}
	}()
	go func() { // read back, one item behind
		defer stages.Done()
		for d := range deleted {
			record(e.settle(ctx, runID, d))
		}
	}()
	for it := range checked {
		if pace.next() != nil || stopped(stop) {
			notStarted++ // stopped before its DELETE
			continue
		}
		if err := e.Recorder.Intent(e.outcome(runID, it, "", string(it.Decision.Reason), it.Decision.Detail, false)); err != nil {
			record(e.outcome(runID, it, Skipped, ReasonJournalFailed, "not released: the intent could not be recorded: "+err.Error(), false))
			continue
		}
		// Sent under its own request deadline (the client's timeout), never cut by ctx.
		deleted <- deletion{it: it, err: e.Client.DeleteAllocation(context.WithoutCancel(ctx), it.Type, it.Allocation.ID)}
	}
	close(deleted)
	stages.Wait()
	return notStarted + skippedByStop
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

type deletion struct {
	it  Item
	err error
}

// recheck re-reads the allocation (and its user when the policy needs it) and decides
// again; skip is true, with the outcome, when it must not be released any more.
func (e *Executor) recheck(ctx context.Context, runID string, it *Item) (o Outcome, skip bool) {
	t, id := it.Type, it.Allocation.ID
	// The allocation and its user are read at the same time: one round trip.
	var (
		user    *qrs.User
		userErr error
		wg      sync.WaitGroup
	)
	needUser := e.Policy.NeedsUserRecord() && it.Allocation.User != nil
	if needUser {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, userErr = e.Client.User(ctx, it.Allocation.User.ID)
		}()
	}
	fresh, err := e.Client.Allocation(ctx, t, id)
	wg.Wait()
	if qrs.IsNotFound(err) {
		return e.outcome(runID, *it, Skipped, ReasonGone, "the allocation no longer exists", false), true
	}
	if err != nil {
		return e.outcome(runID, *it, Skipped, ReasonRecheckFailed, "re-reading the allocation: "+err.Error(), false), true
	}
	if needUser && fresh.User != nil && fresh.User.ID != it.Allocation.User.ID {
		user, userErr = e.Client.User(ctx, fresh.User.ID) // reassigned since the plan
	}
	if userErr != nil && !qrs.IsNotFound(userErr) {
		return e.outcome(runID, *it, Skipped, ReasonRecheckFailed, "re-reading the user: "+userErr.Error(), false), true
	}
	if qrs.IsNotFound(userErr) || fresh.User == nil {
		user = nil
	}
	d := e.Policy.Evaluate(t, fresh, user, e.Now())
	if d.Verdict != policy.Release {
		reason := string(d.Reason)
		if fresh.LastUsed.After(it.Allocation.LastUsed.Time) {
			reason = ReasonUsedSincePlan
		}
		return e.outcome(runID, *it, Skipped, reason, "re-check: "+d.Detail, false), true
	}
	it.Decision = d
	return Outcome{}, false
}

// settle turns a DELETE's answer into an outcome: an HTTP error is a failure; after a 204,
// or when the answer was lost, the allocation is read back to learn what QRS did. The
// read-back has its own deadline, detached from ctx. An outcome without a Result is
// unsettled: what QRS did is not known (see Executor).
func (e *Executor) settle(ctx context.Context, runID string, del deletion) Outcome {
	it, err, d := del.it, del.err, del.it.Decision
	if err != nil && qrs.StatusCode(err) != 0 {
		return e.outcome(runID, it, Failed, ReasonDeleteFailed, err.Error(), false)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.Client.Timeout())
	defer cancel()
	back, rerr := e.Client.Allocation(rctx, it.Type, it.Allocation.ID)
	lost := err != nil
	switch {
	case qrs.IsNotFound(rerr):
		detail := d.Detail
		if lost {
			detail = "the DELETE's answer was lost; the allocation is gone; " + d.Detail
		}
		return e.outcome(runID, it, Released, string(d.Reason), detail, false)
	case rerr != nil && lost:
		return e.outcome(runID, it, "", ReasonAnswerLost, fmt.Sprintf("%v; reading it back failed too: %v", err, rerr), false)
	case rerr != nil:
		return e.outcome(runID, it, "", string(d.Reason), "QRS answered 204; reading it back to tell released from quarantined failed: "+rerr.Error(), false)
	case back.Quarantined:
		return e.outcome(runID, it, Quarantined, string(d.Reason), quarantinedDetail(back)+"; "+d.Detail, false)
	case lost:
		return e.outcome(runID, it, Failed, ReasonAnswerLost, fmt.Sprintf("%v; the allocation is still there", err), false)
	default:
		return e.outcome(runID, it, Failed, ReasonDeleteFailed, "QRS answered 204 but the allocation is still there", false)
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
