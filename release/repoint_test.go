package release_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/source"
	"github.com/qliksense-license/qliksense-license/release/source/memsource"
)

// repointSite is a site named "s" in state releasing through src.
func repointSite(t *testing.T, state string, src source.Source) (*release.Runner, *bytes.Buffer) {
	t.Helper()
	pol, err := policy.CompileTenant(&policy.Config{DryRun: new(bool), Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}})
	require.NoError(t, err)
	site := &release.Site{Name: "s", Path: "s.conf", Source: src, Policy: pol, Settings: &siteconfig.Sidecar{
		StateDir: state, LockFile: filepath.Join(state, "s.lock"), AuditLog: filepath.Join(state, "s-audit.jsonl"),
		Concurrency: 1, RecheckMaxAge: 10 * time.Second, SettleGrace: time.Millisecond}}
	logs := &bytes.Buffer{}
	r, err := release.NewRunner(site, slogText(logs), &bytes.Buffer{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	r.RecoverGrace = time.Millisecond
	return r, logs
}

func slogText(b *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// loggedOutcomes reads the audit log's outcomes (none when it is empty).
func loggedOutcomes(t *testing.T, path string) []audit.Outcome {
	t.Helper()
	if b, _ := os.ReadFile(path); len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	outs, _ := auditOutcomes(t, path)
	return outs
}

// An intent sent to source A, then the site repointed at source B (another QRS, or a
// tenant under the same site name): B knows nothing of A's holder, and reading it back
// there would record it released. Recovery against B records nothing for it and keeps it
// open, through B's own runs; pointed back at A, it is settled there, once.
func TestRecoveryKeepsIntentsOfAnotherSource(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	state := t.TempDir()
	old := source.Key{Type: qrs.Professional, ID: "on-a"}
	// A run against A noted its intent and died before the answer (the change landed).
	a := memsource.New()
	a.Name = "qrs:a.example:4242"
	ra, _ := repointSite(t, state, a)
	require.NoError(t, ra.Trail().Intent(audit.Outcome{Time: now, Site: "s", RunID: "run-a", Type: old.Type, AllocationID: old.ID, Reason: "inactive"}))
	ra.Close()

	b := memsource.New(memsource.Holder{Key: source.Key{Type: qrs.Professional, ID: "on-b"}, Created: now.AddDate(0, 0, -90)})
	b.Name = "tenant:b.example"
	rb, logs := repointSite(t, state, b)
	rb.Now = func() time.Time { return now }
	require.NoError(t, rb.Recover(t.Context()))
	require.Empty(t, loggedOutcomes(t, rb.Site.Settings.AuditLog), "nothing recorded for an intent of another source")
	require.Contains(t, logs.String(), "sent_to=qrs:a.example:4242")
	require.Contains(t, logs.String(), "source_now=tenant:b.example")
	// B's own run goes on, and its close keeps A's intent open.
	sum, err := rb.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Released)
	require.NoError(t, rb.Recover(t.Context()))
	outs := loggedOutcomes(t, rb.Site.Settings.AuditLog)
	require.Len(t, outs, 1)
	require.Equal(t, "on-b", outs[0].AllocationID)
	inflight, err := os.ReadFile(rb.Site.Settings.InflightFile())
	require.NoError(t, err)
	require.Contains(t, string(inflight), `"allocation_id":"on-a"`)
	require.Contains(t, string(inflight), `"source":"qrs:a.example:4242"`)
	rb.Close()

	// Pointed back at A: settled by A's read-back (the holder is gone there), once.
	ra, _ = repointSite(t, state, a)
	ra.Now = func() time.Time { return now }
	require.NoError(t, ra.Recover(t.Context()))
	require.NoError(t, ra.Recover(t.Context()))
	outs, runs := auditOutcomes(t, ra.Site.Settings.AuditLog)
	require.Len(t, outs, 2)
	require.Equal(t, "on-a", outs[1].AllocationID)
	require.Equal(t, audit.Released, outs[1].Result)
	require.Equal(t, "run-a", runs[len(runs)-1].RunID)
	require.True(t, runs[len(runs)-1].Recovery)
	inflight, err = os.ReadFile(ra.Site.Settings.InflightFile())
	require.NoError(t, err)
	require.NotContains(t, string(inflight), "on-a")
}

// An intent written before intents named their source is the current source's, as before.
func TestRecoverySettlesAnIntentWithoutSource(t *testing.T) {
	state := t.TempDir()
	b := memsource.New()
	b.Name = "tenant:b.example"
	r, _ := repointSite(t, state, b)
	r.Now = time.Now
	line := `{"intent":{"time":"2026-03-02T12:00:00Z","site":"s","run_id":"run-old","type":"professional","allocation_id":"old"}}` + "\n"
	require.NoError(t, os.WriteFile(r.Site.Settings.InflightFile(), []byte(line), 0o640))
	require.NoError(t, r.Recover(t.Context()))
	outs := loggedOutcomes(t, r.Site.Settings.AuditLog)
	require.Len(t, outs, 1)
	require.Equal(t, audit.Released, outs[0].Result)
	require.True(t, strings.HasPrefix(outs[0].Detail, "recovered after an interrupted run"))
}

// The real sources' identities: the QRS server's host and port, the tenant's host; no
// scheme, path or key.
func TestSourceIdentities(t *testing.T) {
	e := newEnv(t, smallSite(), basicPolicy)
	require.Equal(t, "qrs:"+strings.TrimPrefix(e.srv.URL, "https://"), e.site.Source.ID())
	te := newTenantEnv(t, qcloudemu.KnownAnswer(knownNow), "", nil)
	require.Equal(t, "tenant:"+strings.TrimPrefix(te.srv.URL, "https://"), te.site.Source.ID())
	require.NotContains(t, te.site.Source.ID(), qcloudemu.KnownAnswerAPIKey)
}
