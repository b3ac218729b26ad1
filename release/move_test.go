package release_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// moveEnv is a site with authoring activity whose runs move right-sizing candidates to
// analyzer access (no release type enabled: the runs do only that).
func moveEnv(t *testing.T, spec emulator.SiteSpec, rightsizeKeys string) (*env, *emulator.Site) {
	t.Helper()
	spec.Users, spec.Apps, spec.AppObjects, spec.Now = 200, 60, 800, testkit.Now
	site := emulator.Generate(spec)
	e := newEnv(t, site, "\n    dry_run = false\n  [inputs.qliksense_license.rightsize]\n    move_to_analyzer = true\n"+rightsizeKeys)
	return e, site
}

func candidates(t *testing.T, e *env) []rightsize.Holder {
	t.Helper()
	res, err := rightsize.Evaluate(t.Context(), e.site.Client, rightsize.Options{Now: testkit.Now, LookbackDays: 90, Policy: e.site.Policy})
	require.NoError(t, err)
	return res.Candidates()
}

func analyzerOf(site *emulator.Site, userID string) bool {
	for _, a := range site.Allocations(emulator.KindAnalyzer) {
		if strings.EqualFold(a.UserRef, userID) {
			return true
		}
	}
	return false
}

func outcomesOf(t *testing.T, e *env, r audit.Result) []string {
	t.Helper()
	var out []string
	for _, l := range auditLines(t, e.audit) {
		if strings.Contains(l, `"outcome":"`+string(r)+`"`) {
			out = append(out, l)
		}
	}
	return out
}

// A live run moves up to max_moves_per_run candidates: analyzer access first, then the
// professional allocation released (quarantined when used this week).
func TestMoveToAnalyzer(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 91, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 4\n")
	want := candidates(t, e)
	require.Greater(t, len(want), 4)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 4, sum.Moved)
	require.Zero(t, sum.MoveFailed+sum.Unsettled)
	for _, h := range want[:4] {
		require.True(t, analyzerOf(site, h.Allocation.User.ID), "%s got analyzer access", h.Allocation.HolderName())
		a, still := site.Allocation(emulator.KindProfessional, h.Allocation.ID)
		require.True(t, !still || a.Quarantined, "%s: professional allocation released", h.Allocation.HolderName())
	}
	for _, h := range want[4:] {
		_, still := site.Allocation(emulator.KindProfessional, h.Allocation.ID)
		require.True(t, still, "beyond the cap: untouched")
	}
	require.Len(t, outcomesOf(t, e, audit.Moved), 4)
	require.LessOrEqual(t, e.srv.Log.Count("POST", "/qrs/license/analyzeraccesstype"), 4)
	require.Equal(t, 4, e.srv.Log.Count("DELETE", "/qrs/license/professionalaccesstype"))
	_, err = os.Stat(e.site.Settings.MovesFile())
	require.NoError(t, err)
}

// The default is a dry run: each candidate is a dry_run_move outcome and nothing changes.
func TestMoveDryRunChangesNothing(t *testing.T) {
	e, _ := moveEnv(t, emulator.SiteSpec{Seed: 92, AnalyzerTotal: 1000}, "    max_moves_per_run = 3\n")
	require.Greater(t, len(candidates(t, e)), 3)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 3, sum.WouldMove, "up to max_moves_per_run")
	require.Zero(t, e.srv.Log.Count("POST", "")+e.srv.Log.Count("DELETE", ""))
	require.Len(t, outcomesOf(t, e, audit.DryRunMove), 3)
}

// Never without an analyzer seat: every candidate is skipped, nothing is sent.
func TestMoveNeedsAnAnalyzerSeat(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 93}, "    dry_run = false\n") // 1% fewer analyzer seats than allocations
	holdsBoth := 0
	for _, h := range candidates(t, e) {
		if analyzerOf(site, h.Allocation.User.ID) {
			holdsBoth++
		}
	}
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, holdsBoth, sum.Moved, "only users who hold analyzer access already lose professional")
	require.Positive(t, sum.Skipped)
	require.Contains(t, outcomesOf(t, e, audit.Skipped)[0], `"reason":"no_analyzer_seat"`)
	require.Zero(t, e.srv.Log.Count("POST", ""))
}

