package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

func TestMain(m *testing.M) {
	if os.Getenv("RELEASE_RUN_MAIN") == "1" {
		main()
		return
	}
	code := m.Run()
	testkit.RemoveSharedCerts()
	os.Exit(code)
}

func startEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	site := emulator.Generate(emulator.SiteSpec{Seed: 41, Users: 80, Now: testkit.Now})
	site.SetClock(time.Now) // the binary plans with the real clock
	return testkit.StartEmulator(t, site)
}

func writeSite(t *testing.T, srv *emulator.Server, releaseKeys string) (path, state string) {
	t.Helper()
	state = t.TempDir()
	conf := srv.PluginConfig("production", fmt.Sprintf(`  [inputs.qliksense_license.release]
    state_dir = %q
%s
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.protect]
      users = ['INTERNAL\sa_api']`, state, releaseKeys))
	path = filepath.Join(t.TempDir(), "site.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	return path, state
}

func TestCommandLine(t *testing.T) {
	var out, errOut bytes.Buffer
	ctx := t.Context()
	require.Equal(t, 0, run(ctx, []string{"version"}, &out, &errOut))
	require.Equal(t, "qliksense-license-release dev\n", out.String())
	require.Equal(t, 2, run(ctx, nil, &out, &errOut))
	require.Contains(t, errOut.String(), "usage: qliksense-license-release COMMAND")
	errOut.Reset()
	require.Equal(t, 2, run(ctx, []string{"purge", "-config", "x"}, &out, &errOut))
	require.Contains(t, errOut.String(), `unknown command "purge"`)
	errOut.Reset()
	require.Equal(t, 2, run(ctx, []string{"plan"}, &out, &errOut))
	require.Equal(t, "-config is required: the site's configuration file\n", errOut.String())
	errOut.Reset()
	require.Equal(t, 2, run(ctx, []string{"plan", "-config", "x", "-format", "xml"}, &out, &errOut))
	require.Equal(t, "-format \"xml\": expected table, json or csv\n", errOut.String())
}

func TestBadConfigurationsAreRejectedWithTheKey(t *testing.T) {
	srv := startEmulator(t)
	for _, tc := range []struct{ keys, want string }{
		{`schedule = "every day"`, `release.schedule = \"every day\": expected a cron expression such as \"0 3 * * *\" or \"@every 24h\"`},
		{`time_zone = "Mars/Olympus"`, `release.time_zone = \"Mars/Olympus\": expected an IANA time zone`},
		{`concurrency = 50`, `release.concurrency = 50: expected 1 to 16`},
		{`recheck_max_age = "1h"`, `release.recheck_max_age = \"1h0m0s\": expected a duration from 1s to 10m`},
		{`pacing = "2h"`, `release.pacing = \"2h0m0s\": expected a duration from 0s to 1h`},
		{`max_releases_per_run = 0`, `release.max_releases_per_run = 0: expected 1 to 100000`},
		{"[inputs.qliksense_license.release.output]\n      url = \"influx:8086\"", `release.output.url = \"influx:8086\": expected http(s)://HOST:PORT`},
		{"[inputs.qliksense_license.release.output]\n      url = \"http://influx:8086\"", `release.output.bucket is required with release.output.url`},
		{`dryrun = false`, `unknown setting(s) inputs.qliksense_license.release.dryrun`},
	} {
		path, _ := writeSite(t, srv, tc.keys)
		var out, errOut bytes.Buffer
		require.Equal(t, 1, run(t.Context(), []string{"check-config", "-config", path}, &out, &errOut), tc.keys)
		require.Contains(t, errOut.String(), tc.want, tc.keys)
	}
}

func TestCheckConfigPrintsTheEffectivePolicy(t *testing.T) {
	srv := startEmulator(t)
	path, state := writeSite(t, srv, "schedule = \"0 3 * * *\"\n    time_zone = \"Europe/Stockholm\"\n"+
		"    [inputs.qliksense_license.release.output]\n      url = \"http://127.0.0.1:8086\"\n      token = \"s3cret\"\n      bucket = \"q/autogen\"")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"check-config", "-config", path}, &out, &errOut), errOut.String())
	for _, want := range []string{
		"site production (" + path + ")",
		"dry_run: yes",
		"max_releases_per_run: 50",
		"professional: released after 30 days without use",
		"analyzer: not released",
		`protected users: INTERNAL\sa_api`,
		"schedule: 0 3 * * * in Europe/Stockholm, next run ",
		"lock: " + filepath.Join(state, "production.lock"),
		`output: http://127.0.0.1:8086, org "", bucket "q/autogen", token set`,
		"rightsize: authoring in the last 90 days; plugin measurement no; move to analyzer: off",
	} {
		require.Contains(t, out.String(), want)
	}
	require.NotContains(t, out.String(), "s3cret")
}

