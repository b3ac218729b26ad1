package siteconfig_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

func load(t *testing.T, body string) (*siteconfig.Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "site.conf")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	c := siteconfig.Defaults()
	if err := siteconfig.Load(path, &c); err != nil {
		return nil, err
	}
	return &c, c.Validate()
}

const minimal = `[[inputs.qliksense_license]]
  site = "Prod / EU"
  server = "https://qlik.example.com:4242"
  tls_cert = "/c.pem"
  tls_key = "/k.pem"
`

// The sidecar's settings: defaults, and files named after the site (safe characters only).
func TestSidecarDefaults(t *testing.T) {
	c, err := load(t, minimal+"  [inputs.qliksense_license.release]\n    state_dir = \"/state\"\n")
	require.NoError(t, err)
	st, err := c.Sidecar()
	require.NoError(t, err)
	require.Equal(t, 1, st.Concurrency)
	require.Equal(t, 10*time.Second, st.RecheckMaxAge)
	require.Nil(t, st.Schedule)
	require.Nil(t, st.Output)
	require.Equal(t, filepath.Join("/state", "Prod_EU.lock"), st.LockFile)
	require.Equal(t, filepath.Join("/state", "Prod_EU-audit.jsonl"), st.AuditLog)
	require.Equal(t, filepath.Join("/state", "Prod_EU-inflight.jsonl"), st.InflightFile())
	require.Equal(t, filepath.Join("/state", "Prod_EU-spool.jsonl"), st.SpoolFile())
}

func TestSidecarNeedsTheReleaseTable(t *testing.T) {
	c, err := load(t, minimal)
	require.NoError(t, err)
	_, err = c.Sidecar()
	require.EqualError(t, err, "no [inputs.qliksense_license.release] table: nothing to release")
}

// Load is strict and expands the environment as the shim does; the site defaults to the
// server's host name.
func TestLoad(t *testing.T) {
	t.Setenv("QLIK_HOST", "qlik.example.com")
	c, err := load(t, `[[inputs.qliksense_license]]
  server = "https://${QLIK_HOST}:4242"
  tls_cert = "/c.pem"
  tls_key = "/k.pem"
`)
	require.NoError(t, err)
	require.Equal(t, "qlik.example.com", c.Site)
	require.Equal(t, siteconfig.DefaultInactivityBuckets, c.InactivityBuckets)

	_, err = load(t, minimal+"  tls_cerd = \"x\"\n")
	require.ErrorContains(t, err, "unknown setting(s) inputs.qliksense_license.tls_cerd")
	_, err = load(t, minimal+minimal)
	require.ErrorContains(t, err, "2 [[inputs.qliksense_license]] tables: one file is one site")
	_, err = load(t, minimal+"[[inputs.cpu]]\n")
	require.ErrorContains(t, err, "unexpected [[inputs.cpu]]")
}

// One way to TLS for every outgoing connection: [release.output] and [release.mail] take
// Telegraf's client TLS keys as QRS does (tls_ca and insecure_skip_verify as before, and
// tls_cert, tls_key, tls_min_version …), and a bad one is refused at load, naming the table.
func TestOutputAndMailTakeTelegrafsTLSKeys(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "root.pem")
	require.NoError(t, os.WriteFile(ca, []byte("not a certificate"), 0o600))
	release := "  [inputs.qliksense_license.release]\n    state_dir = \"/state\"\n"
	output := func(keys string) string {
		return minimal + release + "    [inputs.qliksense_license.release.output]\n      url = \"https://influx:8086\"\n      bucket = \"q/autogen\"\n" + keys
	}
	c, err := load(t, output("      tls_min_version = \"TLS13\"\n      insecure_skip_verify = true\n"))
	require.NoError(t, err)
	st, err := c.Sidecar()
	require.NoError(t, err)
	cfg, err := st.Output.TLSConfig()
	require.NoError(t, err)
	require.Equal(t, uint16(0x0304), cfg.MinVersion)
	require.True(t, cfg.InsecureSkipVerify)

	for _, bad := range []struct{ keys, want string }{
		{"      tls_min_version = \"TLS9\"\n", "release.output: TLS settings: "},
		{"      tls_enable = false\n", "release.output: tls_enable = false: leave it unset"},
		{"      tls_cert = \"/c.pem\"\n", "release.output: a client certificate needs both tls_cert and tls_key"},
		{"      tls_ca = \"" + filepath.ToSlash(ca) + "\"\n", "release.output: TLS settings: "},
	} {
		c, err := load(t, output(bad.keys))
		require.NoError(t, err)
		_, err = c.Sidecar()
		require.ErrorContains(t, err, bad.want, bad.keys)
	}

	mail := release + "    [inputs.qliksense_license.release.professional]\n      enabled = true\n      inactive_days = 30\n      notice_days = 7\n" +
		"    [inputs.qliksense_license.release.mail]\n      host = \"smtp.example.com\"\n      from = \"q@example.com\"\n"
	c, err = load(t, minimal+mail+"      tls_key = \"/k.pem\"\n")
	require.NoError(t, err)
	_, err = c.Sidecar()
	require.ErrorContains(t, err, "release.mail: a client certificate needs both tls_cert and tls_key")
	c, err = load(t, minimal+mail+"      tls_enable = false\n")
	require.NoError(t, err)
	_, err = c.Sidecar()
	require.ErrorContains(t, err, "release.mail: tls_enable = false: leave it unset")
}

