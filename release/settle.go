package release

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/ctxsleep"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/source"
)

// deletion is one change sent: its last answer, when that answer came (sent: the settle
// grace runs from it, audit.Settle), and how many times it was sent again after a read
// proved it not done; reached: when the latest send that reached the service (not
// Answer.Unsent) was answered (zero: none did); ours: a send before the last may have
// landed late, so the last, answered gone, found the tool's own change done
// (audit.ResentGoneIsOurs).
type deletion struct {
	it      plan.Item
	ans     source.Answer
	sent    time.Time
	reached time.Time
	tries   int
	ours    bool
}

// answered notes a send's answer, which came at `at`.
func (d *deletion) answered(a source.Answer, at time.Time) {
	d.ans, d.sent = a, at
	if !a.Unsent {
		d.reached = at
	}
}

// settleGrace is Executor.SettleGrace, by default the source's timeout.
func (e *Executor) settleGrace() time.Duration {
	if e.SettleGrace > 0 {
		return e.SettleGrace
	}
	return e.Source.Timeout()
}

// settle turns the answers to changes into outcomes by the truth rule (audit.Settle) and
// records them: a definitive refusal is recorded as it says (the holder gone: skipped —
// unless the change was sent again and its earlier send may have landed late, which
// freed the seat: released, audit.ResentGoneIsOurs; any other: failed, nothing changed); a final done answer as released; every other
// answer is read back, in one read of the source (its own deadline, detached from the
// run's context). A change the read proved not done after a 5xx, a 429 or a connection
// error is sent again, with backoff, within the source's retry budget and the run's
// deadline, and read back again; only then is it failed. It returns the changes still
// pending (read showing the holder while the settle grace runs); with final, those are
// recorded unsettled instead (no result: the intent stays open for the next run's
// Recover).
func (r *releasing) settle(dels []deletion, final bool) []deletion {
	e := r.e
	w := e.Source.Words()
	var pending []deletion
	for len(dels) > 0 {
		var check []deletion
		for _, del := range dels {
			it, a := del.it, del.ans
			switch {
			case a.Class == audit.AnswerDone && a.Final:
				r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Released, string(it.Decision.Reason), retried(it.Decision.Detail, del.tries)))
			case a.Class != audit.AnswerRefused:
				check = append(check, del)
			case a.Gone && del.ours:
				r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Released, string(it.Decision.Reason), resentGoneDetail(w, del)+"; "+it.Decision.Detail))
			case a.Gone && del.tries > 0:
				r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Skipped, ReasonGone, w.Gone+
					" when the "+w.Change+" was sent again; the earlier "+w.Change+" never reached "+w.Service+" or was proved not done by a read long after the settle grace: not this tool's"))
			case a.Gone:
				r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Skipped, ReasonGone, w.Gone))
			default:
				r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Failed, ReasonDeleteFailed, a.Err.Error()))
			}
		}
		if len(check) == 0 {
			break
		}
		back, rerr := e.readBack(r.ctx, check)
		now := time.Now()
		var again []deletion
		for _, del := range check {
			it, err, d := del.it, del.ans.Err, del.it.Decision
			b, present := back[source.KeyOf(&it)]
			read := audit.ReadOld
			switch {
			case rerr != nil:
				read = audit.ReadFailed
			case !present || b.Quarantined:
				read = audit.ReadChanged
			}
			switch audit.Settle(del.ans.Class, read, del.sent, now, e.settleGrace()) {
			case audit.Done:
				result, detail := audit.Released, d.Detail
				if present {
					result, detail = audit.Quarantined, b.Detail+"; "+d.Detail
				}
				if err != nil {
					detail = ambiguousDetail(w, del.ans) + "; the " + w.Holder + " is gone; " + detail
					if present {
						detail = ambiguousDetail(w, del.ans) + "; " + b.Detail + "; " + d.Detail
					}
				}
				r.record(it.Outcome(e.Now(), e.Site, r.runID, result, string(d.Reason), retried(detail, del.tries)))
			case audit.Pending:
				if !final {
					pending = append(pending, del)
					continue
				}
				if err != nil {
					// Left open: its intent, noted again now, tells Recover that the grace
					// runs from here (after the answer), not from the first intent.
					_ = e.Recorder.Intent(it.Outcome(e.Now(), e.Site, r.runID, "", string(d.Reason), d.Detail))
				}
				switch {
				case err == nil:
					r.record(it.Outcome(e.Now(), e.Site, r.runID, "", string(d.Reason), w.Done+"; reading it back to tell released from quarantined failed: "+rerr.Error()))
				case rerr != nil:
					r.record(it.Outcome(e.Now(), e.Site, r.runID, "", ambiguousReason(del.ans), fmt.Sprintf("%v; reading it back failed too: %v", err, rerr)))
				default:
					r.record(it.Outcome(e.Now(), e.Site, r.runID, "", ambiguousReason(del.ans),
						fmt.Sprintf("%v; read back: the %s is still there, which proves nothing yet (settle grace %s)", err, w.Holder, e.settleGrace())))
				}
			case audit.NotDone:
				switch {
				case err == nil:
					r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Failed, ReasonDeleteFailed, retried(w.Done+" but the "+w.Holder+" is still there", del.tries)))
				case r.retryable(del):
					// Any earlier send that reached the service may land late, not only the
					// last (a tenant's 429 after a 504): the latest of them, read still
					// undone at now, decides.
					del.ours = audit.ResentGoneIsOurs(del.reached.IsZero(), del.reached, now, e.settleGrace())
					again = append(again, del)
				default:
					r.record(it.Outcome(e.Now(), e.Site, r.runID, audit.Failed, ambiguousReason(del.ans),
						retried(fmt.Sprintf("%v; read back: the %s is still there", err, w.Holder), del.tries)))
				}
			}
		}
		dels = r.retry(again)
	}
	return pending
}

