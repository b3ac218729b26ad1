// Package moves carries out right-sizing (rightsize.move_to_analyzer): a professional
// holder who only consumes gets analyzer access, then loses the professional allocation.
// Each step is written to the site's moves file before its request; a move left half done
// is completed or undone by a later run, and an undo takes back only what the move gave.
package moves

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/stopping"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// Reasons of moves.
const (
	ReasonAnalyzerCandidate = string(rightsize.Candidate)
	ReasonNoAnalyzerSeat    = "no_analyzer_seat"
	// ReasonAnalyzerQuarantined: the user's only analyzer allocation is quarantined, which
	// is no usable access: the user keeps professional access.
	ReasonAnalyzerQuarantined = "analyzer_quarantined"
)

// Mover is one site's right-sizing action.
type Mover struct {
	Client   *qrs.Client
	Policy   *policy.Policy
	Settings *siteconfig.RightsizeSettings
	Path     string // the moves file
	Site     string
	Now      func() time.Time
	Log      *slog.Logger
	// SettleGrace: see audit.Settle (default: the client's timeout).
	SettleGrace time.Duration
	// Recorded returns the outcomes the audit log holds for a run, by allocation id
	// (audit.Trail.Recorded): a move found closing is recorded only if it is not there.
	// nil: none are.
	Recorded func(runID string) (map[string]audit.Result, error)
}

func (m *Mover) settleGrace() time.Duration {
	if m.SettleGrace > 0 {
		return m.SettleGrace
	}
	return m.Client.Timeout()
}

// Report is what a run's moves leave for its summary besides their outcomes: the moves
// whose state is not known yet (their records stay for a later run), and errors.
type Report struct {
	Unsettled int
	Errors    []string
}

// Run runs the right-sizing action of a run, after its releases and notices: the
// candidates of a fresh evaluation (the re-check: it is made just before the moves) up to
// max_moves_per_run, each in two steps — analyzer access first (POST), then the
// professional allocation released (DELETE) — never when no analyzer seat is left. Each
// step is written to the moves file first; a move left half done by a failure or a stop
// is settled at the next run: completed if the user is still a candidate, else undone.
// In a dry run each candidate is a dry_run_move outcome and nothing changes.
func (m *Mover) Run(ctx context.Context, stop <-chan struct{}, dryRun bool, runID string, record func(audit.Outcome)) Report {
	rs := m.Settings
	if rs == nil || m.Path == "" {
		return Report{}
	}
	p := &pass{m: m, runID: runID, record: record, log: m.Log.With("run_id", runID, "step", "rightsize"),
		file: &movesFile{path: m.Path, Records: map[string]*moveRecord{}}}
	// New moves need move_to_analyzer and both dry runs off. Moves left half done are
	// settled whenever the site is not in a dry run: completed when new moves are on and
	// the user is still a candidate, otherwise undone (the user keeps professional access).
	p.live = rs.MoveToAnalyzer && !dryRun && !rs.DryRun
	if !dryRun {
		var err error
		if p.file, err = loadMoves(m.Path); err != nil {
			p.fail("right-sizing", err)
			return p.report
		}
	}
	if !rs.MoveToAnalyzer && len(p.file.Records) == 0 {
		return p.report
	}
	if !p.evaluate(ctx) {
		return p.report
	}
	switch {
	case dryRun:
		p.dryRun()
	case !p.settleOpen(ctx, stop):
	case !p.live:
		p.dryRun()
	default:
		p.moveAll(ctx, stop)
		p.settleLater(ctx, stop)
	}
	return p.report
}

// pass is one run's moves.
type pass struct {
	m          *Mover
	runID      string
	record     func(audit.Outcome)
	log        *slog.Logger
	file       *movesFile
	live       bool
	refused    bool          // QRS refused a move's professional DELETE: no new move in this run
	later      []*moveRecord // moves of this run left open after an ambiguous answer (settleLater)
	res        *rightsize.Result
	candidates map[string]rightsize.Holder // by professional allocation id: new moves to make
	holders    map[string]rightsize.Holder // every professional holder, by allocation id
	report     Report
}

func (p *pass) fail(what string, err error) {
	p.log.Error(what, "err", err)
	p.report.Errors = append(p.report.Errors, what+": "+err.Error())
}

// save writes the moves file; false (with the error reported) when it could not.
func (p *pass) save() bool {
	if err := p.file.save(); err != nil {
		p.fail("right-sizing", err)
		return false
	}
	return true
}

// evaluate re-checks the site's professional holders just before the moves.
func (p *pass) evaluate(ctx context.Context) bool {
	rs := p.m.Settings
	res, err := rightsize.Evaluate(ctx, p.m.Client, rightsize.Options{Now: p.m.Now(), LookbackDays: rs.LookbackDays, Policy: p.m.Policy})
	if err != nil {
		p.fail("right-sizing", err)
		return false
	}
	p.res = res
	p.candidates, p.holders = map[string]rightsize.Holder{}, map[string]rightsize.Holder{}
	for _, h := range res.Holders {
		p.holders[h.Allocation.ID] = h
		if h.Reason == rightsize.Candidate && p.live {
			p.candidates[h.Allocation.ID] = h
		}
	}
	return true
}

