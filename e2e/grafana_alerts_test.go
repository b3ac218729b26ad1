//go:build e2e

package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// provisionedRule is what this test reads of a rule of grafana/qliksense-license-alerts.yaml.
type provisionedRule struct {
	UID          string `yaml:"uid"`
	NoDataState  string `yaml:"noDataState"`
	ExecErrState string `yaml:"execErrState"`
	Data         []struct {
		Model struct {
			Query string `yaml:"query"`
		} `yaml:"model"`
	} `yaml:"data"`
}

func provisionedRules(t *testing.T) map[string]provisionedRule {
	t.Helper()
	b, err := os.ReadFile("../grafana/qliksense-license-alerts.yaml")
	require.NoError(t, err)
	var file struct {
		Groups []struct {
			Rules []provisionedRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(b, &file))
	rules := map[string]provisionedRule{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			rules[r.UID] = r
		}
	}
	return rules
}

// The forecast's alert rules resolve when the forecast's dates disappear (issue 29). In a
// real InfluxDB 1.8, forecast points as the plugin writes them (the dates only while the
// trend rises): professional was rising two hours ago and is flat since, analyzer rises.
// Each rule's query returns analyzer alone — not professional's old value, which last()
// over the two days gave — and, once analyzer is flat too, nothing: the rules' noDataState
// is OK, so Grafana resolves them. The dashboard's forecast panels read the same way.
func TestForecastAlertsResolveWhenTheDatesDisappear(t *testing.T) {
	_, err := os.Stat(bin("influxd"))
	require.NoError(t, err, "run `make e2e`: it builds influxd into bin/")
	ix := startInflux(t, filepath.Join(t.TempDir(), "influxdb"), freePort(t), freePort(t))
	ix.exec(t, "CREATE DATABASE alerts")
	now := time.Now().UTC().Truncate(time.Second)
	point := func(typ string, ago time.Duration, dates string) string {
		fields := `status="ok",history_days=120i,lead_time_days=30i,horizon_days=365i`
		if dates != "" {
			fields += `,trend="rising",` + dates
		} else {
			fields += `,trend="flat"`
		}
		return fmt.Sprintf("qlik_sense_license_forecast,site=s1,license_type=%s %s %d", typ, fields, now.Add(-ago).Unix())
	}
	ix.write(t, "alerts", []string{
		point("professional", 3*time.Hour, `buy_by_days=4,buy_by_date="x",days_to_exhaustion=20`),
		point("professional", 2*time.Hour, `buy_by_days=5,buy_by_date="x",days_to_exhaustion=21`),
		point("professional", time.Hour, ""),
		point("professional", 5*time.Minute, ""),
		point("analyzer", 2*time.Hour, `buy_by_days=8,buy_by_date="x",days_to_exhaustion=52`),
		point("analyzer", 5*time.Minute, `buy_by_days=7,buy_by_date="x",days_to_exhaustion=50`),
	})
	rules := provisionedRules(t)
	want := map[string]float64{"qsl-buy-by-soon": 7, "qsl-exhaustion-within-lead-time": 50 - 30}
	for uid, value := range want {
		r, ok := rules[uid]
		require.True(t, ok, uid)
		require.Equal(t, "OK", r.NoDataState, "%s: no data is resolved", uid)
		require.Equal(t, "Error", r.ExecErrState, "%s: a failed query is an error, not an answer", uid)
		rows := ix.query(t, "alerts", r.Data[0].Model.Query)
		require.Len(t, rows, 1, "%s: the latest forecast of each type only: %v", uid, rows)
		require.Equal(t, "analyzer", str(rows[0]["license_type"]), uid)
		require.Equal(t, "s1", str(rows[0]["site"]), uid)
		require.Len(t, rows[0], 4, "%s: time, site, type and the value: %v", uid, rows[0])
		for k, v := range rows[0] {
			if k != "time" && k != "site" && k != "license_type" {
				require.Equal(t, value, num(t, v), uid)
			}
		}
	}

	// The dashboard's forecast panels show the latest forecast too: no buy-by date once
	// the trend is flat ("No value: demand is flat or falling"), and the table's row of a
	// flat type has no dates.
	panels := forecastPanels(t)
	buyBy := ix.query(t, "alerts", panels["Buy by"])
	require.Len(t, buyBy, 1, "Buy by: %v", buyBy)
	require.Equal(t, "analyzer", str(buyBy[0]["license_type"]))
	require.Equal(t, float64(7), num(t, buyBy[0]["days left"]))
	table := ix.query(t, "alerts", panels["Forecast per license type"])
	require.Len(t, table, 2, "a row per type: %v", table)
	for _, r := range table {
		flat := str(r["license_type"]) == "professional"
		require.Equal(t, map[bool]string{true: "flat", false: "rising"}[flat], str(r["trend"]), "%v", r)
		require.Equal(t, flat, r["days to exhaustion"] == nil, "%v", r)
	}

	ix.write(t, "alerts", []string{point("analyzer", time.Minute, "")})
	for uid := range want {
		require.Empty(t, ix.query(t, "alerts", rules[uid].Data[0].Model.Query), "%s: no dates, no data", uid)
	}
	require.Empty(t, ix.query(t, "alerts", panels["Buy by"]), "Buy by: no value once every type is flat")
}

// forecastPanels are the queries of the dashboard's forecast panels by title, for site s1
// over the last week.
func forecastPanels(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../grafana/qliksense-license-influxql.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Query string `json:"query"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	macros := strings.NewReplacer("$timeFilter", "time > now() - 7d", "$site", "s1")
	out := map[string]string{}
	for _, p := range dash.Panels {
		if p.Title == "Buy by" || p.Title == "Forecast per license type" {
			require.Len(t, p.Targets, 1, p.Title)
			out[p.Title] = macros.Replace(p.Targets[0].Query)
		}
	}
	require.Len(t, out, 2)
	return out
}