// retried adds to an outcome's detail how many times its change was sent again.
func retried(detail string, tries int) string {
	if tries == 0 {
		return detail
	}
	return fmt.Sprintf("%s (sent %d times: a read proved the earlier ones not done)", detail, tries+1)
}

// resentGoneDetail says, in the outcome of a change sent again and answered gone, that the
// earlier send freed the seat: it landed after the read that showed the holder still
// there.
func resentGoneDetail(w source.Words, del deletion) string {
	which := "the first"
	if del.tries > 1 {
		which = "an earlier"
	}
	return fmt.Sprintf("sent again after a read showed the %s still there, the %s was answered %d %s: %s %s landed late, after that read (sent %d times)",
		w.Holder, w.Change, del.ans.Status, http.StatusText(del.ans.Status), which, w.Change, del.tries+1)
}

// readBack reads the holders of dels back through the source, under its own deadline
// detached from ctx.
func (e *Executor) readBack(ctx context.Context, dels []deletion) (map[source.Key]source.Back, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.Source.Timeout())
	defer cancel()
	keys := make([]source.Key, len(dels))
	for i := range dels {
		keys[i] = source.KeyOf(&dels[i].it)
	}
	return e.Source.ReadBack(rctx, keys)
}

// retryable reports whether a change a read proved not done may be sent again: its answer
// allows it (Answer.Retryable), the source's retry budget is not spent and the run is not
// stopping.
func (r *releasing) retryable(del deletion) bool {
	return del.ans.Retryable && del.tries < r.e.Source.RetryBudget() && !r.halted()
}

