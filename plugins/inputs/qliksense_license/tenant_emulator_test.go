package qliksense_license_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

// The known-answer tenant of the Qlik Cloud emulator, read by the real client as Init
// builds it (HTTPS with tls_ca, the API key a secret): the reclaimable counts are the
// fixture table's, for the policy it states, with and without always_release_disabled.
func TestTenantKnownAnswersThroughTheEmulator(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	for _, disabledRule := range []bool{false, true} {
		t.Run(fmt.Sprintf("always_release_disabled=%v", disabledRule), func(t *testing.T) {
			srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: qcloudemu.KnownAnswer(now), CertDir: t.TempDir()})
			require.NoError(t, err)
			t.Cleanup(func() { _ = srv.Close() })
			t.Setenv("QLIK_API_KEY", qcloudemu.KnownAnswerAPIKey)
			conf := fmt.Sprintf(`[[inputs.qliksense_license]]
  tenant = %q
  site = "cloud"
  api_key = "${QLIK_API_KEY}"
  tls_ca = %q
  [inputs.qliksense_license.release]
    always_release_disabled = %v
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.analyzer]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.protect]
      roles = ["TenantAdmin"]
`, srv.URL, srv.CAFile, disabledRule)
			path := filepath.Join(t.TempDir(), "tenant.conf")
			require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
			p, err := qliksense_license.LoadConfig(path)
			require.NoError(t, err)
			p.Log = testutil.Logger{}
			p.SetNow(func() time.Time { return now })
			require.NoError(t, p.Init())
			acc := gather(t, p)
			require.Empty(t, acc.Errors)

			want := map[string]map[string]int64{"professional": {}, "analyzer": {}}
			for _, f := range qcloudemu.KnownAnswers {
				w := want[f.Key.Type]
				w["total"]++
				if f.Release || (disabledRule && f.ReleaseIfDisabledRule) {
					w["reclaimable"]++
				}
				if f.Protected {
					w["kept_protected_role"]++
				}
			}
			for typ, w := range want {
				got := fieldsOfSite(t, acc, qliksense_license.MeasurementReclaimable, typ)
				require.Equal(t, w["reclaimable"], got["reclaimable"], typ)
				require.Equal(t, w["kept_protected_role"], got["kept_protected_role"], typ)
				lic := fieldsOfSite(t, acc, qliksense_license.MeasurementLicense, typ)
				require.Equal(t, float64(w["total"]), lic["allocated"], typ)
				require.Equal(t, 10.0, lic["total"], typ)
			}
			health := fieldsOfSite(t, acc, qliksense_license.MeasurementGather, "")
			require.Equal(t, int64(len(qcloudemu.KnownAnswers)), health["allocations"])
			// overview, consumption, assignments, users (one filtered batch): the minimum.
			require.Equal(t, int64(4), health["qrs_requests"])
			require.Equal(t, 4, len(srv.Log.Entries()))
		})
	}
}

func fieldsOfSite(t *testing.T, acc *testutil.Accumulator, measurement, licenseType string) map[string]any {
	t.Helper()
	for _, m := range acc.GetTelegrafMetrics() {
		if lt, _ := m.GetTag("license_type"); m.Name() == measurement && lt == licenseType {
			require.Equal(t, "cloud", m.Tags()["site"])
			return m.Fields()
		}
	}
	t.Fatalf("no %s point for %q", measurement, licenseType)
	return nil
}