func TestPlanAndOnce(t *testing.T) {
	srv := startEmulator(t)
	path, state := writeSite(t, srv, "dry_run = false\n    max_releases_per_run = 3")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"plan", "-config", path, "-format", "json"}, &out, &errOut), errOut.String())
	var plan struct {
		Items []struct {
			Verdict      string `json:"verdict"`
			AllocationID string `json:"allocation_id"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &plan))
	var planned []string
	for _, it := range plan.Items {
		if it.Verdict == "release" {
			planned = append(planned, it.AllocationID)
		}
	}
	require.Len(t, planned, 3)
	require.Zero(t, srv.Log.Count("DELETE", ""), "plan changes nothing")

	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"once", "-config", path}, &out, &errOut), errOut.String())
	require.Equal(t, 3, srv.Log.Count("DELETE", ""))
	for _, id := range planned {
		a, ok := srv.Site.Allocation(emulator.KindProfessional, id)
		require.True(t, !ok || a.Quarantined)
	}
	audit, err := os.ReadFile(filepath.Join(state, "production-audit.jsonl"))
	require.NoError(t, err)
	require.Equal(t, 4, strings.Count(string(audit), "\n"))
	require.Contains(t, errOut.String(), `msg="run finished" site=production`)
}

// The service: runs at start, keeps its configuration when a reload is bad, and stops
// cleanly on SIGTERM.
func TestRunServiceSignals(t *testing.T) {
	srv := startEmulator(t)
	path, state := writeSite(t, srv, "run_at_start = true\n    schedule = \"@every 1h\"")
	stderr := &testkit.SyncBuffer{}
	cmd := exec.CommandContext(context.Background(), os.Args[0], "run", "-config", path)
	cmd.Env = append(os.Environ(), "RELEASE_RUN_MAIN=1")
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitFor(t, stderr, `msg="next run"`)
	_, err := os.Stat(filepath.Join(state, "production-audit.jsonl"))
	require.NoError(t, err, "the run at start wrote its audit")

	require.NoError(t, os.WriteFile(path, []byte("[[inputs.qliksense_license]]\nbroken = true\n"), 0o600))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, stderr, "reload failed: keeping the running configuration")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
	require.Contains(t, stderr.String(), "stopping: finishing the releases in flight")
}

func waitFor(t *testing.T, b *testkit.SyncBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(b.String(), text) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%q not logged; log:\n%s", text, b.String())
}

func TestConvertButlerConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"convert-butler-config", "../../release/butler/testdata/butler.yaml"}, &out, &errOut), errOut.String())
	want, err := os.ReadFile("../../release/butler/testdata/butler.golden.conf")
	require.NoError(t, err)
	require.Equal(t, string(want), out.String())
	require.Equal(t, 2, run(t.Context(), []string{"convert-butler-config"}, &out, &errOut))
	require.Equal(t, 1, run(t.Context(), []string{"convert-butler-config", "/nonexistent.yaml"}, &out, &errOut))
}

func TestServiceCommandsOutsideWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the real service manager")
	}
	var out, errOut bytes.Buffer
	require.Equal(t, 2, run(t.Context(), []string{"install", "-config", "x.conf"}, &out, &errOut))
	require.Equal(t, "install: Windows services only; on Linux use the systemd unit in packaging/systemd\n", errOut.String())
}

func TestLogFile(t *testing.T) {
	srv := startEmulator(t)
	path, _ := writeSite(t, srv, "")
	logFile := filepath.Join(t.TempDir(), "logs", "release.log")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"once", "-config", path, "-log-file", logFile}, &out, &errOut), errOut.String())
	b, err := os.ReadFile(logFile)
	require.NoError(t, err)
	require.Contains(t, string(b), `msg="run finished"`)
	require.Empty(t, errOut.String())
}

// check-config -connect: the connection doctor for each site, its InfluxDB output
// included; exit status 0 only when everything the configuration needs works.
func TestCheckConfigConnect(t *testing.T) {
	srv := startEmulator(t)
	writes := &testkit.InfluxWrites{}
	influx := httptest.NewServer(writes)
	defer influx.Close()
	path, _ := writeSite(t, srv, "dry_run = false\n    [inputs.qliksense_license.release.output]\n      url = \""+influx.URL+"\"\n      bucket = \"q/autogen\"")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"check-config", "-connect", "-config", path}, &out, &errOut), out.String()+errOut.String())
	for _, want := range []string{"ok    configuration", "ok    TLS", "ok    QRS", "ok    license", "delete professional: yes", "ok    InfluxDB output"} {
		require.Contains(t, out.String(), want)
	}
	require.Len(t, writes.Lines(), 1)
	require.True(t, strings.HasPrefix(writes.Lines()[0], "qlik_sense_license_doctor,site=production ok=true "), writes.Lines()[0])

	influx.Close() // InfluxDB down
	out.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"check-config", "-connect", "-config", path}, &out, &errOut))
	require.Contains(t, out.String(), "FAIL  InfluxDB output")
	require.Contains(t, out.String(), "fix: is InfluxDB (or Telegraf's influxdb_v2_listener) running at release.output.url")

	// The site refuses deletes, which this live policy needs.
	srv.Site.SetRights(`INTERNAL\sa_repository`, []string{"read"})
	out.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"check-config", "-connect", "-config", path}, &out, &errOut))
	require.Contains(t, out.String(), "FAIL  rights")
}

// Notices from the command line: check-config shows them (never the password), the
// connection doctor reaches the SMTP server, the plan shows the stage and once sends
// exactly the plan's notices and releases nothing.
func TestNoticesFromTheCommandLine(t *testing.T) {
	srv := startEmulator(t)
	smtp := testkit.StartSMTP(t)
	path, state := writeSite(t, srv, "dry_run = false\n"+smtp.MailTable())
	conf, err := os.ReadFile(path)
	require.NoError(t, err)
	withNotice := strings.Replace(string(conf), "inactive_days = 30\n", "inactive_days = 30\n      notice_days = 7\n", 1)
	require.NoError(t, os.WriteFile(path, []byte(withNotice), 0o600))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"check-config", "-connect", "-config", path}, &out, &errOut), out.String()+errOut.String())
	require.Contains(t, out.String(), "notices: professional 7 days; users without an email address: kept; state: "+filepath.Join(state, "production-notices.json"))
	require.Contains(t, out.String(), fmt.Sprintf("mail: 127.0.0.1:%d, tls starttls, user qlik-notices, password set", smtp.Port))
	require.Regexp(t, fmt.Sprintf(`ok +SMTP server +127.0.0.1:%d: connected over TLS \(starttls\), authenticated as qlik-notices; no message sent`, smtp.Port), out.String())
	require.NotContains(t, out.String()+errOut.String(), smtp.Password)
	require.Empty(t, smtp.Messages())

	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"plan", "-config", path, "-format", "json"}, &out, &errOut), errOut.String())
	var plan struct {
		Items []struct {
			Verdict        string     `json:"verdict"`
			Email          string     `json:"email"`
			ReleasableFrom *time.Time `json:"releasable_from"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &plan))
	var want []string
	for _, it := range plan.Items {
		require.NotEqual(t, "release", it.Verdict, "nothing is released before its notice")
		if it.Verdict == "notice" {
			want = append(want, it.Email)
			require.NotNil(t, it.ReleasableFrom)
			require.WithinDuration(t, time.Now().Add(7*24*time.Hour), *it.ReleasableFrom, time.Minute+time.Second)
		}
	}
	require.NotEmpty(t, want)

	require.Equal(t, 0, run(t.Context(), []string{"once", "-config", path}, &out, &errOut), errOut.String())
	var got []string
	for _, m := range smtp.Messages() {
		got = append(got, m.To...)
	}
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got)
	require.Zero(t, srv.Log.Count("DELETE", ""))
	require.Contains(t, errOut.String(), fmt.Sprintf("noticed=%d", len(want)))

	// A wrong password: the doctor says so and shows no password.
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(withNotice, smtp.Password, "wrong-pass", 1)), 0o600))
	out.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"check-config", "-connect", "-config", path}, &out, &errOut))
	require.Contains(t, out.String(), "FAIL  SMTP server")
	require.NotContains(t, out.String(), "wrong-pass")
}

