package qliksense_license_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

// fakeHistory is InfluxDB's /query with 120 days of professional seats held growing by one
// a day (and a pool of 400), counting the queries it answers.
func fakeHistory(t *testing.T, queries *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		if !strings.Contains(r.URL.Query().Get("q"), `"site" = 'production'`) {
			http.Error(w, `{"error":"no site filter"}`, http.StatusBadRequest)
			return
		}
		var values [][]any
		for d := range 120 {
			day := testkit.Now.Truncate(24*time.Hour).AddDate(0, 0, d-119)
			values = append(values, []any{day.Unix(), 200 + d, 400})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{map[string]any{"series": []any{map[string]any{
			"tags": map[string]string{"license_type": "professional"}, "columns": []string{"time", "held", "pool"}, "values": values}}}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// forecastPlugin is a plugin for srv's site named site, whose forecast reads influx.
func forecastPlugin(t *testing.T, srv *emulator.Server, influx, site, extra string) *qliksense_license.QlikSenseLicense {
	t.Helper()
	return load(t, writeConf(t, certConf(srv, `site = "`+site+`"
  [inputs.qliksense_license.forecast]
    enabled = true
    url = "`+influx+`"
    database = "qliksense"
`+extra)))
}

// The plugin reports the forecast of the history in InfluxDB, read in one query and again
// only after forecast.refresh, with the reclaimable allocations of the same gather.
func TestForecastPoint(t *testing.T) {
	srv := serve(t, emulator.Generate(emulator.SiteSpec{Seed: 7, Users: 100, Now: testkit.Now}))
	var queries atomic.Int64
	influx := fakeHistory(t, &queries)
	p := forecastPlugin(t, srv, influx.URL, "production", `    lead_time_days = 45
  [inputs.qliksense_license.release]
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30`)
	acc := gather(t, p)
	require.Empty(t, acc.Errors)
	var point map[string]any
	projection := 0
	for _, m := range acc.GetTelegrafMetrics() {
		switch m.Name() {
		case qliksense_license.MeasurementForecast:
			require.Equal(t, map[string]string{"site": "production", "license_type": "professional"}, m.Tags())
			point = m.Fields()
		case qliksense_license.MeasurementForecastProjection:
			projection++
		}
	}
	require.NotNil(t, point)
	require.Equal(t, "ok", point["status"])
	require.Equal(t, "rising", point["trend"])
	require.InDelta(t, 1.0, point["growth_per_day"], 1e-9)
	require.InDelta(t, 319.0, point["held_now"], 1e-9)
	require.InDelta(t, 41.0, point["days_to_margin"], 1e-9) // (360 − 319) / 1
	require.InDelta(t, -4.0, point["buy_by_days"], 1e-9, "45 days of lead time: 4 days late")
	require.Equal(t, testkit.Now.AddDate(0, 0, 41).Format(time.DateOnly), point["margin_date"])
	require.Positive(t, point["reclaimable"])
	require.InDelta(t, float64(point["reclaimable"].(int64)), point["reclaimable_days"], 1e-9, "one seat a day: each reclaimed seat is a day")
	require.Len(t, projectionTimes(acc), 52, "the weekly grid's points from the forecast's day to 365 days on")
	require.Equal(t, int64(1), queries.Load())

	acc = gather(t, p)
	require.Equal(t, int64(1), queries.Load(), "the last forecast is reported until forecast.refresh passes")
	require.Empty(t, projectionTimes(acc), "the projection changes only at a refresh: written only then")
}

// projectionTimes are the timestamps of the projection points an accumulator holds.
func projectionTimes(acc *testutil.Accumulator) []time.Time {
	var out []time.Time
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() == qliksense_license.MeasurementForecastProjection {
			out = append(out, m.Time())
		}
	}
	return out
}

// One projection per type in InfluxDB: the points sit on a fixed weekly grid (00:00 UTC
// every seven days from the Unix epoch, where GROUP BY time(7d) starts its buckets), so
// the refreshes of the days after write the same timestamps, overwriting the projection
// before them, instead of a new series of points a day later each day.
func TestForecastProjectionGrid(t *testing.T) {
	srv := serve(t, emulator.Generate(emulator.SiteSpec{Seed: 7, Users: 50, Now: testkit.Now}))
	var queries atomic.Int64
	influx := fakeHistory(t, &queries)
	p := forecastPlugin(t, srv, influx.URL, "production", `    refresh = "24h"`)
	first := projectionTimes(gather(t, p))
	require.NotEmpty(t, first)
	week := 7 * 24 * time.Hour
	for _, at := range first {
		require.Zero(t, at.Unix()%int64(week/time.Second), "%s is on the grid", at)
		require.False(t, at.Before(testkit.Now.Truncate(24*time.Hour)))
	}
	seen := map[time.Time]bool{}
	for _, at := range first {
		seen[at] = true
	}
	for day := 1; day <= 6; day++ {
		p.SetNow(func() time.Time { return testkit.Now.AddDate(0, 0, day) })
		next := projectionTimes(gather(t, p))
		require.Equal(t, int64(1+day), queries.Load(), "a refresh a day")
		fresh := 0
		for _, at := range next {
			if !seen[at] {
				fresh++
				seen[at] = true
			}
		}
		require.LessOrEqual(t, fresh, 1, "day %d: at most the week the horizon reaches is new", day)
	}
	require.LessOrEqual(t, len(seen), len(first)+1, "a week of refreshes keeps one projection per week of the grid")
}

// Too little history is a point saying so; a history that cannot be read is an error.
func TestForecastWithoutHistory(t *testing.T) {
	srv := serve(t, emulator.Generate(emulator.SiteSpec{Seed: 7, Users: 50, Now: testkit.Now}))
	var queries atomic.Int64
	influx := fakeHistory(t, &queries)
	p := forecastPlugin(t, srv, influx.URL, "production", "    min_history_days = 150\n    lookback_days = 150")
	acc := gather(t, p)
	require.Empty(t, acc.Errors)
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() == qliksense_license.MeasurementForecast {
			require.Equal(t, map[string]any{"status": "insufficient_history", "history_days": int64(120), "margin_percent": 10.0,
				"lead_time_days": int64(30), "horizon_days": int64(365)}, m.Fields())
		}
	}

	p = forecastPlugin(t, srv, influx.URL, "other", "")
	acc = gather(t, p)
	require.Len(t, acc.Errors, 1)
	require.ErrorContains(t, acc.Errors[0], "forecast: querying the history at "+influx.URL+": 400 Bad Request: no site filter")
}