// A failure between the two steps leaves the move open (the user holds both); the next
// run completes it when the user is still a candidate, and undoes it (releases the
// analyzer allocation again) when not.
func TestHalfDoneMoveIsCompletedOrUndone(t *testing.T) {
	for _, c := range []struct {
		name         string
		protect, off bool
	}{{"completed", false, false}, {"undone", true, false}, {"undone when move_to_analyzer is turned off", false, true}} {
		protect := c.protect || c.off
		t.Run(c.name, func(t *testing.T) {
			e, site := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
			h := candidates(t, e)[0]
			e.srv.Faults.Inject(emulator.FaultServerError, "DELETE", "/professionalaccesstype/", 4) // sent again up to the retry budget
			sum, err := e.runner.Once(t.Context(), nil)
			require.NoError(t, err)
			require.Zero(t, sum.Moved)
			require.Equal(t, 1, sum.Unsettled, "half done: no outcome yet")
			require.True(t, analyzerOf(site, h.Allocation.User.ID))
			_, still := site.Allocation(emulator.KindProfessional, h.Allocation.ID)
			require.True(t, still)
			require.Empty(t, outcomesOf(t, e, audit.Moved))
			b, err := os.ReadFile(e.site.Settings.MovesFile())
			require.NoError(t, err)
			require.Contains(t, string(b), `"step": "analyzer_added"`)

			switch {
			case c.off:
				e.runner.Site.RightsizeSettings.MoveToAnalyzer = false
			case c.protect:
				require.NoError(t, site.UpdateUser(h.Allocation.User.ID, func(u *emulator.User) {
					u.Roles = []string{"AuditAdmin"}
				}))
			}
			sum, err = e.runner.Once(t.Context(), nil)
			require.NoError(t, err)
			a, still := site.Allocation(emulator.KindProfessional, h.Allocation.ID)
			if protect {
				require.Equal(t, 1, sum.MoveUndone)
				require.True(t, still && !a.Quarantined, "professional access kept")
				require.False(t, analyzerOf(site, h.Allocation.User.ID), "the analyzer access given was released")
				if c.protect {
					require.Contains(t, outcomesOf(t, e, audit.MoveUndone)[0], "admin role AuditAdmin")
				} else {
					require.Zero(t, sum.Moved, "no new move once turned off")
				}
			} else {
				require.GreaterOrEqual(t, sum.Moved, 1)
				require.True(t, !still || a.Quarantined)
				require.True(t, analyzerOf(site, h.Allocation.User.ID))
				require.Contains(t, outcomesOf(t, e, audit.Moved)[0], "completed at a later run")
			}
			b, err = os.ReadFile(e.site.Settings.MovesFile())
			require.NoError(t, err)
			require.NotContains(t, string(b), h.Allocation.ID, "settled: no longer open")
		})
	}
}

// The POST's answer is lost: the read-back finds the analyzer access and the move goes on.
func TestMoveWithALostAnswer(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 95, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	h := candidates(t, e)[0]
	e.srv.Faults.Inject(emulator.FaultLoseAnswer, "POST", "/analyzeraccesstype", 1)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Moved)
	require.True(t, analyzerOf(site, h.Allocation.User.ID))
	require.Equal(t, 1, e.srv.Log.Count("POST", ""), "never sent twice")
}

// The process died after the POST went out (the record says analyzer_requested): the next
// run reads back, finds the analyzer access given, and completes the move.
func TestMoveKilledAfterThePOSTIsCompleted(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 96, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	h := candidates(t, e)[0]
	_, res := site.AddAnalyzer(h.Allocation.User.ID) // what QRS did with the lost POST
	require.Equal(t, emulator.AnalyzerAdded, res)
	rec := `{"records":{"` + h.Allocation.ID + `":{"allocation_id":"` + h.Allocation.ID + `","user_id":"` + h.Allocation.User.ID +
		`","user":"x","step":"analyzer_requested","run_id":"20260504T090000Z-dead00","time":"2026-05-04T09:00:00Z"}}}`
	require.NoError(t, os.MkdirAll(e.site.Settings.StateDir, 0o750))
	require.NoError(t, os.WriteFile(e.site.Settings.MovesFile(), []byte(rec), 0o600))

	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, sum.Moved, 1)
	a, still := site.Allocation(emulator.KindProfessional, h.Allocation.ID)
	require.True(t, !still || a.Quarantined)
	moved := outcomesOf(t, e, audit.Moved)
	require.Contains(t, moved[0], "the move began in run 20260504T090000Z-dead00")
	lines := 0
	for _, l := range auditLines(t, e.audit) {
		if strings.Contains(l, `"allocation_id":"`+h.Allocation.ID+`"`) {
			lines++
		}
	}
	require.Equal(t, 1, lines, "settled once, not moved a second time as a new candidate")
	require.Empty(t, outcomesOf(t, e, audit.MoveFailed))
	require.LessOrEqual(t, e.srv.Log.Count("POST", ""), 1, "only the cap's one new move")
}