// rightsize: every professional holder with its verdict, in table, JSON or CSV; no release
// table needed; nothing changed.
func TestRightsizeCommand(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 42, Users: 120, Apps: 40, AppObjects: 600, Now: time.Now().UTC().Truncate(time.Second)})
	site.SetClock(time.Now) // the binary evaluates with the real clock
	srv := testkit.StartEmulator(t, site)
	path := filepath.Join(t.TempDir(), "site.conf")
	require.NoError(t, os.WriteFile(path, []byte(srv.PluginConfig("production", "")), 0o600))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"rightsize", "-config", path, "-format", "json"}, &out, &errOut), errOut.String())
	var rep struct {
		LookbackDays int `json:"lookback_days"`
		Holders      []struct {
			Verdict string   `json:"verdict"`
			Roles   []string `json:"roles"`
			Detail  string   `json:"detail"`
		} `json:"holders"`
		Totals map[string]int `json:"totals"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Equal(t, 90, rep.LookbackDays)
	require.Len(t, rep.Holders, rep.Totals["professional_holders"])
	n := map[string]int{}
	for _, h := range rep.Holders {
		n[h.Verdict]++
		require.NotEmpty(t, h.Detail)
	}
	require.Equal(t, rep.Totals["analyzer_candidates"], n["analyzer_candidate"])
	require.Equal(t, rep.Totals["kept_admin_role"], n["admin_role"])
	require.Zero(t, srv.Log.Count("DELETE", "")+srv.Log.Count("POST", ""), "rightsize changes nothing")

	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"rightsize", "-config", path}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "VERDICT             USER")
	require.Positive(t, rep.Totals["analyzer_candidates"])
	require.Regexp(t, `professional holders \d+; analyzer candidates \d+; kept: protected 0, user_unknown 0, idle \d+, admin_role \d+, authored_app \d+, authored_sheet \d+ \(4 QRS requests\)`, out.String())
	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"rightsize", "-config", path, "-format", "csv"}, &out, &errOut), errOut.String())
	require.True(t, strings.HasPrefix(out.String(), "verdict,allocation_id,user_directory,user_id,last_used,last_authored"))
	require.Equal(t, 2, run(t.Context(), []string{"rightsize", "-config", path, "-format", "xml"}, &out, &errOut))
}

// With live right-sizing moves, the doctor requires what they need: create on analyzer
// access (and delete on professional and analyzer allocations); a user that may read and
// delete but not create fails with the right named.
func TestCheckConfigConnectNeedsTheRightsOfMoves(t *testing.T) {
	srv := startEmulator(t)
	path, _ := writeSite(t, srv, "dry_run = false\n  [inputs.qliksense_license.rightsize]\n    move_to_analyzer = true\n    dry_run = false")
	srv.Site.SetRights(`INTERNAL\sa_repository`, []string{"read", "update", "delete"})
	var out, errOut bytes.Buffer
	require.Equal(t, 1, run(t.Context(), []string{"check-config", "-connect", "-config", path}, &out, &errOut), out.String()+errOut.String())
	require.Contains(t, out.String(), "FAIL  rights")
	require.Contains(t, out.String(), "delete professional: yes; delete analyzer: yes; create analyzer: NO")
	require.Contains(t, out.String(), "fix: the configured actions (releases, right-sizing moves) need the acting user to create analyzer allocations")

	// The same rights suffice once moves are a dry run.
	path, _ = writeSite(t, srv, "dry_run = false\n  [inputs.qliksense_license.rightsize]\n    move_to_analyzer = true")
	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"check-config", "-connect", "-config", path}, &out, &errOut), out.String()+errOut.String())
	require.NotContains(t, out.String(), "create analyzer")
}

// forecast: the site's history from InfluxDB (here its /query, 90 days growing 2 a day to
// a pool of 600) and the release policy's reclaimable allocations, as a table, JSON or CSV.
func TestForecastCommand(t *testing.T) {
	srv := startEmulator(t)
	influx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var values [][]any
		today := time.Now().UTC().Truncate(24 * time.Hour)
		for d := range 90 {
			values = append(values, []any{today.AddDate(0, 0, d-89).Unix(), 300 + 2*d, 600})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{map[string]any{"series": []any{map[string]any{
			"tags": map[string]string{"license_type": "professional"}, "columns": []string{"time", "held", "pool"}, "values": values}}}}})
	}))
	defer influx.Close()
	path, _ := writeSite(t, srv, "  [inputs.qliksense_license.forecast]\n    url = \""+influx.URL+"\"\n    database = \"qliksense\"\n    lead_time_days = 45")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"forecast", "-config", path}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "Forecast for site production on "+time.Now().UTC().Format(time.DateOnly)+" (margin 10 %, purchase lead time 45 days, horizon 365 days)")
	require.Regexp(t, `professional  600 +478 +122 +\+2\.00 \(\+2\.00 … \+2\.00\)\s+rising\s+\S+ \(61 d\)\s+\S+ \(31 d\)\s+\S+ \(-14 d\)\s+743\s+\d+`, out.String())

	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"forecast", "-config", path, "-format", "json"}, &out, &errOut), errOut.String())
	var rep []struct {
		LicenseType string         `json:"license_type"`
		Fields      map[string]any `json:"fields"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Len(t, rep, 1)
	require.Equal(t, "professional", rep[0].LicenseType)
	require.InDelta(t, -14.0, rep[0].Fields["buy_by_days"], 1e-9, "(540 − 478) / 2 − 45")
	require.InDelta(t, 743.0, rep[0].Fields["seats_to_buy"], 1e-9, "⌈(478 + 2 × 365) / 0.9⌉ − 600")

	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"forecast", "-config", path, "-format", "csv"}, &out, &errOut), errOut.String())
	require.True(t, strings.HasPrefix(out.String(), "site,license_type,status,history_days,pool,held_now"))

	// Without a history to read: a clear error.
	path, _ = writeSite(t, srv, "")
	errOut.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"forecast", "-config", path}, &out, &errOut))
	require.Contains(t, errOut.String(), "no [inputs.qliksense_license.forecast] table: it says where the history is (url, database)")
}
