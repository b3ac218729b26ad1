package release_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	emulator "github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/report"
)

// knownNow is the known-answer tenant's clock.
var knownNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

type tenantEnv struct {
	srv    *qcloudemu.Server
	site   *release.Site
	runner *release.Runner
	logs   *bytes.Buffer
	state  string
}

// newTenantEnv serves tenant and loads a tenant table for it with the release table's own
// keys (keys) and testkit.TenantPolicyTables; gateway, when set, puts a gateway in front.
func newTenantEnv(t *testing.T, tenant *qcloudemu.Tenant, keys string, gateway func(n int, r *http.Request) testkit.GatewayAction) *tenantEnv {
	t.Helper()
	return newTenantEnvWith(t, tenant, keys, testkit.TenantPolicyTables, gateway)
}

// newTenantEnvWith is newTenantEnv with the release table's sub-tables pol instead of
// testkit.TenantPolicyTables.
func newTenantEnvWith(t *testing.T, tenant *qcloudemu.Tenant, keys, pol string, gateway func(n int, r *http.Request) testkit.GatewayAction) *tenantEnv {
	t.Helper()
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant, CertDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	e := &tenantEnv{srv: srv, logs: &bytes.Buffer{}, state: t.TempDir()}
	url, ca := srv.URL, srv.CAFile
	if gateway != nil {
		g := testkit.StartGateway(t, srv.URL, srv.CAPEM, gateway)
		url, ca = g.URL, g.CAFile
	}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	s, err := release.LoadSite(tenantConfig(t, url, ca, e.state, keys, pol), log)
	require.NoError(t, err)
	s.Settings.SettleGrace = testSettleGrace
	e.site = s
	r, err := release.NewRunner(s, log, &bytes.Buffer{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	r.Now = func() time.Time { return knownNow }
	e.runner = r
	return e
}

// tenantConfig writes a file with a tenant table (site "cloud") for the tenant at url,
// whose certificate ca signs, with the known-answer API key, its state in state, the
// release table's own keys (keys) and its sub-tables pol (testkit.TenantPolicyTables, most often); it
// returns the file's path.
func tenantConfig(t *testing.T, url, ca, state, keys, pol string) string {
	t.Helper()
	conf := fmt.Sprintf("[[inputs.qliksense_license]]\n  site = \"cloud\"\n  tenant = %q\n  api_key = %q\n  tls_ca = %q\n"+
		"  [inputs.qliksense_license.release]\n    state_dir = %q\n    %s\n%s\n", url, qcloudemu.KnownAnswerAPIKey, ca, state, keys, pol)
	path := filepath.Join(t.TempDir(), "tenant.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	return path
}

// expectedReleases is the known answers' set released at 30 days.
func expectedReleases() []string {
	var out []string
	for _, fx := range qcloudemu.KnownAnswers {
		if fx.Release {
			out = append(out, fx.Key.Type+" "+fx.Key.Subject)
		}
	}
	slices.Sort(out)
	return out
}

// auditOutcomes reads the audit log's outcomes and run summaries.
func auditOutcomes(t *testing.T, path string) ([]audit.Outcome, []audit.Summary) {
	t.Helper()
	var outs []audit.Outcome
	var runs []audit.Summary
	for _, l := range auditLines(t, path) {
		var rec struct {
			Kind    string         `json:"kind"`
			Outcome *audit.Outcome `json:"outcome"`
			Run     *audit.Summary `json:"run"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &rec))
		switch rec.Kind {
		case "outcome":
			outs = append(outs, *rec.Outcome)
		case "run":
			runs = append(runs, *rec.Run)
		}
	}
	return outs, runs
}

// The plan of the known-answer tenant is the expected set, each with its reason; it is a
// dry run by default, and says what auto-assign means when it is on.
func TestTenantPlanIsTheKnownAnswer(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(knownNow)
	tenant.AutoAssignPro = true
	e := newTenantEnv(t, tenant, "", nil)
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	require.Empty(t, p.Errors)
	require.True(t, p.DryRun, "dry run by default")
	var got []string
	for _, it := range p.Releases() {
		got = append(got, string(it.Type)+" "+it.Holder.ID)
	}
	slices.Sort(got)
	require.Equal(t, expectedReleases(), got)
	reasons := map[string]policy.Reason{}
	for _, it := range p.Items {
		reasons[it.Holder.ID] = it.Decision.Reason
	}
	require.Equal(t, policy.ReasonOrphan, reasons[`CORP\gone`])
	require.Equal(t, policy.ReasonProtectedRole, reasons[`CORP\group-admin`])
	require.Equal(t, policy.ReasonRecentlyAssigned, reasons[`CORP\new`])
	require.Equal(t, policy.ReasonRecentlyUsed, reasons[`CORP\capacity-only`])
	require.Equal(t, policy.ReasonRecentlyUsed, reasons[`CORP\used-29.9`])
	require.Len(t, p.Items, len(qcloudemu.KnownAnswers))
	require.Equal(t, []string{"auto-assign is on for professional in the tenant's license settings: a released user gets a professional assignment back at the next login"}, p.Notes)

	var out bytes.Buffer
	require.NoError(t, report.Plan(&out, p, report.FormatTable))
	require.Contains(t, out.String(), "NOTE: auto-assign is on for professional")
	require.Contains(t, out.String(), "release  analyzer      CORP\\jürgen.ñ 東京")
	require.Contains(t, out.String(), "protected_role 2")
	// The plan's reads: assignments, users (one filtered read), consumption, settings.
	require.Equal(t, 4, len(e.srv.Log.Entries()), "one page each")
	require.Len(t, tenant.Assignments(), len(qcloudemu.KnownAnswers), "a plan changes nothing")
}

// A live once deletes exactly the expected set, records each as released (type and
// subject), costs the plan's pages, one re-check of the part (three reads: both types in
// one part) and one delete call; the next run releases nothing and reads only the consumption since the first.
func TestTenantOnceDeletesExactlyTheKnownAnswer(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(knownNow)
	e := newTenantEnv(t, tenant, "dry_run = false", nil)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, sum.Errors)
	want := expectedReleases()
	require.Equal(t, len(want), sum.Released)
	var left []string
	for _, a := range tenant.Assignments() {
		left = append(left, a.Type+" "+a.Subject)
	}
	for _, fx := range qcloudemu.KnownAnswers {
		k := fx.Key.Type + " " + fx.Key.Subject
		require.Equal(t, !fx.Release, slices.Contains(left, k), "%s: %s", k, fx.Why)
	}
	outs, runs := auditOutcomes(t, e.site.Settings.AuditLog)
	var recorded []string
	for _, o := range outs {
		require.Equal(t, audit.Released, o.Result, o.AllocationID)
		require.Equal(t, o.AllocationID, o.User, "an assignment's holder is its subject")
		recorded = append(recorded, string(o.Type)+" "+o.AllocationID)
	}
	slices.Sort(recorded)
	require.Equal(t, want, recorded)
	require.Len(t, runs, 1)
	// pages (assignments, users, consumption, settings) + one part: its re-check (the
	// assignments, the users, the consumption since the plan) and one delete call.
	require.Equal(t, 1, e.srv.Log.Count(http.MethodPost, "/actions/delete"), "one delete call for the part, both types in it")
	require.Equal(t, 4+4+1, len(e.srv.Log.Entries()))

	e.srv.Log.Reset()
	sum, err = e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Zero(t, sum.Released)
	require.Equal(t, 4, len(e.srv.Log.Entries()), "nothing to release: the plan's pages only")
	q := ""
	for _, en := range e.srv.Log.Entries() {
		if strings.Contains(en.Path, "consumption") {
			q = en.Query
		}
	}
	require.Contains(t, q, "endTime", "the consumption is read from the watermark")
	books, err := filepath.Glob(filepath.Join(e.state, "cloud-uses-*.json")) // one per tenant host
	require.NoError(t, err)
	require.Len(t, books, 1)
	b, err := os.ReadFile(books[0])
	require.NoError(t, err)
	require.Contains(t, string(b), "Watermark")
}

// The truth rule on a tenant: with every third read failing at a gateway (503 before the
// tenant saw it), delete calls failing there too — the first of every three answered 503
// before the tenant saw it, the second carried out and then answered 504 — and a delete
// whose effect lands late, the audit log equals the emulator once the runs settle: every
// assignment gone recorded released once, nothing else recorded released, no intent left
// open.
func TestTenantAuditLogTruthUnderGatewayFaults(t *testing.T) {
	tenant := qcloudemu.Generate(qcloudemu.Spec{Seed: 5, Users: 150, Now: knownNow})
	tenant.SetClock(func() time.Time { return knownNow })
	tenant.AddAPIKey(qcloudemu.KnownAnswerAPIKey)
	reads, posts, failedBefore, failedAfter := 0, 0, 0, 0
	e := newTenantEnv(t, tenant, "dry_run = false\n    max_releases_per_run = 40", func(_ int, r *http.Request) testkit.GatewayAction {
		if r.Method != http.MethodPost {
			if reads++; reads%3 == 0 {
				return testkit.FailBefore
			}
			return testkit.Forward
		}
		switch posts++; posts % 3 {
		case 1:
			failedBefore++
			return testkit.FailBefore
		case 2:
			failedAfter++
			return testkit.FailAfter
		}
		return testkit.Forward
	})
	// The truth rule's premise: a change lands within the settle grace. The emulator's late
	// effect lands two requests later, and a read the gateway failed is retried a second
	// later: the grace covers that.
	e.site.Settings.SettleGrace = 3 * time.Second
	before := map[string]bool{}
	for _, a := range tenant.Assignments() {
		before[a.Type+" "+a.Subject] = true
	}
	e.srv.Faults.Inject(qcloudemu.FaultLateEffect, http.MethodPost, "actions/delete", 1)
	for range 3 {
		_, err := e.runner.Once(t.Context(), nil)
		require.NoError(t, err)
	}
	require.Zero(t, e.srv.Pending(), "the late effect landed during the runs")
	late := 0
	for _, en := range e.srv.Log.Entries() {
		if en.Fault == qcloudemu.FaultLateEffect {
			late++
		}
	}
	require.Equal(t, 1, late, "a delete call's effect landed late")
	require.Positive(t, failedBefore, "delete calls failed before the tenant acted")
	require.Positive(t, failedAfter, "delete calls failed after the tenant acted")
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, sum.Errors)

	gone := map[string]bool{}
	now := map[string]bool{}
	for _, a := range tenant.Assignments() {
		now[a.Type+" "+a.Subject] = true
	}
	for k := range before {
		if !now[k] {
			gone[k] = true
		}
	}
	require.NotEmpty(t, gone)
	outs, _ := auditOutcomes(t, e.site.Settings.AuditLog)
	released := map[string]int{}
	for _, o := range outs {
		if o.Result == audit.Released {
			released[string(o.Type)+" "+o.AllocationID]++
		}
	}
	require.Len(t, released, len(gone), "every deletion recorded, none invented")
	for k := range gone {
		require.Equal(t, 1, released[k], "%s recorded released exactly once", k)
	}
	require.True(t, strings.Contains(e.logs.String(), "the delete call was answered 504 Gateway Timeout, which does not say what the tenant did; read back; the assignment is gone"),
		"a delete call answered 504 after its effect is read back and recorded released")
	inflight, err := os.ReadFile(e.site.Settings.InflightFile())
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(string(inflight)), "no intent left open")
}

// A site and a tenant side by side in one file: the sidecar loads both, each its own site
// with its own source, and plans each.
func TestSiteAndTenantInOneFile(t *testing.T) {
	qrsSrv := testkit.StartEmulator(t, emulator.Generate(emulator.SiteSpec{Seed: 3, Users: 40, Now: testkit.Now}))
	cloud, err := qcloudemu.Start(qcloudemu.Options{Tenant: qcloudemu.KnownAnswer(knownNow), CertDir: t.TempDir()})
	require.NoError(t, err)
	defer func() { _ = cloud.Close() }()
	state := t.TempDir()
	table := fmt.Sprintf("  [inputs.qliksense_license.release]\n    state_dir = %q\n", state)
	conf := qrsSrv.PluginConfig("production", table+testkit.PolicyTables) + cloud.PluginConfig("cloud", qcloudemu.KnownAnswerAPIKey, table+testkit.TenantPolicyTables)
	path := filepath.Join(t.TempDir(), "both.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	sites, err := release.LoadSites([]string{path}, slogDiscard())
	require.NoError(t, err)
	require.Len(t, sites, 2)
	require.Equal(t, "production", sites[0].Name)
	require.NotNil(t, sites[0].Client)
	require.Equal(t, "cloud", sites[1].Name)
	require.NotNil(t, sites[1].Cloud)
	require.Nil(t, sites[1].Client)
	for _, s := range sites {
		r := &release.Runner{Site: s, Log: slogDiscard(), Now: func() time.Time { return knownNow }}
		p, err := r.Plan(t.Context())
		require.NoError(t, err)
		require.Empty(t, p.Errors, s.Name)
		require.NotEmpty(t, p.Releases(), s.Name)
		s.Source.Close()
	}

	// Two tables of one file naming one site are refused, naming both.
	conf = cloud.PluginConfig("same", qcloudemu.KnownAnswerAPIKey, table+testkit.TenantPolicyTables) + qrsSrv.PluginConfig("same", table+testkit.PolicyTables)
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	_, err = release.LoadSites([]string{path}, slogDiscard())
	require.ErrorContains(t, err, `tables 1 and 2 are both site "same"`)
}

// The re-check right before the delete call reads the consumption since the plan: an
// assignment whose user has used it since is skipped (used_since_plan), the rest of its
// part released.
func TestTenantRecheckSkipsUseSincePlan(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(knownNow)
	e := newTenantEnv(t, tenant, "dry_run = false", nil)
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	tenant.AddEvent(qcloudemu.Event{ID: "late-use", UserID: "000000000000000000000002", AppID: "app-1", SessionID: "s-late",
		AllotmentID: qcloudemu.Professional, LicenseUsage: "assignment", EndTime: knownNow.Add(-time.Hour), Duration: time.Minute})
	rec := &memRecorder{}
	ex := &release.Executor{Source: e.site.Source, Policy: e.site.Policy, Site: "cloud", Now: func() time.Time { return knownNow },
		Recorder: rec, Log: slogDiscard()}
	sum := ex.Run(t.Context(), nil, p)
	require.Equal(t, len(expectedReleases())-1, sum.Released)
	require.Equal(t, 1, sum.Skipped)
	for _, o := range rec.outcomes {
		if o.AllocationID == `CORP\used-30.1` {
			require.Equal(t, audit.Skipped, o.Result)
			require.Equal(t, release.ReasonUsedSincePlan, o.Reason)
		}
	}
	require.True(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: qcloudemu.Professional, Subject: `CORP\used-30.1`}), "kept")
}

// A tenant's table with a report table loads as a site's does (no QRS client: the report
// reads the tenant's overview), and the scheduled job mails its report through the same
// Build.
func TestTenantReportIsScheduled(t *testing.T) {
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: qcloudemu.KnownAnswer(knownNow), CertDir: t.TempDir()})
	require.NoError(t, err)
	defer func() { _ = srv.Close() }()
	smtp := testkit.StartSMTP(t)
	conf := srv.PluginConfig("cloud", qcloudemu.KnownAnswerAPIKey, fmt.Sprintf(`  [inputs.qliksense_license.release]
    state_dir = %q
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
%s
  [inputs.qliksense_license.report]
    enabled = true
    schedule = "0 7 1 * *"
    to = ["owner@example.com"]`, t.TempDir(), smtp.MailTable()))
	path := filepath.Join(t.TempDir(), "tenant.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	s, err := release.LoadSite(path, slogDiscard())
	require.NoError(t, err)
	defer s.Source.Close()
	require.Nil(t, s.Client, "a tenant has no QRS client")
	require.NotNil(t, s.Cloud)
	job := &release.ReportJob{Build: stubReport}
	at := func(v string) time.Time {
		ts, err := time.Parse(time.RFC3339, v)
		require.NoError(t, err)
		return ts
	}
	sent, err := job.Due(t.Context(), s, at("2026-03-15T10:00:00Z"), slogDiscard())
	require.NoError(t, err)
	require.False(t, sent, "the first start arms the schedule")
	sent, err = job.Due(t.Context(), s, at("2026-04-01T07:00:30Z"), slogDiscard())
	require.NoError(t, err)
	require.True(t, sent)
	msgs := smtp.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, []string{"owner@example.com"}, msgs[0].To)
	require.Contains(t, msgs[0].Body("text/plain"), "Qlik Sense licenses of cloud")
}

// A delete call answered 504 at once whose effect lands late: the read right after and
// the read once the settle grace has passed still find the assignments, so the engine
// sends the call again — and the effect lands as that call arrives (the emulator's late
// effect, three requests on). The resend's items are answered 404 LICENSES-016. The
// seats were freed by the tool's first call: released, with the policy's reason, and a
// detail that says the first delete call landed late — through the same engine as a
// site's, never skipped as if released elsewhere.
func TestTenantDeleteSentAgainAnsweredNotFoundIsReleased(t *testing.T) {
	tenant := qcloudemu.KnownAnswer(knownNow)
	e := newTenantEnv(t, tenant, "dry_run = false", nil)
	e.site.Settings.SettleGrace = time.Second // the reads come well within twice the grace
	p, err := e.runner.Plan(t.Context())
	require.NoError(t, err)
	reasons := map[string]string{}
	for _, it := range p.Releases() {
		reasons[string(it.Type)+" "+it.Holder.ID] = string(it.Decision.Reason)
	}
	e.srv.Faults.Configure(qcloudemu.FaultConfig{LateAfter: 3})
	e.srv.Faults.Inject(qcloudemu.FaultLateEffect, http.MethodPost, "actions/delete", 1)
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, sum.Errors)
	require.Zero(t, e.srv.Pending(), "the late effect landed")
	require.Equal(t, 2, e.srv.Log.Count(http.MethodPost, "/actions/delete"), "sent again once")
	want := expectedReleases()
	require.Equal(t, len(want), sum.Released, "%+v", sum)
	require.Zero(t, sum.Skipped+sum.Failed+sum.Unsettled)
	outs, _ := auditOutcomes(t, e.site.Settings.AuditLog)
	var recorded []string
	for _, o := range outs {
		require.Equal(t, audit.Released, o.Result, o.AllocationID)
		require.Equal(t, reasons[string(o.Type)+" "+o.AllocationID], o.Reason, "the policy's reason")
		require.Contains(t, o.Detail, "sent again after a read showed the assignment still there, the delete call was answered 404 Not Found: "+
			"the first delete call landed late, after that read (sent 2 times)")
		recorded = append(recorded, string(o.Type)+" "+o.AllocationID)
		require.False(t, tenant.HasAssignment(qcloudemu.AssignmentKey{Type: string(o.Type), Subject: o.AllocationID}))
	}
	slices.Sort(recorded)
	require.Equal(t, want, recorded)
}
