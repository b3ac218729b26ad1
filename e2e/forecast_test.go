//go:build e2e

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Growth of the backfilled histories, in seats a day.
const (
	backfillProfessional = 0.5
	backfillAnalyzer     = 1.0
	butlerGrowth         = 0.3
)

// write posts line protocol to InfluxDB (precision: seconds).
func (i *influx) write(t *testing.T, db string, lines []string) {
	t.Helper()
	for len(lines) > 0 {
		n := min(len(lines), 20000)
		resp, err := http.Post(i.url+"/write?db="+db+"&precision=s", "text/plain", strings.NewReader(strings.Join(lines[:n], "\n")))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode, "writing to %s: %s", db, body)
		lines = lines[n:]
	}
}

// backfill writes the history the forecast reads, with past timestamps, before Telegraf's
// first gather: (1) 120 days of the plugin's own qlik_sense_license points for site e2e,
// four a day, growing in a straight line to the seats the emulator holds now (so that
// Telegraf's points of today continue it); (2) two years of Butler's points, hourly, as
// Butler writes them — no site tag, a butler_instance tag, floats — with a yearly rhythm.
func (s *stack) backfill(t *testing.T) {
	ov, err := s.client.AccessTypeOverview(context.Background())
	require.NoError(t, err)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var lines []string
	for _, tp := range []struct {
		name                   string
		allocated, quar, total float64
		growth                 float64
	}{
		{"professional", float64(ov.ProfessionalAccess.Allocated), float64(ov.ProfessionalAccess.Quarantined), float64(ov.ProfessionalAccess.Total), backfillProfessional},
		{"analyzer", float64(ov.AnalyzerAccess.Allocated), float64(ov.AnalyzerAccess.Quarantined), float64(ov.AnalyzerAccess.Total), backfillAnalyzer},
	} {
		for d := 1; d <= 120; d++ {
			for h := range 4 {
				at := today.AddDate(0, 0, -d).Add(time.Duration(h*6) * time.Hour)
				lines = append(lines, fmt.Sprintf("qlik_sense_license,license_type=%s,site=e2e allocated=%g,quarantined=%g,total=%g %d",
					tp.name, tp.allocated-tp.growth*float64(d), tp.quar, tp.total, at.Unix()))
			}
		}
	}
	for d := 1; d <= 730; d++ {
		for h := range 24 {
			at := today.AddDate(0, 0, -d).Add(time.Duration(h) * time.Hour)
			held := math.Round(400 + butlerGrowth*float64(730-d) + 25*math.Sin(2*math.Pi*float64(730-d)/365))
			lines = append(lines, fmt.Sprintf("qlik_sense_license,butler_instance=e2e-butler,license_type=professional allocated=%g,available=%g,excess=0,quarantined=0,total=900,used=3 %d",
				held, 900-held, at.Unix()))
		}
	}
	s.ix.write(t, "qliksense", lines)
	t.Logf("backfilled %d history points (120 days of the plugin's, two years of Butler's)", len(lines))
}

// forecastTable is the [forecast] table of a site reading this stack's InfluxDB.
func (s *stack) forecastTable(extra string) string {
	return fmt.Sprintf("  [inputs.qliksense_license.forecast]\n    enabled = true\n    url = %q\n    database = \"qliksense\"\n%s", s.ix.url, extra)
}

// reportOf runs the sidecar's forecast report and returns its fields by license type.
func reportOf(t *testing.T, conf string) map[string]map[string]any {
	t.Helper()
	out, errOut, code := runCmd(t, "qliksense-license-release", "forecast", "-config", conf, "-format", "json")
	require.Equal(t, 0, code, errOut)
	var rep []struct {
		LicenseType string         `json:"license_type"`
		Fields      map[string]any `json:"fields"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(out)))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&rep))
	byType := map[string]map[string]any{}
	for _, r := range rep {
		byType[r.LicenseType] = r.Fields
	}
	return byType
}

// checkForecast: real Telegraf's qlik_sense_license_forecast points, made by the plugin
// from the backfilled history in the real InfluxDB, carry the straight line's numbers, and
// the sidecar's report says the same; Butler's two years give a forecast on day one.
func (s *stack) checkForecast(t *testing.T, pluginConf string) {
	var points []map[string]any
	eventually(t, "qlik_sense_license_forecast points in InfluxDB", 90*time.Second, func() bool {
		points = s.ix.query(t, "qliksense", `SELECT * FROM qlik_sense_license_forecast WHERE "site" = 'e2e' GROUP BY "license_type" ORDER BY time DESC LIMIT 1`)
		return len(points) == 2
	})
	report := reportOf(t, pluginConf)
	for _, p := range points {
		lt := str(p["license_type"])
		want := map[string]float64{"professional": backfillProfessional, "analyzer": backfillAnalyzer}[lt]
		require.Equal(t, "ok", str(p["status"]), lt)
		require.Equal(t, "rising", str(p["trend"]), lt)
		require.InDelta(t, want, num(t, p["growth_per_day"]), 1e-9, lt)
		r := report[lt]
		require.NotNil(t, r, lt)
		for _, f := range []string{"growth_per_day", "held_now", "pool", "days_to_margin", "days_to_exhaustion", "buy_by_days", "seats_to_buy", "reclaimable"} {
			require.InDelta(t, num(t, p[f]), num(t, r[f]), 1e-6, "%s %s: Telegraf's point and the report agree", lt, f)
		}
		require.Equal(t, str(p["buy_by_date"]), str(r["buy_by_date"]), lt)
		t.Logf("%s: held %.0f of %.0f, %+.2f a day, margin in %.0f days, buy by %s, %v seats to buy",
			lt, num(t, p["held_now"]), num(t, p["pool"]), num(t, p["growth_per_day"]), num(t, p["days_to_margin"]), str(p["buy_by_date"]), p["seats_to_buy"])
	}
	proj := s.ix.query(t, "qliksense", `SELECT count("held") FROM qlik_sense_license_forecast_projection WHERE "site" = 'e2e' AND time > now() - 2d AND time < now() + 400d GROUP BY "license_type"`)
	require.Len(t, proj, 2)
	require.InDelta(t, 365/7+1, num(t, proj[0]["count"]), 1, "a projected point a week to the horizon")

	// Butler's history: no site tag, selected by its butler_instance tag.
	butler := s.siteConf(t, "butler", s.forecastTable("    site_tag = \"\"\n    lookback_days = 800\n    [inputs.qliksense_license.forecast.tags]\n      butler_instance = \"e2e-butler\"\n"))
	r := reportOf(t, butler)["professional"]
	require.NotNil(t, r, "Butler's points give a professional forecast")
	require.Equal(t, "ok", str(r["status"]))
	require.Equal(t, float64(364), num(t, r["lag_days"]), "two years: the yearly rhythm is followed")
	require.InDelta(t, butlerGrowth, num(t, r["growth_per_day"]), 0.02)
	require.Equal(t, float64(900), num(t, r["pool"]))
	t.Logf("Butler's two years: %+.3f a day, margin in %v days", num(t, r["growth_per_day"]), r["days_to_margin"])
}
