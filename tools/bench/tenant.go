package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/evaluate"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/source/cloudsource"
)

// tenantRow is one release run (release.Runner.Once, dry_run off) against a generated
// Qlik Cloud tenant: its requests by kind, the physical minimum, and its wall time.
type tenantRow struct {
	Run         string `json:"run"` // first (no uses file) or steady (the next day)
	Users       int    `json:"users"`
	Assignments int    `json:"assignments"`             // before the run
	Events      int    `json:"consumption_events_read"` // by the plan
	NewEvents   int    `json:"consumption_events_new"`  // of which newer than the previous run's
	Released    int    `json:"released"`
	Batches     int    `json:"batches"` // delete calls
	// Requests by kind, as the emulator logged them.
	AssignmentReads  int `json:"assignment_reads"`
	UserReads        int `json:"user_reads"`
	ConsumptionReads int `json:"consumption_reads"`
	OtherReads       int `json:"other_reads"` // overview, settings, user count
	DeleteCalls      int `json:"delete_calls"`
	Requests         int `json:"requests"`
	// Minimum: pages of 100 of what the run had to read (assignments; users, or the
	// holders' subjects in filtered batches of 50 when that is fewer; the consumption
	// events read), the settings read, and per batch of 50 releases 3 re-check reads and
	// one delete call.
	Minimum      int     `json:"minimum"`
	VsMinimum    float64 `json:"requests_vs_minimum"`
	Seconds      float64 `json:"seconds"`
	PacedSeconds float64 `json:"paced_floor_seconds"`
}

// tenantDayEvents and tenantNewInactive are what happens on the tenant between the first
// run and the next day's: a day's sessions and a few assignments inactive from the start.
const (
	tenantNewInactive = 12
	tenantPolicy      = `
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.analyzer]
      enabled = true
      inactive_days = 60
    [inputs.qliksense_license.release.protect]
      roles = ["TenantAdmin"]`
)

// measureTenant runs a first and a next-day release run against a generated tenant of n
// users. The emulator has no rate limits (so no 429s), and the client no pacing: the
// figures are the tool's, and paced_floor_seconds is what the default pacing (Tier 1 and
// 2, qcloud.DefaultReadsPerMinute and DefaultActionsPerMinute) would add at least.
func measureTenant(work string, n, releases int, now time.Time) ([]tenantRow, error) {
	tenant := qcloudemu.Generate(qcloudemu.Spec{Seed: 10, Users: n, Now: now})
	clock := now
	tenant.SetClock(func() time.Time { return clock })
	dir := filepath.Join(work, "tenant")
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant, CertDir: dir})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	state := filepath.Join(dir, "state")
	conf := filepath.Join(dir, "tenant.conf")
	table := fmt.Sprintf("  [inputs.qliksense_license.release]\n    dry_run = false\n    max_releases_per_run = %d\n    state_dir = %q\n%s",
		releases, state, tenantPolicy)
	if err := os.WriteFile(conf, []byte(srv.PluginConfig("bench-tenant", "emulator-api-key", table)), 0o600); err != nil {
		return nil, err
	}
	var rows []tenantRow
	for _, run := range []string{"first", "steady"} {
		if run == "steady" {
			clock = now.Add(24 * time.Hour)
			nextDay(tenant, now)
		}
		r, err := tenantRun(srv, conf, n, clock)
		if err != nil {
			return nil, fmt.Errorf("tenant %s run: %w", run, err)
		}
		r.Run = run
		rows = append(rows, r)
	}
	return rows, nil
}

// nextDay adds a day of sessions (a sixtieth of the generated 60 days' events, spread over
// the day after now) and tenantNewInactive assignments made 90 days ago and never used.
func nextDay(t *qcloudemu.Tenant, now time.Time) {
	users := t.Users()
	events := len(t.Events()) / 60
	for i := range events {
		u := users[(i*7919)%len(users)]
		end := now.Add(time.Duration(i+1) * 24 * time.Hour / time.Duration(events+1))
		t.AddEvent(qcloudemu.Event{ID: fmt.Sprintf("day-%d", i), UserID: u.ID, AppID: "app-1", SessionID: fmt.Sprintf("day-%d", i),
			AllotmentID: qcloudemu.Analyzer, LicenseUsage: "assignment", EndTime: end, Duration: 20 * time.Minute})
	}
	for i := range tenantNewInactive {
		t.AddAssignment(qcloudemu.Assignment{Type: qcloudemu.Analyzer, Subject: fmt.Sprintf("CORP\\new%04d", i), Created: now.AddDate(0, 0, -90)})
	}
}

