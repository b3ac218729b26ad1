package qliksense_license_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
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
			acc := gather(t, loadAt(t, conf, now))
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

// loadAt loads and initializes the plugin of conf, at now.
func loadAt(t *testing.T, conf string, now time.Time) *qliksense_license.QlikSenseLicense {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tenant.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	p, err := qliksense_license.LoadConfig(path)
	require.NoError(t, err)
	p.Log = testutil.Logger{}
	p.SetNow(func() time.Time { return now })
	require.NoError(t, p.Init())
	return p
}

// A tenant's table forecasts as a site's does: the history of its site tag (here 90
// days of each type's assignments under the overview's units, as the tenant's
// qlik_sense_license writes them), with the reclaimable assignments of the same gather —
// the known answers.
func TestTenantForecastThroughTheEmulator(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: qcloudemu.KnownAnswer(now), CertDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	held, reclaimable := map[string]int{}, map[string]int64{}
	for _, f := range qcloudemu.KnownAnswers {
		held[f.Key.Type]++
		if f.Release {
			reclaimable[f.Key.Type]++
		}
	}
	history := &testkit.History{Site: "cloud", Series: map[string][][]any{}}
	for typ, n := range held {
		history.Series[typ] = testkit.Daily(now, 90, float64(srv.Tenant.Units[typ]), func(d int) float64 { return float64(n - (89-d)/30) })
	}
	influx := httptest.NewServer(history)
	t.Cleanup(influx.Close)
	t.Setenv("QLIK_API_KEY", qcloudemu.KnownAnswerAPIKey)
	acc := gather(t, loadAt(t, srv.PluginConfig("cloud", "${QLIK_API_KEY}", fmt.Sprintf(`  [inputs.qliksense_license.forecast]
    enabled = true
    url = %q
    database = "qliksense"
  [inputs.qliksense_license.release]
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.analyzer]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.protect]
      roles = ["TenantAdmin"]`, influx.URL)), now))
	require.Empty(t, acc.Errors)
	require.Equal(t, int64(1), history.Queries())
	for typ, n := range reclaimable {
		f := fieldsOfSite(t, acc, qliksense_license.MeasurementForecast, typ)
		require.Equal(t, "ok", f["status"], typ)
		require.Equal(t, 10.0, f["pool"], typ)
		require.Equal(t, n, f["reclaimable"], typ)
		require.Equal(t, fieldsOfSite(t, acc, qliksense_license.MeasurementReclaimable, typ)["reclaimable"], f["reclaimable"], typ)
		lic := fieldsOfSite(t, acc, qliksense_license.MeasurementLicense, typ) // what the history is made of
		require.Equal(t, lic["total"], f["pool"], typ)
		require.Equal(t, float64(held[typ]), lic["allocated"], typ)
	}
}