// dryRun records the moves a live run would make (none when moves are off).
func (p *pass) dryRun() {
	if !p.m.Settings.MoveToAnalyzer {
		return
	}
	n := 0
	for _, h := range p.res.Candidates() {
		if n == p.m.Settings.MaxMovesPerRun {
			break
		}
		if _, open := p.file.Records[h.Allocation.ID]; open {
			continue
		}
		n++
		p.record(p.outcome(h.Allocation, audit.DryRunMove, ReasonAnalyzerCandidate,
			"would give analyzer access, then release the professional allocation: "+h.Detail+rightsize.QuarantineNote(h.Allocation, p.m.Now())))
	}
}

// settleOpen completes or undoes the moves an earlier run left open; false when the run's
// moves must end here (a stop, or the moves file cannot be written).
func (p *pass) settleOpen(ctx context.Context, stop <-chan struct{}) bool {
	for id, rec := range p.file.Records {
		if stopping.Requested(stop) {
			return false
		}
		_, still := p.candidates[id]
		delete(p.candidates, id)
		if rec.Step == stepClosing && rec.Outcome != nil {
			if !p.reclose(id, rec) {
				return false
			}
			continue
		}
		out, st := p.settle(context.WithoutCancel(ctx), rec, still, p.holders[id]) // its requests finish under their own deadlines
		if st == settleUnknown {
			p.report.Unsettled++
			_ = p.save() // what the read learnt (the analyzer id) stays with the record
			continue
		}
		if !p.close(id, out) {
			return false
		}
	}
	return true
}

// reclose finishes a move found closing: its outcome was saved with the record before it
// was recorded, so it is recorded now unless the audit log has it already.
func (p *pass) reclose(id string, rec *moveRecord) bool {
	o := *rec.Outcome
	recorded := false
	if p.m.Recorded != nil {
		got, err := p.m.Recorded(o.RunID)
		if err != nil {
			p.fail("right-sizing: reading the audit log", err)
			return false
		}
		recorded = got[o.AllocationID] == o.Result
	}
	if !recorded {
		p.record(o)
	}
	delete(p.file.Records, id)
	return p.save()
}

// moveAll makes the new moves, up to max_moves_per_run, while analyzer seats are left.
func (p *pass) moveAll(ctx context.Context, stop <-chan struct{}) {
	list := make([]rightsize.Holder, 0, len(p.candidates))
	for _, h := range p.res.Candidates() {
		if _, ok := p.candidates[h.Allocation.ID]; ok {
			list = append(list, h)
		}
	}
	list = list[:min(len(list), p.m.Settings.MaxMovesPerRun)]
	if len(list) == 0 {
		return
	}
	ov, err := p.m.Client.AccessTypeOverview(ctx)
	if err != nil {
		p.fail("right-sizing: reading the analyzer seats", err)
		return
	}
	seats := ov.AnalyzerAccess.Available
	ids := make([]string, 0, len(list))
	for _, h := range list {
		ids = append(ids, h.Allocation.User.ID)
	}
	held, err := p.m.Client.AllocationsOfUsers(ctx, qrs.Analyzer, ids)
	if err != nil {
		p.fail("right-sizing: reading the candidates' analyzer access", err)
		return
	}
	for i, h := range list {
		if stopping.Requested(stop) || ctx.Err() != nil {
			p.log.Info("stopping: the remaining moves wait for the next run")
			return
		}
		if p.refused {
			p.log.Warn("no new move in this run: QRS refused a move's professional DELETE", "waiting", len(list)-i)
			return
		}
		probation := p.file.Probation != ""
		if probation {
			p.log.Info("an earlier run's move was refused: one move first, the others only if it succeeds", "refusal", p.file.Probation)
		}
		moved, ok := p.move(ctx, h, held[strings.ToLower(h.Allocation.User.ID)], &seats)
		if !ok {
			return
		}
		if probation {
			if !moved {
				return
			}
			p.file.Probation = ""
			if !p.save() {
				return
			}
		}
	}
}

