package moves

import (
	"context"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// Every request of a move is settled by the truth rule (audit.Settle): after an
// ambiguous answer a read showing the change done settles it at once; a read showing the
// old state settles it only after QRS's own 500 or once the settle grace has passed since
// the request; until then the move stays open (its record stays for the next run). A
// request proven not done after a 5xx, a 429 or a connection error is sent again within
// the client's retry budget.

// ClockSkew is how much earlier than the move's intent (the sidecar's clock) QRS's
// createdDate of an analyzer allocation may be for the move to count it as its own.
const ClockSkew = 2 * time.Minute

// settled is what is known of a move's step.
type settled int

const (
	settleUnknown settled = iota // not known yet: the record stays open
	settleDone                   // settled; the outcome is known
	settleRefused                // QRS refused the professional DELETE
)

// finish releases the professional allocation of a user who holds analyzer access: the
// record is saved with the DELETE's step first, and the allocation read back after any
// answer but a definitive refusal. A refusal (a 4xx QRS sent, not 404) is settleRefused,
// with the outcome to record once the analyzer access the move gave is taken back.
func (p *pass) finish(ctx context.Context, rec *moveRecord) (audit.Outcome, settled) {
	for tries := 0; ; tries++ {
		rec.Step, rec.Sent = stepProfessionalSent, time.Now()
		if !p.save() {
			rec.Step = stepAnalyzerAdded
			return audit.Outcome{}, settleUnknown
		}
		err := p.m.Client.DeleteAllocation(ctx, qrs.Professional, rec.AllocationID)
		answer := audit.AnswerOfQRS(err)
		rec.ServiceFailed = answer == audit.AnswerFailed
		if answer == audit.AnswerRefused && !qrs.IsNotFound(err) {
			rec.Step, rec.Refusal = stepRefused, err.Error()
			p.log.Error("QRS refused to release the professional allocation of a move: its analyzer access is taken back and no new move is made in this run; "+
				"run `qliksense-license-release check-config -connect -config <this site's file>`: it names the right the account lacks", "user", rec.User, "err", err)
			return p.outcomeOf(rec, nil, audit.MoveFailed, "QRS refused to release the professional allocation ("+err.Error()+
				"); the analyzer access given by this move was taken back"), settleRefused
		}
		back, rerr := p.m.Client.AllocationsByID(ctx, qrs.Professional, []string{rec.AllocationID})
		b := back[rec.AllocationID]
		read := audit.ReadOld
		switch {
		case rerr != nil:
			read = audit.ReadFailed
		case b == nil || b.Quarantined:
			read = audit.ReadChanged
		}
		if qrs.IsNotFound(err) {
			answer = audit.AnswerAmbiguous // gone: the read says how
		}
		switch audit.Settle(answer, read, rec.Sent, time.Now(), p.m.settleGrace()) {
		case audit.Done:
			if b != nil {
				return p.outcomeOf(rec, b, audit.Moved, "analyzer access given; the professional allocation was "+audit.QuarantinedDetail(b)+
					" (its seat frees when the quarantine ends)"), settleDone
			}
			return p.outcomeOf(rec, nil, audit.Moved, "analyzer access given; the professional allocation released"), settleDone
		case audit.NotDone:
			if audit.Retryable(err) && tries < p.m.Client.RetryBudget() && p.backoff(ctx, tries) {
				continue
			}
			rec.Step = stepAnalyzerAdded // proven not done: the next run tries again
		}
		return audit.Outcome{}, settleUnknown
	}
}

// backoff waits before the tries+1-th retry of a change; false when the run's deadline
// leaves no time for it.
func (p *pass) backoff(ctx context.Context, tries int) bool {
	wait := p.m.Client.Backoff(tries + 1)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// heldAnalyzer is the user's usable analyzer access (a quarantined allocation is not).
func heldAnalyzer(held map[string]*qrs.Allocation, userID string) *qrs.Allocation {
	an := held[strings.ToLower(userID)]
	if an == nil || an.Quarantined {
		return nil
	}
	return an
}

// settle reads back a move left open (or whose POST had an ambiguous answer) and
// completes it (the user is still a candidate) or undoes it. It is settleUnknown when QRS
// could not be read or the truth rule leaves the move open. The outcome belongs to the
// run that settles it (runID), whose summary counts it; its detail names the run that
// began it. An undo deletes only the analyzer allocation the move gave
// (moveRecord.AnalyzerGiven), never one created before the move's intent.
func (p *pass) settle(ctx context.Context, rec *moveRecord, candidate bool, h rightsize.Holder) (audit.Outcome, settled) {
	held, pros, err := p.readMoves(ctx, []*moveRecord{rec})
	if err != nil {
		return audit.Outcome{}, settleUnknown
	}
	return p.settleRead(ctx, rec, candidate, h, held, pros)
}

// readMoves reads what QRS holds for moves: the users' analyzer allocations and the
// professional allocations, one filtered request each for all of them.
func (p *pass) readMoves(ctx context.Context, recs []*moveRecord) (held, pros map[string]*qrs.Allocation, err error) {
	users, ids := make([]string, len(recs)), make([]string, len(recs))
	for i, rec := range recs {
		users[i], ids[i] = rec.UserID, rec.AllocationID
	}
	if held, err = p.m.Client.AllocationsOfUsers(ctx, qrs.Analyzer, users); err != nil {
		return nil, nil, err
	}
	pros, err = p.m.Client.AllocationsByID(ctx, qrs.Professional, ids)
	return held, pros, err
}

// settleRead is settle on what readMoves read.
func (p *pass) settleRead(ctx context.Context, rec *moveRecord, candidate bool, h rightsize.Holder, held, pros map[string]*qrs.Allocation) (audit.Outcome, settled) {
	an, pa := heldAnalyzer(held, rec.UserID), pros[rec.AllocationID]
	if an != nil && rec.Step == stepAnalyzerRequested && rec.AnalyzerID == "" {
		// The user held no usable analyzer access when the POST was sent (else it is not
		// sent): one created at or after the move's intent is what the POST created; an
		// older one was given by someone else, and the move never takes it back.
		rec.AnalyzerID, rec.Step = an.ID, stepAnalyzerAdded
		rec.AnalyzerGiven = !an.CreatedDate.Valid() || !an.CreatedDate.Time.Before(rec.Time.Add(-ClockSkew))
	}
	named := func(o audit.Outcome) audit.Outcome {
		if rec.RunID != p.runID {
			o.Detail += " (the move began in run " + rec.RunID + ")"
		}
		return o
	}
	answer := audit.AnswerAmbiguous
	if rec.ServiceFailed {
		answer = audit.AnswerFailed
	}
	stillOpen := audit.Settle(answer, audit.ReadOld, rec.Sent, time.Now(), p.m.settleGrace()) == audit.Pending
	switch {
	case an == nil && pa != nil && rec.Step == stepAnalyzerRequested && stillOpen:
		return audit.Outcome{}, settleUnknown // the POST may still land
	case an != nil && pa != nil && !pa.Quarantined && rec.Step == stepProfessionalSent && stillOpen:
		return audit.Outcome{}, settleUnknown // the DELETE may still land
	}
	switch {
	case an == nil && pa != nil && rec.Step == stepRefused:
		return named(p.outcomeOf(rec, pa, audit.MoveFailed, "QRS refused to release the professional allocation ("+rec.Refusal+
			"); the analyzer access given by this move was taken back")), settleDone
	case an == nil && pa != nil:
		return named(p.outcomeOf(rec, pa, audit.MoveFailed, "the analyzer access was not given; nothing changed")), settleDone
	case an == nil:
		return named(p.outcomeOf(rec, nil, audit.MoveFailed, "the analyzer access was not given and the professional allocation is gone (released elsewhere)")), settleDone
	case pa == nil || pa.Quarantined:
		detail := "settled: analyzer access given; the professional allocation released"
		if pa != nil {
			detail = "settled: analyzer access given; the professional allocation " + audit.QuarantinedDetail(pa)
		}
		return named(p.outcomeOf(rec, pa, audit.Moved, detail)), settleDone
	case candidate && rec.Step != stepRefused:
		if rec.AnalyzerID == "" {
			rec.AnalyzerID = an.ID
		}
		out, st := p.finish(ctx, rec)
		if st == settleRefused {
			return p.undoRefused(ctx, rec, an, out)
		}
		if st == settleDone && rec.RunID != p.runID {
			out.Detail = "completed at a later run: " + out.Detail
		}
		return named(out), st
	case rec.Step == stepRefused:
		return p.undoRefused(ctx, rec, an, named(p.outcomeOf(rec, pa, audit.MoveFailed, "QRS refused to release the professional allocation ("+
			rec.Refusal+"); the analyzer access given by this move was taken back")))
	}
	why := "not a professional holder any more"
	if h.Allocation != nil {
		why = string(h.Reason) + ": " + h.Detail
	}
	if !rec.AnalyzerGiven || !strings.EqualFold(an.ID, rec.AnalyzerID) {
		// Not the move's to take back: the user held it before, or it is another one.
		return named(p.outcomeOf(rec, pa, audit.MoveFailed,
			"the professional allocation was not released and the user is no longer an analyzer candidate ("+why+
				"); the analyzer access the user holds was not given by this move and is kept")), settleDone
	}
	if !p.deleteSettled(ctx, qrs.Analyzer, an.ID) {
		return audit.Outcome{}, settleUnknown
	}
	return named(p.outcomeOf(rec, pa, audit.MoveUndone,
		"undone: the user is no longer an analyzer candidate ("+why+"); the analyzer access given was released, professional access kept")), settleDone
}

// undoRefused takes back the analyzer access a move gave after QRS refused its
// professional DELETE (an: the user's analyzer access now, nil: none), and returns the
// move's move_failed outcome once that is settled.
func (p *pass) undoRefused(ctx context.Context, rec *moveRecord, an *qrs.Allocation, out audit.Outcome) (audit.Outcome, settled) {
	rec.Step = stepRefused
	p.refused, p.file.Probation = true, rec.Refusal
	if an == nil || !rec.AnalyzerGiven || !strings.EqualFold(an.ID, rec.AnalyzerID) {
		out.Detail = strings.Replace(out.Detail, "the analyzer access given by this move was taken back",
			"the user keeps the analyzer access, which this move did not give", 1)
		if an == nil {
			out.Detail = strings.Replace(out.Detail, "the user keeps the analyzer access, which this move did not give", "the user holds no analyzer access", 1)
		}
		return out, settleDone
	}
	if !p.deleteSettled(ctx, qrs.Analyzer, an.ID) {
		return audit.Outcome{}, settleUnknown // the next run takes it back
	}
	return out, settleDone
}

// deleteSettled deletes an allocation and says whether it is gone for certain, by the
// truth rule: a 2xx or a 404, or a read that no longer finds it; a read that still finds
// it proves it not done only after QRS's own 500 or the settle grace (then it is sent
// again within the retry budget).
func (p *pass) deleteSettled(ctx context.Context, t qrs.AccessType, id string) bool {
	for tries := 0; ; tries++ {
		sent := time.Now()
		err := p.m.Client.DeleteAllocation(ctx, t, id)
		answer := audit.AnswerOfQRS(err)
		switch {
		case err == nil || qrs.IsNotFound(err):
			return true
		case answer == audit.AnswerRefused:
			p.log.Warn("QRS refused a DELETE of an undo", "type", t, "allocation_id", id, "err", err)
			return false
		}
		back, rerr := p.m.Client.AllocationsByID(ctx, t, []string{id})
		read := audit.ReadOld
		switch {
		case rerr != nil:
			read = audit.ReadFailed
		case back[id] == nil:
			read = audit.ReadChanged
		}
		switch audit.Settle(answer, read, sent, time.Now(), p.m.settleGrace()) {
		case audit.Done:
			return true
		case audit.NotDone:
			if audit.Retryable(err) && tries < p.m.Client.RetryBudget() && p.backoff(ctx, tries) {
				continue
			}
		}
		return false
	}
}

// outcomeOf is a move's outcome, with the professional allocation's last use: a (as read
// now) when given, else what the record kept from the evaluation.
func (p *pass) outcomeOf(rec *moveRecord, a *qrs.Allocation, r audit.Result, detail string) audit.Outcome {
	if a == nil {
		a = &qrs.Allocation{ID: rec.AllocationID}
	}
	if !a.LastUsed.Valid() && !rec.LastUsed.IsZero() {
		a = &qrs.Allocation{ID: a.ID, User: a.User, LastUsed: qrs.Time{Time: rec.LastUsed}}
	}
	o := p.outcome(a, r, ReasonAnalyzerCandidate, detail)
	o.User = rec.User
	return o
}

func (p *pass) outcome(a *qrs.Allocation, r audit.Result, reason, detail string) audit.Outcome {
	o := audit.Outcome{
		Time: p.m.Now().UTC(), Site: p.m.Site, RunID: p.runID, Type: qrs.Professional, AllocationID: a.ID, User: a.HolderName(),
		Result: r, Reason: reason, Detail: detail, DryRun: r == audit.DryRunMove,
	}
	if a.LastUsed.Valid() {
		o.DaysSinceLastUse = p.m.Now().Sub(a.LastUsed.Time).Hours() / 24
	} else {
		o.NeverUsed = true
	}
	return o
}

// settleLater reads the moves this run left open after an ambiguous answer once more
// before the run ends, once the settle grace has passed since the latest was sent (not
// waited for when the run stops): all in one read of each kind. A move settled then is
// completed or closed as usual; one whose completion was answered ambiguously again gets
// another pass (at most three); what is still open waits for the next run.
func (p *pass) settleLater(ctx context.Context, stop <-chan struct{}) {
	for range 3 {
		if len(p.later) == 0 || !p.settleLaterOnce(ctx, stop) {
			return
		}
	}
}

// settleLaterOnce is one pass of settleLater; false when the run's moves must end.
func (p *pass) settleLaterOnce(ctx context.Context, stop <-chan struct{}) bool {
	recs := p.later
	p.later = nil
	var latest time.Time
	for _, rec := range recs {
		if rec.Sent.After(latest) {
			latest = rec.Sent
		}
	}
	if wait := time.Until(latest.Add(p.m.settleGrace())); wait > 0 {
		p.log.Info("moves answered ambiguously: reading them again once the settle grace has passed", "count", len(recs), "wait", wait.Round(time.Millisecond).String())
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
			return false
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
	held, pros, err := p.readMoves(context.WithoutCancel(ctx), recs)
	if err != nil {
		return false
	}
	for _, rec := range recs {
		_, still := p.candidates[rec.AllocationID]
		sent := rec.Sent
		out, st := p.settleRead(context.WithoutCancel(ctx), rec, still, p.holders[rec.AllocationID], held, pros)
		if st == settleUnknown {
			if rec.Sent.After(sent) { // sent again and answered ambiguously: another pass
				p.later = append(p.later, rec)
			}
			_ = p.save()
			continue
		}
		p.report.Unsettled--
		if !p.close(rec.AllocationID, out) {
			return false
		}
	}
	return true
}
