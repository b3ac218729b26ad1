package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// writeTenant writes a tenant table for url (whose certificate ca signs) with the release
// table's keys.
func writeTenant(t *testing.T, url, ca, keys string) (path, state string) {
	t.Helper()
	state = t.TempDir()
	conf := fmt.Sprintf("[[inputs.qliksense_license]]\n  site = \"cloud\"\n  tenant = %q\n  api_key = %q\n  tls_ca = %q\n"+
		"  [inputs.qliksense_license.release]\n    state_dir = %q\n    %s\n%s\n", url, qcloudemu.KnownAnswerAPIKey, ca, state, keys, testkit.TenantPolicyTables)
	path = filepath.Join(t.TempDir(), "tenant.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	return path, state
}

func startTenant(t *testing.T) *qcloudemu.Server {
	t.Helper()
	// The binary plans with the real clock: the known answers are built around it.
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: qcloudemu.KnownAnswer(time.Now()), CertDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// check-config and plan take a tenant: its connection, its protections, and the plan with
// what auto-assign means.
func TestTenantCheckConfigAndPlan(t *testing.T) {
	t.Parallel()
	srv := startTenant(t)
	srv.Tenant.AutoAssignAn = true
	path, _ := writeTenant(t, srv.URL, srv.CAFile, "")
	out, errOut, code := runMain(t, "check-config", "-config", path)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "site cloud ("+path+")\n  qlik cloud tenant: "+srv.URL+", auth api_key\n  dry_run: yes\n")
	require.Contains(t, out, "  protected roles: TenantAdmin\n")
	require.NotContains(t, out, qcloudemu.KnownAnswerAPIKey)
	require.NotContains(t, out, "rightsize", "no right-sizing for a tenant")

	// With -connect, the tenant's doctor: a delete probe that changes nothing.
	out, errOut, code = runMain(t, "check-config", "-connect", "-config", path)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "ok    change             delete license assignments: yes")
	require.Contains(t, out, "ok    auto-assign        on for analyzer")

	out, errOut, code = runMain(t, "plan", "-config", path)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "NOTE: auto-assign is on for analyzer in the tenant's license settings: a released user gets an analyzer assignment back at the next login")
	require.Contains(t, out, `release  analyzer      CORP\gone`)
	require.Len(t, srv.Tenant.Assignments(), len(qcloudemu.KnownAnswers), "a plan changes nothing")

	// The license report of a tenant: the same page, its pools and license from the
	// tenant's overview, the plan's counts the plan command's, no right-sizing; the site's
	// QRS client is nil, so anything touching it would crash the command.
	out, errOut, code = runMain(t, "plan", "-config", path, "-format", "json")
	require.Equal(t, 0, code, out+errOut)
	var pl struct {
		MaxReleasesPerRun int `json:"max_releases_per_run"`
		Totals            []struct {
			Type                                  string
			Considered, Release, Deferred, Notice int
			Waiting                               int
		} `json:"totals"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &pl))
	var release, deferred, total int
	var byType []string
	for _, tt := range pl.Totals {
		release, deferred = release+tt.Release, deferred+tt.Deferred
		n := tt.Release + tt.Deferred + tt.Notice + tt.Waiting
		total += n
		byType = append(byType, fmt.Sprintf("%s %d of %d", tt.Type, n, tt.Considered))
	}
	require.Positive(t, release, "the known answers release some")
	file := filepath.Join(t.TempDir(), "r.html")
	out, errOut, code = runMain(t, "report", "-config", path, "-out", file)
	require.Equal(t, 0, code, out+errOut)
	require.Equal(t, "license report of site cloud: "+file+"\n", out)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	page := string(b)
	require.Contains(t, page, "Qlik Sense licenses of cloud")
	used := map[string]int{}
	for _, a := range srv.Tenant.Assignments() {
		used[a.Type]++
	}
	for _, ty := range []string{qcloudemu.Professional, qcloudemu.Analyzer} {
		name := map[string]string{qcloudemu.Professional: "Professional", qcloudemu.Analyzer: "Analyzer"}[ty]
		i := strings.Index(page, ">"+name+"</h2>")
		require.Positive(t, i, name)
		sec := page[i+len(name)+6:] // after the section's heading, up to the next one
		if next := strings.Index(sec, "</h2>"); next > 0 {
			sec = sec[:next]
		}
		units := srv.Tenant.Units[ty]
		require.Positive(t, units)
		require.Contains(t, sec, fmt.Sprintf(`<td class="pool" style="padding:2px 0;font-weight:bold;text-align:right">%d</td>`, units), name)
		require.Contains(t, sec, fmt.Sprintf(`<td class="held" style="padding:2px 0;font-weight:bold;text-align:right">%d</td>`, used[ty]), name)
		require.Contains(t, sec, fmt.Sprintf(`<td class="available" style="padding:2px 0;font-weight:bold;text-align:right">%d</td>`, max(0, units-used[ty])), name)
	}
	require.Contains(t, page, fmt.Sprintf("%d allocations: %d at the next run, %d beyond max_releases_per_run (%d), 0 to be noticed, 0 waiting out their notice",
		total, release, deferred, pl.MaxReleasesPerRun))
	require.Contains(t, page, "By type: "+strings.Join(byType, ", "))
	require.Contains(t, page, "Not applicable to a Qlik Cloud tenant")
	require.Contains(t, page, "Tenant license</h2>\n<p style=\"margin:0\">Valid to 31 December 2027")
	require.Len(t, srv.Tenant.Assignments(), len(qcloudemu.KnownAnswers), "a report changes nothing")

	// A tenant only gathered (no release table): its pools and license, no plan.
	gathered := filepath.Join(t.TempDir(), "gathered.conf")
	require.NoError(t, os.WriteFile(gathered, []byte(srv.PluginConfig("cloud", qcloudemu.KnownAnswerAPIKey, "")), 0o600))
	out, errOut, code = runMain(t, "report", "-config", gathered)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, fmt.Sprintf(`<td class="pool" style="padding:2px 0;font-weight:bold;text-align:right">%d</td>`, srv.Tenant.Units[qcloudemu.Professional]))
	require.Contains(t, out, "no release policy ([inputs.qliksense_license.release]) for this site")
	require.Contains(t, out, "Not applicable to a Qlik Cloud tenant")
}

// Kill the sidecar with SIGKILL while a tenant's delete call is on the wire (the tenant
// has carried it out; the answer is held at a gateway): after a restart, the audit log
// agrees with the emulator — every deleted assignment recorded released exactly once,
// nothing else — and no intent is left open.
func TestTenantSIGKILLMidRunLosesNothing(t *testing.T) {
	t.Parallel()
	srv := startTenant(t)
	g := testkit.StartGateway(t, srv.URL, srv.CAPEM, func(_ int, r *http.Request) testkit.GatewayAction {
		if r.Method == http.MethodPost {
			return testkit.Slow
		}
		return testkit.Forward
	})
	writes := &testkit.InfluxWrites{}
	influx := httptest.NewServer(writes)
	defer influx.Close()
	path, state := writeTenant(t, g.URL, g.CAFile, fmt.Sprintf(`dry_run = false
    settle_grace = "1s"
    [inputs.qliksense_license.release.output]
      url = %q
      bucket = "q/autogen"`, influx.URL))
	before := map[string]bool{}
	for _, a := range srv.Tenant.Assignments() {
		before[a.Type+" "+a.Subject] = true
	}
	cmd := exec.Command(os.Args[0], "once", "-config", path)
	cmd.Env = append(os.Environ(), "RELEASE_RUN_MAIN=1")
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for srv.Log.Count(http.MethodPost, "actions/delete") < 1 {
		require.True(t, time.Now().Before(deadline), "the run did not start deleting")
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.Less(t, len(srv.Tenant.Assignments()), len(before), "the delete call took effect before the kill")

	out, errOut, code := runMain(t, "once", "-config", path)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, errOut, "settled the outcome of an earlier run's DELETE")

	gone := map[string]bool{}
	now := map[string]bool{}
	for _, a := range srv.Tenant.Assignments() {
		now[a.Type+" "+a.Subject] = true
	}
	for k := range before {
		if !now[k] {
			gone[k] = true
		}
	}
	want := 0
	for _, fx := range qcloudemu.KnownAnswers {
		if fx.Release {
			want++
			require.True(t, gone[fx.Key.Type+" "+fx.Key.Subject], "%s %s: %s", fx.Key.Type, fx.Key.Subject, fx.Why)
		}
	}
	require.Len(t, gone, want, "exactly the known answers are deleted")

	b, err := os.ReadFile(filepath.Join(state, "cloud-audit.jsonl"))
	require.NoError(t, err)
	released := map[string]int{}
	runs, outcomes := 0, 0
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			Kind    string `json:"kind"`
			Outcome struct {
				Type         string `json:"type"`
				AllocationID string `json:"allocation_id"`
				Result       string `json:"outcome"`
			} `json:"outcome"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &rec))
		if rec.Kind == "run" {
			runs++
			continue
		}
		outcomes++
		if rec.Outcome.Result == "released" {
			released[rec.Outcome.Type+" "+rec.Outcome.AllocationID]++
		}
	}
	// What reached InfluxDB: every audited record, once (same series and time replace),
	// the subjects with their quotes, backslashes and unicode intact.
	unique := map[string]bool{}
	for _, l := range writes.Lines() {
		unique[l] = true
	}
	require.Len(t, unique, outcomes+runs)
	require.Contains(t, strings.Join(writes.Lines(), "\n"), "東京")
	require.Len(t, released, len(gone), "every deletion recorded, none invented")
	for k := range gone {
		require.Equal(t, 1, released[k], "%s recorded exactly once", k)
	}
	require.Equal(t, 2, runs, "the interrupted run's summary at recovery, then the new run's")
	require.Contains(t, string(b), "recovered after an interrupted run: the assignment is gone")
	inflight, err := os.ReadFile(filepath.Join(state, "cloud-inflight.jsonl"))
	require.NoError(t, err)
	require.Empty(t, inflight)
}
