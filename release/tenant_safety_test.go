package release_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/source"
)

// A user the users read misses (here the TenantAdmin CORP\admin, left out of every users
// answer) looks like an orphan to the plan: the re-check confirms orphans with the
// tenant's own orphan view, which does not list it, so its assignment is kept
// (user_unknown) — never a license taken from a protected user — while the real orphan
// CORP\gone is released. The part's orphans cost one extra read.
func TestTenantUnconfirmedOrphanIsKept(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(knownNow)
	tenant.UnlistUser(`CORP\admin`)
	e := newTenantEnv(t, tenant, "dry_run = false", nil)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, sum.Errors)
	require.True(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: qcloudemu.Professional, Subject: `CORP\admin`}), "kept")
	require.False(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: qcloudemu.Analyzer, Subject: `CORP\gone`}), "the real orphan released")
	require.Equal(t, len(expectedReleases()), sum.Released)
	outs, _ := auditOutcomes(t, e.site.Settings.AuditLog)
	var admin []audit.Outcome
	for _, o := range outs {
		if o.AllocationID == `CORP\admin` {
			admin = append(admin, o)
		}
	}
	require.Len(t, admin, 1)
	require.Equal(t, audit.Skipped, admin[0].Result)
	require.Equal(t, source.ReasonUserUnknown, string(admin[0].Reason))
	require.Contains(t, admin[0].Detail, "the tenant does not list its assignment as an orphan")
	// The plan's pages, the re-check (assignments, users, consumption, orphans) and one
	// delete call.
	require.Equal(t, 4+4+1, len(e.srv.Log.Entries()))
	orphanReads := 0
	for _, en := range e.srv.Log.Entries() {
		if en.Method == http.MethodGet && strings.Contains(en.Query, "orphans=true") {
			orphanReads++
		}
	}
	require.Equal(t, 1, orphanReads, "one orphan read for the part")
}

// A tenant's allocation id is the subject, which may hold an assignment of each type:
// a subject holding both, both to release, the process killed after the delete call was
// sent with both intents open. Recovery settles each by its own read-back: the one the
// call deleted is released, the other (when the call did not take it) failed.
func TestTenantRecoveryTellsTypesOfOneSubjectApart(t *testing.T) {
	const subject = "auth0|5f8e2b7c9d1a"
	for _, c := range []struct {
		name    string
		deleted []qrs.AccessType
	}{
		{"both deleted", []qrs.AccessType{qrs.Professional, qrs.Analyzer}},
		{"professional deleted", []qrs.AccessType{qrs.Professional}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tenant := qcloudemu.KnownAnswer(knownNow)
			tenant.AddAssignment(qcloudemu.Assignment{Type: qcloudemu.Analyzer, Subject: subject, Created: knownNow.AddDate(0, 0, -60)})
			e := newTenantEnv(t, tenant, "dry_run = false", nil)
			e.runner.RecoverGrace = time.Millisecond
			p, err := e.runner.Plan(t.Context())
			require.NoError(t, err)
			var both []plan.Item
			for _, it := range p.Releases() {
				if it.Holder.ID == subject {
					both = append(both, it)
				}
			}
			require.Len(t, both, 2, "one subject, two assignments, both to release")
			// The killed run's in-flight file: both intents, no outcome.
			var lines []byte
			for _, it := range both {
				b, err := json.Marshal(map[string]any{"intent": it.Outcome(knownNow, "cloud", "run-killed", "", string(it.Decision.Reason), it.Decision.Detail)})
				require.NoError(t, err)
				lines = append(append(lines, b...), '\n')
			}
			require.NoError(t, os.WriteFile(e.site.Settings.InflightFile(), lines, 0o640))
			// The delete call sent before the kill.
			var sent []plan.Item
			for _, it := range both {
				if slices.Contains(c.deleted, it.Type) {
					sent = append(sent, it)
				}
			}
			for _, a := range e.site.Source.Release(t.Context(), sent) {
				require.NoError(t, a.Err)
			}

			require.NoError(t, e.runner.Recover(t.Context()))
			outs, runs := auditOutcomes(t, e.site.Settings.AuditLog)
			got := map[qrs.AccessType]audit.Result{}
			for _, o := range outs {
				require.Equal(t, subject, o.AllocationID)
				got[o.Type] = o.Result
			}
			want := map[qrs.AccessType]audit.Result{qrs.Professional: audit.Released, qrs.Analyzer: audit.Failed}
			if len(c.deleted) == 2 {
				want[qrs.Analyzer] = audit.Released
			}
			require.Len(t, outs, 2, "each intent settled once")
			require.Equal(t, want, got)
			require.Len(t, runs, 1)
			require.True(t, runs[0].Recovery)
			b, err := os.ReadFile(e.site.Settings.InflightFile())
			require.NoError(t, err)
			require.Empty(t, b, "nothing left open")
		})
	}
}
