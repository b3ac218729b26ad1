package siteconfig

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ReportConfig is [inputs.qliksense_license.report]: the license report the owner reads
// (one HTML page per site, with a plain-text part), written by the sidecar's report
// command and, when enabled, mailed by the run command on its schedule through
// [inputs.qliksense_license.release.mail].
type ReportConfig struct {
	// Enabled: the run command mails the report on Schedule to To.
	Enabled bool `toml:"enabled"`
	// Schedule of the mail: a cron expression in release.time_zone, as release.schedule
	// (default "0 7 1 * *": monthly, at 07:00 on the 1st).
	Schedule string `toml:"schedule"`
	// To: the recipients (required with enabled).
	To []string `toml:"to"`
	// Subject of the mail (default "Qlik Sense licenses of SITE").
	Subject string `toml:"subject"`
	// PeriodDays: the report tells what the release policy did in the last PeriodDays
	// (default 30; 1 to 366).
	PeriodDays int `toml:"period_days"`
	// ChartDays: the charts show the last ChartDays of history (default 90; 14 to 730).
	ChartDays int `toml:"chart_days"`
}

// ReportSettings is the validated report configuration.
type ReportSettings struct {
	Enabled      bool
	Schedule     cron.Schedule
	ScheduleText string
	Location     *time.Location
	To           []string
	Subject      string
	PeriodDays   int
	ChartDays    int
	// Mail is the validated [release.mail] table; set when Enabled.
	Mail *Mail
}

// DefaultReportSchedule is monthly, at 07:00 on the 1st.
const DefaultReportSchedule = "0 7 1 * *"

// ReportSettings validates [inputs.qliksense_license.report] (absent: defaults, no mail).
// Errors name the key and what is expected.
func (c *Config) ReportSettings() (*ReportSettings, error) {
	s := &ReportSettings{ScheduleText: DefaultReportSchedule, PeriodDays: 30, ChartDays: 90, Location: time.Local,
		Subject: "Qlik Sense licenses of " + c.Site}
	rc := c.Report
	if rc == nil {
		rc = &ReportConfig{}
	}
	s.Enabled, s.To = rc.Enabled, rc.To
	if rc.Subject != "" {
		s.Subject = rc.Subject
	}
	if rc.Schedule != "" {
		s.ScheduleText = rc.Schedule
	}
	sched, err := cron.ParseStandard(s.ScheduleText)
	if err != nil {
		return nil, fmt.Errorf("report.schedule = %q: expected a cron expression such as %q (monthly) or \"@every 168h\": %w", rc.Schedule, DefaultReportSchedule, err)
	}
	s.Schedule = sched
	if c.Release != nil && c.Release.TimeZone != "" {
		loc, err := time.LoadLocation(c.Release.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("release.time_zone = %q: expected an IANA time zone such as \"Europe/Stockholm\"", c.Release.TimeZone)
		}
		s.Location = loc
	}
	if rc.PeriodDays != 0 {
		s.PeriodDays = rc.PeriodDays
	}
	if s.PeriodDays < 1 || s.PeriodDays > 366 {
		return nil, fmt.Errorf("report.period_days = %d: expected 1 to 366", rc.PeriodDays)
	}
	if rc.ChartDays != 0 {
		s.ChartDays = rc.ChartDays
	}
	if s.ChartDays < 14 || s.ChartDays > 730 {
		return nil, fmt.Errorf("report.chart_days = %d: expected 14 to 730", rc.ChartDays)
	}
	for i, a := range rc.To {
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("report.to[%d] = %q: expected an email address: %w", i, a, err)
		}
	}
	if !s.Enabled {
		return s, nil
	}
	if len(rc.To) == 0 {
		return nil, errors.New(`report.to is required with report.enabled, e.g. ["license-owner@example.com"]`)
	}
	if c.Release == nil || strings.TrimSpace(c.Release.Mail.Host) == "" {
		return nil, fmt.Errorf("report.enabled needs [inputs.%s.release.mail] with its host: the mail server the report is sent through", PluginName)
	}
	if s.Mail, err = c.Release.Mail.validate(); err != nil {
		return nil, fmt.Errorf("report.enabled: %w", err)
	}
	return s, nil
}
