package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/atomicfile"
	"github.com/qliksense-license/qliksense-license/internal/stopping"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release/notices"
	"github.com/qliksense-license/qliksense-license/release/ownerreport"
)

// ReportJob mails each site's license report on the schedule of its [report] table
// (enabled = true), through its [release.mail] server. The supervisor asks it at each
// wake whether a report is due; a last-sent state file beside the notices' remembers the
// schedule across restarts. The first start only arms the schedule: the first report
// goes at its next time. Slots missed while the sidecar was down give one report.
type ReportJob struct {
	// Build reads the site and makes its report at now.
	Build func(ctx context.Context, s *Site, now time.Time) (*ownerreport.Data, error)
	// Mailer sends through a site's mail settings (default notices.NewSMTPMailer).
	Mailer func(*siteconfig.Mail) notices.Mailer
	// RetryAfter: a report that could not be made or sent is tried again after this long
	// (default 1h), not at every wake.
	RetryAfter time.Duration

	mu       sync.Mutex
	failed   map[string]time.Time                 // site → last failed attempt
	settings map[*Site]*siteconfig.ReportSettings // validated once per loaded site
	busy     map[string]bool                      // sites whose report is in flight
	// since: what this process last wrote to each site's state file, kept should the
	// write have failed (a full or read-only disk): the schedule counts from it, so the
	// next wake neither sends the report again, and again, nor arms it again.
	since map[string]time.Time
	// writeState writes the state file (tests make it fail; nil: writeReportState).
	writeState func(path string, st reportState) error
}

// reportState is the last-sent state file.
type reportState struct {
	// Since is the time the schedule counts from: the last report sent, or the first start.
	Since    time.Time `json:"since"`
	LastSent time.Time `json:"last_sent,omitzero"`
}

func readReportState(path string) (*reportState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st reportState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &st, nil
}

func writeReportState(path string, st reportState) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	return atomicfile.WriteJSON(path, st)
}

// Due sends the site's report when its schedule says so; it returns whether a report
// was sent. Errors are logged (and returned, for tests): a report never stops a run.
func (j *ReportJob) Due(ctx context.Context, s *Site, now time.Time, log *slog.Logger) (bool, error) {
	rs, err := j.settingsOf(s)
	if err != nil || !rs.Enabled || s.Settings == nil {
		return false, err
	}
	path := s.Settings.ReportFile()
	st, err := readReportState(path)
	if err != nil {
		log.Error("reading the license report's state failed", "err", err)
		return false, err
	}
	j.mu.Lock()
	since, known := j.since[s.Name]
	last, failedBefore := j.failed[s.Name]
	write := j.writeState
	j.mu.Unlock()
	if write == nil {
		write = writeReportState
	}
	switch {
	case st != nil && (!known || st.Since.After(since)):
		since = st.Since
	case st == nil && !known: // the first start: arm the schedule
		j.remember(s.Name, now)
		if err := write(path, reportState{Since: now.UTC()}); err != nil {
			log.Error("writing the license report's state failed", "err", err)
			return false, err
		}
		log.Info("license report scheduled", "next", rs.Schedule.Next(now.In(rs.Location)).Format(time.RFC3339))
		return false, nil
	}
	if now.Before(rs.Schedule.Next(since.In(rs.Location))) {
		return false, nil
	}
	retry := j.RetryAfter
	if retry <= 0 {
		retry = time.Hour
	}
	if failedBefore && now.Sub(last) < retry {
		return false, nil
	}
	if err := j.send(ctx, s, rs, now); err != nil {
		j.mu.Lock()
		if j.failed == nil {
			j.failed = map[string]time.Time{}
		}
		j.failed[s.Name] = now
		j.mu.Unlock()
		log.Error("the license report was not sent; tried again later", "retry_after", retry.String(), "err", err)
		return false, err
	}
	j.mu.Lock()
	delete(j.failed, s.Name)
	j.mu.Unlock()
	j.remember(s.Name, now)
	if err := write(path, reportState{Since: now.UTC(), LastSent: now.UTC()}); err != nil {
		log.Error("writing the license report's state failed: this process sends it at its next time, a restart before the state is written may send it again", "err", err)
		return true, err
	}
	log.Info("license report sent", "to", strings.Join(rs.To, ", "), "next", rs.Schedule.Next(now.In(rs.Location)).Format(time.RFC3339))
	return true, nil
}

func (j *ReportJob) remember(site string, since time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.since == nil {
		j.since = map[string]time.Time{}
	}
	j.since[site] = since.UTC()
}

// settingsOf validates a site's report table once (its mail TLS files are read then),
// not at every wake; a reload brings a new Site.
func (j *ReportJob) settingsOf(s *Site) (*siteconfig.ReportSettings, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if rs, ok := j.settings[s]; ok {
		return rs, nil
	}
	rs, err := s.Config.ReportSettings()
	if err != nil {
		return nil, err
	}
	if j.settings == nil {
		j.settings = map[*Site]*siteconfig.ReportSettings{}
	}
	for old := range j.settings { // sites replaced by a reload
		if old.Name == s.Name {
			delete(j.settings, old)
		}
	}
	j.settings[s] = rs
	return rs, nil
}

func (j *ReportJob) send(ctx context.Context, s *Site, rs *siteconfig.ReportSettings, now time.Time) error {
	d, err := j.Build(ctx, s, now)
	if err != nil {
		return fmt.Errorf("making the license report: %w", err)
	}
	h, t, err := d.Parts()
	if err != nil {
		return fmt.Errorf("writing the license report: %w", err)
	}
	mailer := j.Mailer
	if mailer == nil {
		mailer = notices.NewSMTPMailer
	}
	return mailer(rs.Mail).Send(ctx, notices.Message{To: rs.To, Subject: rs.Subject, Text: t, HTML: h})
}

// reportDue is the supervisor's hook: after each run and at each wake of a site's loop.
// The report is made and mailed beside the site's loop, never in it: reading QRS and
// InfluxDB and talking to the mail server can take minutes, and a scheduled run, a new
// configuration or a stop must not wait for that. One report per site is in flight at a
// time; a stop cancels it (it changes nothing: an unsent report goes at the next start)
// and Serve returns once it has ended.
func (s *Supervisor) reportDue(ctx context.Context, r *Runner) {
	if s.Reports == nil || stopping.Requested(s.stop) {
		return
	}
	site, log := r.Site, r.Log
	// Not enabled: nothing to start at every wake. (An invalid table cannot be here: the
	// site's load validated it.)
	if rs, err := s.Reports.settingsOf(site); err != nil || !rs.Enabled || site.Settings == nil {
		return
	}
	if !s.Reports.begin(site.Name) {
		return
	}
	s.loopDone.Add(1) // the site's loop holds one: Serve's Wait cannot have passed zero
	go func() {
		defer s.loopDone.Done()
		defer s.Reports.end(site.Name)
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-s.stop:
				cancel()
			case <-rctx.Done():
			}
		}()
		_, _ = s.Reports.Due(rctx, site, s.Now(), log)
	}()
}

// begin marks a report of the site in flight; false when one already is.
func (j *ReportJob) begin(site string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.busy[site] {
		return false
	}
	if j.busy == nil {
		j.busy = map[string]bool{}
	}
	j.busy[site] = true
	return true
}

func (j *ReportJob) end(site string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.busy, site)
}
