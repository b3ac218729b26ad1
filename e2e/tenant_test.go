//go:build e2e

package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// One Telegraf runs the plugin for a site (the QRS emulator) and for a Qlik Cloud tenant
// (the Qlik Cloud emulator's known-answer tenant), one execd block each, into the real
// InfluxDB: both write qlik_sense_license with their own site tag, and the tenant's
// reclaimable counts are the known answers. Before, the sidecar binary gave the tenant's
// candidates notice through a real SMTP server (one mail to each user's email, nothing
// deleted): the plugin counts them as notice_waiting from the same notice file.
func TestSiteAndTenantThroughTelegraf(t *testing.T) {
	for _, b := range []string{"telegraf", "influxd", "qliksense-license"} {
		_, err := os.Stat(bin(b))
		require.NoError(t, err, "run `make e2e`: it builds %s into bin/", b)
	}
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	site := emulator.Generate(emulator.SiteSpec{Seed: 52, Users: 60, Now: now})
	srv := testkit.StartEmulator(t, site, func(o *emulator.Options) { o.CertDir = filepath.Join(dir, "certs") })
	tenant := qcloudemu.KnownAnswer(now)
	cloud, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant, CertDir: filepath.Join(dir, "cloud")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cloud.Close() })

	ix := startInflux(t, filepath.Join(dir, "influxdb"), freePort(t), freePort(t))
	ix.exec(t, "CREATE DATABASE qliksense")

	siteConf := filepath.Join(dir, "site.conf")
	require.NoError(t, os.WriteFile(siteConf, []byte(srv.PluginConfig("onprem", "")), 0o600))
	smtp := testkit.StartSMTP(t)
	tenantConf := filepath.Join(dir, "tenant.conf")
	require.NoError(t, os.WriteFile(tenantConf, []byte(fmt.Sprintf(`[[inputs.qliksense_license]]
  tenant = %q
  site = "cloud"
  api_key = "${QLIK_API_KEY}"
  tls_ca = %q
  [inputs.qliksense_license.release]
    dry_run = false
    state_dir = %q
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
      notice_days = 7
    [inputs.qliksense_license.release.analyzer]
      enabled = true
      inactive_days = 30
      notice_days = 7
    [inputs.qliksense_license.release.protect]
      roles = ["TenantAdmin"]
%s`, cloud.URL, cloud.CAFile, filepath.Join(dir, "state"), smtp.MailTable())), 0o600))

	// The sidecar gives notice: one mail per candidate with a user (the orphan has no one
	// to tell), to the user's email, and deletes nothing.
	t.Setenv("QLIK_API_KEY", qcloudemu.KnownAnswerAPIKey)
	_, errOut, code := runCmd(t, "qliksense-license-release", "once", "-config", tenantConf)
	require.Equal(t, 0, code, errOut)
	waiting := map[string]float64{}
	noticed := map[string]bool{}
	for _, f := range qcloudemu.KnownAnswers {
		if f.Release && f.Key.Subject != `CORP\gone` {
			waiting[f.Key.Type]++
			noticed[f.Key.Subject] = true
		}
	}
	var wantTo, got []string
	for _, u := range tenant.Users() {
		if noticed[u.Subject] {
			wantTo = append(wantTo, u.Email)
		}
	}
	for _, m := range smtp.Messages() {
		require.True(t, m.TLS)
		got = append(got, m.To...)
	}
	slices.Sort(wantTo)
	slices.Sort(got)
	require.Equal(t, wantTo, got, "one notice per candidate, to its user's email")
	require.Len(t, tenant.Assignments(), len(qcloudemu.KnownAnswers), "a notice run deletes nothing")

	// The site's block as telegraf.conf.example has it, and a second one for the tenant.
	tg := fromExample(t, siteConf, ix.url, freePort(t))
	from := strings.Index(tg, "\n[[inputs.execd]]") + 1
	to := from + strings.Index(tg[from:], `data_format = "influx"`) + len(`data_format = "influx"`)
	block := tg[from:to]
	tg = tg[:to] + "\n\n" + strings.Replace(block, fmt.Sprintf("%q", siteConf), fmt.Sprintf("%q", tenantConf), 1) + tg[to:]
	require.Equal(t, 2, strings.Count(tg, "\n[[inputs.execd]]"), tg)
	tgConf := filepath.Join(dir, "telegraf.conf")
	require.NoError(t, os.WriteFile(tgConf, []byte(tg), 0o600))
	start(t, "telegraf", []string{"QLIK_API_KEY=" + qcloudemu.KnownAnswerAPIKey}, "--config", tgConf)

	for _, s := range []string{"onprem", "cloud"} {
		eventually(t, "a qlik_sense_license_gather point of site "+s, 90*time.Second, func() bool {
			return len(ix.query(t, "qliksense", fmt.Sprintf(`SELECT * FROM qlik_sense_license_gather WHERE site = '%s' AND errors = 0 LIMIT 1`, s))) == 1
		})
	}
	want := map[string]float64{}
	for _, f := range qcloudemu.KnownAnswers {
		if f.Release {
			want[f.Key.Type]++
		}
	}
	for typ, n := range want {
		rows := ix.query(t, "qliksense", fmt.Sprintf(`SELECT last(reclaimable) AS r FROM qlik_sense_license_reclaimable WHERE site = 'cloud' AND license_type = '%s'`, typ))
		require.Len(t, rows, 1, typ)
		require.Equal(t, n, num(t, rows[0]["r"]), typ)
	}
	for typ, n := range waiting {
		rows := ix.query(t, "qliksense", fmt.Sprintf(`SELECT last(notice_waiting) AS w FROM qlik_sense_license_reclaimable WHERE site = 'cloud' AND license_type = '%s'`, typ))
		require.Len(t, rows, 1, typ)
		require.Equal(t, n, num(t, rows[0]["w"]), "%s: the noticed candidates wait, as the plugin reads the sidecar's notice file", typ)
	}
	rows := ix.query(t, "qliksense", `SELECT last(total) AS total FROM qlik_sense_license WHERE site = 'cloud' AND license_type = 'professional'`)
	require.Len(t, rows, 1)
	require.Equal(t, float64(10), num(t, rows[0]["total"]))
	rows = ix.query(t, "qliksense", `SELECT last(total) FROM qlik_sense_license WHERE site = 'onprem' AND license_type = 'professional'`)
	require.Len(t, rows, 1, "the site keeps writing beside the tenant")
}
