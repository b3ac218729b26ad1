package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/atomicfile"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
)

// The outcomes of moving a professional holder to analyzer access (rightsize.move_to_analyzer).
const (
	// Moved: the user got analyzer access and the professional allocation was released (or
	// quarantined: QRS frees its seat when the quarantine ends).
	Moved Result = "moved"
	// MoveFailed: the move did not happen; the user keeps professional access as before.
	MoveFailed Result = "move_failed"
	// MoveUndone: a move left half done (analyzer given, professional kept) whose user is
	// no longer a candidate was undone: the analyzer allocation was released again.
	MoveUndone Result = "move_undone"
	// DryRunMove: a dry run's candidate that a live run would move.
	DryRunMove Result = "dry_run_move"
)

// Reasons of moves.
const (
	ReasonAnalyzerCandidate = string(rightsize.Candidate)
	ReasonNoAnalyzerSeat    = "no_analyzer_seat"
)

// The steps of a move, as its record in the moves file says.
const (
	stepAnalyzerRequested = "analyzer_requested"       // POST sent, effect unknown until read
	stepAnalyzerAdded     = "analyzer_added"           // the user holds analyzer access
	stepProfessionalSent  = "professional_delete_sent" // DELETE of the professional allocation sent
)

// moveRecord is a move in progress: written (synced, atomically) to the moves file before
// each request of the move (the analyzer POST, the professional DELETE), removed with the
// move's outcome. A record left by a failure or a stop is settled at the next run:
// completed when the user is still a candidate, undone otherwise.
type moveRecord struct {
	AllocationID string `json:"allocation_id"` // the professional allocation
	UserID       string `json:"user_id"`
	User         string `json:"user"`
	// AnalyzerID is the user's analyzer allocation once known; AnalyzerGiven says this
	// move created it (its id from the POST's 201, or read back after an ambiguous answer
	// when the user held none before). An undo deletes only an allocation the move gave:
	// never one the user held before, and never one of a record without AnalyzerGiven.
	AnalyzerID    string    `json:"analyzer_id,omitempty"`
	AnalyzerGiven bool      `json:"analyzer_given,omitempty"`
	Step          string    `json:"step"`
	RunID         string    `json:"run_id"`
	Time          time.Time `json:"time"`
}

type moves struct {
	path    string
	Records map[string]*moveRecord `json:"records"`
}

func loadMoves(path string) (*moves, error) {
	m := &moves{path: path, Records: map[string]*moveRecord{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the moves in progress: %w", err)
	}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("reading the moves in progress %s: %w", path, err)
	}
	if m.Records == nil {
		m.Records = map[string]*moveRecord{}
	}
	return m, nil
}

func (m *moves) save() error {
	if err := atomicfile.WriteJSON(m.path, m); err != nil {
		return fmt.Errorf("saving the moves in progress: %w", err)
	}
	return nil
}

