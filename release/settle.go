package release

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
)

// deletion is one DELETE sent: its last answer, when it was sent, and how many times it
// was sent again after a read proved it not done.
type deletion struct {
	it    plan.Item
	err   error
	sent  time.Time
	tries int
}

// settleGrace is Executor.SettleGrace, by default the client's timeout.
func (e *Executor) settleGrace() time.Duration {
	if e.SettleGrace > 0 {
		return e.SettleGrace
	}
	return e.Client.Timeout()
}

// settle turns DELETE answers into outcomes by the truth rule (audit.Settle) and records
// them: a 4xx that QRS sent is recorded as it says (404: gone, skipped; any other:
// failed, nothing changed); every other answer is read back, one filtered read per type
// (its own deadline, detached from the run's context). A DELETE the read proved not done
// after a 5xx, a 429 or a connection error is sent again, with backoff, within the
// client's retry budget and the run's deadline, and read back again; only then is it
// failed. It returns the DELETEs still pending (read showing the allocation while the
// settle grace runs); with final, those are recorded unsettled instead (no result: the
// intent stays open for the next run's Recover).
func (r *releasing) settle(dels []deletion, final bool) []deletion {
	e := r.e
	var pending []deletion
	for len(dels) > 0 {
		var check []deletion
		for _, del := range dels {
			it := del.it
			switch {
			case audit.AnswerOfQRS(del.err) != audit.AnswerRefused:
				check = append(check, del)
			case qrs.IsNotFound(del.err):
				r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Skipped, ReasonGone, "QRS answered 404: the allocation no longer exists (released elsewhere)"))
			default:
				r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Failed, ReasonDeleteFailed, del.err.Error()))
			}
		}
		if len(check) == 0 {
			break
		}
		back, rerr := e.readBack(r.ctx, check)
		now := time.Now()
		var again []deletion
		for _, del := range check {
			it, err, d := del.it, del.err, del.it.Decision
			a, present := back[it.Allocation.ID]
			read := audit.ReadOld
			switch {
			case rerr != nil:
				read = audit.ReadFailed
			case !present || a.Quarantined:
				read = audit.ReadChanged
			}
			switch audit.Settle(audit.AnswerOfQRS(err), read, del.sent, now, e.settleGrace()) {
			case audit.Done:
				result, detail := audit.Released, d.Detail
				if present {
					result, detail = audit.Quarantined, audit.QuarantinedDetail(a)+"; "+d.Detail
				}
				if err != nil {
					detail = ambiguousDetail(err) + "; the allocation is gone; " + detail
					if present {
						detail = ambiguousDetail(err) + "; " + audit.QuarantinedDetail(a) + "; " + d.Detail
					}
				}
				r.record(it.Outcome(e.Now(), e.Site, r.runID, result, string(d.Reason), retried(detail, del.tries)))
			case audit.Pending:
				if !final {
					pending = append(pending, del)
					continue
				}
				switch {
				case err == nil:
					r.record(it.Outcome(e.Now(), e.Site, r.runID, "", string(d.Reason), "QRS answered 204; reading it back to tell released from quarantined failed: "+rerr.Error()))
				case rerr != nil:
					r.record(it.Outcome(e.Now(), e.Site, r.runID, "", ambiguousReason(err), fmt.Sprintf("%v; reading it back failed too: %v", err, rerr)))
				default:
					r.record(it.Outcome(e.Now(), e.Site, r.runID, "", ambiguousReason(err),
						fmt.Sprintf("%v; read back: the allocation is still there, which proves nothing yet (settle grace %s)", err, e.settleGrace())))
				}
			case audit.NotDone:
				switch {
				case err == nil:
					r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Failed, ReasonDeleteFailed, retried("QRS answered 204 but the allocation is still there", del.tries)))
				case r.retry(&del):
					again = append(again, del)
				default:
					r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Failed, ambiguousReason(err),
						retried(fmt.Sprintf("%v; read back: the allocation is still there", err), del.tries)))
				}
			}
		}
		dels = again
	}
	return pending
}

// retried adds to an outcome's detail how many times its DELETE was sent again.
func retried(detail string, tries int) string {
	if tries == 0 {
		return detail
	}
	return fmt.Sprintf("%s (sent %d times: a read proved the earlier ones not done)", detail, tries+1)
}

