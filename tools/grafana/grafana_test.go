package main

//lint:file-ignore SA1019 the classic dashboard model (dashboard.Dashboard) is what Grafana 9 to 12 import and provision; the SDK marks it deprecated in favour of dashboardv2, the schema of Grafana 12's new dashboard API only

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/alerting"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/expr"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const committed = "../../grafana"

// sdkErr is nil for an empty list of errors: the SDK's strict decoding returns its list
// (cog.BuildErrors) even when it is empty.
func sdkErr(err error) error {
	var list cog.BuildErrors
	if errors.As(err, &list) && len(list) == 0 {
		return nil
	}
	return err
}

func readCommitted(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(committed, name))
	require.NoError(t, err)
	return b
}

// The committed files are what the generator writes: change the generator, then run
// `make grafana`.
func TestCommittedFilesAreGenerated(t *testing.T) {
	files, err := generate()
	require.NoError(t, err)
	require.Len(t, files, 2)
	for _, f := range files {
		require.Equal(t, string(f.content), string(readCommitted(t, f.name)), "grafana/%s differs from what tools/grafana writes: run `make grafana`", f.name)
	}
}

// strictDashboard checks a dashboard with the SDK's strict decoding: unknown fields,
// missing required ones and wrong types are errors, in panels, options and queries too.
// It returns the dashboard as the SDK's ordinary decoding reads it: in v0.0.22 the strict
// decoding reports its errors in full but leaves out of its result every part that
// decoded without error (it takes the empty error list it gets back for an error).
func strictDashboard(raw []byte) (dashboard.Dashboard, error) {
	registerPlugins()
	var d dashboard.Dashboard
	if err := sdkErr(d.UnmarshalJSONStrict(raw)); err != nil {
		return d, err
	}
	d = dashboard.Dashboard{}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, err
	}
	return d, d.Validate()
}

func TestDashboardStrictDecoding(t *testing.T) {
	d, err := strictDashboard(readCommitted(t, dashboardFile))
	require.NoError(t, err)
	require.Equal(t, dashboardUID, *d.Uid)
	var queries, rows int
	ids := map[uint32]bool{}
	for _, p := range d.Panels {
		if p.RowPanel != nil {
			rows++
			require.False(t, ids[p.RowPanel.Id], "panel id %d twice", p.RowPanel.Id)
			ids[p.RowPanel.Id] = true
			continue
		}
		require.NotNil(t, p.Panel)
		require.NotNil(t, p.Panel.Id, "panel %q has an id", *p.Panel.Title)
		require.False(t, ids[*p.Panel.Id], "panel id %d twice", *p.Panel.Id)
		ids[*p.Panel.Id] = true
		require.NotEmpty(t, p.Panel.Targets, "panel %q has queries", *p.Panel.Title)
		for _, tg := range p.Panel.Targets {
			q, ok := tg.(InfluxQuery)
			require.True(t, ok, "panel %q: a %T, not an InfluxQL query", *p.Panel.Title, tg)
			require.Equal(t, "${"+datasourceVar+"}", *q.Datasource.Uid)
			queries++
		}
	}
	require.Equal(t, 7, rows)
	require.NotContains(t, ids, uint32(0), "no panel has id 0")
	require.Equal(t, 28, queries)
	var names []string
	for _, v := range d.Templating.List {
		names = append(names, v.Name)
	}
	require.Equal(t, []string{datasourceVar, siteVar}, names)
}

// The strict decoding is a check that can fail: what Grafana's schema does not have is
// refused, in the dashboard, a panel's options and an InfluxQL query alike.
func TestDashboardStrictDecodingRejects(t *testing.T) {
	good := readCommitted(t, dashboardFile)
	for name, c := range map[string]struct{ from, to, want string }{
		"an export's __inputs (the hand-written file had them)": {`{
  "uid"`, `{
  "__inputs": [],
  "uid"`, "unexpected field '__inputs'"},
		"a misspelt query field":          {`"rawQuery": true`, `"rawQuerry": true`, `unknown field "rawQuerry"`},
		"a query field in the wrong case": {`"resultFormat": "table"`, `"resultformat": "table"`, `unknown field "resultformat"`},
		"a query in no raw mode":          {`"rawQuery": true`, `"rawQuery": false`, "rawQuery: must be true"},
		"an unknown result format":        {`"resultFormat": "table"`, `"resultFormat": "logs"`, `resultFormat: "logs"`},
		"a stat option Grafana has not":   {`"wideLayout": true`, `"wideLayout": true, "glow": 1`, "unexpected field 'glow'"},
		"a panel field of the wrong type": {`"h": 8`, `"h": "8"`, "gridPos"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := bytes.Replace(good, []byte(c.from), []byte(c.to), 1)
			require.NotEqual(t, good, bad, "the case applies to the committed file")
			_, err := strictDashboard(bad)
			require.ErrorContains(t, err, c.want)
		})
	}
}

// provisionedGroup is a group of the provisioning file, decoded refusing unknown keys.
type provisionedGroup struct {
	OrgID    int64       `yaml:"orgId"`
	Name     string      `yaml:"name"`
	Folder   string      `yaml:"folder"`
	Interval string      `yaml:"interval"`
	Rules    []yaml.Node `yaml:"rules"`
}