// tenantRun loads the tenant table as the sidecar does, gives it an unpaced client, and
// times one Runner.Once.
func tenantRun(srv *qcloudemu.Server, conf string, n int, now time.Time) (tenantRow, error) {
	r := tenantRow{Users: n, Assignments: len(srv.Tenant.Assignments())}
	log := slog.New(slog.DiscardHandler)
	s, err := release.LoadSite(conf, log)
	if err != nil {
		return r, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	c, err := qcloud.New(qcloud.Config{Tenant: srv.URL, APIKey: "emulator-api-key", TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ReadsPerMinute: -1, ActionsPerMinute: -1})
	if err != nil {
		return r, err
	}
	s.Source.Close()
	s.Source = cloudsource.New(c, cloudsource.Options{UsesFile: s.Settings.UsesFile(), Fresh: s.Settings.RecheckMaxAge, Log: log})
	var book evaluate.UseBook // zero on a first run: every event read is new
	if b, err := os.ReadFile(s.Settings.UsesFile()); err == nil {
		if err := json.Unmarshal(b, &book); err != nil {
			return r, err
		}
	}
	seen := book.Watermark
	runner, err := release.NewRunner(s, log, io.Discard)
	if err != nil {
		return r, err
	}
	defer runner.Close()
	runner.Now = func() time.Time { return now }
	srv.Log.Reset()
	start := time.Now()
	sum, err := runner.Once(context.Background(), nil)
	r.Seconds = time.Since(start).Seconds()
	if err != nil {
		return r, err
	}
	if len(sum.Errors) > 0 {
		return r, fmt.Errorf("the run reported errors: %s", strings.Join(sum.Errors, "; "))
	}
	r.Released = sum.Released
	for _, e := range srv.Log.Entries() {
		switch {
		case e.Method == "POST" && strings.HasSuffix(e.Path, "/actions/delete"):
			r.DeleteCalls++
		case e.Path == "/api/v1/licenses/assignments":
			r.AssignmentReads++
		case e.Path == "/api/v1/users":
			r.UserReads++
		case e.Path == "/api/v1/licenses/consumption":
			r.ConsumptionReads++
		default:
			r.OtherReads++
		}
		r.Requests++
	}
	// The events the plan read (its consumption read starts at the first filter's time),
	// and the new ones among them: those after the uses file's watermark before the run.
	since, err := firstSince(srv.Log.Entries())
	if err != nil {
		return r, err
	}
	for _, e := range srv.Tenant.Events() {
		if !e.EndTime.Before(since) && !e.EndTime.After(now) {
			r.Events++
			if e.EndTime.After(seen) {
				r.NewEvents++
			}
		}
	}
	pages := func(n, per int) int { return max((n+per-1)/per, 1) }
	r.Batches = pages(r.Released, 50)
	if r.Released == 0 {
		r.Batches = 0
	}
	r.Minimum = 1 + pages(r.Assignments, qcloud.PageLimit) + min(pages(n, qcloud.PageLimit), pages(r.Assignments, qcloud.SubjectBatch)) +
		pages(r.NewEvents, qcloud.PageLimit) + 4*r.Batches
	r.VsMinimum = float64(r.Requests) / float64(r.Minimum)
	reads := r.Requests - r.DeleteCalls
	r.PacedSeconds = floor(reads, qcloud.DefaultReadsPerMinute) + floor(r.DeleteCalls, qcloud.DefaultActionsPerMinute)
	return r, nil
}

// firstSince is the time of the first consumption read's filter (endTime ge "…").
func firstSince(entries []qcloudemu.LoggedRequest) (time.Time, error) {
	for _, e := range entries {
		if e.Path != "/api/v1/licenses/consumption" {
			continue
		}
		q, err := url.ParseQuery(e.Query)
		if err != nil {
			return time.Time{}, err
		}
		_, v, ok := strings.Cut(q.Get("filter"), `"`)
		if !ok {
			break
		}
		return time.Parse(time.RFC3339, strings.TrimSuffix(v, `"`))
	}
	return time.Time{}, errors.New("no consumption read with an endTime filter in the run")
}

// floor is the least time n requests take under the client's pacer at perMinute: a
// sixth of a minute's requests go at once, the rest one per interval.
func floor(n, perMinute int) float64 {
	burst := max(perMinute/6, 1)
	return max(float64(n-burst), 0) * 60 / float64(perMinute)
}

func printTenant(w io.Writer, rows []tenantRow, releases int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tenant run\tusers\tassignments\tevents read\tnew events\treleased\tassign req\tuser req\tconsumption req\tother req\tdelete calls\treq\tminimum\treq/min\twall s\tpaced floor s\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.1f\t\n", r.Run, r.Users, r.Assignments, r.Events, r.NewEvents, r.Released,
			r.AssignmentReads, r.UserReads, r.ConsumptionReads, r.OtherReads, r.DeleteCalls, r.Requests, r.Minimum, r.VsMinimum, r.Seconds, r.PacedSeconds)
	}
	tw.Flush()
	fmt.Fprintf(w, "tenant: release.Runner.Once, max_releases_per_run = %d; first = no uses file (the 60-day window), steady = the next day (a day of events, %d new inactive assignments)\n", releases, tenantNewInactive)
	fmt.Fprintln(w, "minimum = settings + pages of 100 (assignments; users, or holders in batches of 50; new events) + per batch of 50: 3 re-check reads + 1 delete call")
	fmt.Fprintln(w, "emulator rate limits off, client pacing off; paced floor = the least time the same requests take at the client's default pacing (900 reads, 90 actions a minute, a sixth of a minute's at once)")
}

func writeTenant(dir string, rows []tenantRow) error {
	return writeResults(dir, "bench-tenant", rows, []string{"run", "users", "assignments", "consumption_events_read", "consumption_events_new", "released", "batches", "assignment_reads", "user_reads",
		"consumption_reads", "other_reads", "delete_calls", "requests", "minimum", "requests_vs_minimum", "seconds", "paced_floor_seconds"})
}
