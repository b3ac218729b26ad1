package moves

import (
	"context"
	"strings"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// finish releases the professional allocation of a user who holds analyzer access:
// the record is saved with the DELETE's step first, and the allocation read back after
// any answer but a definitive refusal (qrs.Definitive). known is false when its state is
// unknown or the DELETE was refused (the record stays for the next run).
func (p *pass) finish(ctx context.Context, rec *moveRecord) (audit.Outcome, bool) {
	rec.Step = stepProfessionalSent
	if !p.save() {
		rec.Step = stepAnalyzerAdded
		return audit.Outcome{}, false
	}
	err := p.m.Client.DeleteAllocation(ctx, qrs.Professional, rec.AllocationID)
	if err != nil && qrs.Definitive(err) && !qrs.IsNotFound(err) {
		rec.Step = stepAnalyzerAdded
		p.log.Warn("QRS refused to release the professional allocation of a move", "user", rec.User, "err", err)
		return audit.Outcome{}, false
	}
	back, rerr := p.m.Client.AllocationsByID(ctx, qrs.Professional, []string{rec.AllocationID})
	if rerr != nil {
		return audit.Outcome{}, false
	}
	a := &qrs.Allocation{ID: rec.AllocationID}
	if b := back[rec.AllocationID]; b != nil {
		if !b.Quarantined {
			rec.Step = stepAnalyzerAdded
			return audit.Outcome{}, false
		}
		return p.outcome(b, audit.Moved, ReasonAnalyzerCandidate, "analyzer access given; the professional allocation was "+audit.QuarantinedDetail(b)+" (its seat frees when the quarantine ends)"), true
	}
	out := p.outcome(a, audit.Moved, ReasonAnalyzerCandidate, "analyzer access given; the professional allocation released")
	out.User = rec.User
	return out, true
}

// settle reads back a move left open (or whose POST had an ambiguous answer) and
// completes it (the user is still a candidate) or undoes it. known is false when QRS could
// not be read. The outcome belongs to the run that settles it (runID), whose summary
// counts it; its detail names the run that began it. An undo deletes only the analyzer
// allocation the move gave (moveRecord.AnalyzerGiven).
func (p *pass) settle(ctx context.Context, rec *moveRecord, candidate bool, h rightsize.Holder) (audit.Outcome, bool) {
	held, err := p.m.Client.AllocationsOfUsers(ctx, qrs.Analyzer, []string{rec.UserID})
	if err != nil {
		return audit.Outcome{}, false
	}
	pros, err := p.m.Client.AllocationsByID(ctx, qrs.Professional, []string{rec.AllocationID})
	if err != nil {
		return audit.Outcome{}, false
	}
	an, pa := held[strings.ToLower(rec.UserID)], pros[rec.AllocationID]
	if an != nil && rec.Step == stepAnalyzerRequested && rec.AnalyzerID == "" {
		// The user held no analyzer access when the POST was sent (else it is not sent):
		// the one held now is what the POST created.
		rec.AnalyzerID, rec.AnalyzerGiven = an.ID, true
		rec.Step = stepAnalyzerAdded
	}
	gone := &qrs.Allocation{ID: rec.AllocationID}
	named := func(o audit.Outcome) audit.Outcome {
		o.User = rec.User
		if rec.RunID != p.runID {
			o.Detail += " (the move began in run " + rec.RunID + ")"
		}
		return o
	}
	switch {
	case an == nil && pa != nil:
		return named(p.outcome(pa, audit.MoveFailed, ReasonAnalyzerCandidate, "the analyzer access was not given; nothing changed")), true
	case an == nil:
		return named(p.outcome(gone, audit.MoveFailed, ReasonAnalyzerCandidate, "the analyzer access was not given and the professional allocation is gone (released elsewhere)")), true
	case pa == nil || pa.Quarantined:
		detail := "settled: analyzer access given; the professional allocation released"
		if pa != nil {
			detail = "settled: analyzer access given; the professional allocation " + audit.QuarantinedDetail(pa)
			gone = pa
		}
		return named(p.outcome(gone, audit.Moved, ReasonAnalyzerCandidate, detail)), true
	case candidate:
		if rec.AnalyzerID == "" {
			rec.AnalyzerID = an.ID
		}
		out, known := p.finish(ctx, rec)
		if known && rec.RunID != p.runID {
			out.Detail = "completed at a later run: " + out.Detail
		}
		return named(out), known
	}
	why := "not a professional holder any more"
	if h.Allocation != nil {
		why = string(h.Reason) + ": " + h.Detail
	}
	if !rec.AnalyzerGiven || !strings.EqualFold(an.ID, rec.AnalyzerID) {
		// Not the move's to take back: the user held it before, or it is another one.
		return named(p.outcome(pa, audit.MoveFailed, ReasonAnalyzerCandidate,
			"the professional allocation was not released and the user is no longer an analyzer candidate ("+why+
				"); the analyzer access the user holds was not given by this move and is kept")), true
	}
	if !p.deleteSettled(ctx, qrs.Analyzer, an.ID) {
		return audit.Outcome{}, false
	}
	return named(p.outcome(pa, audit.MoveUndone, ReasonAnalyzerCandidate,
		"undone: the user is no longer an analyzer candidate ("+why+"); the analyzer access given was released, professional access kept")), true
}

// deleteSettled deletes an allocation and says whether it is gone for certain: a 2xx or
// a 404, or after an ambiguous answer a read-back that no longer finds it (qrs.Definitive).
func (p *pass) deleteSettled(ctx context.Context, t qrs.AccessType, id string) bool {
	err := p.m.Client.DeleteAllocation(ctx, t, id)
	switch {
	case err == nil || qrs.IsNotFound(err):
		return true
	case qrs.Definitive(err):
		p.log.Warn("QRS refused a DELETE of an undo", "type", t, "allocation_id", id, "err", err)
		return false
	}
	back, rerr := p.m.Client.AllocationsByID(ctx, t, []string{id})
	return rerr == nil && back[id] == nil
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
