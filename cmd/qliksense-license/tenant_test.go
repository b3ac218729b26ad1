package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
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

// One execd block with a site and a tenant: a gather request gathers both; the site's
// points do not wait for the tenant (held up here by a 429 with Retry-After), and when
// stdin closes with the tenant's gather in flight, the process writes its points before
// it exits.
func TestSeveralTablesThroughTheExecdProtocol(t *testing.T) {
	site := startEmulator(t)
	cloud, err := qcloudemu.Start(qcloudemu.Options{Tenant: qcloudemu.KnownAnswer(time.Now()), CertDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cloud.Close() })
	cloud.Faults.Configure(qcloudemu.FaultConfig{RetryAfter: 2 * time.Second})
	cloud.Faults.Inject(qcloudemu.FaultTooMany, "GET", "/licenses/consumption", 1)
	path := filepath.Join(t.TempDir(), "both.conf")
	require.NoError(t, os.WriteFile(path, []byte(site.PluginConfig("onprem", "")+cloud.PluginConfig("cloud", qcloudemu.KnownAnswerAPIKey, "")), 0o600))

	cmd := exec.Command(os.Args[0], "-config", path, "-poll_interval_disabled")
	cmd.Env = append(os.Environ(), "QLIKSENSE_LICENSE_RUN_MAIN=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	_, err = io.WriteString(stdin, "\n")
	require.NoError(t, err)
	var got []string
	deadline := time.After(time.Minute)
	for !strings.Contains(strings.Join(got, "\n"), "qlik_sense_license_gather,site=onprem") {
		select {
		case l := <-lines:
			got = append(got, l)
		case <-deadline:
			t.Fatalf("no gather of the site; got %v, stderr %s", got, stderr.String())
		}
	}
	require.NotContains(t, strings.Join(got, "\n"), "qlik_sense_license_gather,site=cloud", "the tenant waits out its Retry-After")
	require.NoError(t, stdin.Close())
	for l := range lines {
		got = append(got, l)
	}
	require.NoError(t, cmd.Wait(), stderr.String())
	counts := parse(t, []byte(strings.Join(got, "\n")+"\n"))
	require.Equal(t, 2, counts["qlik_sense_license_gather"], stderr.String())
	require.Contains(t, strings.Join(got, "\n"), "qlik_sense_license_gather,site=cloud")
	require.NotContains(t, stderr.String(), "E! ")
}

// -test on several tables names each before checking it: never with a password that a
// table's URL holds (the check then refuses it, masked).
func TestSeveralTablesTestShowsNoPassword(t *testing.T) {
	site := startEmulator(t)
	cloud, err := qcloudemu.Start(qcloudemu.Options{Tenant: qcloudemu.KnownAnswer(time.Now()), CertDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cloud.Close() })
	tenant := strings.Replace(cloud.PluginConfig("", qcloudemu.KnownAnswerAPIKey, ""), "  site = \"\"\n", "", 1)
	tenant = strings.Replace(tenant, "https://", "https://admin:pa55-tenant@", 1)
	path := filepath.Join(t.TempDir(), "both.conf")
	require.NoError(t, os.WriteFile(path, []byte(site.PluginConfig("onprem", "")+tenant), 0o600))
	var out, errOut bytes.Buffer
	require.Equal(t, 1, run([]string{"-config", path, "-test"}, &out, &errOut), out.String()+errOut.String())
	require.Contains(t, out.String(), "FAIL  configuration      tenant = \"https://xxxxx@127.0.0.1")
	require.NotContains(t, out.String()+errOut.String(), "pa55")
}