// move runs the right-sizing action of a live run, after its releases and notices: the
// candidates of a fresh evaluation (the re-check: it is made just before the moves) up to
// max_moves_per_run, each in two steps — analyzer access first (POST), then the
// professional allocation released (DELETE) — never when no analyzer seat is left. Each
// step is written to the moves file first; a move left half done by a failure or a stop
// is settled at the next run: completed if the user is still a candidate, else undone.
// In a dry run each candidate is a dry_run outcome and nothing changes.
func (e *Executor) move(ctx context.Context, stop <-chan struct{}, dryRun bool, runID string, record func(Outcome), sum *Summary) {
	rs := e.Rightsize
	if rs == nil || e.MovesPath == "" {
		return
	}
	log := e.Log.With("run_id", runID, "step", "rightsize")
	fail := func(what string, err error) {
		log.Error(what, "err", err)
		sum.Errors = append(sum.Errors, what+": "+err.Error())
	}
	// New moves need move_to_analyzer and both dry runs off. Moves left half done are
	// settled whenever the site is not in a dry run: completed when new moves are on and
	// the user is still a candidate, otherwise undone (the user keeps professional access).
	live := rs.MoveToAnalyzer && !dryRun && !rs.DryRun
	m := &moves{path: e.MovesPath, Records: map[string]*moveRecord{}}
	if !dryRun {
		var err error
		if m, err = loadMoves(e.MovesPath); err != nil {
			fail("right-sizing", err)
			return
		}
	}
	if !rs.MoveToAnalyzer && len(m.Records) == 0 {
		return
	}
	res, err := rightsize.Evaluate(ctx, e.Client, rightsize.Options{Now: e.Now(), LookbackDays: rs.LookbackDays, Policy: e.Policy})
	if err != nil {
		fail("right-sizing", err)
		return
	}
	candidates, holders := map[string]rightsize.Holder{}, map[string]rightsize.Holder{}
	for _, h := range res.Holders {
		holders[h.Allocation.ID] = h
		if h.Reason == rightsize.Candidate && live {
			candidates[h.Allocation.ID] = h
		}
	}
	dryRunMoves := func() {
		if !rs.MoveToAnalyzer {
			return
		}
		n := 0
		for _, h := range res.Candidates() {
			if n == rs.MaxMovesPerRun {
				break
			}
			if _, open := m.Records[h.Allocation.ID]; open {
				continue
			}
			n++
			record(e.moveOutcome(runID, h.Allocation, DryRunMove, ReasonAnalyzerCandidate,
				"would give analyzer access, then release the professional allocation: "+h.Detail+quarantineNote(h.Allocation, e.Now())))
		}
	}
	if dryRun {
		dryRunMoves()
		return
	}
	save := func() bool {
		if err := m.save(); err != nil {
			fail("right-sizing", err)
			return false
		}
		return true
	}
	// Moves left open by an earlier run: complete or undo them first.
	for id, rec := range m.Records {
		if stopped(stop) {
			return
		}
		_, still := candidates[id]
		delete(candidates, id)
		out, known := e.settleMove(context.WithoutCancel(ctx), runID, rec, still, holders[id], save) // its requests finish under their own deadlines
		if !known {
			sum.Unsettled++
			_ = save() // what the read learnt (the analyzer id) stays with the record
			continue
		}
		delete(m.Records, id)
		if !save() {
			return
		}
		record(out)
	}
	if !live {
		dryRunMoves()
		return
	}
	list := make([]rightsize.Holder, 0, len(candidates))
	for _, h := range res.Candidates() {
		if _, ok := candidates[h.Allocation.ID]; ok {
			list = append(list, h)
		}
	}
	if len(list) > rs.MaxMovesPerRun {
		list = list[:rs.MaxMovesPerRun]
	}
	if len(list) == 0 {
		return
	}
	ov, err := e.Client.AccessTypeOverview(ctx)
	if err != nil {
		fail("right-sizing: reading the analyzer seats", err)
		return
	}
	seats := ov.AnalyzerAccess.Available
	ids := make([]string, 0, len(list))
	for _, h := range list {
		ids = append(ids, h.Allocation.User.ID)
	}
	held, err := e.Client.AllocationsOfUsers(ctx, qrs.Analyzer, ids)
	if err != nil {
		fail("right-sizing: reading the candidates' analyzer access", err)
		return
	}
	for _, h := range list {
		if stopped(stop) || ctx.Err() != nil {
			log.Info("stopping: the remaining moves wait for the next run")
			return
		}
		a := h.Allocation
		rec := &moveRecord{AllocationID: a.ID, UserID: a.User.ID, User: a.HolderName(), RunID: runID, Time: e.Now().UTC()}
		if an := held[strings.ToLower(a.User.ID)]; an != nil {
			// Held before the move: not the move's to undo (AnalyzerGiven stays false).
			rec.Step, rec.AnalyzerID = stepAnalyzerAdded, an.ID
		} else {
			if seats <= 0 {
				record(e.moveOutcome(runID, a, Skipped, ReasonNoAnalyzerSeat, "no analyzer seat is left: the user keeps professional access"))
				continue
			}
			rec.Step = stepAnalyzerRequested
			m.Records[a.ID] = rec
			if !save() {
				return
			}
			added, err := e.Client.AddAnalyzerAccess(context.WithoutCancel(ctx), a.User.ID)
			switch {
			case err == nil:
				rec.Step, rec.AnalyzerID, rec.AnalyzerGiven = stepAnalyzerAdded, added.ID, true
				seats--
			case qrs.StatusCode(err) == http.StatusConflict:
				// QRS says the user holds analyzer access already, given elsewhere since the
				// read: the move goes on with it, and never undoes it.
				rec.Step = stepAnalyzerAdded
			case qrs.Definitive(err): // QRS refused: nothing changed
				delete(m.Records, a.ID)
				if !save() {
					return
				}
				record(e.moveOutcome(runID, a, MoveFailed, ReasonAnalyzerCandidate, "giving analyzer access failed; nothing changed: "+err.Error()))
				continue
			default: // ambiguous (5xx, a gateway error, a lost answer): read back what QRS did
				log.Warn("the answer to giving analyzer access is ambiguous: reading it back", "user", rec.User, "err", err)
				out, known := e.settleMove(context.WithoutCancel(ctx), runID, rec, true, h, save)
				if !known {
					sum.Unsettled++
					_ = save()
					continue
				}
				delete(m.Records, a.ID)
				if !save() {
					return
				}
				record(out)
				continue
			}
		}
		m.Records[a.ID] = rec
		if !save() {
			return
		}
		out, known := e.finishMove(context.WithoutCancel(ctx), runID, rec, save)
		if !known {
			sum.Unsettled++
			log.Warn("move half done: the user holds analyzer access, the professional allocation is still there; the next run completes or undoes it",
				"user", rec.User, "allocation_id", a.ID)
			_ = save()
			continue
		}
		delete(m.Records, a.ID)
		if !save() {
			return
		}
		record(out)
	}
}