// move makes one move; held is the user's analyzer allocation before it (nil: none).
// moved says it completed; ok is false when the run's moves must end (the moves file
// cannot be written).
func (p *pass) move(ctx context.Context, h rightsize.Holder, held *qrs.Allocation, seats *int64) (moved, ok bool) {
	a := h.Allocation
	rec := &moveRecord{AllocationID: a.ID, UserID: a.User.ID, User: a.HolderName(), RunID: p.runID, Time: p.m.Now().UTC(), LastUsed: a.LastUsed.Time}
	switch {
	case held != nil && held.Quarantined:
		// A quarantined analyzer allocation is not usable access: the move would leave the
		// user with nothing usable, and QRS gives no second one.
		p.record(p.outcome(a, audit.Skipped, ReasonAnalyzerQuarantined,
			"the user's analyzer allocation is "+audit.QuarantinedDetail(held)+": the user keeps professional access"))
		return false, true
	case held != nil:
		// Held before the move: not the move's to undo (AnalyzerGiven stays false).
		rec.Step, rec.AnalyzerID = stepAnalyzerAdded, held.ID
	default:
		if *seats <= 0 {
			p.record(p.outcome(a, audit.Skipped, ReasonNoAnalyzerSeat, "no analyzer seat is left: the user keeps professional access"))
			return false, true
		}
		done, ok := p.giveAnalyzer(ctx, h, rec, seats)
		if done || !ok {
			return false, ok
		}
	}
	p.file.Records[a.ID] = rec
	if !p.save() {
		return false, false
	}
	out, st := p.finish(context.WithoutCancel(ctx), rec)
	if st == settleRefused {
		p.refused = true
		p.file.Probation = rec.Refusal
		an := &qrs.Allocation{ID: rec.AnalyzerID}
		if rec.AnalyzerID == "" {
			an = nil
		}
		out, st = p.undoRefused(context.WithoutCancel(ctx), rec, an, out)
	}
	if st == settleUnknown {
		p.report.Unsettled++
		if rec.Step == stepProfessionalSent {
			p.later = append(p.later, rec)
		}
		p.log.Warn("move half done: the user holds analyzer access, the professional allocation is still there; the next run completes or undoes it",
			"user", rec.User, "allocation_id", a.ID)
		_ = p.save()
		return false, true
	}
	return out.Result == audit.Moved, p.close(a.ID, out)
}

// giveAnalyzer sends the move's POST, its record saved first. done is true when the move
// ended there (refused, or settled by a read-back after an ambiguous answer); ok is false
// when the moves file cannot be written. A POST a read proved not done after a 5xx, a 429
// or a connection error is sent again within the client's retry budget.
func (p *pass) giveAnalyzer(ctx context.Context, h rightsize.Holder, rec *moveRecord, seats *int64) (done, ok bool) {
	a := h.Allocation
	for tries := 0; ; tries++ {
		rec.Step, rec.Sent = stepAnalyzerRequested, time.Now()
		p.file.Records[a.ID] = rec
		if !p.save() {
			return true, false
		}
		added, err := p.m.Client.AddAnalyzerAccess(context.WithoutCancel(ctx), a.User.ID)
		rec.ServiceFailed = qrs.ServiceFailed(err)
		switch {
		case err == nil:
			rec.Step, rec.AnalyzerID, rec.AnalyzerGiven = stepAnalyzerAdded, added.ID, true
			*seats--
			return false, true
		case qrs.StatusCode(err) == http.StatusConflict:
			// QRS says the user holds analyzer access already, given elsewhere since the
			// read: the move goes on with it, and never undoes it.
			rec.Step = stepAnalyzerAdded
			return false, true
		case qrs.Definitive(err): // QRS refused: nothing changed
			return true, p.close(a.ID, p.outcomeOf(rec, a, audit.MoveFailed, "giving analyzer access failed; nothing changed: "+err.Error()))
		}
		// Ambiguous (5xx, a gateway error, a lost answer): read back what QRS did.
		p.log.Warn("the answer to giving analyzer access is ambiguous: reading it back", "user", rec.User, "err", err)
		out, st := p.settle(context.WithoutCancel(ctx), rec, true, h)
		if st == settleUnknown {
			p.report.Unsettled++
			if rec.Step == stepAnalyzerRequested {
				p.later = append(p.later, rec)
			}
			_ = p.save()
			return true, true
		}
		if out.Result == audit.MoveFailed && rec.Step == stepAnalyzerRequested && audit.Retryable(err) &&
			tries < p.m.Client.RetryBudget() && p.backoff(ctx, tries) {
			continue // proven not done: sent again
		}
		if st == settleRefused {
			p.refused = true
		}
		return true, p.close(a.ID, out)
	}
}

// close settles a move: its record is saved closing, with the outcome, then the outcome
// recorded, then the record removed — so a crash anywhere leaves the outcome recorded
// once (reclose). false when the moves file cannot be written (a later run settles the
// move again).
func (p *pass) close(id string, out audit.Outcome) bool {
	rec := p.file.Records[id]
	if rec == nil {
		p.record(out)
		return true
	}
	prev := rec.Step
	rec.Step, rec.Outcome = stepClosing, &out
	if !p.save() {
		rec.Step, rec.Outcome = prev, nil
		return false
	}
	p.record(out)
	delete(p.file.Records, id)
	return p.save()
}
