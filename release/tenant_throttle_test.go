package release_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// deleteCalls counts the delete calls the tenant saw, and those it carried out (200/207).
func deleteCalls(srv *qcloudemu.Server) (sent, done int) {
	for _, en := range srv.Log.Entries() {
		if en.Method == http.MethodPost && en.Path == "/api/v1/licenses/assignments/actions/delete" {
			sent++
			if en.Status == http.StatusOK || en.Status == http.StatusMultiStatus {
				done++
			}
		}
	}
	return sent, done
}

// A delete call answered 429 (the tenant's rate limiter, before the service saw it) is not
// done: the engine reads it back, sends it again after its backoff (at least the
// Retry-After) and records it released in the same run, with one effect.
func TestTenantThrottledDeleteIsSentAgainInTheRun(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(knownNow)
	e := newTenantEnv(t, tenant, "dry_run = false", nil)
	e.srv.Faults.Inject(qcloudemu.FaultTooMany, http.MethodPost, "actions/delete", 1)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, sum.Errors)
	require.Equal(t, len(expectedReleases()), sum.Released)
	sent, done := deleteCalls(e.srv)
	require.Equal(t, 2, sent, "the refused call and the one sent again")
	require.Equal(t, 1, done, "one delete effect")
	outs, _ := auditOutcomes(t, e.site.Settings.AuditLog)
	require.Len(t, outs, len(expectedReleases()))
	for _, o := range outs {
		require.Equal(t, audit.Released, o.Result, "%s %s: %s", o.Type, o.AllocationID, o.Detail)
		require.Contains(t, o.Detail, "sent 2 times")
	}
	for _, a := range tenant.Assignments() {
		for _, k := range expectedReleases() {
			require.NotEqual(t, k, a.Type+" "+a.Subject, "released")
		}
	}
}

// A stop while the engine waits out a 429's Retry-After ends the wait: no delete call goes
// out after the stop, the change is recorded failed (nothing changed) and nothing is left
// open.
func TestTenantStopDuringThrottleSendsNothingAgain(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(knownNow)
	before := len(tenant.Assignments())
	e := newTenantEnv(t, tenant, "dry_run = false", nil)
	e.srv.Faults.Configure(qcloudemu.FaultConfig{RetryAfter: time.Minute})
	e.srv.Faults.Inject(qcloudemu.FaultTooMany, http.MethodPost, "actions/delete", 1)
	stop := make(chan struct{})
	go func() {
		for {
			if sent, _ := deleteCalls(e.srv); sent > 0 {
				time.Sleep(50 * time.Millisecond) // the engine is in its wait by now, or soon
				close(stop)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	sum, err := e.runner.Once(t.Context(), stop)
	require.NoError(t, err)
	require.Zero(t, sum.Released)
	sent, done := deleteCalls(e.srv)
	require.Equal(t, 1, sent, "no delete call after the stop")
	require.Zero(t, done)
	require.Len(t, tenant.Assignments(), before, "nothing changed")
	outs, _ := auditOutcomes(t, e.site.Settings.AuditLog)
	require.Len(t, outs, len(expectedReleases()))
	for _, o := range outs {
		require.Equal(t, audit.Failed, o.Result, "%s %s: %s", o.Type, o.AllocationID, o.Detail)
		require.Contains(t, o.Detail, "429")
	}
	inflight, err := os.ReadFile(e.site.Settings.InflightFile())
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(string(inflight)), "no intent left open")
}

// The engine's wait before sending a throttled call again is at least its Retry-After: a
// run whose deadline comes sooner sends nothing again and records the change failed
// (nothing changed), where the engine's own backoff (a second) would have fitted.
func TestTenantThrottleRetryAfterOutlastsTheRun(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(knownNow)
	before := len(tenant.Assignments())
	e := newTenantEnv(t, tenant, "dry_run = false", nil)
	e.srv.Faults.Configure(qcloudemu.FaultConfig{RetryAfter: time.Minute})
	e.srv.Faults.Inject(qcloudemu.FaultTooMany, http.MethodPost, "actions/delete", 1)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	sum, err := e.runner.Once(ctx, nil)
	require.NoError(t, err)
	require.Zero(t, sum.Released)
	sent, _ := deleteCalls(e.srv)
	require.Equal(t, 1, sent, "not sent again before its Retry-After")
	require.Len(t, tenant.Assignments(), before, "nothing changed")
	outs, _ := auditOutcomes(t, e.site.Settings.AuditLog)
	require.Len(t, outs, len(expectedReleases()))
	for _, o := range outs {
		require.Equal(t, audit.Failed, o.Result, "%s %s: %s", o.Type, o.AllocationID, o.Detail)
	}
}
