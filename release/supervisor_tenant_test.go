package release_test

import (
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// tenantBehindGateway serves a generated tenant of users users behind a gateway that
// holds the answer of the first delete call (testkit.Slow: the tenant has carried it
// out, the client still waits) and forwards everything else; posted is closed when that
// call arrives. It returns the emulator, the tenant, the gateway and the channel.
func tenantBehindGateway(t *testing.T, seed uint64, users int) (*qcloudemu.Server, *qcloudemu.Tenant, *testkit.Gateway, <-chan struct{}) {
	t.Helper()
	tenant := qcloudemu.Generate(qcloudemu.Spec{Seed: seed, Users: users, Now: knownNow})
	tenant.SetClock(func() time.Time { return knownNow })
	tenant.AddAPIKey(qcloudemu.KnownAnswerAPIKey)
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant, CertDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	posted := make(chan struct{})
	var posts atomic.Int32
	g := testkit.StartGateway(t, srv.URL, srv.CAPEM, func(_ int, r *http.Request) testkit.GatewayAction {
		if r.Method == http.MethodPost && posts.Add(1) == 1 {
			close(posted)
			return testkit.Slow
		}
		return testkit.Forward
	})
	return srv, tenant, g, posted
}

// superviseTenant starts a supervisor over a tenant's file through g, with the release
// table's keys, on the known-answer date running as the wall clock does.
func superviseTenant(t *testing.T, g *testkit.Gateway, state, keys string) *supervised {
	t.Helper()
	start := time.Now()
	return superviseFile(t, tenantConfig(t, g.URL, g.CAFile, state, keys, testkit.TenantPolicyTables), state, func(sup *release.Supervisor) {
		sup.Now = func() time.Time { return knownNow.Add(time.Since(start)) }
	})
}

// deleteOutcomes is the audit log's outcomes and runs.
func deleteOutcomes(t *testing.T, path string) (map[string]audit.Outcome, []audit.Summary) {
	t.Helper()
	outs, runs := auditOutcomes(t, path)
	byKey := map[string]audit.Outcome{}
	for _, o := range outs {
		k := string(o.Type) + " " + o.AllocationID
		_, twice := byKey[k]
		require.False(t, twice, "%s recorded twice", k)
		byKey[k] = o
	}
	return byKey, runs
}

// Stop while a tenant's delete call is on the wire (the gateway holds its answer; the
// tenant has carried it out): the call finishes under its own deadline, each of its
// assignments is recorded as the tenant answered it — released, and gone from the tenant
// —, no further call is sent (the next part, re-checked already, is deferred), nothing
// stays open, and the next start has nothing to recover.
func TestSupervisorStopOnATenantFinishesTheDeleteCallInFlight(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	srv, tenant, g, posted := tenantBehindGateway(t, 7, 400)
	state := t.TempDir()
	keys := "dry_run = false\n    max_releases_per_run = 120\n    run_at_start = true\n    schedule = \"@every 1h\""
	s := superviseTenant(t, g, state, keys)

	select {
	case <-posted:
	case <-time.After(30 * time.Second):
		t.Fatalf("no delete call; log:\n%s", s.logs.String())
	}
	s.stopAndWait(t)

	require.Equal(t, 1, srv.Log.Count(http.MethodPost, "/actions/delete"), "no delete call after the stop")
	outs, runs := deleteOutcomes(t, s.audit)
	require.NotEmpty(t, outs)
	for k, o := range outs {
		require.Equal(t, audit.Released, o.Result, "%s: %s (the call in flight was cut)", k, o.Detail)
		require.NotContains(t, o.Detail, "the delete call", "%s: the tenant's own answer, not a read after a cut call", k)
		typ, subject, _ := strings.Cut(k, " ")
		require.False(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: typ, Subject: subject}), "released means gone from the tenant")
	}
	require.Len(t, runs, 1)
	require.True(t, runs[0].Interrupted)
	require.Equal(t, len(outs), runs[0].Released)
	require.Positive(t, runs[0].Deferred, "the parts not sent are deferred")
	require.Zero(t, runs[0].Unsettled+runs[0].Failed)
	inflight, err := os.ReadFile(s.inflight)
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(string(inflight)), "nothing left open")

	// The next start: nothing to recover; its run releases what the first deferred, none twice.
	s2 := superviseTenant(t, g, state, keys)
	second := s2.nextRun(t)
	s2.stopAndWait(t)
	require.False(t, second.Recovery)
	require.Positive(t, second.Released)
	outs2, runs2 := deleteOutcomes(t, s.audit) // none recorded twice
	require.Len(t, outs2, len(outs)+second.Released)
	for _, r := range runs2 {
		require.False(t, r.Recovery, "nothing left open to recover")
	}
}

// A reload that changes the tenant's table (dry_run turned on) while a delete call is on
// the wire: the call is not cancelled — its assignments are recorded released, as the
// tenant answered — and the run finishes under the configuration it started with; the
// next run takes the new one (a dry run: no delete call).
func TestSupervisorReloadOnATenantAtTheNextRunBoundary(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	srv, tenant, g, posted := tenantBehindGateway(t, 8, 200)
	state := t.TempDir()
	s := superviseTenant(t, g, state, "dry_run = false\n    max_releases_per_run = 20\n    run_at_start = true\n    schedule = \"@every 1s\"")

	select {
	case <-posted:
	case <-time.After(30 * time.Second):
		t.Fatalf("no delete call; log:\n%s", s.logs.String())
	}
	conf, err := os.ReadFile(s.path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(s.path, []byte(strings.Replace(string(conf), "dry_run = false", "dry_run = true", 1)), 0o600))
	s.sup.Reload()

	first := s.nextRun(t)
	require.False(t, first.DryRun, "the run in progress keeps its configuration")
	require.Equal(t, 20, first.Released, "%+v", first)
	require.Zero(t, first.Failed+first.Unsettled)
	require.False(t, first.Interrupted, "not cut by the reload")
	second := s.nextRun(t)
	require.True(t, second.DryRun, "the next run takes the new one")
	require.Positive(t, second.WouldRelease)
	s.stopAndWait(t)

	require.Equal(t, 1, srv.Log.Count(http.MethodPost, "/actions/delete"), "only the first run deleted")
	outs, _ := deleteOutcomes(t, s.audit)
	released := 0
	for k, o := range outs {
		if o.Result != audit.Released {
			continue
		}
		released++
		require.NotContains(t, o.Detail, "the delete call", "%s: the tenant's own answer, not a read after a cut call", k)
		typ, subject, _ := strings.Cut(k, " ")
		require.False(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: typ, Subject: subject}))
	}
	require.Equal(t, 20, released)
	var reloads []bool
	for _, r := range readAudit(t, s.audit) {
		if r.Kind == "reload" {
			reloads = append(reloads, r.Reload.Success)
		}
	}
	require.Equal(t, []bool{true}, reloads)
}
