package release_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// The account may create analyzer access but QRS answers 403 to the professional DELETE:
// the first move is recorded move_failed with QRS's status and reason, the analyzer access
// it gave is taken back, and no other move is made in the run; the log names
// check-config. The next run tries one move only (still refused: it stops there); once
// the right is given, the next run's first move succeeds and the others follow.
func TestRefusedProfessionalDeleteIsRecordedAndUndone(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 91, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 3\n")
	want := candidates(t, e)
	require.Greater(t, len(want), 6)
	e.srv.Faults.Configure(emulator.FaultConfig{ForbiddenRate: 1, Method: http.MethodDelete, PathContains: "/professionalaccesstype/"})
	analyzersBefore := len(site.Allocations(emulator.KindAnalyzer))

	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.MoveFailed, "%+v", sum)
	require.Zero(t, sum.Moved+sum.Unsettled)
	failed := outcomesOf(t, e, audit.MoveFailed)
	require.Len(t, failed, 1)
	require.Contains(t, failed[0], "403 Forbidden")
	require.Contains(t, failed[0], "taken back")
	require.Equal(t, analyzersBefore, len(site.Allocations(emulator.KindAnalyzer)), "the analyzer access given was taken back")
	require.Equal(t, 1, e.srv.Log.Count(http.MethodDelete, "/professionalaccesstype/"), "no other move in the run")
	require.Equal(t, 1, e.srv.Log.Count(http.MethodPost, "/analyzeraccesstype"))
	require.Contains(t, e.logs.String(), "check-config -connect")
	var mf struct {
		Records   map[string]any `json:"records"`
		Probation string         `json:"probation"`
	}
	b, err := os.ReadFile(e.site.Settings.MovesFile())
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &mf))
	require.Empty(t, mf.Records)
	require.Contains(t, mf.Probation, "403")

	// Still refused: one move tried, then the run stops.
	e.srv.Log.Reset()
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.MoveFailed)
	require.Equal(t, 1, e.srv.Log.Count(http.MethodPost, "/analyzeraccesstype"), "a later run tries one move first")
	require.Equal(t, analyzersBefore, len(site.Allocations(emulator.KindAnalyzer)))

	// The right given: the first move succeeds and the others follow.
	e.srv.Faults.Clear()
	e.srv.Log.Reset()
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 3, sum.Moved, "%+v", sum)
	require.Zero(t, sum.MoveFailed)
	b, err = os.ReadFile(e.site.Settings.MovesFile())
	require.NoError(t, err)
	require.NotContains(t, string(b), "probation")
}

// A gateway answers 504 at once to the move's POST and to its DELETE while QRS carries
// them out later: the read right after proves nothing; the run reads the move again once
// the settle grace has passed and records it moved — once, never move_failed — and no
// analyzer access is left that a recorded move did not keep.
func TestLateMoveStepsAreNotRecordedFailed(t *testing.T) {
	for _, step := range []struct{ method, path string }{{http.MethodPost, "/analyzeraccesstype"}, {http.MethodDelete, "/professionalaccesstype/"}} {
		t.Run(step.method, func(t *testing.T) {
			e, site := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
			h := candidates(t, e)[0]
			e.srv.Faults.Configure(emulator.FaultConfig{LateEffect: testSettleGrace / 3})
			e.srv.Faults.Inject(emulator.FaultGatewayTimeoutLate, step.method, step.path, 1)
			sum, err := e.runner.Once(t.Context(), nil)
			require.NoError(t, err)
			require.Equal(t, 1, sum.Moved, "settled in the same run, by the read after the grace: %+v", sum)
			require.Zero(t, sum.MoveFailed+sum.Unsettled)
			require.Contains(t, e.logs.String(), "moves answered ambiguously: reading them again")
			var moved []string
			for _, l := range auditLines(t, e.audit) {
				if strings.Contains(l, h.Allocation.ID) {
					moved = append(moved, l)
				}
			}
			require.Len(t, moved, 1, "one outcome of the move")
			require.Contains(t, moved[0], `"outcome":"moved"`)
			require.Empty(t, outcomesOf(t, e, audit.MoveFailed))
			require.True(t, analyzerOf(site, h.Allocation.User.ID))
			n := 0
			for _, a := range site.Allocations(emulator.KindAnalyzer) {
				if strings.EqualFold(a.UserRef, h.Allocation.User.ID) {
					n++
				}
			}
			require.Equal(t, 1, n, "one analyzer allocation")
			require.NotContains(t, moved[0], `"never_used":true`, "the outcome carries the real last use")
		})
	}
}

