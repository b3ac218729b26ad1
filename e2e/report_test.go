//go:build e2e

package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// checkReport: the sidecar binary's license report of the e2e site, made from the
// backfilled history in the real InfluxDB 1.8 and the emulator, answers as the forecast
// command does and charts both types; the run command mails it on its schedule through a
// real SMTP server (STARTTLS, AUTH) as an HTML and a text part, without attachment. The
// binary reads the real clock: a schedule of every minute makes it due within one.
func (s *stack) checkReport(t *testing.T) {
	smtp := testkit.StartSMTP(t)
	state := filepath.Join(s.dir, "state-report")
	conf := s.siteConf(t, "report", fmt.Sprintf(`    state_dir = %q
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.protect]
      users = ['INTERNAL\sa_api']
%s%s  [inputs.qliksense_license.report]
    enabled = true
    schedule = "* * * * *"
    to = ["license-owner@example.com"]
    subject = "Qlik Sense licenses of e2e"
`, state, smtp.MailTable(), s.forecastTable("")))

	eventually(t, "Telegraf's points of today in InfluxDB", 90*time.Second, func() bool {
		return len(s.ix.query(t, "qliksense", `SELECT count("allocated") FROM qlik_sense_license WHERE "site" = 'e2e' AND time > now() - 1h`)) > 0
	})
	page := filepath.Join(s.dir, "report.html")
	out, errOut, code := runCmd(t, "qliksense-license-release", "report", "-config", conf, "-out", page)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, page)
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	html := string(b)
	fields := reportOf(t, conf)
	for _, lt := range []string{"professional", "analyzer"} {
		f := fields[lt]
		require.NotNil(t, f, lt)
		name := map[string]string{"professional": "Professional", "analyzer": "Analyzer"}[lt]
		by, err := time.Parse(time.DateOnly, str(f["buy_by_date"]))
		require.NoError(t, err, lt)
		require.Regexp(t, regexp.QuoteMeta(fmt.Sprintf("%s: order %s seats ", name, f["seats_to_buy"]))+`(by|now \(the buy-by date,) `+regexp.QuoteMeta(by.Format("2 January 2006")), html, lt)
		held := regexp.MustCompile(`(?s)<svg[^>]*data-type="` + lt + `".*?<polyline class="held" points="([^"]+)"`).FindStringSubmatch(html)
		require.NotNil(t, held, "%s chart", lt)
		require.Len(t, strings.Fields(held[1]), 90, "%s: a point a day of the last 90, today's gathers included", lt)
	}

	run := start(t, "qliksense-license-release", nil, "run", "-config", conf)
	eventually(t, "the report mailed", 150*time.Second, func() bool { return len(smtp.Messages()) > 0 })
	run.stop(t)
	m := smtp.Messages()[0]
	require.Equal(t, []string{"license-owner@example.com"}, m.To)
	require.True(t, m.TLS)
	require.Equal(t, "Qlik Sense licenses of e2e", m.Subject())
	require.NotContains(t, strings.ToLower(m.Data), "attachment")
	require.Contains(t, strings.ReplaceAll(m.Body("text/plain"), "\r\n", "\n"), "WHAT TO BUY\n  Professional: order ")
	require.Equal(t, 2, strings.Count(m.Body("text/html"), `<svg xmlns="http://www.w3.org/2000/svg" class="chart"`))
	require.Contains(t, run.log.String(), `msg="license report sent"`)
	_, err = os.Stat(filepath.Join(state, "e2e-report.json"))
	require.NoError(t, err)
}