// finishMove releases the professional allocation of a user who holds analyzer access:
// the record is saved with the DELETE's step first, and the allocation read back after
// any answer but a definitive refusal (qrs.Definitive). known is false when its state is
// unknown or the DELETE was refused (the record stays for the next run).
func (e *Executor) finishMove(ctx context.Context, runID string, rec *moveRecord, save func() bool) (Outcome, bool) {
	rec.Step = stepProfessionalSent
	if !save() {
		rec.Step = stepAnalyzerAdded
		return Outcome{}, false
	}
	err := e.Client.DeleteAllocation(ctx, qrs.Professional, rec.AllocationID)
	if err != nil && qrs.Definitive(err) && !qrs.IsNotFound(err) {
		rec.Step = stepAnalyzerAdded
		e.Log.Warn("QRS refused to release the professional allocation of a move", "user", rec.User, "err", err)
		return Outcome{}, false
	}
	back, rerr := e.Client.AllocationsByID(ctx, qrs.Professional, []string{rec.AllocationID})
	if rerr != nil {
		return Outcome{}, false
	}
	a := &qrs.Allocation{ID: rec.AllocationID}
	if b := back[rec.AllocationID]; b != nil {
		if !b.Quarantined {
			rec.Step = stepAnalyzerAdded
			return Outcome{}, false
		}
		return e.moveOutcome(runID, b, Moved, ReasonAnalyzerCandidate, "analyzer access given; the professional allocation was "+quarantinedDetail(b)+" (its seat frees when the quarantine ends)"), true
	}
	out := e.moveOutcome(runID, a, Moved, ReasonAnalyzerCandidate, "analyzer access given; the professional allocation released")
	out.User = rec.User
	return out, true
}