// A proxy answers 502 or 504 after QRS carried the request out: the POST's analyzer access
// and the DELETE's release are read back, and the move is recorded as done — never as
// move_failed, and never sent twice.
func TestMoveAnsweredByAGatewayErrorAfterItsEffect(t *testing.T) {
	for _, c := range []struct {
		name, method, path string
		fault              emulator.FaultKind
	}{
		{"POST answered 502", "POST", "/analyzeraccesstype", emulator.FaultBadGatewayAfter},
		{"POST answered 504", "POST", "/analyzeraccesstype", emulator.FaultGatewayTimeoutAfter},
		{"DELETE answered 502", "DELETE", "/professionalaccesstype/", emulator.FaultBadGatewayAfter},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, site := moveEnv(t, emulator.SiteSpec{Seed: 95, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
			h := candidates(t, e)[0]
			e.srv.Faults.Inject(c.fault, c.method, c.path, 1)
			sum, err := e.runner.Once(t.Context(), nil)
			require.NoError(t, err)
			require.Equal(t, 1, sum.Moved, "what QRS did is read back")
			require.Zero(t, sum.MoveFailed+sum.Unsettled)
			require.Empty(t, outcomesOf(t, e, audit.MoveFailed))
			require.True(t, analyzerOf(site, h.Allocation.User.ID))
			a, still := site.Allocation(emulator.KindProfessional, h.Allocation.ID)
			require.True(t, !still || a.Quarantined)
			require.Equal(t, 1, e.srv.Log.Count("POST", ""), "never sent twice")
			require.Equal(t, 1, e.srv.Log.Count("DELETE", ""), "never sent twice")
		})
	}
}

// An undo touches only what the move gave. A candidate who already held analyzer access
// loses nothing of it: the professional DELETE fails, the user is then no longer a
// candidate, and the next run settles the move without deleting the user's own analyzer
// allocation.
func TestUndoKeepsAnalyzerAccessHeldBeforeTheMove(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	h := candidates(t, e)[0]
	own, res := site.AddAnalyzer(h.Allocation.User.ID) // held before the move
	require.Equal(t, emulator.AnalyzerAdded, res)
	e.srv.Faults.Inject(emulator.FaultServerError, "DELETE", "/professionalaccesstype/", 4) // sent again up to the retry budget
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Unsettled, "the DELETE failed before its effect: the move stays open")
	require.Zero(t, e.srv.Log.Count("POST", ""), "the user held analyzer access: nothing to give")
	b, err := os.ReadFile(e.site.Settings.MovesFile())
	require.NoError(t, err)
	require.NotContains(t, string(b), "analyzer_given", "the move did not give the analyzer access")

	require.NoError(t, site.UpdateUser(h.Allocation.User.ID, func(u *emulator.User) { u.Roles = []string{"AuditAdmin"} }))
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Zero(t, sum.MoveUndone)
	require.Equal(t, 1, sum.MoveFailed)
	_, kept := site.Allocation(emulator.KindAnalyzer, own.ID)
	require.True(t, kept, "the user's own analyzer allocation survives")
	_, still := site.Allocation(emulator.KindProfessional, h.Allocation.ID)
	require.True(t, still, "professional access kept")
	require.Zero(t, e.srv.Log.Count("DELETE", "/analyzeraccesstype/"), "no DELETE of an allocation the tool did not give")
	require.Contains(t, outcomesOf(t, e, audit.MoveFailed)[0], "was not given by this move and is kept")
}

// The move gave analyzer access through an ambiguous answer (read back), then failed to
// release professional access; the user is then no longer a candidate: the undo deletes
// exactly the allocation the move gave.
func TestUndoDeletesOnlyWhatTheMoveGave(t *testing.T) {
	e, site := moveEnv(t, emulator.SiteSpec{Seed: 94, AnalyzerTotal: 1000}, "    dry_run = false\n    max_moves_per_run = 1\n")
	h := candidates(t, e)[0]
	e.srv.Faults.Inject(emulator.FaultGatewayTimeoutAfter, "POST", "/analyzeraccesstype", 1)
	e.srv.Faults.Inject(emulator.FaultServerError, "DELETE", "/professionalaccesstype/", 4) // sent again up to the retry budget
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Unsettled)
	b, err := os.ReadFile(e.site.Settings.MovesFile())
	require.NoError(t, err)
	require.Contains(t, string(b), `"analyzer_given": true`, "the read-back found what the POST created")

	require.NoError(t, site.UpdateUser(h.Allocation.User.ID, func(u *emulator.User) { u.Roles = []string{"AuditAdmin"} }))
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.MoveUndone)
	require.False(t, analyzerOf(site, h.Allocation.User.ID), "the analyzer access given was released")
	require.Equal(t, 1, e.srv.Log.Count("DELETE", "/analyzeraccesstype/"))
}