// readBack reads the allocations of dels back, one filtered request per type, under its
// own deadline detached from ctx.
func (e *Executor) readBack(ctx context.Context, dels []deletion) (map[string]*qrs.Allocation, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.Client.Timeout())
	defer cancel()
	ids := map[qrs.AccessType][]string{}
	for _, del := range dels {
		ids[del.it.Type] = append(ids[del.it.Type], del.it.Allocation.ID)
	}
	back := map[string]*qrs.Allocation{}
	for _, t := range qrs.AccessTypes {
		if len(ids[t]) == 0 {
			continue
		}
		found, err := e.Client.AllocationsByID(rctx, t, ids[t])
		if err != nil {
			return nil, err
		}
		maps.Copy(back, found)
	}
	return back, nil
}

// retry sends a DELETE again once a read proved it not done, when its answer allows it
// (audit.Retryable), the client's retry budget is not spent, the run is not stopping and
// its deadline leaves time for the backoff. Its intent is noted again first (Recover
// measures its grace from the latest). false: not sent.
func (r *releasing) retry(del *deletion) bool {
	e := r.e
	if !audit.Retryable(del.err) || del.tries >= e.Client.RetryBudget() || r.halted() {
		return false
	}
	wait := e.Client.Backoff(del.tries + 1)
	if dl, ok := r.ctx.Deadline(); ok && time.Until(dl) < wait {
		return false
	}
	if sleepOrStop(r.ctx, r.stop, r.sleep(), wait) != nil || r.pace.next() != nil || r.halted() {
		return false
	}
	it := del.it
	if e.Recorder.Intent(it.Outcome(e.Now(), e.Site, r.runID, "", string(it.Decision.Reason), it.Decision.Detail)) != nil {
		return false
	}
	start := time.Now()
	del.err = e.Client.DeleteAllocation(context.WithoutCancel(r.ctx), it.Type, it.Allocation.ID)
	del.sent, del.tries = start, del.tries+1
	r.log().Info("a read proved the DELETE not done: sent again", "allocation_id", it.Allocation.ID, "attempt", del.tries+1, "err", del.err)
	return true
}

// keepOpen holds DELETEs still pending for the run's last read (settleOpen).
func (r *releasing) keepOpen(dels []deletion) {
	if len(dels) == 0 {
		return
	}
	r.openMu.Lock()
	r.open = append(r.open, dels...)
	r.openMu.Unlock()
}

// settleOpen reads the run's pending DELETEs again before the run ends, all in one
// filtered read per type, once the settle grace has passed since the latest was sent
// (not waited for when the run stops or its context ends: Recover settles them then).
// What is still not known is recorded unsettled: the intents stay open.
func (r *releasing) settleOpen() {
	r.openMu.Lock()
	open := r.open
	r.open = nil
	r.openMu.Unlock()
	if len(open) == 0 {
		return
	}
	var latest time.Time
	for _, del := range open {
		if del.sent.After(latest) {
			latest = del.sent
		}
	}
	if wait := time.Until(latest.Add(r.e.settleGrace())); wait > 0 && !r.halted() {
		r.log().Info("changes answered ambiguously: reading them again once the settle grace has passed", "count", len(open), "wait", wait.Round(time.Millisecond).String())
		_ = sleepOrStop(r.ctx, r.stop, r.sleep(), wait)
	}
	r.settle(open, true)
}

func (r *releasing) sleep() func(context.Context, time.Duration) error {
	if r.e.sleep != nil {
		return r.e.sleep
	}
	return ctxsleep.Sleep
}

func (r *releasing) log() *slog.Logger { return r.e.Log.With("run_id", r.runID) }

// ambiguousDetail says in an outcome which ambiguous answer was read back.
func ambiguousDetail(err error) string {
	if s := qrs.StatusCode(err); s != 0 {
		return fmt.Sprintf("the DELETE was answered %d %s, which does not say what QRS did; read back", s, http.StatusText(s))
	}
	return "the DELETE's answer was lost"
}

// ambiguousReason names an ambiguous answer in an outcome: answer_lost when none came
// (timeout, reset, an undecodable body), delete_failed when a proxy or QRS answered with
// an error status.
func ambiguousReason(err error) string {
	if qrs.StatusCode(err) == 0 {
		return ReasonAnswerLost
	}
	return ReasonDeleteFailed
}