// strictAlerts decodes the provisioning file, and each of its rules with the SDK's strict
// decoding of Grafana's alert rule (given back the orgID, folderUID and ruleGroup that the
// file keeps on the group).
func strictAlerts(raw []byte) ([]alerting.Rule, error) {
	registerPlugins()
	var file struct {
		APIVersion int                `yaml:"apiVersion"`
		Groups     []provisionedGroup `yaml:"groups"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, err
	}
	var rules []alerting.Rule
	for _, g := range file.Groups {
		for _, n := range g.Rules {
			var m map[string]any
			if err := n.Decode(&m); err != nil {
				return nil, err
			}
			m["orgID"], m["folderUID"], m["ruleGroup"] = g.OrgID, sdkFolderUID, g.Name
			b, err := json.Marshal(m)
			if err != nil {
				return nil, err
			}
			var r alerting.Rule
			if err := sdkErr(r.UnmarshalJSONStrict(b)); err != nil {
				return nil, err
			}
			r = alerting.Rule{} // as strictDashboard, the ordinary decoding's result
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, err
			}
			if err := r.Validate(); err != nil {
				return nil, err
			}
			rules = append(rules, r)
		}
	}
	return rules, nil
}

func TestAlertRulesStrictDecoding(t *testing.T) {
	rules, err := strictAlerts(readCommitted(t, alertsFile))
	require.NoError(t, err)
	require.Len(t, rules, len(alertRules))
	for i, r := range rules {
		require.Equal(t, alertRules[i].uid, *r.Uid)
		require.Len(t, r.Data, 3, *r.Uid)
		a, ok := r.Data[0].Model.(InfluxQuery)
		require.True(t, ok, "%s: query A is a %T", *r.Uid, r.Data[0].Model)
		require.Equal(t, alertRules[i].query, a.Query)
		for _, q := range r.Data[1:] {
			_, ok := q.Model.(*expr.Expr)
			require.True(t, ok, "%s: %s is a %T", *r.Uid, *q.RefId, q.Model)
		}
	}
}

func TestAlertRulesStrictDecodingRejects(t *testing.T) {
	good := readCommitted(t, alertsFile)
	for name, c := range map[string]struct{ from, to, want string }{
		"a misspelt rule key":              {"noDataState: OK", "noDataStat: OK", "unexpected field 'noDataStat'"},
		"a misspelt group key":             {"folder: Qlik", "folders: Qlik", "field folders not found"},
		"an unknown reducer field":         {"reducer: last", "reducers: last", "unexpected field 'reducers'"},
		"an unknown expression type":       {"type: reduce", "type: reduction", "type = reduction"},
		"a misspelt InfluxQL field":        {"resultFormat: time_series", "resultformat: time_series", `unknown field "resultformat"`},
		"an InfluxQL query in no raw mode": {"rawQuery: true", "rawQuery: false", "rawQuery: must be true"},
		"a threshold that is no list":      {"- 0.05", "0.05", "params"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := bytes.Replace(good, []byte(c.from), []byte(c.to), 1)
			require.NotEqual(t, good, bad, "the case applies to the committed file")
			_, err := strictAlerts(bad)
			require.ErrorContains(t, err, c.want)
		})
	}
}

// The forecast's rules resolve when the forecast's dates disappear (issue 29): their query
// reads the latest forecast point only (the end-to-end test runs it on a forecast that
// turns flat and gets nothing), and nothing is OK, not NoData or Alerting. A failed query
// is an error, never an answer.
func TestForecastRulesResolveWhenTheFieldDisappears(t *testing.T) {
	rules, err := strictAlerts(readCommitted(t, alertsFile))
	require.NoError(t, err)
	byUID := map[string]alerting.Rule{}
	for _, r := range rules {
		byUID[*r.Uid] = r
		require.Equal(t, alerting.RuleExecErrStateError, r.ExecErrState, *r.Uid)
	}
	for uid, field := range map[string]string{"qsl-buy-by-soon": "buy_by_days", "qsl-exhaustion-within-lead-time": "days_to_exhaustion"} {
		r, ok := byUID[uid]
		require.True(t, ok, uid)
		require.Equal(t, alerting.RuleNoDataStateOK, r.NoDataState, uid)
		q := r.Data[0].Model.(InfluxQuery).Query
		require.Contains(t, q, `"`+field+`"`, uid)
		require.Contains(t, q, `ORDER BY time DESC LIMIT 1)`, "%s reads the latest forecast point only", uid)
		require.True(t, strings.HasPrefix(q, "SELECT last("), uid)
		reduce := r.Data[1].Model.(*expr.Expr).TypeReduce
		require.NotNil(t, reduce, uid)
		require.Equal(t, expr.TypeReduceReducerLast, reduce.Reducer, uid)
	}
}

// influxQueryFields are the JSON names of InfluxQuery, all of them.
func TestInfluxQueryFields(t *testing.T) {
	b, err := json.Marshal(InfluxQuery{Datasource: &common.DataSourceRef{}, Hide: cog.ToPtr(true), Alias: "a"})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	var names []string
	for k := range m {
		names = append(names, k)
	}
	require.ElementsMatch(t, influxQueryFields, names)
}
