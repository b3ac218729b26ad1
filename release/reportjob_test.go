package release_test

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	emulator "github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/ownerreport"
)

// reportTables: live releases under the shared policy, mail through smtp, and the monthly
// report to the owner.
func reportTables(smtp *testkit.SMTP) string {
	return withKeys(`time_zone = "UTC"`) + smtp.MailTable() + `
  [inputs.qliksense_license.report]
    enabled = true
    schedule = "0 7 1 * *"
    to = ["owner@example.com", "procurement@example.com"]
    subject = "Qlik Sense licenses: March"
`
}

// stubReport is a report of the pools only (the report's parts are tested with the real
// sources in the command's browser test).
func stubReport(_ context.Context, s *release.Site, now time.Time) (*ownerreport.Data, error) {
	return &ownerreport.Data{Site: s.Name, Made: now, PeriodDays: 30, ChartDays: 90, PoolsRead: now,
		Pools: []ownerreport.Pool{{Type: "professional", Total: 150, Allocated: 117, Quarantined: 2, Available: 31}}}, nil
}

// The report goes on its schedule through the real SMTP server, as a message with an HTML
// and a text part and no attachment: the first start arms the schedule, a slot sends once,
// a refused message is tried again an hour later (not at every wake), and the last-sent
// state outlives a restart.
func TestReportJobMailsOnSchedule(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 5, Users: 30, Now: testkit.Now})
	smtp := testkit.StartSMTP(t)
	e := newEnv(t, site, reportTables(smtp))
	job := &release.ReportJob{Build: stubReport}
	log := slogDiscard()
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return ts
	}
	due := func(j *release.ReportJob, when string) bool {
		sent, _ := j.Due(t.Context(), e.site, at(when), log)
		return sent
	}
	require.False(t, due(job, "2026-03-15T10:00:00Z"), "the first start arms the schedule")
	_, err := os.Stat(e.site.Settings.ReportFile())
	require.NoError(t, err)
	require.False(t, due(job, "2026-03-31T23:59:00Z"))
	require.Empty(t, smtp.Messages())

	require.True(t, due(job, "2026-04-01T07:00:30Z"))
	msgs := smtp.Messages()
	require.Len(t, msgs, 1)
	m := msgs[0]
	require.Equal(t, []string{"owner@example.com", "procurement@example.com"}, m.To)
	require.True(t, m.TLS)
	require.Equal(t, "Qlik Sense licenses: March", m.Subject())
	require.Contains(t, m.Data, "multipart/alternative")
	require.NotContains(t, strings.ToLower(m.Data), "attachment")
	require.NotContains(t, m.Data, "multipart/mixed")
	text := m.Body("text/plain")
	require.Contains(t, text, "Qlik Sense licenses of production")
	require.Contains(t, text, "Pool 150, held 119 (allocated 117 + quarantined 2), available 31")
	html := m.Body("text/html")
	require.True(t, strings.HasPrefix(html, "<!DOCTYPE html>"), html)
	require.Contains(t, html, `<td class="pool" style="padding:2px 0;font-weight:bold;text-align:right">150</td>`)

	require.False(t, due(job, "2026-04-01T07:05:00Z"), "one report a slot")
	require.False(t, due(job, "2026-04-30T23:00:00Z"))

	smtp.Refuse("procurement@example.com", true)
	sent, err := job.Due(t.Context(), e.site, at("2026-05-01T07:00:00Z"), log)
	require.False(t, sent)
	require.Error(t, err)
	require.False(t, due(job, "2026-05-01T07:30:00Z"), "not again before an hour")
	smtp.Refuse("procurement@example.com", false)
	require.Len(t, smtp.Messages(), 1)
	require.True(t, due(job, "2026-05-01T08:00:00Z"))
	require.Len(t, smtp.Messages(), 2)

	// A new process reads the state: nothing due until June.
	again := &release.ReportJob{Build: stubReport}
	require.False(t, due(again, "2026-05-20T08:00:00Z"))
	require.True(t, due(again, "2026-06-01T07:00:00Z"))
	require.Len(t, smtp.Messages(), 3)

	// Off: nothing is sent, whatever the date.
	off := newEnv(t, site, withKeys(`time_zone = "UTC"`)+smtp.MailTable())
	sent, err = job.Due(t.Context(), off.site, at("2027-01-01T07:00:00Z"), log)
	require.NoError(t, err)
	require.False(t, sent)
}