// settleMove reads back a move left open (or whose POST had an ambiguous answer) and
// completes it (the user is still a candidate) or undoes it. known is false when QRS could
// not be read. The outcome belongs to the run that settles it (runID), whose summary
// counts it; its detail names the run that began it. An undo deletes only the analyzer
// allocation the move gave (moveRecord.AnalyzerGiven).
func (e *Executor) settleMove(ctx context.Context, runID string, rec *moveRecord, candidate bool, h rightsize.Holder, save func() bool) (Outcome, bool) {
	held, err := e.Client.AllocationsOfUsers(ctx, qrs.Analyzer, []string{rec.UserID})
	if err != nil {
		return Outcome{}, false
	}
	pro, err := e.Client.AllocationsByID(ctx, qrs.Professional, []string{rec.AllocationID})
	if err != nil {
		return Outcome{}, false
	}
	an, p := held[strings.ToLower(rec.UserID)], pro[rec.AllocationID]
	if an != nil && rec.Step == stepAnalyzerRequested && rec.AnalyzerID == "" {
		// The user held no analyzer access when the POST was sent (else it is not sent):
		// the one held now is what the POST created.
		rec.AnalyzerID, rec.AnalyzerGiven = an.ID, true
		rec.Step = stepAnalyzerAdded
	}
	gone := &qrs.Allocation{ID: rec.AllocationID}
	named := func(o Outcome) Outcome {
		o.User = rec.User
		if rec.RunID != runID {
			o.Detail += " (the move began in run " + rec.RunID + ")"
		}
		return o
	}
	switch {
	case an == nil && p != nil:
		return named(e.moveOutcome(runID, p, MoveFailed, ReasonAnalyzerCandidate, "the analyzer access was not given; nothing changed")), true
	case an == nil:
		return named(e.moveOutcome(runID, gone, MoveFailed, ReasonAnalyzerCandidate, "the analyzer access was not given and the professional allocation is gone (released elsewhere)")), true
	case p == nil || p.Quarantined:
		detail := "settled: analyzer access given; the professional allocation released"
		if p != nil {
			detail = "settled: analyzer access given; the professional allocation " + quarantinedDetail(p)
			gone = p
		}
		return named(e.moveOutcome(runID, gone, Moved, ReasonAnalyzerCandidate, detail)), true
	case candidate:
		if rec.AnalyzerID == "" {
			rec.AnalyzerID = an.ID
		}
		out, known := e.finishMove(ctx, runID, rec, save)
		if known {
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
		return named(e.moveOutcome(runID, p, MoveFailed, ReasonAnalyzerCandidate,
			"the professional allocation was not released and the user is no longer an analyzer candidate ("+why+
				"); the analyzer access the user holds was not given by this move and is kept")), true
	}
	if !e.deleteSettled(ctx, qrs.Analyzer, an.ID) {
		return Outcome{}, false
	}
	return named(e.moveOutcome(runID, p, MoveUndone, ReasonAnalyzerCandidate,
		"undone: the user is no longer an analyzer candidate ("+why+"); the analyzer access given was released, professional access kept")), true
}

// deleteSettled deletes an allocation and says whether it is gone for certain: a 2xx or
// a 404, or after an ambiguous answer a read-back that no longer finds it (qrs.Definitive).
func (e *Executor) deleteSettled(ctx context.Context, t qrs.AccessType, id string) bool {
	err := e.Client.DeleteAllocation(ctx, t, id)
	switch {
	case err == nil || qrs.IsNotFound(err):
		return true
	case qrs.Definitive(err):
		e.Log.Warn("QRS refused a DELETE of an undo", "type", t, "allocation_id", id, "err", err)
		return false
	}
	back, rerr := e.Client.AllocationsByID(ctx, t, []string{id})
	return rerr == nil && back[id] == nil
}

func (e *Executor) moveOutcome(runID string, a *qrs.Allocation, r Result, reason, detail string) Outcome {
	o := Outcome{
		Time: e.Now().UTC(), Site: e.Site, RunID: runID, Type: qrs.Professional, AllocationID: a.ID, User: a.HolderName(),
		Result: r, Reason: reason, Detail: detail, DryRun: r == DryRunMove,
	}
	if a.LastUsed.Valid() {
		o.DaysSinceLastUse = e.Now().Sub(a.LastUsed.Time).Hours() / 24
	} else {
		o.NeverUsed = true
	}
	return o
}

// quarantineNote says what QRS will do with a professional allocation used within the
// quarantine period (7 days): quarantine it rather than free its seat at once.
func quarantineNote(a *qrs.Allocation, now time.Time) string {
	if a.LastUsed.Valid() && now.Sub(a.LastUsed.Time) < 7*24*time.Hour {
		return "; QRS will quarantine the professional allocation (used within 7 days): its seat frees when the quarantine ends"
	}
	return ""
}
