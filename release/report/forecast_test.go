package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
	"github.com/qliksense-license/qliksense-license/release/report"
)

// A slowly rising trend (pool 1000, 500 held, 1.5 seats a year) reaches its pool about
// 120 000 days ahead: the table, JSON and CSV say "not within 10 years" where the dates
// were days in the 1700s (an overflowed time.Duration), and keep the days.
func TestForecastFarDates(t *testing.T) {
	made := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	var days []forecast.Day
	for d := range 400 {
		days = append(days, forecast.Day{Date: made.AddDate(0, 0, d-399), Held: 500 - 1.5/365*float64(399-d)})
	}
	r := forecast.Make(forecast.Input{Days: days, Pool: 1000, Now: made}, forecast.DefaultParams)
	require.Equal(t, forecast.Rising, r.Trend)
	f := &report.Forecast{Site: "production", Made: made, Params: forecast.DefaultParams, Results: map[string]forecast.Result{"professional": r}}

	var table bytes.Buffer
	require.NoError(t, f.Render(&table, report.FormatTable))
	require.Equal(t, 3, strings.Count(table.String(), "not within 10 years"), table.String())

	var js bytes.Buffer
	require.NoError(t, f.Render(&js, report.FormatJSON))
	var entries []struct {
		Fields map[string]any `json:"fields"`
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &entries))
	require.Len(t, entries, 1)
	for _, k := range []string{"exhaustion_date", "margin_date", "buy_by_date"} {
		require.Equal(t, "not within 10 years", entries[0].Fields[k], k)
	}
	require.Greater(t, entries[0].Fields["days_to_exhaustion"], 100000.0)

	var c bytes.Buffer
	require.NoError(t, f.Render(&c, report.FormatCSV))
	rows, err := csv.NewReader(&c).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	for i, col := range rows[0] {
		if strings.HasSuffix(col, "_date") {
			require.Equal(t, "not within 10 years", rows[1][i], col)
		}
	}

	// Within ten years, the table keeps the date and its days.
	for i := range days {
		days[i].Held = 100 + float64(i)
	}
	f.Results["professional"] = forecast.Make(forecast.Input{Days: days, Pool: 1000, Now: made}, forecast.DefaultParams)
	table.Reset()
	require.NoError(t, f.Render(&table, report.FormatTable))
	m := *f.Results["professional"].DaysToMargin
	require.InDelta(t, 402, m, 1)
	want := made.AddDate(0, 0, int(m)).Add(time.Duration((m - float64(int(m))) * float64(24*time.Hour))).Format(time.DateOnly)
	require.Contains(t, table.String(), want+" (402 d)")
}
