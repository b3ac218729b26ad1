package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
)

// A Qlik Cloud tenant through the plugin's binary: -test runs the tenant's doctor, -once
// writes the site's measurements with the tenant's site tag.
func TestTenantDoctorAndOnce(t *testing.T) {
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: qcloudemu.KnownAnswer(time.Now()), CertDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	path := filepath.Join(t.TempDir(), "tenant.conf")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`[[inputs.qliksense_license]]
  tenant = %q
  site = "cloud"
  api_key = %q
  tls_ca = %q
  [inputs.qliksense_license.release.professional]
    enabled = true
    inactive_days = 30
`, srv.URL, qcloudemu.KnownAnswerAPIKey, srv.CAFile)), 0o600))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-config", path, "-test"}, &out, &errOut), out.String()+errOut.String())
	for _, step := range []string{"configuration", "clock", "token", "read", "change", "auto-assign"} {
		require.Contains(t, out.String(), "ok    "+step+" ")
	}
	require.NotContains(t, out.String()+errOut.String(), qcloudemu.KnownAnswerAPIKey)

	out.Reset()
	errOut.Reset()
	require.Equal(t, 0, run([]string{"-config", path, "-once"}, &out, &errOut), errOut.String())
	counts := parse(t, out.Bytes())
	require.Equal(t, 3, counts["qlik_sense_license"]) // professional, analyzer, analyzer_capacity
	require.Equal(t, 1, counts["qlik_sense_server_license"])
	require.Equal(t, 2, counts["qlik_sense_license_inactivity"])
	require.Equal(t, 1, counts["qlik_sense_license_reclaimable"])
	require.Equal(t, 1, counts["qlik_sense_license_gather"])
	require.Contains(t, out.String(), "site=cloud")
}

// A site and a tenant in one file: one process (one execd block) gathers both, and -test
// checks each.
func TestSiteAndTenantInOneFile(t *testing.T) {
	site := startEmulator(t)
	cloud, err := qcloudemu.Start(qcloudemu.Options{Tenant: qcloudemu.KnownAnswer(time.Now()), CertDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cloud.Close() })
	path := filepath.Join(t.TempDir(), "both.conf")
	require.NoError(t, os.WriteFile(path, []byte(site.PluginConfig("onprem", "")+fmt.Sprintf(`[[inputs.qliksense_license]]
  tenant = %q
  site = "cloud"
  api_key = %q
  tls_ca = %q
`, cloud.URL, qcloudemu.KnownAnswerAPIKey, cloud.CAFile)), 0o600))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-config", path, "-once"}, &out, &errOut), errOut.String())
	require.Equal(t, 2, parse(t, out.Bytes())["qlik_sense_license_gather"])
	require.Contains(t, out.String(), "site=onprem")
	require.Contains(t, out.String(), "site=cloud")

	out.Reset()
	require.Equal(t, 0, run([]string{"-config", path, "-test"}, &out, &errOut), out.String()+errOut.String())
	require.Contains(t, out.String(), "site onprem\n")
	require.Contains(t, out.String(), "site cloud\n")
	require.Contains(t, out.String(), "ok    rights ")
	require.Contains(t, out.String(), "ok    auto-assign ")

	// Two tables of one site are refused.
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), `site = "cloud"`, `site = "onprem"`, 1)), 0o600))
	errOut.Reset()
	require.Equal(t, 1, run([]string{"-config", path, "-once"}, &out, &errOut))
	require.Contains(t, errOut.String(), `tables 1 and 2 are both site "onprem": give each its own site`)
	// -test refuses the file too, as the execd block would at its start, after checking
	// each table.
	out.Reset()
	errOut.Reset()
	require.Equal(t, 1, run([]string{"-config", path, "-test"}, &out, &errOut), out.String()+errOut.String())
	require.Contains(t, out.String(), "ok    auto-assign ")
	require.Contains(t, out.String(), `FAIL  configuration      tables 1 and 2 are both site "onprem": give each its own site`)
}
