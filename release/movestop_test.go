package release_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// A stop sends nothing again (README, Stop and reload): a move's POST answered with QRS's
// own 500 while the run is stopping, read back not done, is not sent again; the move ends
// move_failed (nothing changed) and no second POST reaches QRS.
func TestStopSendsNoMoveStepAgain(t *testing.T) {
	e, _ := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	stop := make(chan struct{})
	var once sync.Once
	e.srv.Faults.OnArrive(func(method, path string) {
		if method == http.MethodPost {
			once.Do(func() { close(stop) }) // the stop comes while the POST is on the wire
		}
	})
	e.srv.Faults.Inject(emulator.FaultServerError, http.MethodPost, "/analyzeraccesstype", 3)
	sum, err := e.runner.Once(t.Context(), stop)
	require.NoError(t, err)
	require.Equal(t, 1, e.srv.Log.Count(http.MethodPost, "/analyzeraccesstype"), "not sent again after the stop\n%s", e.logs)
	require.Equal(t, 1, sum.MoveFailed, "%+v", sum)
}

// The same when the run's context ends while a move's professional DELETE is on the wire
// (its deadline, the process shutting down): the DELETE, answered with QRS's own 500 and
// read back not done, is not sent again — the run's context bounds the retries, although
// the requests themselves run detached from it.
func TestEndedRunSendsNoMoveStepAgain(t *testing.T) {
	e, _ := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	e.srv.Faults.OnArrive(func(method, path string) {
		if method == http.MethodDelete {
			cancel()
		}
	})
	e.srv.Faults.Inject(emulator.FaultServerError, http.MethodDelete, "/professionalaccesstype/", 3)
	_, _ = e.runner.Once(ctx, nil)
	require.Equal(t, 1, e.srv.Log.Count(http.MethodDelete, "/professionalaccesstype/"), "not sent again after the run's end\n%s", e.logs)
}

// A POST answered 502 after QRS created the access (settled at once by the read), then the
// professional DELETE answered 504 at once and carried out later: the move is read again
// before the run ends, like any move left open by an ambiguous answer, and recorded moved
// in this run.
func TestAmbiguousPostThenLateDeleteIsSettledInTheRun(t *testing.T) {
	e, _ := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	e.srv.Faults.Configure(emulator.FaultConfig{LateEffect: testSettleGrace / 3})
	e.srv.Faults.Inject(emulator.FaultBadGatewayAfter, http.MethodPost, "/analyzeraccesstype", 1)
	e.srv.Faults.Inject(emulator.FaultGatewayTimeoutLate, http.MethodDelete, "/professionalaccesstype/", 1)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Moved, "%+v\n%s", sum, e.logs)
	require.Zero(t, sum.MoveFailed+sum.Unsettled)
	require.Equal(t, 1, e.srv.Log.Count(http.MethodDelete, "/professionalaccesstype/"), "nothing sent twice")
}