// "Created by this move" needs the analyzer allocation's createdDate at or after the
// move's intent: one older (given by someone else while the POST's answer was lost) is
// never taken back by an undo.
func TestUndoSparesAnalyzerAccessOlderThanTheMove(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	h := candidates(t, e)[0]
	e.srv.Faults.Inject(emulator.FaultUnavailable, http.MethodPost, "/analyzeraccesstype", 1) // not carried out
	e.srv.Faults.OnArrive(func(method, path string) {
		if method == http.MethodPost { // meanwhile an administrator's older allocation appears
			site.AddAllocation(emulator.Allocation{ID: "aaaaaaaa-0000-4000-8000-0000000000a1", Kind: emulator.KindAnalyzer, UserRef: h.Allocation.User.ID,
				Created: testkit.Now.Add(-time.Hour), Modified: testkit.Now.Add(-time.Hour)})
		}
	})
	_, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	e.srv.Faults.OnArrive(nil)
	b, err := os.ReadFile(e.site.Settings.MovesFile())
	require.NoError(t, err)
	require.NotContains(t, string(b), "analyzer_given", "an allocation older than the move's intent is not the move's")

	// The user is no longer a candidate: the move is settled without deleting it.
	require.NoError(t, site.UpdateUser(h.Allocation.User.ID, func(u *emulator.User) { u.Roles = []string{"AuditAdmin"} }))
	_, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	_, kept := site.Allocation(emulator.KindAnalyzer, "aaaaaaaa-0000-4000-8000-0000000000a1")
	require.True(t, kept)
	require.Zero(t, e.srv.Log.Count(http.MethodDelete, "/analyzeraccesstype/"))
}

// A quarantined analyzer allocation is not held access: the user is not moved onto it
// (they would end with nothing usable) and keeps professional access.
func TestQuarantinedAnalyzerAccessIsNotHeld(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	h := candidates(t, e)[0]
	site.AddAllocation(emulator.Allocation{ID: "aaaaaaaa-0000-4000-8000-0000000000a2", Kind: emulator.KindAnalyzer, UserRef: h.Allocation.User.ID,
		Created: testkit.Now.Add(-48 * time.Hour), LastUsed: testkit.Now.Add(-24 * time.Hour), Quarantined: true, QuarantineEnd: testkit.Now.Add(5 * 24 * time.Hour)})
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Zero(t, sum.Moved)
	_, still := site.Allocation(emulator.KindProfessional, h.Allocation.ID)
	require.True(t, still, "professional access kept")
	require.Zero(t, e.srv.Log.Count(http.MethodDelete, "/professionalaccesstype/"))
	skipped := strings.Join(outcomesOf(t, e, audit.Skipped), "\n")
	require.Contains(t, skipped, h.Allocation.ID)
	require.Contains(t, skipped, `"reason":"analyzer_quarantined"`)
}

// A move is closed in three steps — its record saved closing with the outcome, the
// outcome recorded, the record removed — so a kill between any two leaves the outcome
// recorded exactly once: a run that finds a closing record records its outcome unless
// the audit log has it already.
func TestClosingMoveIsRecordedOnce(t *testing.T) {
	for _, inLog := range []bool{false, true} {
		t.Run(map[bool]string{false: "killed before the outcome", true: "killed after the outcome"}[inLog], func(t *testing.T) {
			e, _ := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
			o := audit.Outcome{Time: testkit.Now, Site: "production", RunID: "20260504T090000Z-abcdef", Type: "professional",
				AllocationID: "aaaaaaaa-0000-4000-8000-0000000000c1", User: `CORP\anna`, Result: audit.Moved, Reason: "analyzer_candidate", Detail: "analyzer access given"}
			if inLog {
				line, err := json.Marshal(map[string]any{"kind": "outcome", "outcome": o})
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(e.audit, append(line, '\n'), 0o640))
			}
			file := map[string]any{"records": map[string]any{o.AllocationID: map[string]any{
				"allocation_id": o.AllocationID, "user_id": "9e403391-58a7-4442-ada7-c54dc8906016", "user": o.User,
				"step": "closing", "run_id": o.RunID, "time": testkit.Now, "outcome": o,
			}}}
			b, err := json.Marshal(file)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(e.site.Settings.MovesFile(), b, 0o640))
			_, err = e.runner.Once(t.Context(), nil)
			require.NoError(t, err)
			n := 0
			for _, l := range auditLines(t, e.audit) {
				if strings.Contains(l, o.AllocationID) {
					n++
				}
			}
			require.Equal(t, 1, n, "the move's outcome, once")
			b, err = os.ReadFile(e.site.Settings.MovesFile())
			require.NoError(t, err)
			require.NotContains(t, string(b), o.AllocationID, "the record is gone")
		})
	}
}

// The probe for moves: every third change (POST or DELETE) of seven moves answered
// 504 at once and carried out later — all seven recorded moved in the run, none
// move_failed, each change sent once.
func TestEveryThirdMoveChangeLateAllMoved(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 91, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 7\n")
	want := candidates(t, e)
	require.GreaterOrEqual(t, len(want), 7)
	changes := 0
	e.srv.Faults.Configure(emulator.FaultConfig{LateEffect: testSettleGrace / 3})
	e.srv.Faults.OnArrive(func(method, path string) {
		if method != http.MethodPost && method != http.MethodDelete {
			return
		}
		changes++
		if changes%3 == 0 {
			e.srv.Faults.Inject(emulator.FaultGatewayTimeoutLate, method, path, 1)
		}
	})
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 7, sum.Moved, "%+v", sum)
	require.Zero(t, sum.MoveFailed+sum.MoveUndone+sum.Unsettled)
	require.Equal(t, 7, e.srv.Log.Count(http.MethodPost, "/analyzeraccesstype"))
	require.Equal(t, 7, e.srv.Log.Count(http.MethodDelete, "/professionalaccesstype/"))
	for _, h := range want[:7] {
		require.True(t, analyzerOf(site, h.Allocation.User.ID))
	}
}