// The run command's supervisor asks at each wake: with the clock moved past the first of
// the month, the report is mailed without any run.
func TestSupervisorMailsTheReport(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 6, Users: 30, Now: testkit.Now})
	smtp := testkit.StartSMTP(t)
	srv := testkit.StartEmulator(t, site)
	// The supervisor's clock moves like a real one (a run is due when the wall clock
	// reaches it), from 31 March, 12:00; the test moves it ahead.
	var offset atomic.Int64
	start := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	offset.Store(int64(time.Until(start)))
	s := startSupervisorWith(t, srv, reportTables(smtp), func(sup *release.Supervisor) {
		sup.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())).UTC() }
		sup.DeliverEvery = 5 * time.Millisecond
		sup.Reports = &release.ReportJob{Build: stubReport}
	})
	waitUntil(t, "the report armed", func() bool { return strings.Contains(s.logs.String(), "license report scheduled") })
	require.Empty(t, smtp.Messages())
	offset.Add(int64(20 * time.Hour)) // 1 April, 08:00
	waitUntil(t, "the report mailed", func() bool { return strings.Contains(s.logs.String(), "license report sent") })
	require.Len(t, smtp.Messages(), 1)
	require.Contains(t, s.logs.String(), `msg="license report sent" site=production to="owner@example.com, procurement@example.com" next=2026-05-01T07:00:00Z`)
	s.stopAndWait(t)
	require.Len(t, smtp.Messages(), 1)
}

// A report that takes long (QRS, InfluxDB or the mail server slow to answer) holds
// neither the site's runs nor a stop: the scheduled runs go on while it is made, and a
// stop cancels it (it changes nothing) instead of waiting for it.
func TestSlowReportHoldsNoRunNorStop(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 7, Users: 30, Now: testkit.Now})
	smtp := testkit.StartSMTP(t)
	srv := testkit.StartEmulator(t, site)
	// The supervisor's clock moves like a real one (a run is due when the wall clock
	// reaches it), from 31 March, 12:00; the test moves it ahead.
	var offset atomic.Int64
	start := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	offset.Store(int64(time.Until(start)))
	building := make(chan struct{}, 1)
	var builds, cancelled atomic.Int32
	slow := func(ctx context.Context, _ *release.Site, _ time.Time) (*ownerreport.Data, error) {
		builds.Add(1)
		building <- struct{}{}
		<-ctx.Done() // answers only when cancelled
		cancelled.Add(1)
		return nil, ctx.Err()
	}
	tables := strings.Replace(reportTables(smtp), `time_zone = "UTC"`, `time_zone = "UTC"`+"\n    max_releases_per_run = 1\n    schedule = \"@every 1s\"", 1)
	s := startSupervisorWith(t, srv, tables, func(sup *release.Supervisor) {
		sup.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())).UTC() }
		sup.DeliverEvery = 5 * time.Millisecond
		sup.WallCheck = 10 * time.Millisecond
		sup.Reports = &release.ReportJob{Build: slow}
	})
	waitUntil(t, "the report armed", func() bool { return strings.Contains(s.logs.String(), "license report scheduled") })
	offset.Add(int64(20 * time.Hour)) // 1 April, 08:00: the report is due
	select {
	case <-building:
	case <-time.After(30 * time.Second):
		t.Fatalf("the report was not started; log:\n%s", s.logs.String())
	}
	for len(s.runs) > 0 { // runs before the report started
		<-s.runs
	}
	s.nextRun(t) // a scheduled run while the report is being made
	s.nextRun(t)
	require.Equal(t, int32(1), builds.Load(), "one report of the site in flight at a time")
	s.stopAndWait(t)
	require.Equal(t, int32(1), cancelled.Load(), "the stop cancelled the report, and Serve waited for it")
	require.Empty(t, smtp.Messages())
}

// A state file that cannot be written (a full or read-only disk) does not turn the report
// into a mail at every wake: the process remembers what it sent, and the next slot sends
// once.
func TestReportStateUnwritableSendsOnce(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 5, Users: 30, Now: testkit.Now})
	smtp := testkit.StartSMTP(t)
	e := newEnv(t, site, reportTables(smtp))
	job := &release.ReportJob{Build: stubReport}
	due := func(when string) bool {
		ts, err := time.Parse(time.RFC3339, when)
		require.NoError(t, err)
		sent, _ := job.Due(t.Context(), e.site, ts, slogDiscard())
		return sent
	}
	require.False(t, due("2026-03-15T10:00:00Z"), "the first start arms the schedule")
	release.FailReportState(job, true) // then the disk fills up
	require.True(t, due("2026-04-01T07:00:00Z"))
	for _, at := range []string{"2026-04-01T07:00:30Z", "2026-04-01T07:01:00Z", "2026-04-02T07:00:00Z", "2026-04-30T23:59:00Z"} {
		require.False(t, due(at), at)
	}
	require.Len(t, smtp.Messages(), 1)
	require.True(t, due("2026-05-01T07:00:00Z"))
	require.Len(t, smtp.Messages(), 2)

	// Never written at all: armed in memory, not again at every wake.
	fresh := newEnv(t, site, reportTables(smtp))
	job = &release.ReportJob{Build: stubReport}
	release.FailReportState(job, true)
	e = fresh
	require.False(t, due("2026-05-15T10:00:00Z"))
	require.False(t, due("2026-05-15T10:00:30Z"))
	_, err := os.Stat(e.site.Settings.ReportFile())
	require.ErrorIs(t, err, os.ErrNotExist)
	require.True(t, due("2026-06-01T07:00:00Z"))
	require.False(t, due("2026-06-01T07:00:30Z"))
	require.Len(t, smtp.Messages(), 3)
}
