package butler_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release/butler"
)

var update = flag.Bool("update", false, "rewrite the golden file from the real converter")

// Butler's own template converts to a file the plugin and the sidecar load strictly, with
// the same policy, and without Butler's InfluxDB password.
func TestConvertButlerTemplate(t *testing.T) {
	in, err := os.Open("testdata/butler.yaml")
	require.NoError(t, err)
	defer in.Close()
	var out bytes.Buffer
	require.NoError(t, butler.Convert(in, &out, "butler.yaml"))
	golden := "testdata/butler.golden.conf"
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), out.String())
	require.NotContains(t, out.String(), "s3cret-from-butler")

	path := filepath.Join(t.TempDir(), "converted.conf")
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o600))
	t.Setenv("INFLUX_TOKEN", "butler:pw")
	p := siteconfig.Defaults()
	require.NoError(t, siteconfig.Load(path, &p), "the converted file loads strictly")
	require.NoError(t, p.Validate())
	require.Equal(t, "https://10.11.12.13:4242", p.Server)
	require.Equal(t, "UserDirectory=Internal;UserId=sa_repository", p.QlikUser)
	r := p.Release
	require.True(t, *r.DryRun)
	require.Equal(t, 30, r.Professional.InactiveDays)
	require.True(t, r.Professional.Enabled)
	require.Equal(t, []string{`INTERNAL\sa_repository`, `INTERNAL\sa_api`, `USERDIR\qs_admin_account`}, r.Protect.Users)
	require.Equal(t, []string{"License do not release", "some other tag"}, r.Protect.Tags)
	require.Equal(t, []string{"LicenseManage=do-not-release"}, r.Protect.CustomProperties)
	require.Equal(t, []string{"INTERNAL", "ADMIN"}, r.Protect.UserDirectories)
	require.Equal(t, "butler/10d", r.Output.Bucket)
	require.Equal(t, map[string]string{"butler_instance": "prod", "foo": "bar"}, r.Output.Tags)
	_, err = policy.Compile(&r.Config)
	require.NoError(t, err)
	_, err = p.Sidecar()
	require.NoError(t, err)
	require.Equal(t, "0 0 * * *", r.Schedule, "every 24 hours: midnight UTC, as later.js")
}

func TestConvertMappings(t *testing.T) {
	base := `Butler:
  configQRS: {host: qlik.corp, port: 4242}
  cert: {clientCert: c.pem, clientCertKey: k.pem, clientCertCA: r.pem}
  qlikSenseLicense:
    licenseRelease:
      enable: true
      dryRun: false
      frequency: %s
      neverRelease: {inactive: %s, blocked: No, removedExternally: IGNORE}
      licenseType:
        analyzer: {enable: true, releaseThresholdDays: 14}
`
	for _, tc := range []struct{ freq, inactive, want string }{
		{"every 6 hours", "yes", `schedule = "0 */6 * * *"`},
		{"every 15 minutes", "yes", `schedule = "*/15 * * * *"`},
		{"every 2 days", "no", `schedule = "@every 48h"`},
		{"at 10:15 am", "ignore", `schedule = "0 3 * * *"`},
	} {
		var out bytes.Buffer
		in := strings.NewReader(strings.Replace(strings.Replace(base, "%s", tc.freq, 1), "%s", tc.inactive, 1))
		require.NoError(t, butler.Convert(in, &out, "b.yaml"), tc.freq)
		require.Contains(t, out.String(), tc.want)
		require.Contains(t, out.String(), "unblocked_users = true", "blocked: No protects users not blocked")
		switch tc.inactive {
		case "yes":
			require.Contains(t, out.String(), "inactive_users = true")
		case "no":
			require.Contains(t, out.String(), "active_users = true")
		}
		require.Contains(t, out.String(), "dry_run = false")
	}
	err := butler.Convert(strings.NewReader(strings.Replace(strings.Replace(base, "%s", "every 6 hours", 1), "%s", "sometimes", 1)), &bytes.Buffer{}, "b.yaml")
	require.EqualError(t, err, `Butler.qlikSenseLicense.licenseRelease.neverRelease.inactive = "sometimes": expected yes, no or ignore`)
	err = butler.Convert(strings.NewReader("Butler: {}\n"), &bytes.Buffer{}, "x.yaml")
	require.EqualError(t, err, "Butler.configQRS.host is missing: is x.yaml a Butler configuration?")
}
