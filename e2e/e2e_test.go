//go:build e2e

// Package e2e_test runs the real stack: the QRS emulator, a real InfluxDB 1.8, a real
// Telegraf running the plugin through [[inputs.execd]] (configured from
// telegraf.conf.example), and the release sidecar binary. `make e2e` builds what it needs.
package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"time"

	"gopkg.in/yaml.v3"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

type stack struct {
	root   *testing.T // processes live as long as the whole test
	srv    *emulator.Server
	client *qrs.Client
	ix     *influx
	dir    string
}

func (s *stack) siteConf(t *testing.T, name, releaseTable string) string {
	t.Helper()
	conf := s.srv.PluginConfig("e2e", "  [inputs.qliksense_license.release]\n"+releaseTable)
	path := filepath.Join(s.dir, name+".conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	return path
}

// plan asks the sidecar binary for its plan.
func plan(t *testing.T, conf string) planned {
	t.Helper()
	out, errOut, code := runCmd(t, "qliksense-license-release", "plan", "-config", conf, "-format", "json")
	require.Equal(t, 0, code, errOut)
	var p planned
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	return p
}

type planned struct {
	Items []struct {
		Verdict      string `json:"verdict"`
		Type         string `json:"type"`
		AllocationID string `json:"allocation_id"`
		Email        string `json:"email"`
	} `json:"items"`
}

// planReleases asks the sidecar binary for its plan and returns the allocations it would release.
func planReleases(t *testing.T, conf string) map[string]string {
	t.Helper()
	p := plan(t, conf)
	ids := map[string]string{}
	for _, it := range p.Items {
		if it.Verdict == "release" {
			ids[it.AllocationID] = it.Type
		}
	}
	return ids
}

type snapshot map[string]emulator.Allocation

func (s *stack) snapshot() snapshot {
	out := snapshot{}
	for _, k := range emulator.Kinds {
		for _, a := range s.srv.Site.Allocations(k) {
			out[a.ID] = a
		}
	}
	return out
}

// requireReleased checks the emulator's state after a run: exactly the planned
// allocations are gone or quarantined; nothing else changed.
func requireReleased(t *testing.T, before, after snapshot, planned map[string]string) (released, quarantined []string) {
	t.Helper()
	for id, a := range before {
		b, still := after[id]
		if _, ok := planned[id]; ok {
			switch {
			case !still:
				released = append(released, id)
			case b.Quarantined && !a.Quarantined:
				quarantined = append(quarantined, id)
			default:
				t.Fatalf("planned allocation %s was not released", id)
			}
			continue
		}
		require.True(t, still, "allocation %s was released without being planned", id)
		require.Equal(t, a, b, "allocation %s changed without being planned", id)
	}
	return released, quarantined
}

func TestEndToEnd(t *testing.T) {
	for _, b := range []string{"telegraf", "influxd", "qliksense-license", "qliksense-license-release"} {
		_, err := os.Stat(bin(b))
		require.NoError(t, err, "run `make e2e`: it builds %s into bin/", b)
	}
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	site := emulator.Generate(emulator.SiteSpec{Seed: 51, Users: 400, CapacityMinutes: 6000, Now: now, Apps: 150, AppObjects: 3000})
	srv := testkit.StartEmulator(t, site, func(o *emulator.Options) { o.CertDir = filepath.Join(dir, "certs") })
	tlsCfg, err := testkit.ClientFiles(srv).TLSConfig()
	require.NoError(t, err)
	client, err := qrs.New(qrs.Config{Server: srv.URL, TLS: tlsCfg})
	require.NoError(t, err)
	influxPort, rpcPort, listenerPort := freePort(t), freePort(t), freePort(t)
	s := &stack{root: t, srv: srv, client: client, dir: dir}
	s.ix = startInflux(t, filepath.Join(dir, "influxdb"), influxPort, rpcPort)
	s.ix.exec(t, "CREATE DATABASE qliksense")
	t.Logf("emulator %s, InfluxDB %s, Telegraf listener 127.0.0.1:%d", srv.URL, s.ix.url, listenerPort)

	// The plugin's file: connection, and the policy whose reclaimable counts Telegraf reports.
	pluginConf := s.siteConf(t, "plugin", testkit.PolicyTables)
	details, err := os.ReadFile(pluginConf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(pluginConf, []byte(strings.Replace(string(details), "  [inputs.qliksense_license.release]",
		"  allocation_details = true\n  [inputs.qliksense_license.rightsize]\n    enabled = true\n"+s.forecastTable("")+"  [inputs.qliksense_license.release]", 1)), 0o600))
	s.backfill(t) // before Telegraf's first gather, which makes the first forecast
	tgConf := filepath.Join(dir, "telegraf.conf")
	require.NoError(t, os.WriteFile(tgConf, []byte(fromExample(t, pluginConf, s.ix.url, listenerPort)), 0o600))
	start(t, "telegraf", nil, "--config", tgConf)

	t.Run("telegraf writes the plugin's metrics to InfluxDB", func(t *testing.T) { s.checkGather(t) })
	t.Run("the right-sizing measurement equals the rightsize command's totals", func(t *testing.T) { s.checkRightsizing(t, pluginConf) })
	t.Run("the forecast through Telegraf equals the forecast report; Butler's history forecasts on day one", func(t *testing.T) { s.checkForecast(t, pluginConf) })
	t.Run("sidecar writes outcomes straight to InfluxDB", func(t *testing.T) {
		conf := s.siteConf(t, "direct", fmt.Sprintf(`
    dry_run = false
    max_releases_per_run = 1000
    always_release_inactive = true
    state_dir = %q
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.protect]
      users = ['INTERNAL\sa_api']
      tags = ["License do not release"]
    [inputs.qliksense_license.release.output]
      url = %q
      bucket = "qliksense/autogen"`, filepath.Join(dir, "state-direct"), s.ix.url))
		s.checkRun(t, conf, true)
	})
	t.Run("sidecar writes outcomes through Telegraf's influxdb_v2_listener", func(t *testing.T) {
		conf := s.siteConf(t, "listener", fmt.Sprintf(`
    dry_run = false
    max_releases_per_run = 10
    state_dir = %q
    [inputs.qliksense_license.release.analyzer]
      enabled = true
      inactive_days = 60
    [inputs.qliksense_license.release.output]
      url = "http://127.0.0.1:%d"
      bucket = "qliksense"`, filepath.Join(dir, "state-listener"), listenerPort))
		s.checkRun(t, conf, false)
	})
	t.Run("outcomes written while InfluxDB is down arrive when it is back", func(t *testing.T) {
		s.checkSpool(t, influxPort, rpcPort)
	})
	t.Run("notices go through a real SMTP server, then the noticed idle allocations are released", func(t *testing.T) {
		s.checkNotices(t)
	})
	t.Run("the license report answers as the forecast does, and is mailed on schedule", func(t *testing.T) { s.checkReport(t) })
	t.Run("every query of the Grafana dashboard returns data", func(t *testing.T) { s.checkDashboard(t) })
	t.Run("every Grafana alert rule's query returns what the rule needs", func(t *testing.T) { s.checkAlertRules(t) })
}

// checkDashboard runs each InfluxQL query of grafana/qliksense-license-influxql.json, with
// Grafana's macros filled in, against the InfluxDB the stack wrote to.
// checkAlertRules runs the InfluxQL query of every provisioned alert rule. On this healthy
// stack the rules that watch a level get it (seats, expiries, gather errors, the last run);
// those that count failures get nothing, and their query with the failure condition turned
// around gets the points, so they read real measurements and fields.
func (s *stack) checkAlertRules(t *testing.T) {
	b, err := os.ReadFile("../grafana/qliksense-license-alerts.yaml")
	require.NoError(t, err)
	var file struct {
		APIVersion int `yaml:"apiVersion"`
		Groups     []struct {
			Rules []struct {
				UID       string `yaml:"uid"`
				Title     string `yaml:"title"`
				Condition string `yaml:"condition"`
				Data      []struct {
					RefID         string `yaml:"refId"`
					DatasourceUID string `yaml:"datasourceUid"`
					Model         struct {
						Query string `yaml:"query"`
					} `yaml:"model"`
				} `yaml:"data"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(b, &file))
	require.Equal(t, 1, file.APIVersion)
	// uid → the failure condition to turn around when the healthy stack has none.
	failures := map[string][2]string{
		"qsl-failed-releases": {`"outcome" = 'failed'`, `"outcome" = 'released'`},
		"qsl-reload-refused":  {`"success" = false`, `"success" = true`},
	}
	seen := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			require.False(t, seen[r.UID], "uid %s twice", r.UID)
			seen[r.UID] = true
			require.Equal(t, "C", r.Condition, r.UID)
			require.Len(t, r.Data, 3, r.UID)
			a := r.Data[0]
			require.Equal(t, "${QLIKSENSE_LICENSE_DATASOURCE_UID}", a.DatasourceUID, r.UID)
			q := a.Model.Query
			rows := s.ix.query(t, "qliksense", q)
			flip, counts := failures[r.UID]
			if !counts {
				require.NotEmpty(t, rows, "rule %s (%s): %s", r.UID, r.Title, q)
				continue
			}
			require.Empty(t, rows, "rule %s: nothing failed on this stack", r.UID)
			if r.UID == "qsl-reload-refused" {
				continue // no reload on this stack: release's tests deliver reload points
			}
			q = strings.Replace(q, flip[0], flip[1], 1)
			require.NotEmpty(t, s.ix.query(t, "qliksense", q), "rule %s, turned around: %s", r.UID, q)
		}
	}
	require.Len(t, seen, 9)
	t.Logf("%d alert rules: every query ran against InfluxDB", len(seen))
}

func (s *stack) checkDashboard(t *testing.T) {
	b, err := os.ReadFile("../grafana/qliksense-license-influxql.json")
	require.NoError(t, err)
	type variable struct {
		Name  string `json:"name"`
		Query string `json:"query"`
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Query string `json:"query"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []variable `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	i := slices.IndexFunc(dash.Templating.List, func(v variable) bool { return v.Name == "site" })
	require.GreaterOrEqual(t, i, 0, "the dashboard has a site variable")
	sites := s.ix.query(t, "qliksense", dash.Templating.List[i].Query)
	require.NotEmpty(t, sites, "the site variable has values")
	macros := strings.NewReplacer("$timeFilter", "time > now() - 1h", "$__interval", "10s", "$site", "e2e")
	// The projection is in the future: its panel gets the time range of a dashboard whose
	// end is a year ahead (Grafana gives $timeFilter both bounds).
	future := strings.NewReplacer("$timeFilter", "time > now() - 1h AND time < now() + 400d", "$site", "e2e")
	measurements := map[string]bool{}
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			q := macros.Replace(tg.Query)
			if strings.Contains(tg.Query, "qlik_sense_license_forecast_projection") {
				q = future.Replace(tg.Query)
			}
			rows := s.ix.query(t, "qliksense", q)
			require.NotEmpty(t, rows, "panel %q: %s", p.Title, q)
			queries++
			for _, m := range []string{"qlik_sense_license", "qlik_sense_server_license", "qlik_sense_license_inactivity", "qlik_sense_license_reclaimable",
				"qlik_sense_license_allocation", "qlik_sense_license_gather", "qlik_sense_license_release", "qlik_sense_license_release_run",
				"qlik_sense_license_rightsizing", "qlik_sense_license_forecast", "qlik_sense_license_forecast_projection"} {
				if strings.Contains(q, `FROM "`+m+`"`) {
					measurements[m] = true
				}
			}
		}
	}
	require.Len(t, measurements, 11, "a panel for every measurement")
	t.Logf("%d dashboard queries returned data, covering all %d measurements", queries, len(measurements))
}

// checkGather waits for Telegraf's first points and compares them with the emulator.
func (s *stack) checkGather(t *testing.T) {
	var gather []map[string]any
	eventually(t, "a qlik_sense_license_gather point in InfluxDB", 90*time.Second, func() bool {
		gather = s.ix.query(t, "qliksense", `SELECT * FROM qlik_sense_license_gather ORDER BY time DESC LIMIT 1`)
		return len(gather) == 1
	})
	g := gather[0]
	require.Equal(t, float64(0), num(t, g["errors"]))
	require.GreaterOrEqual(t, num(t, g["qrs_requests"]), float64(4))
	require.Equal(t, "e2e", str(g["site"]))
	require.Equal(t, "e2e", str(g["host"]), "Telegraf adds its host tag")
	ts := time.Unix(0, int64(num(t, g["time"]))).UTC()
	t.Logf("checked gather at %s: %v requests, %v bytes", ts.Format(time.RFC3339), g["qrs_requests"], g["bytes_received"])

	ov, err := s.client.AccessTypeOverview(t.Context())
	require.NoError(t, err)
	want := map[string]map[string]float64{
		"professional": {"total": float64(ov.ProfessionalAccess.Total), "allocated": float64(ov.ProfessionalAccess.Allocated),
			"available": float64(ov.ProfessionalAccess.Available), "quarantined": float64(ov.ProfessionalAccess.Quarantined),
			"excess": float64(ov.ProfessionalAccess.Excess), "used": float64(ov.ProfessionalAccess.Used)},
		"analyzer": {"total": float64(ov.AnalyzerAccess.Total), "allocated": float64(ov.AnalyzerAccess.Allocated),
			"available": float64(ov.AnalyzerAccess.Available), "quarantined": float64(ov.AnalyzerAccess.Quarantined),
			"excess": float64(ov.AnalyzerAccess.Excess), "used": float64(ov.AnalyzerAccess.Used)},
		"analyzer_capacity": {"allocated_minutes": float64(ov.AnalyzerTimeAccess.AllocatedMinutes), "used_minutes": float64(ov.AnalyzerTimeAccess.UsedMinutes),
			"unavailable_minutes": float64(ov.AnalyzerTimeAccess.UnavailableMinutes)},
		"token_login":      {"allocated_tokens": 0, "used_tokens": 0, "unavailable_tokens": 0, "token_cost": ov.LoginAccess.TokenCost},
		"token_user":       {"allocated_tokens": 0, "used_tokens": 0, "quarantined_tokens": 0, "token_cost": ov.UserAccess.TokenCost},
		"tokens_available": {"available_tokens": 0, "total_tokens": 0},
	}
	rows := s.ix.query(t, "qliksense", fmt.Sprintf(`SELECT * FROM qlik_sense_license WHERE time = %d GROUP BY license_type`, ts.UnixNano()))
	require.Len(t, rows, len(want), "a point for every license type")
	for _, r := range rows {
		lt := str(r["license_type"])
		fields, ok := want[lt]
		require.True(t, ok, lt)
		for f, v := range fields {
			require.Equal(t, v, num(t, r[f]), "%s.%s", lt, f)
		}
	}
	t.Logf("checked qlik_sense_license for %d license types against the emulator's overview", len(rows))

	// Inactivity: counted here from the emulator's own rows. The plugin's clock started
	// within the second after ts, so a bucket edge may fall between; both are allowed.
	inact := s.ix.query(t, "qliksense", fmt.Sprintf(`SELECT * FROM qlik_sense_license_inactivity WHERE time = %d GROUP BY license_type`, ts.UnixNano()))
	require.Len(t, inact, 2)
	for _, r := range inact {
		kind := emulator.Kind(str(r["license_type"]))
		expected := []map[string]float64{s.buckets(kind, ts), s.buckets(kind, ts.Add(time.Second))}
		got := map[string]float64{}
		for f := range expected[0] {
			got[f] = num(t, r[f])
		}
		require.Contains(t, expected, got, "inactivity of %s", kind)
	}
	t.Log("checked qlik_sense_license_inactivity against the emulator's allocations")

	recl := s.ix.query(t, "qliksense", fmt.Sprintf(`SELECT * FROM qlik_sense_license_reclaimable WHERE time = %d GROUP BY license_type`, ts.UnixNano()))
	require.Len(t, recl, 2)
	for _, r := range recl {
		kind := emulator.Kind(str(r["license_type"]))
		days := map[emulator.Kind]int{emulator.KindProfessional: 30, emulator.KindAnalyzer: 60}[kind]
		a, b := s.reclaimable(kind, days, ts), s.reclaimable(kind, days, ts.Add(time.Second))
		require.Contains(t, []float64{a, b}, num(t, r["reclaimable"]), "reclaimable %s", kind)
		require.Equal(t, float64(days), num(t, r["threshold_days"]))
	}
	t.Log("checked qlik_sense_license_reclaimable against the seeded site")
}

// buckets counts the emulator's allocations as the README defines the inactivity fields.
func (s *stack) buckets(k emulator.Kind, now time.Time) map[string]float64 {
	edges := []int{7, 14, 30, 60, 90, 180, 365}
	out := map[string]float64{"never_used": 0, "quarantined": 0, "total": 0}
	names := []string{"days_0_7", "days_7_14", "days_14_30", "days_30_60", "days_60_90", "days_90_180", "days_180_365", "days_365_plus"}
	for _, n := range names {
		out[n] = 0
	}
	for _, a := range s.srv.Site.Allocations(k) {
		out["total"]++
		switch {
		case a.Quarantined:
			out["quarantined"]++
		case a.LastUsed.IsZero():
			out["never_used"]++
		default:
			i := 0
			for i < len(edges) && now.Sub(a.LastUsed) >= time.Duration(edges[i])*24*time.Hour {
				i++
			}
			out[names[i]]++
		}
	}
	return out
}

// reclaimable counts, from the emulator's rows, what the plugin's policy releases.
func (s *stack) reclaimable(k emulator.Kind, days int, now time.Time) float64 {
	n := 0.0
	for _, a := range s.srv.Site.Allocations(k) {
		u, ok := s.srv.Site.User(a.UserRef)
		// testkit.PolicyTables protects these users (case-insensitively) and the tag below.
		protected := strings.EqualFold(u.UserDirectory+`\`+u.UserID, `INTERNAL\sa_api`) || strings.EqualFold(u.UserDirectory+`\`+u.UserID, `CORP\O'Brien`)
		if a.Quarantined || !ok || protected {
			continue
		}
		if slices.ContainsFunc(u.Tags, func(t emulator.Tag) bool { return t.Name == "License do not release" }) {
			continue
		}
		from := a.LastUsed
		if from.IsZero() {
			from = a.Created
		}
		if now.Sub(from) >= time.Duration(days)*24*time.Hour {
			n++
		}
	}
	return n
}

// checkRun plans and runs the sidecar, then checks the emulator and InfluxDB agree.
func (s *stack) checkRun(t *testing.T, conf string, expectQuarantine bool) {
	plan := planReleases(t, conf)
	require.NotEmpty(t, plan)
	before := s.snapshot()
	_, errOut, code := runCmd(t, "qliksense-license-release", "once", "-config", conf)
	require.Equal(t, 0, code, errOut)
	released, quarantined := requireReleased(t, before, s.snapshot(), plan)
	require.Equal(t, len(plan), len(released)+len(quarantined))
	if expectQuarantine {
		require.NotEmpty(t, quarantined, "inactive users who used Qlik this week are quarantined, not freed")
	}
	t.Logf("released %d, quarantined %d; nothing unplanned touched", len(released), len(quarantined))

	runs := s.ix.query(t, "qliksense", `SELECT * FROM qlik_sense_license_release_run ORDER BY time DESC LIMIT 1`)
	eventually(t, "the run point in InfluxDB", 30*time.Second, func() bool {
		runs = s.ix.query(t, "qliksense", `SELECT * FROM qlik_sense_license_release_run ORDER BY time DESC LIMIT 1`)
		return len(runs) == 1 && num(t, runs[0]["released"]) == float64(len(released))
	})
	run := runs[0]
	require.Equal(t, float64(len(quarantined)), num(t, run["quarantined"]))
	require.Equal(t, float64(0), num(t, run["failed"]))
	runID := str(run["run_id"])
	var outcomes []map[string]any
	eventually(t, "every outcome in InfluxDB", 30*time.Second, func() bool {
		outcomes = s.ix.query(t, "qliksense", fmt.Sprintf(`SELECT * FROM qlik_sense_license_release WHERE run_id = '%s'`, runID))
		return len(outcomes) == len(plan)
	})
	for _, o := range outcomes {
		id := str(o["allocation_id"])
		require.Contains(t, plan, id)
		want := "released"
		if slices.Contains(quarantined, id) {
			want = "quarantined"
		}
		require.Equal(t, want, str(o["outcome"]), id)
		require.Regexp(t, `^[^\\]+\\.+$`, str(o["user"]))
	}
	t.Logf("run %s: %d outcome points and the run point match the emulator", runID, len(outcomes))
}

// checkSpool stops InfluxDB, runs, restarts InfluxDB, and runs again: the first run's
// outcomes arrive once.
func (s *stack) checkSpool(t *testing.T, port, rpc int) {
	conf := s.siteConf(t, "spool", fmt.Sprintf(`
    dry_run = false
    max_releases_per_run = 3
    state_dir = %q
    [inputs.qliksense_license.release.analyzer]
      enabled = true
      inactive_days = 60
    [inputs.qliksense_license.release.output]
      url = %q
      bucket = "qliksense/autogen"`, filepath.Join(s.dir, "state-spool"), s.ix.url))
	s.ix.proc.stop(t)
	before := s.snapshot()
	plan := planReleases(t, conf)
	_, errOut, code := runCmd(t, "qliksense-license-release", "once", "-config", conf)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "outcomes wait in the spool")
	released, quarantined := requireReleased(t, before, s.snapshot(), plan)
	require.Len(t, plan, 3)
	t.Logf("InfluxDB down: released %d, quarantined %d, outcomes spooled", len(released), len(quarantined))

	// A corrupt line in the audit log (which is the spool): skipped and logged, never a jam.
	audit := filepath.Join(s.dir, "state-spool", "e2e-audit.jsonl")
	f, err := os.OpenFile(audit, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString("{\"kind\":\"outcome\",\"outcome\":{\"time\":\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	s.ix = startInflux(s.root, s.ix.dir, port, rpc)
	_, errOut, code = runCmd(t, "qliksense-license-release", "once", "-config", conf)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "skipping a corrupt line of the spool")
	for _, id := range append(released, quarantined...) {
		rows := s.ix.query(t, "qliksense", fmt.Sprintf(`SELECT * FROM qlik_sense_license_release WHERE allocation_id = '%s'`, id))
		require.Len(t, rows, 1, "outcome of %s delivered once", id)
	}
	runs := s.ix.query(t, "qliksense", `SELECT * FROM qlik_sense_license_release_run`)
	require.GreaterOrEqual(t, len(runs), 4, "both runs of this check are there")
	t.Log("spooled outcomes arrived once InfluxDB was back")
}

// checkNotices runs the sidecar binary with notices against a real SMTP server on
// 127.0.0.1 (STARTTLS, AUTH): a dry run sends nothing; a live run sends exactly the plan's
// notices, releases nothing and writes its noticed outcomes to InfluxDB; once the notice
// period is over (the notice dates in the sidecar's state file are moved back by the
// period, the one way to pass time for a binary that reads the real clock), a run releases
// exactly the noticed allocations.
func (s *stack) checkNotices(t *testing.T) {
	smtp := testkit.StartSMTP(t)
	state := filepath.Join(s.dir, "state-notices")
	table := func(dryRun bool) string {
		return fmt.Sprintf(`
    dry_run = %t
    max_releases_per_run = 1000
    state_dir = %q
    [inputs.qliksense_license.release.analyzer]
      enabled = true
      inactive_days = 60
      notice_days = 7
    [inputs.qliksense_license.release.protect]
      users = ['INTERNAL\sa_api']
    [inputs.qliksense_license.release.output]
      url = %q
      bucket = "qliksense/autogen"
%s`, dryRun, state, s.ix.url, smtp.MailTable())
	}
	noticeSet := func(conf string) map[string]string {
		ids := map[string]string{}
		for _, it := range plan(t, conf).Items {
			require.NotEqual(t, "release", it.Verdict, "nothing is released before its notice")
			if it.Verdict == "notice" {
				ids[it.AllocationID] = it.Email
			}
		}
		return ids
	}

	dry := s.siteConf(t, "notices-dry", table(true))
	want := noticeSet(dry)
	require.NotEmpty(t, want)
	_, errOut, code := runCmd(t, "qliksense-license-release", "once", "-config", dry)
	require.Equal(t, 0, code, errOut)
	require.Empty(t, smtp.Messages(), "a dry run sends nothing")

	live := s.siteConf(t, "notices", table(false))
	require.Equal(t, want, noticeSet(live))
	before := s.snapshot()
	_, errOut, code = runCmd(t, "qliksense-license-release", "once", "-config", live)
	require.Equal(t, 0, code, errOut)
	var got, wantTo []string
	for _, m := range smtp.Messages() {
		require.True(t, m.TLS)
		got = append(got, m.To...)
	}
	for _, to := range want {
		wantTo = append(wantTo, to)
	}
	slices.Sort(got)
	slices.Sort(wantTo)
	require.Equal(t, wantTo, got, "one message per planned notice, to its user")
	require.Equal(t, before, s.snapshot(), "a notice run releases nothing")
	eventually(t, "the noticed outcomes in InfluxDB", 30*time.Second, func() bool {
		rows := s.ix.query(t, "qliksense", `SELECT count("allocation_id") FROM qlik_sense_license_release WHERE "outcome" = 'noticed' AND "site" = 'e2e'`)
		return len(rows) == 1 && num(t, rows[0]["count"]) == float64(len(want))
	})

	// The notice period passes.
	path := filepath.Join(state, "e2e-notices.json")
	st, err := notice.Load(path)
	require.NoError(t, err)
	require.Len(t, st.Records, len(want))
	for _, r := range st.Records {
		r.NoticedAt = r.NoticedAt.Add(-8 * 24 * time.Hour) // a day more than the period: the date a notice gives is rounded up to the minute
		r.ReleasableFrom = r.ReleasableFrom.Add(-8 * 24 * time.Hour)
	}
	require.NoError(t, st.Save(path))
	plan := planReleases(t, live)
	require.Len(t, plan, len(want))
	for id := range want {
		require.Contains(t, plan, id)
	}
	before = s.snapshot()
	_, errOut, code = runCmd(t, "qliksense-license-release", "once", "-config", live)
	require.Equal(t, 0, code, errOut)
	released, quarantined := requireReleased(t, before, s.snapshot(), plan)
	require.Equal(t, len(want), len(released)+len(quarantined))
	require.Len(t, smtp.Messages(), len(want), "no notice at release")
	t.Logf("%d noticed by mail, then released", len(want))
}

// checkRightsizing compares the plugin's qlik_sense_license_rightsizing point, written by
// Telegraf, with the sidecar binary's rightsize report on the same file.
func (s *stack) checkRightsizing(t *testing.T, conf string) {
	var rows []map[string]any
	eventually(t, "a qlik_sense_license_rightsizing point in InfluxDB", 60*time.Second, func() bool {
		rows = s.ix.query(t, "qliksense", `SELECT * FROM qlik_sense_license_rightsizing ORDER BY time DESC LIMIT 1`)
		return len(rows) == 1
	})
	out, errOut, code := runCmd(t, "qliksense-license-release", "rightsize", "-config", conf, "-format", "json")
	require.Equal(t, 0, code, errOut)
	var rep struct {
		Totals map[string]int `json:"totals"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Positive(t, rep.Totals["analyzer_candidates"])
	for k, v := range rep.Totals {
		require.Equal(t, float64(v), num(t, rows[0][k]), k)
	}
	require.Equal(t, "professional", str(rows[0]["license_type"]))
	t.Logf("right-sizing: %d professional holders, %d analyzer candidates, in InfluxDB and in the report", rep.Totals["professional_holders"], rep.Totals["analyzer_candidates"])
}
