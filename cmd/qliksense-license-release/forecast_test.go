package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// tenantHistory is InfluxDB's /query for the tenant's site tag "cloud" at now: 90 days of
// each type's seats held (allocated + quarantined, as the plugin writes a tenant's
// qlik_sense_license) growing to the assignments the tenant holds today, under the
// pools of the tenant's overview (the plugin's total).
func tenantHistory(units map[string]int, now time.Time) *testkit.History {
	held := map[string]int{}
	for _, f := range qcloudemu.KnownAnswers {
		held[f.Key.Type]++
	}
	h := &testkit.History{Site: "cloud", Series: map[string][][]any{}}
	for _, typ := range []string{qcloudemu.Professional, qcloudemu.Analyzer} {
		h.Series[typ] = testkit.Daily(now, 90, float64(units[typ]), func(d int) float64 { return float64(held[typ] - (89-d)/30) })
	}
	return h
}

// forecast takes a tenant: the history of its site tag from InfluxDB, its pools, and as
// reclaimable what the tenant's plan releases (the known answers), per type — the same
// count the plan command shows. The forecast changes nothing; rightsize still refuses a
// tenant, by name.
func TestForecastCommandOnATenant(t *testing.T) {
	t.Parallel()
	srv := startTenant(t)
	history := tenantHistory(srv.Tenant.Units, time.Now())
	influx := httptest.NewServer(history)
	defer influx.Close()
	path, _ := writeTenant(t, srv.URL, srv.CAFile, "max_releases_per_run = 3\n  [inputs.qliksense_license.forecast]\n    url = \""+influx.URL+"\"\n    database = \"qliksense\"")

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"forecast", "-config", path, "-format", "json"}, &out, &errOut), errOut.String())
	var fc []struct {
		Site        string         `json:"site"`
		LicenseType string         `json:"license_type"`
		Fields      map[string]any `json:"fields"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &fc), out.String())
	require.Equal(t, int64(1), history.Queries(), "one history query")
	// The plan's pages: the consumption (the whole window: a read-only command keeps no
	// uses file), the assignments, their users (one filtered read) and the license settings.
	require.Len(t, srv.Log.Entries(), 4)
	require.Len(t, srv.Tenant.Assignments(), len(qcloudemu.KnownAnswers), "a forecast changes nothing")

	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"plan", "-config", path, "-format", "json"}, &out, &errOut), errOut.String())
	var pl struct {
		Totals []struct {
			Type     string `json:"type"`
			Release  int    `json:"release"`
			Deferred int    `json:"deferred"`
		} `json:"totals"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &pl))
	planned := map[string]int{}
	for _, tot := range pl.Totals {
		planned[tot.Type] = tot.Release + tot.Deferred // the cap defers; the policy still reclaims them
	}
	known := map[string]int{}
	for _, f := range qcloudemu.KnownAnswers {
		if f.Release {
			known[f.Key.Type]++
		}
	}
	require.Equal(t, map[string]int{"professional": 2, "analyzer": 5}, known)
	require.Equal(t, known, planned)

	got := map[string]int{}
	for _, f := range fc {
		require.Equal(t, "cloud", f.Site)
		require.Equal(t, "ok", f.Fields["status"], f.LicenseType)
		require.Equal(t, 10.0, f.Fields["pool"], "%s: the pool of the tenant's overview", f.LicenseType)
		got[f.LicenseType] = int(f.Fields["reclaimable"].(float64))
	}
	require.Equal(t, planned, got, "the forecast's reclaimable is the plan's")

	// The table names the tenant's site.
	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"forecast", "-config", path}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "Forecast for site cloud on ")

	// Right-sizing is a site's only: refused by name.
	errOut.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"rightsize", "-config", path}, &out, &errOut))
	require.Contains(t, errOut.String(), "tenant cloud: right-sizing (the rightsize command) is made for a Qlik Sense site only yet")
}
