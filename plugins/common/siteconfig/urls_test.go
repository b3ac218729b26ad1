package siteconfig_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// urlSite is a site whose configurable URLs and host are given: the QRS server, the
// history's InfluxDB (forecast.url), the outcomes' InfluxDB (release.output.url) and the
// SMTP server (release.mail.host).
func urlSite(server, forecastURL, outputURL, mailHost string) string {
	return `[[inputs.qliksense_license]]
  server = "` + server + `"
  tls_cert = "/c.pem"
  tls_key = "/k.pem"
  [inputs.qliksense_license.forecast]
    enabled = true
    url = "` + forecastURL + `"
    database = "qliksense"
  [inputs.qliksense_license.release]
    state_dir = "/state"
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
      notice_days = 7
    [inputs.qliksense_license.release.output]
      url = "` + outputURL + `"
      bucket = "qliksense/autogen"
    [inputs.qliksense_license.release.mail]
      host = "` + mailHost + `"
      from = "q@example.com"
`
}

// validateAll runs every check a configuration goes through (the plugin's and the
// sidecar's) and returns the first error.
func validateAll(t *testing.T, body string) error {
	t.Helper()
	c, err := load(t, body)
	if err != nil {
		return err
	}
	if _, err := c.ForecastSettings(); err != nil {
		return err
	}
	_, err = c.Sidecar()
	return err
}

// A user name or password in any configurable URL (or the SMTP host) is refused with an
// error that names the key and where the credential belongs, and never shows it; so is a
// query string, where a secret hides as well (InfluxDB reads u, p and token there). The
// URLs themselves are printed in logs, errors and the reload records.
func TestNoCredentialsInURLs(t *testing.T) {
	const (
		server   = "https://qlik.example.com:4242"
		influx   = "http://influx:8086"
		smtpHost = "smtp.example.com"
	)
	require.NoError(t, validateAll(t, urlSite(server, influx, influx, smtpHost)))

	for _, c := range []struct {
		name, body, key, where string
	}{
		{"server", urlSite("https://admin:pa55word@qlik.example.com:4242", influx, influx, smtpHost), `server = "https://xxxxx@qlik.example.com:4242"`, `auth = "certificate"`},
		{"server, http", urlSite("http://admin:pa55word@qlik.example.com", influx, influx, smtpHost), "server =", "QRS takes none in the URL"},
		{"server, query", urlSite("https://qlik.example.com?token=pa55word", influx, influx, smtpHost), `server = "https://qlik.example.com?token=xxxxx"`, "without a query string"},
		{"forecast", urlSite(server, "http://admin:pa55word@influx:8086", influx, smtpHost), `forecast.url = "http://xxxxx@influx:8086"`, "forecast.username and forecast.password, or forecast.token"},
		{"forecast, no scheme", urlSite(server, "admin:pa55word@influx:8086", influx, smtpHost), "forecast.url =", "forecast.username"},
		{"forecast, token as user", urlSite(server, "https://pa55word@influx:8086/", influx, smtpHost), "forecast.url =", "forecast.token"},
		{"forecast, unescaped", urlSite(server, "http://admin:pa55/w?o#rd@influx:8086", influx, smtpHost), `forecast.url = "http://xxxxx@influx:8086"`, "forecast.password"},
		{"forecast, bad escape", urlSite(server, "http://admin:pa55%zzword@influx:8086", influx, smtpHost), "forecast.url =", "forecast.password"},
		{"forecast, query", urlSite(server, "http://influx:8086?u=admin&p=pa55word", influx, smtpHost), `forecast.url = "http://influx:8086?u=xxxxx&p=xxxxx"`, "without a query string"},
		{"forecast, ftp", urlSite(server, "ftp://admin:pa55word@influx", influx, smtpHost), "forecast.url =", "forecast.password"},
		{"output", urlSite(server, influx, "http://admin:pa55word@influx:8086", smtpHost), `release.output.url = "http://xxxxx@influx:8086"`, "release.output.token"},
		{"output, query", urlSite(server, influx, "http://influx:8086/?token=pa55word", smtpHost), "release.output.url =", "without a query string"},
		{"mail", urlSite(server, influx, influx, "admin:pa55word@smtp.example.com"), `release.mail.host = "xxxxx@smtp.example.com"`, "release.mail.username and release.mail.password"},
		{"mail, URL", urlSite(server, influx, influx, "smtp://admin:pa55word@smtp.example.com"), "release.mail.host =", "release.mail.password"},
		{"mail, path", urlSite(server, influx, influx, "smtp.example.com/x"), "release.mail.host =", "expected a host name or address only"},
	} {
		err := validateAll(t, c.body)
		require.Error(t, err, c.name)
		require.True(t, strings.HasPrefix(err.Error(), c.key), "%s: %v", c.name, err)
		require.ErrorContains(t, err, c.where, c.name)
		require.NotContains(t, err.Error(), "pa55", c.name)
	}
}

// release.mail.host is a host name or address only, as its error says: a port in it was
// accepted and every mail then failed at the dial ("smtp.example.com:587:25: too many
// colons"); an IPv6 address goes in brackets, as the SMTP client joins host and port.
func TestMailHost(t *testing.T) {
	site := func(host string) string {
		return urlSite("https://qlik.example.com:4242", "http://influx:8086", "http://influx:8086", host)
	}
	for _, host := range []string{"smtp.example.com", "192.0.2.25", "[::1]", "[2001:db8::25]", "[fe80::1%eth0]"} {
		require.NoError(t, validateAll(t, site(host)), host)
	}
	for host, want := range map[string]string{
		"smtp.example.com:587": "the port goes in release.mail.port",
		"192.0.2.25:25":        "the port goes in release.mail.port",
		"[::1]:25":             "the port goes in release.mail.port",
		"::1":                  `an IPv6 address goes in brackets: "[::1]"`,
		"2001:db8::25":         `an IPv6 address goes in brackets: "[2001:db8::25]"`,
		"[smtp.example.com]":   "expected a host name or address only",
	} {
		err := validateAll(t, site(host))
		require.Error(t, err, host)
		require.True(t, strings.HasPrefix(err.Error(), `release.mail.host = "`+host+`"`), "%s: %v", host, err)
		require.ErrorContains(t, err, want, host)
	}
}
