package siteconfig_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const reportMail = `  [inputs.qliksense_license.release]
    time_zone = "Europe/Stockholm"
    [inputs.qliksense_license.release.mail]
      host = "smtp.example.com"
      from = "qlik@example.com"
`

// The report's defaults: monthly at 07:00 on the 1st in the release's time zone, the last
// 30 days, 90 days of chart, the site in the subject; enabled, the mail settings validated.
func TestReportSettings(t *testing.T) {
	c, err := load(t, minimal)
	require.NoError(t, err)
	rs, err := c.ReportSettings()
	require.NoError(t, err)
	require.False(t, rs.Enabled)
	require.Equal(t, "0 7 1 * *", rs.ScheduleText)
	require.Equal(t, 30, rs.PeriodDays)
	require.Equal(t, 90, rs.ChartDays)
	require.Equal(t, "Qlik Sense licenses of Prod / EU", rs.Subject)
	require.Nil(t, rs.Mail)

	c, err = load(t, minimal+reportMail+`  [inputs.qliksense_license.report]
    enabled = true
    to = ["owner@example.com"]
    period_days = 7
`)
	require.NoError(t, err)
	rs, err = c.ReportSettings()
	require.NoError(t, err)
	require.Equal(t, "Europe/Stockholm", rs.Location.String())
	next := rs.Schedule.Next(time.Date(2026, 3, 15, 0, 0, 0, 0, rs.Location))
	require.Equal(t, time.Date(2026, 4, 1, 7, 0, 0, 0, rs.Location), next)
	require.Equal(t, "smtp.example.com", rs.Mail.Host)
	require.Equal(t, 587, rs.Mail.Port)
	require.Equal(t, 7, rs.PeriodDays)
}

// Bad report keys are refused with the key named, by the plugin and the sidecar alike
// (Validate).
func TestReportSettingsErrors(t *testing.T) {
	for _, tc := range []struct{ body, err string }{
		{`    schedule = "monthly"`, `report.schedule = "monthly": expected a cron expression such as "0 7 1 * *" (monthly) or "@every 168h"`},
		{`    period_days = 400`, "report.period_days = 400: expected 1 to 366"},
		{`    chart_days = 7`, "report.chart_days = 7: expected 14 to 730"},
		{`    to = ["not an address"]`, `report.to[0] = "not an address": expected an email address`},
		{`    enabled = true`, `report.to is required with report.enabled, e.g. ["license-owner@example.com"]`},
		{"    enabled = true\n    to = [\"o@example.com\"]", "report.enabled needs [inputs.qliksense_license.release.mail] with its host: the mail server the report is sent through"},
	} {
		_, err := load(t, minimal+"  [inputs.qliksense_license.report]\n"+tc.body+"\n")
		require.ErrorContains(t, err, tc.err, tc.body)
	}
	_, err := load(t, minimal+`  [inputs.qliksense_license.release]
    [inputs.qliksense_license.release.mail]
      host = "smtp.example.com"
  [inputs.qliksense_license.report]
    enabled = true
    to = ["o@example.com"]
`)
	require.ErrorContains(t, err, "report.enabled: release.mail.from is required")
}
