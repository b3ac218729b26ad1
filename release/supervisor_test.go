package release_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/testkit"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// supervised is a supervisor over one site file, with its log and the summaries of its
// runs as they finish.
type supervised struct {
	sup      *release.Supervisor
	path     string
	state    string
	audit    string
	inflight string
	logs     *testkit.SyncBuffer
	runs     chan audit.Summary
	done     chan error
}

func startSupervisor(t *testing.T, srv *emulator.Server, releaseTable string) *supervised {
	t.Helper()
	return startSupervisorWith(t, srv, releaseTable, nil)
}

// startSupervisorWith is startSupervisor with the supervisor's settings changed first.
func startSupervisorWith(t *testing.T, srv *emulator.Server, releaseTable string, set func(*release.Supervisor)) *supervised {
	t.Helper()
	state := t.TempDir()
	return superviseFile(t, siteConfig(t, srv, state, releaseTable), state, set)
}

// superviseFile starts a supervisor over the site file at path (a site's or a tenant's)
// whose state_dir is state, with the supervisor's settings changed by set first.
func superviseFile(t *testing.T, path, state string, set func(*release.Supervisor)) *supervised {
	t.Helper()
	s := &supervised{path: path, state: state, logs: &testkit.SyncBuffer{}, runs: make(chan audit.Summary, 16), done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(s.logs, nil))
	start := time.Now()
	s.sup = &release.Supervisor{
		Load:   func() ([]*release.Site, error) { return release.LoadSites([]string{s.path}, log) },
		Log:    log,
		Stdout: &bytes.Buffer{},
		// The tests' date, running as the wall clock does: a schedule waits for the
		// supervisor's clock to reach its time.
		Now: func() time.Time { return testkit.Now.Add(time.Since(start)) },
		Ran: func(_ string, sum audit.Summary, err error) {
			if err == nil {
				s.runs <- sum
			}
		},
	}
	if set != nil {
		set(s.sup)
	}
	sites, err := s.sup.Load()
	require.NoError(t, err)
	s.audit, s.inflight = sites[0].Settings.AuditLog, sites[0].Settings.InflightFile()
	go func() { s.done <- s.sup.Serve(t.Context(), sites) }()
	return s
}

func (s *supervised) nextRun(t *testing.T) audit.Summary {
	t.Helper()
	select {
	case sum := <-s.runs:
		return sum
	case <-time.After(30 * time.Second):
		t.Fatalf("no run finished; log:\n%s", s.logs.String())
	}
	return audit.Summary{}
}

func (s *supervised) stopAndWait(t *testing.T) {
	t.Helper()
	s.sup.Stop()
	select {
	case err := <-s.done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("Serve did not return after Stop; log:\n%s", s.logs.String())
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out waiting for %s", what)
		time.Sleep(5 * time.Millisecond)
	}
}

type auditRecord struct {
	Kind    string        `json:"kind"`
	Outcome audit.Outcome `json:"outcome"`
	Run     audit.Summary `json:"run"`
	Reload  struct {
		Success bool   `json:"success"`
		Error   string `json:"error"`
	} `json:"reload"`
}

func readAudit(t *testing.T, path string) []auditRecord {
	t.Helper()
	var out []auditRecord
	for _, l := range auditLines(t, path) {
		var r auditRecord
		require.NoError(t, json.Unmarshal([]byte(l), &r), l)
		out = append(out, r)
	}
	return out
}