// A closing record found by a later run (the run that closed the move was killed before
// recording its outcome) is recorded by the run that finds it, under its run id: that
// run's summary counts it, so each run's summary adds up to its own outcome lines.
func TestReclosedMoveBelongsToTheRunThatRecordsIt(t *testing.T) {
	e, _ := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	o := audit.Outcome{Time: testkit.Now, Site: "production", RunID: "20260504T090000Z-abcdef", Type: "professional",
		AllocationID: "aaaaaaaa-0000-4000-8000-0000000000c1", User: `CORP\anna`, Result: audit.Moved, Reason: "analyzer_candidate", Detail: "analyzer access given"}
	file := map[string]any{"records": map[string]any{o.AllocationID: map[string]any{
		"allocation_id": o.AllocationID, "user_id": "9e403391-58a7-4442-ada7-c54dc8906016", "user": o.User,
		"step": "closing", "run_id": o.RunID, "time": testkit.Now, "outcome": o,
	}}}
	b, err := json.Marshal(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(e.site.Settings.MovesFile(), b, 0o640))
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	ofRun, reclosed := 0, 0
	for _, l := range auditLines(t, e.audit) {
		var r struct {
			Kind    string         `json:"kind"`
			Outcome *audit.Outcome `json:"outcome"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		if r.Kind != "outcome" || r.Outcome.Result != audit.Moved {
			continue
		}
		if r.Outcome.RunID == sum.RunID {
			ofRun++
		}
		if r.Outcome.AllocationID == o.AllocationID {
			require.Equal(t, sum.RunID, r.Outcome.RunID, "recorded by this run, which counts it: %s", l)
			require.Contains(t, r.Outcome.Detail, o.RunID, "names the run that closed the move")
			reclosed++
		}
	}
	require.Equal(t, 1, reclosed)
	require.Equal(t, sum.Moved, ofRun, "the run's summary counts its own outcome lines")
}

// An analyzer allocation found after an ambiguous POST whose createdDate QRS does not give
// cannot be proven the move's: a refused professional DELETE then leaves it alone (an undo
// touches only what the tool itself created).
func TestUndoSparesAnalyzerAccessOfUnknownAge(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	h := candidates(t, e)[0]
	const id = "aaaaaaaa-0000-4000-8000-0000000000a3"
	e.srv.Faults.Inject(emulator.FaultUnavailable, http.MethodPost, "/analyzeraccesstype", 1) // not carried out
	e.srv.Faults.Inject(emulator.FaultForbidden, http.MethodDelete, "/professionalaccesstype/", 1)
	e.srv.Faults.OnArrive(func(method, path string) {
		if method == http.MethodPost { // meanwhile someone else's allocation appears, its age unknown
			site.AddAllocation(emulator.Allocation{ID: id, Kind: emulator.KindAnalyzer, UserRef: h.Allocation.User.ID})
		}
	})
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.MoveFailed, "%+v\n%s", sum, e.logs)
	_, kept := site.Allocation(emulator.KindAnalyzer, id)
	require.True(t, kept, "not proven the move's: kept")
	require.Zero(t, e.srv.Log.Count(http.MethodDelete, "/analyzeraccesstype/"))
}

// QRS answers the move's POST 409 (someone gave the user analyzer access since the read),
// then refuses the professional DELETE: the move_failed outcome says the user keeps that
// access, which the move did not give — not that the user holds none — and nothing is
// deleted.
func TestRefusedMoveAfterConflictKeepsTheAccess(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	h := candidates(t, e)[0]
	const id = "aaaaaaaa-0000-4000-8000-0000000000a4"
	e.srv.Faults.Inject(emulator.FaultForbidden, http.MethodDelete, "/professionalaccesstype/", 1)
	e.srv.Faults.OnArrive(func(method, path string) {
		if method == http.MethodPost {
			site.AddAllocation(emulator.Allocation{ID: id, Kind: emulator.KindAnalyzer, UserRef: h.Allocation.User.ID,
				Created: testkit.Now, Modified: testkit.Now})
		}
	})
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.MoveFailed, "%+v\n%s", sum, e.logs)
	failed := outcomesOf(t, e, audit.MoveFailed)
	require.Len(t, failed, 1)
	require.NotContains(t, failed[0], "holds no analyzer access")
	require.Contains(t, failed[0], "keeps the analyzer access")
	_, kept := site.Allocation(emulator.KindAnalyzer, id)
	require.True(t, kept)
}

// Under probation (an earlier run's move was refused), a first candidate skipped without
// a request (its analyzer allocation is quarantined) is no try: the next candidate is the
// one move tried first, and once it succeeds the others follow.
func TestProbationTriesTheFirstMoveNotTheFirstSkip(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 3\n")
	hs := candidates(t, e)
	require.Greater(t, len(hs), 3)
	site.AddAllocation(emulator.Allocation{ID: "aaaaaaaa-0000-4000-8000-0000000000a5", Kind: emulator.KindAnalyzer, UserRef: hs[0].Allocation.User.ID,
		Created: testkit.Now.Add(-48 * time.Hour), LastUsed: testkit.Now.Add(-24 * time.Hour), Quarantined: true, QuarantineEnd: testkit.Now.Add(5 * 24 * time.Hour)})
	require.NoError(t, os.WriteFile(e.site.Settings.MovesFile(), []byte(`{"records":{},"probation":"DELETE …: 403 Forbidden"}`), 0o640))
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 2, sum.Moved, "the skip is no try; the next move succeeds and the last follows: %+v\n%s", sum, e.logs)
	b, err := os.ReadFile(e.site.Settings.MovesFile())
	require.NoError(t, err)
	require.NotContains(t, string(b), "probation")
}