// retry sends the changes of dels (all retryable) again, in batches of the source's
// BatchSize, each once its backoff (at least the answers' RetryAfter) has passed (if the
// run's deadline leaves time for it) and at the pace. Each intent is noted again first (Recover measures its grace from the
// latest). It returns the changes sent; the others are recorded failed.
func (r *releasing) retry(dels []deletion) []deletion {
	e := r.e
	w := e.Source.Words()
	fail := func(del deletion) {
		r.record(del.it.Outcome(e.Now(), e.Site, r.runID, audit.Failed, ambiguousReason(del.ans),
			retried(fmt.Sprintf("%v; read back: the %s is still there", del.ans.Err, w.Holder), del.tries)))
	}
	var sent []deletion
	for n := max(1, e.Source.BatchSize()); len(dels) > 0; {
		batch := dels[:min(n, len(dels))]
		dels = dels[len(batch):]
		tries, after := 0, time.Duration(0)
		for _, del := range batch {
			tries, after = max(tries, del.tries), max(after, del.ans.RetryAfter)
		}
		wait := max(e.Source.Backoff(tries+1), after)
		ok := true
		if dl, has := r.ctx.Deadline(); has && time.Until(dl) < wait {
			ok = false
		}
		if ok && (sleepOrStop(r.ctx, r.stop, r.sleep(), wait) != nil || r.pace.next() != nil || r.halted()) {
			ok = false
		}
		var send []deletion
		for _, del := range batch {
			it := del.it
			if !ok || e.Recorder.Intent(it.Outcome(e.Now(), e.Site, r.runID, "", string(it.Decision.Reason), it.Decision.Detail)) != nil {
				fail(del)
				continue
			}
			send = append(send, del)
		}
		if len(send) == 0 {
			continue
		}
		items := make([]plan.Item, len(send))
		for i := range send {
			items[i] = send[i].it
		}
		answers := e.Source.Release(context.WithoutCancel(r.ctx), items)
		answered := time.Now() // the grace runs from the answer
		for i := range send {
			send[i].answered(answers[i], answered)
			send[i].tries++
			r.log().Info("a read proved the "+w.Change+" not done: sent again", "allocation_id", send[i].it.Holder.ID, "attempt", send[i].tries+1, "err", send[i].ans.Err)
		}
		sent = append(sent, send...)
	}
	return sent
}

// keepOpen holds changes still pending for the run's last read (settleOpen).
func (r *releasing) keepOpen(dels []deletion) {
	if len(dels) == 0 {
		return
	}
	r.openMu.Lock()
	r.open = append(r.open, dels...)
	r.openMu.Unlock()
}

// settleOpen reads the run's pending changes again before the run ends, in one read of
// the source, once the settle grace has passed since the latest was answered (not waited for
// when the run stops or its context ends: Recover settles them then). What is still not
// known after the last pass is recorded unsettled: the intents stay open.
func (r *releasing) settleOpen() {
	r.openMu.Lock()
	open := r.open
	r.open = nil
	r.openMu.Unlock()
	if len(open) == 0 {
		return
	}
	// One change sent again in a pass and answered ambiguously again gets another pass
	// (at most three), the last one final.
	for pass := range 3 {
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
		start, last := time.Now(), pass == 2 || r.halted()
		pending := r.settle(open, last)
		if last {
			return
		}
		open = open[:0]
		for _, del := range pending {
			if del.sent.After(start) { // sent again in this pass: read again after its grace
				open = append(open, del)
				continue
			}
			it := del.it
			r.record(it.Outcome(r.e.Now(), r.e.Site, r.runID, "", ambiguousReason(del.ans), fmt.Sprintf("%v; not settled by the run's last read", del.ans.Err)))
		}
		if len(open) == 0 {
			return
		}
	}
}

func (r *releasing) sleep() func(context.Context, time.Duration) error {
	if r.e.sleep != nil {
		return r.e.sleep
	}
	return ctxsleep.Sleep
}

func (r *releasing) log() *slog.Logger { return r.e.Log.With("run_id", r.runID) }

// ambiguousDetail says in an outcome which ambiguous answer was read back.
func ambiguousDetail(w source.Words, a source.Answer) string {
	if s := a.Status; s != 0 {
		return fmt.Sprintf("the %s was answered %d %s, which does not say what %s did; read back", w.Change, s, http.StatusText(s), w.Service)
	}
	return "the " + w.Change + "'s answer was lost"
}

// ambiguousReason names an ambiguous answer in an outcome: answer_lost when none came
// (timeout, reset, an undecodable body), delete_failed when a proxy or the source answered
// with an error status.
func ambiguousReason(a source.Answer) string {
	if a.Status == 0 {
		return ReasonAnswerLost
	}
	return ReasonDeleteFailed
}