// Stop while a DELETE is on the wire (QRS carries it out and answers 1 s later): that
// DELETE finishes and is read back, its outcome is what QRS did, no other DELETE starts,
// the rest is deferred, nothing stays open, and no goroutine is left behind.
func TestSupervisorStopFinishesTheDeleteInFlight(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	site := emulator.Generate(emulator.SiteSpec{Seed: 71, Users: 200, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	srv.Faults.Configure(emulator.FaultConfig{AnswerLatency: time.Second, Method: http.MethodDelete})
	s := startSupervisor(t, srv, withKeys("max_releases_per_run = 5", "run_at_start = true", `schedule = "@every 1h"`))

	waitUntil(t, "the first DELETE", func() bool { return srv.Log.Arrived(http.MethodDelete, "") == 1 })
	s.stopAndWait(t)

	require.Equal(t, 1, srv.Log.Arrived(http.MethodDelete, ""), "no DELETE after the stop")
	recs := readAudit(t, s.audit)
	var outcomes []audit.Outcome
	var runs []audit.Summary
	for _, r := range recs {
		switch r.Kind {
		case "outcome":
			outcomes = append(outcomes, r.Outcome)
		case "run":
			runs = append(runs, r.Run)
		}
	}
	require.Len(t, outcomes, 1)
	o := outcomes[0]
	a, present := srv.Site.Allocation(emulator.Kind(o.Type), o.AllocationID)
	switch o.Result {
	case audit.Released:
		require.False(t, present, "released means gone from QRS")
	case audit.Quarantined:
		require.True(t, present && a.Quarantined)
	default:
		t.Fatalf("outcome %q (%s): the DELETE in flight was cut", o.Result, o.Detail)
	}
	require.Len(t, runs, 1)
	require.True(t, runs[0].Interrupted)
	require.Equal(t, 4+runs[0].Candidates-5, runs[0].Deferred, "the four releases not started are deferred")
	require.Zero(t, runs[0].Unsettled)
	inflight, err := os.ReadFile(s.inflight)
	require.NoError(t, err)
	require.Empty(t, inflight)
	require.Contains(t, s.logs.String(), "stopping: finishing the releases in flight")
}

// A good reload during a run: the run finishes under the configuration it started with,
// the next run uses the new one. A bad reload keeps the running configuration, says why
// and is recorded for alerting; the supervisor keeps running.
func TestSupervisorReloadAtTheNextRunBoundary(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	site := emulator.Generate(emulator.SiteSpec{Seed: 72, Users: 200, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	srv.Faults.Configure(emulator.FaultConfig{Latency: 300 * time.Millisecond, Method: http.MethodDelete})
	s := startSupervisor(t, srv, withKeys("max_releases_per_run = 3", "run_at_start = true", `schedule = "@every 1s"`))

	waitUntil(t, "the first DELETE", func() bool { return srv.Log.Arrived(http.MethodDelete, "") == 1 })
	conf, err := os.ReadFile(s.path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(s.path, []byte(strings.Replace(string(conf), "dry_run = false", "dry_run = true", 1)), 0o600))
	s.sup.Reload()

	first := s.nextRun(t)
	require.False(t, first.DryRun, "the run in progress keeps its configuration")
	require.Equal(t, 3, first.Released+first.Quarantined)
	second := s.nextRun(t)
	require.True(t, second.DryRun, "the next run takes the new one")
	require.Equal(t, 3, second.WouldRelease)

	require.NoError(t, os.WriteFile(s.path, []byte("[[inputs.qliksense_license]]\nbroken = true\n"), 0o600))
	s.sup.Reload()
	waitUntil(t, "the failed reload", func() bool {
		return strings.Contains(s.logs.String(), "reload failed: keeping the running configuration")
	})
	third := s.nextRun(t)
	require.True(t, third.DryRun, "still the last good configuration")
	s.stopAndWait(t)

	var reloads []bool
	var lastErr string
	for _, r := range readAudit(t, s.audit) {
		if r.Kind == "reload" {
			reloads = append(reloads, r.Reload.Success)
			lastErr = r.Reload.Error
		}
	}
	require.Equal(t, []bool{true, false}, reloads)
	require.Contains(t, lastErr, "broken", "the failed reload names the key")
	require.Equal(t, 3, srv.Log.Count(http.MethodDelete, ""), "only the first run deleted")
}

// A new start after a stop runs again: nothing is left locked.
func TestSupervisorStopWhileIdle(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	srv := testkit.StartEmulator(t, smallSite())
	s := startSupervisor(t, srv, withKeys(`schedule = "@every 1h"`))
	waitUntil(t, "the schedule", func() bool { return strings.Contains(s.logs.String(), `msg="next run"`) })
	s.stopAndWait(t)
	require.Zero(t, srv.Log.Count(http.MethodDelete, ""))

	s2 := startSupervisor(t, srv, withKeys("run_at_start = true", `schedule = "@every 1h"`))
	require.Positive(t, s2.nextRun(t).Released)
	s2.stopAndWait(t)
}

// A DELETE whose answer is lost and whose read-back fails has an unknown effect: no
// outcome is recorded, the run counts it as unsettled, its intent stays open, and the
// next run's recovery records what QRS did — once — with summaries that add up.
func TestUnknownOutcomeStaysOpenUntilARead(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 73, Users: 100, Now: testkit.Now})
	e := newEnv(t, site, withKeys("max_releases_per_run = 1"))
	e.srv.Faults.Inject(emulator.FaultLoseAnswer, http.MethodDelete, "", 1)
	e.srv.Faults.OnArrive(func(method, path string) {
		if method == http.MethodDelete { // both reads of this allocation fail, retries included
			e.srv.Faults.Inject(emulator.FaultServerError, http.MethodGet, path[strings.LastIndex(path, "/")+1:], 8)
		}
	})
	sum, err := e.runner.Once(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, 1, sum.Unsettled)
	require.Zero(t, sum.Released+sum.Quarantined+sum.Failed+sum.Skipped)
	require.Equal(t, 1, e.srv.Log.Count(http.MethodDelete, ""))
	inflight, err := os.ReadFile(e.site.Settings.InflightFile())
	require.NoError(t, err)
	require.Contains(t, string(inflight), `"intent"`, "the intent stays open")
	require.Contains(t, string(inflight), `"summarized"`)
	for _, r := range readAudit(t, e.audit) {
		require.NotEqual(t, "outcome", r.Kind, "nothing recorded while the effect is unknown")
	}

	e.srv.Faults.OnArrive(nil)
	e.srv.Log.Reset()
	require.NoError(t, e.runner.Recover(t.Context()))
	_, lists, _, byID := requestsOf(e.srv.Log.Entries())
	require.Equal(t, []int{1, 0}, []int{lists, byID}, "open intents are read back in one filtered request")
	recs := readAudit(t, e.audit)
	var outcomes []audit.Outcome
	totals := map[string]int{}
	for _, r := range recs {
		switch r.Kind {
		case "outcome":
			outcomes = append(outcomes, r.Outcome)
		case "run":
			totals[r.Run.RunID] += r.Run.Released + r.Run.Quarantined + r.Run.Failed + r.Run.Skipped
		}
	}
	require.Len(t, outcomes, 1)
	require.Equal(t, audit.Released, outcomes[0].Result, "QRS carried the DELETE out")
	require.Equal(t, sum.RunID, outcomes[0].RunID, "the outcome belongs to the run that sent the DELETE")
	_, present := site.Allocation(emulator.Kind(outcomes[0].Type), outcomes[0].AllocationID)
	require.False(t, present)
	require.Equal(t, map[string]int{sum.RunID: 1}, totals, "the run's summaries add up to its outcomes")
	last := recs[len(recs)-1]
	require.True(t, last.Run.Recovery)
	require.False(t, last.Run.Interrupted, "the run was summarized, not killed")
	inflight, err = os.ReadFile(e.site.Settings.InflightFile())
	require.NoError(t, err)
	require.Empty(t, inflight)

	// Settled once: a later recovery records nothing more.
	require.NoError(t, e.runner.Recover(t.Context()))
	require.Len(t, readAudit(t, e.audit), len(recs))
}

// A refused reload reaches InfluxDB as a qlik_sense_license_release_reload point with
// success = false (what an alert rule watches); the stop's one delivery attempt sends it.
func TestReloadStatusReachesInfluxDB(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	fi := &testkit.InfluxWrites{}
	ts := httptest.NewServer(fi)
	t.Cleanup(ts.Close)
	srv := testkit.StartEmulator(t, smallSite())
	s := startSupervisor(t, srv, withKeys(`schedule = "@every 1h"`)+outputKeys(ts.URL))
	waitUntil(t, "the schedule", func() bool { return strings.Contains(s.logs.String(), `msg="next run"`) })
	require.NoError(t, os.WriteFile(s.path, []byte("[[inputs.qliksense_license]]\nbroken = true\n"), 0o600))
	s.sup.Reload()
	waitUntil(t, "the failed reload", func() bool {
		return strings.Contains(s.logs.String(), "reload failed: keeping the running configuration")
	})
	s.stopAndWait(t)

	ms := influxMetrics(t, fi)
	require.Len(t, ms, 1)
	m := ms[0]
	require.Equal(t, audit.MeasurementReload, m.Name())
	require.Equal(t, map[string]string{"site": "production", "env": "test"}, m.Tags())
	require.Equal(t, false, m.Fields()["success"])
	require.Contains(t, m.Fields()["error"], "unknown setting(s) inputs.qliksense_license.broken")
	require.NotContains(t, m.Fields()["error"], "s3cret")
}

// Deliveries between runs do not move the schedule: an @every schedule longer than the
// delivery interval still runs (it was pushed back at every delivery, for ever): a run
// set anew at each delivery would be a second away at every delivery, and never due.
func TestEveryScheduleRunsDespiteDeliveries(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 66, Users: 50, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	s := startSupervisorWith(t, srv, withKeys("max_releases_per_run = 1", `schedule = "@every 1s"`), func(sup *release.Supervisor) {
		sup.DeliverEvery = 50 * time.Millisecond
	})
	s.nextRun(t)
	s.stopAndWait(t)
	logs := s.logs.String()
	require.LessOrEqual(t, strings.Count(logs, `msg="next run"`), strings.Count(logs, "trigger=schedule")+1,
		"the next run is set once per run, not at each delivery")
}

// After a suspend the wall clock has jumped ahead while the monotonic clock, which timers
// count on, stood still: the scheduled run fires within the wall-clock check's bound, not
// the schedule's whole wait later. The supervisor's clock is a fake one that only the test
// moves; the run is hours away on it, so a single timer would not fire within the test.
func TestScheduleFollowsTheWallClockAfterASuspend(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	site := emulator.Generate(emulator.SiteSpec{Seed: 67, Users: 50, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	var clock atomic.Pointer[time.Time]
	now := testkit.Now // 10:00 UTC
	clock.Store(&now)
	s := startSupervisorWith(t, srv, withKeys("max_releases_per_run = 1", `schedule = "0 15 * * *"`, `time_zone = "UTC"`), func(sup *release.Supervisor) {
		sup.Now = func() time.Time { return *clock.Load() }
		sup.WallCheck = 20 * time.Millisecond
		sup.DeliverEvery = 10 * time.Millisecond
	})
	waitUntil(t, "the schedule", func() bool { return strings.Contains(s.logs.String(), "at=2026-05-04T15:00:00Z") })
	time.Sleep(100 * time.Millisecond) // several wall-clock checks and deliveries, none due
	select {
	case <-s.runs:
		t.Fatal("a run before its time")
	default:
	}

	resumed := testkit.Now.Add(5*time.Hour + time.Second) // the machine wakes at 15:00:01
	clock.Store(&resumed)
	s.nextRun(t)
	waitUntil(t, "the following run", func() bool { return strings.Contains(s.logs.String(), "at=2026-05-05T15:00:00Z") })
	s.stopAndWait(t)
	logs := s.logs.String()
	require.Equal(t, 1, strings.Count(logs, "trigger=schedule"), logs)
	require.Equal(t, 2, strings.Count(logs, `msg="next run"`), "wall-clock checks do not set the schedule again")
}

// A password in any configurable URL (QRS, the history's and the outcomes' InfluxDB, the
// SMTP host) is refused at reload without reaching the log, the audit log or the reload
// point in InfluxDB, which all carry the reload's error.
func TestReloadKeepsPasswordsInURLsSecret(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	fi := &testkit.InfluxWrites{}
	ts := httptest.NewServer(fi)
	t.Cleanup(ts.Close)
	srv := testkit.StartEmulator(t, smallSite())
	s := startSupervisor(t, srv, withKeys(`schedule = "@every 1h"`)+outputKeys(ts.URL))
	waitUntil(t, "the schedule", func() bool { return strings.Contains(s.logs.String(), `msg="next run"`) })
	b, err := os.ReadFile(s.path)
	require.NoError(t, err)
	good := string(b)
	host := strings.TrimPrefix(ts.URL, "http://")
	bad := map[string]string{
		"server":             strings.Replace(good, `server = "https://`, `server = "https://qrsadmin:pa55-qrs@`, 1),
		"forecast.url":       good + "\n  [inputs.qliksense_license.forecast]\n    enabled = true\n    url = \"http://reader:pa55-history@" + host + "\"\n    database = \"q\"\n",
		"release.output.url": strings.Replace(good, `url = "`+ts.URL, `url = "http://writer:pa55-output@`+host, 1),
		"release.mail.host": good + "\n    [inputs.qliksense_license.release.notice]\n      digest_to = [\"a@example.com\"]\n" +
			"    [inputs.qliksense_license.release.mail]\n      host = \"mailer:pa55-smtp@smtp.example.com\"\n      from = \"q@example.com\"\n",
	}
	keys := []string{"server", "forecast.url", "release.output.url", "release.mail.host"}
	for i, key := range keys {
		require.NotEqual(t, good, bad[key], key)
		require.NoError(t, os.WriteFile(s.path, []byte(bad[key]), 0o600))
		s.sup.Reload()
		waitUntil(t, "the failed reload of "+key, func() bool {
			return strings.Count(s.logs.String(), "reload failed: keeping the running configuration") == i+1
		})
	}
	s.stopAndWait(t)

	var errs []string
	for _, r := range readAudit(t, s.audit) {
		if r.Kind == "reload" {
			require.False(t, r.Reload.Success)
			errs = append(errs, r.Reload.Error)
		}
	}
	require.Len(t, errs, len(keys))
	for i, key := range keys {
		require.Contains(t, errs[i], key+" = ", "the error names the key")
	}
	ms := influxMetrics(t, fi)
	require.Len(t, ms, len(keys))
	require.Contains(t, fmt.Sprint(ms), "release.mail.host = ", "the points carry the errors")
	audited, err := os.ReadFile(s.audit)
	require.NoError(t, err)
	for what, text := range map[string]string{"log": s.logs.String(), "audit log": string(audited), "metrics": fmt.Sprint(ms)} {
		require.NotContains(t, text, "pa55", what)
	}
}

// A wall clock set back (an NTP correction) while a run is awaited: the run waits for the
// wall clock to reach its time, as cron does; it does not fire when the wait first
// computed is over on the monotonic clock, an hour early by the wall clock (and then a
// second time at 15:00, the schedule's next time after 14:00).
func TestScheduleWaitsForTheWallClockSetBack(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	site := emulator.Generate(emulator.SiteSpec{Seed: 68, Users: 50, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	var clock atomic.Pointer[time.Time]
	set := func(hms string) {
		c, err := time.Parse(time.RFC3339Nano, "2026-05-04T"+hms+"Z")
		require.NoError(t, err)
		clock.Store(&c)
	}
	set("14:59:59.8") // the run is 200 ms away
	s := startSupervisorWith(t, srv, withKeys("max_releases_per_run = 1", `schedule = "0 15 * * *"`, `time_zone = "UTC"`), func(sup *release.Supervisor) {
		sup.Now = func() time.Time { return *clock.Load() }
		sup.WallCheck = 20 * time.Millisecond
	})
	waitUntil(t, "the schedule", func() bool { return strings.Contains(s.logs.String(), "at=2026-05-04T15:00:00Z") })
	set("13:59:59.8")                  // set back by an hour
	time.Sleep(400 * time.Millisecond) // the 200 ms are over on the monotonic clock, and several wall-clock checks
	select {
	case <-s.runs:
		t.Fatalf("a run an hour early by the wall clock; log:\n%s", s.logs.String())
	default:
	}

	set("15:00:00")
	s.nextRun(t)
	waitUntil(t, "the following run", func() bool { return strings.Contains(s.logs.String(), "at=2026-05-05T15:00:00Z") })
	s.stopAndWait(t)
	logs := s.logs.String()
	require.Equal(t, 1, strings.Count(logs, "trigger=schedule"), logs)
}

// A wall clock set back during a run (or just after it) does not run the same scheduled
// time twice: the next run is the schedule's next after the one that ran, not after the
// clock set back, which is 15:00 again.
func TestScheduleRunsATimeOnceWhenTheClockIsSetBack(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	site := emulator.Generate(emulator.SiteSpec{Seed: 69, Users: 50, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	var clock atomic.Pointer[time.Time]
	at := time.Date(2026, 5, 4, 15, 0, 0, 0, time.UTC)
	before := at.Add(-2 * time.Second)
	clock.Store(&before)
	s := startSupervisorWith(t, srv, withKeys("max_releases_per_run = 1", `schedule = "0 15 * * *"`, `time_zone = "UTC"`), func(sup *release.Supervisor) {
		sup.Now = func() time.Time { return *clock.Load() }
		sup.WallCheck = 20 * time.Millisecond
		ran := sup.Ran
		sup.Ran = func(site string, sum audit.Summary, err error) {
			clock.Store(&before) // the clock is set back by two seconds during the run
			ran(site, sum, err)
		}
	})
	waitUntil(t, "the schedule", func() bool { return strings.Contains(s.logs.String(), "at=2026-05-04T15:00:00Z") })
	clock.Store(&at)
	s.nextRun(t)
	waitUntil(t, "the following run set", func() bool { return strings.Count(s.logs.String(), `msg="next run"`) == 2 })
	s.stopAndWait(t)
	logs := s.logs.String()
	require.Equal(t, 1, strings.Count(logs, "at=2026-05-04T15:00:00Z"), logs)
	require.Contains(t, logs, "at=2026-05-05T15:00:00Z", "the next run is tomorrow's")
	require.Equal(t, 1, strings.Count(logs, "trigger=schedule"), logs)
}

// A wall clock corrected back by days (the machine's clock was ahead when the run was set,
// as after a start with a wrong hardware clock) sets the run again from the corrected
// time: the run is not left days away, at the time the wrong clock gave.
func TestScheduleIsSetAgainWhenTheClockIsCorrectedBack(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	site := emulator.Generate(emulator.SiteSpec{Seed: 70, Users: 50, Now: testkit.Now})
	srv := testkit.StartEmulator(t, site)
	var clock atomic.Pointer[time.Time]
	wrong := testkit.Now.AddDate(0, 0, 3) // 2026-05-07 10:00, three days ahead
	clock.Store(&wrong)
	s := startSupervisorWith(t, srv, withKeys("max_releases_per_run = 1", `schedule = "0 15 * * *"`, `time_zone = "UTC"`), func(sup *release.Supervisor) {
		sup.Now = func() time.Time { return *clock.Load() }
		sup.WallCheck = 20 * time.Millisecond
	})
	waitUntil(t, "the schedule", func() bool { return strings.Contains(s.logs.String(), "at=2026-05-07T15:00:00Z") })
	right := testkit.Now // corrected
	clock.Store(&right)
	waitUntil(t, "the run set again", func() bool { return strings.Contains(s.logs.String(), "at=2026-05-04T15:00:00Z") })
	at := time.Date(2026, 5, 4, 15, 0, 0, 0, time.UTC)
	clock.Store(&at)
	s.nextRun(t)
	waitUntil(t, "the following run", func() bool { return strings.Contains(s.logs.String(), "at=2026-05-05T15:00:00Z") })
	s.stopAndWait(t)
	require.Equal(t, 1, strings.Count(s.logs.String(), "trigger=schedule"))
}