// [forecast]: defaults, and each bad key named with what it expects.
func TestForecastSettings(t *testing.T) {
	c, err := load(t, minimal)
	require.NoError(t, err)
	fs, err := c.ForecastSettings()
	require.NoError(t, err)
	require.False(t, fs.Enabled)

	table := "  [inputs.qliksense_license.forecast]\n    enabled = true\n    url = \"http://influx:8086\"\n    database = \"qliksense\"\n"
	c, err = load(t, minimal+table)
	require.NoError(t, err)
	fs, err = c.ForecastSettings()
	require.NoError(t, err)
	require.Equal(t, 180, fs.Query.Days)
	require.Equal(t, "site", fs.Query.SiteTag)
	require.Equal(t, "Prod / EU", fs.Query.Site)
	require.Equal(t, 24*time.Hour, fs.Refresh)
	require.Equal(t, 10.0, fs.Params.MarginPercent)
	require.Equal(t, 30, fs.Params.LeadTimeDays)

	c, err = load(t, minimal+table+"    site_tag = \"\"\n    margin_percent = 0.0\n    lead_time_days = 0\n    [inputs.qliksense_license.forecast.tags]\n      butler_instance = \"prod\"\n")
	require.NoError(t, err)
	fs, err = c.ForecastSettings()
	require.NoError(t, err)
	require.Empty(t, fs.Query.SiteTag, "Butler's points carry no site tag")
	require.Equal(t, map[string]string{"butler_instance": "prod"}, fs.Query.Tags)
	require.Zero(t, fs.Params.MarginPercent)
	require.Zero(t, fs.Params.LeadTimeDays)

	for _, bad := range []struct{ keys, want string }{
		{"  [inputs.qliksense_license.forecast]\n    enabled = true\n", `forecast.url = "": expected http(s)://HOST:PORT of the InfluxDB that holds the history`},
		{"  [inputs.qliksense_license.forecast]\n    enabled = true\n    url = \"http://influx:8086\"\n", "forecast.database is required with forecast.enabled"},
		{table + "    lookback_days = 10\n", "forecast.lookback_days = 10: expected 28 to 3650"},
		{table + "    margin_percent = 95.0\n", "forecast.margin_percent = 95: expected 0 to 90"},
		{table + "    lead_time_days = -1\n", "forecast.lead_time_days = -1: expected 0 to 730"},
		{table + "    horizon_days = 4000\n", "forecast.horizon_days = 4000: expected 1 to 1825"},
		{table + "    min_history_days = 200\n", "forecast.min_history_days = 200: expected 14 to 180"},
		{table + "    min_history_days = 7\n", "forecast.min_history_days = 7: expected 14 to 180"}, // 7 days: no day pairs, no slope
		{table + "    refresh = \"10s\"\n", `forecast.refresh = "10s": expected a duration from 1m to 168h`},
		{table + "    tls_min_version = \"TLS9\"\n", "forecast: TLS settings: "},
		{table + "    tls_enable = false\n", "forecast: tls_enable = false: leave it unset"},
	} {
		c, err := load(t, minimal+bad.keys)
		require.NoError(t, err)
		_, err = c.ForecastSettings()
		require.ErrorContains(t, err, bad.want, bad.keys)
	}
}
