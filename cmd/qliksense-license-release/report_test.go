package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	emulator "github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// reportHistory is a known history: professional grows 0.4 seats a day with a weekly
// rhythm to 120 of 150 seats; analyzer stays near 140 of 148. Days end today.
func reportHistory(w http.ResponseWriter, _ *http.Request) {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var pro, ana [][]any
	for d := range 120 {
		day := today.AddDate(0, 0, d-119).Unix()
		wiggle := []float64{0, 1, 2, 2, 1, -1, -2}[d%7]
		pro = append(pro, []any{day, math.Round(72.4 + 0.4*float64(d) + wiggle), 150})
		ana = append(ana, []any{day, 140 + wiggle, 148})
	}
	series := func(t string, v [][]any) map[string]any {
		return map[string]any{"tags": map[string]string{"license_type": t}, "columns": []string{"time", "held", "pool"}, "values": v}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{map[string]any{"series": []any{series("analyzer", ana), series("professional", pro)}}}})
}

// resultsDir is the repository's results/ (CI keeps it as an artifact; git ignores it).
func resultsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "results"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

var tags = regexp.MustCompile(`<[^>]*>`)

// The report command: one page with the same numbers as the forecast, plan and rightsize
// commands' and the audit log's, checked in a real browser (Chromium): its text, every
// chart with its points and marks, and not one request of its own. The PNGs it renders
// stay in results/ (REPORT_IMAGE=path also copies the desktop one there: make
// report-image).
func TestReportInABrowser(t *testing.T) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 42, Users: 300, Professional: 120, ProfessionalTotal: 150, Apps: 40, AppObjects: 600,
		Now: time.Now().UTC().Truncate(time.Second)})
	site.SetClock(time.Now)
	srv := testkit.StartEmulator(t, site)
	influx := httptest.NewServer(http.HandlerFunc(reportHistory))
	defer influx.Close()
	state := t.TempDir()
	conf := srv.PluginConfig("production", fmt.Sprintf(`  [inputs.qliksense_license.forecast]
    url = %q
    database = "qliksense"
  [inputs.qliksense_license.report]
    period_days = 30
    chart_days = 90
  [inputs.qliksense_license.release]
    state_dir = %q
    dry_run = false
    max_releases_per_run = 3
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.protect]
      users = ['INTERNAL\sa_api']`, influx.URL, state))
	path := filepath.Join(t.TempDir(), "site.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"once", "-config", path}, &out, &errOut), errOut.String())
	// What the other commands say, now.
	cmdJSON := func(v any, args ...string) {
		out.Reset()
		require.Equal(t, 0, run(t.Context(), append(args, "-config", path, "-format", "json"), &out, &errOut), errOut.String())
		require.NoError(t, json.Unmarshal(out.Bytes(), v))
	}
	var fc []struct {
		LicenseType string         `json:"license_type"`
		Fields      map[string]any `json:"fields"`
	}
	cmdJSON(&fc, "forecast")
	var pl struct {
		Items []struct {
			Verdict string `json:"verdict"`
			Reason  string `json:"reason"`
		} `json:"items"`
	}
	cmdJSON(&pl, "plan")
	var rs struct {
		Totals map[string]int `json:"totals"`
	}
	cmdJSON(&rs, "rightsize")

	dir := resultsDir(t)
	page := filepath.Join(dir, "report.html")
	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"report", "-config", path, "-out", page}, &out, &errOut), errOut.String())
	require.Equal(t, "license report of site production: "+page+"\n", out.String())
	raw, err := os.ReadFile(page)
	require.NoError(t, err)
	html := string(raw)
	// Self-contained: no script, nothing fetched, and a policy that forbids fetching.
	require.NotContains(t, strings.ToLower(html), "<script")
	require.NotRegexp(t, `(?i)\s(src|href|srcset|action|background)\s*=`, html)
	require.NotRegexp(t, `(?i)url\(`, html)
	require.Contains(t, html, `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`)

	p := testkit.LoadPage(t, page)
	require.Empty(t, p.Requests, "the page asked the network for something")
	require.Empty(t, p.Console, "the page's console (a request its policy blocked, an error)")
	text := strings.Join(strings.Fields(tags.ReplaceAllString(p.DOM, " ")), " ")

	// The forecast's answers, from the forecast command's own fields.
	require.Len(t, fc, 2)
	for _, f := range fc {
		name := map[string]string{"professional": "Professional", "analyzer": "Analyzer"}[f.LicenseType]
		buy := int(f.Fields["seats_to_buy"].(float64))
		require.Positive(t, buy, f.LicenseType)
		by, err := time.Parse(time.DateOnly, f.Fields["buy_by_date"].(string))
		require.NoError(t, err)
		until := time.Now().UTC().AddDate(0, 0, 365).Format("January 2006")
		want := fmt.Sprintf("%s: order %d seats by %s to keep 10 %% free until %s.", name, buy, by.Format("2 January 2006"), until)
		if f.Fields["buy_by_days"].(float64) < 0 {
			want = fmt.Sprintf("%s: order %d seats now (the buy-by date, %s, has passed) to keep 10 %% free until %s.", name, buy, by.Format("2 January 2006"), until)
		}
		require.Contains(t, text, want)
		require.Contains(t, text, fmt.Sprintf("Trend %s: %+.2f seats a day", f.Fields["trend"], f.Fields["growth_per_day"]))
		require.Contains(t, text, fmt.Sprintf("from %d days of history", int(f.Fields["history_days"].(float64))))
	}
	// The professional pool as QRS has it: 150, 117 held after the run's 3 releases.
	require.Regexp(t, `Professional Pool 150 Held \(allocated \d+ \+ quarantined \d+\) \d+ Available \d+`, text)
	// What the plan would reclaim, from the plan command's verdicts.
	reclaim, reasons := 0, map[string]int{}
	for _, it := range pl.Items {
		if it.Verdict == "release" || it.Verdict == "deferred" {
			reclaim++
			reasons[it.Reason]++
		}
	}
	require.Positive(t, reclaim)
	require.Contains(t, text, fmt.Sprintf("%d allocations: 3 at the next run, %d beyond max_releases_per_run (3)", reclaim, reclaim-3))
	require.Contains(t, text, "By reason: inactive "+strconv.Itoa(reasons["inactive"]))
	// Right-sizing, from the rightsize command's totals.
	n := rs.Totals["analyzer_candidates"]
	require.Contains(t, text, fmt.Sprintf("%d of %d professional holders only consume", n, rs.Totals["professional_holders"]))
	require.Contains(t, text, fmt.Sprintf("would free %d seats of the professional pool", n))
	// The period's run, from the audit log: 3 released or quarantined.
	require.Regexp(t, `1 run, the last on .*Reclaimed: 3 \(\d released, \d quarantined`, text)
	require.Contains(t, text, "Notices sent: 0")
	require.Regexp(t, `Server license Valid to \d+ \w+ \d{4}: \d+ days from now`, text)
	for _, what := range []string{"Seats per type (QRS access type overview)", "Forecast and its history (InfluxDB)", "Release plan (QRS)", "Right-sizing (QRS)", "Audit log of the period", "Server license (QRS)"} {
		require.Regexp(t, regexp.QuoteMeta(what)+` \d+ \w{3} \d{4} \d\d:\d\d`, text, "freshness of %s", what)
	}

	// Every chart, with its points: one a day of the last 90 days of history, later
	// days to the right, more seats higher up; the forecast, its band, the pool, the
	// margin, today and the buy-by date.
	charts := regexp.MustCompile(`(?s)<svg[^>]* class="chart" data-type="(\w+)".*?</svg>`).FindAllStringSubmatch(p.DOM, -1)
	require.Len(t, charts, 2)
	for _, c := range charts {
		svg := c[1]
		for _, mark := range []string{"band", "projection", "pool", "margin", "today", "buy-by"} {
			require.Contains(t, c[0], `class="`+mark+`"`, "%s chart: %s", svg, mark)
		}
		held := regexp.MustCompile(`<polyline class="held" points="([^"]+)"`).FindStringSubmatch(c[0])
		require.NotNil(t, held, svg)
		pts := strings.Fields(held[1])
		require.Len(t, pts, 90, svg)
		prevX, values := -1.0, []float64{}
		for _, pt := range pts {
			x, err := strconv.ParseFloat(strings.Split(pt, ",")[0], 64)
			require.NoError(t, err)
			y, err := strconv.ParseFloat(strings.Split(pt, ",")[1], 64)
			require.NoError(t, err)
			require.Greater(t, x, prevX)
			prevX = x
			values = append(values, y)
		}
		if svg == "professional" { // growing: the last day is higher up than the first
			require.Less(t, values[len(values)-1], values[0])
		}
	}

	testkit.Screenshot(t, page, filepath.Join(dir, "report.png"), 760, 2150)
	testkit.Screenshot(t, page, filepath.Join(dir, "report-phone.png"), 390, 3000)
	if img := os.Getenv("REPORT_IMAGE"); img != "" {
		b, err := os.ReadFile(filepath.Join(dir, "report.png"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(img, b, 0o644))
	}
}

// With the report mailed, check-config says to whom, when and where its state is, and the
// connection doctor reaches its mail server even when no type gives notice.
func TestCheckConfigShowsTheReport(t *testing.T) {
	srv := startEmulator(t)
	smtp := testkit.StartSMTP(t)
	path, state := writeSite(t, srv, `time_zone = "UTC"
`+smtp.MailTable()+`
  [inputs.qliksense_license.report]
    enabled = true
    to = ["owner@example.com"]`)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"check-config", "-connect", "-config", path}, &out, &errOut), out.String()+errOut.String())
	require.Regexp(t, `license report: mailed to owner@example.com on "0 7 1 \* \*" in UTC, next \d{4}-\d\d-01T07:00:00Z; state `+regexp.QuoteMeta(filepath.Join(state, "production-report.json")), out.String())
	require.Contains(t, out.String(), "ok    SMTP server")
	require.NotContains(t, out.String(), smtp.Password)
}

// Several sites: one page each beside -out, named after the site (made safe); without
// -out the page goes to stdout; a bad file fails that site only.
func TestReportCommandSites(t *testing.T) {
	srv := startEmulator(t)
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"EU / prod", "US"} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " / ", "")+".conf")
		require.NoError(t, os.WriteFile(p, []byte(srv.PluginConfig(name, "")), 0o600))
		paths = append(paths, p)
	}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"report", "-config", paths[0], "-config", paths[1], "-out", filepath.Join(dir, "r.html")}, &out, &errOut), errOut.String())
	for _, f := range []string{"r-EU_prod.html", "r-US.html"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err, f)
		require.Contains(t, string(b), "no release policy ([inputs.qliksense_license.release]) for this site")
	}
	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"report", "-config", paths[1]}, &out, &errOut), errOut.String())
	require.True(t, strings.HasPrefix(out.String(), "<!DOCTYPE html>"))
	require.Contains(t, out.String(), "<title>Qlik Sense licenses of US</title>")

	bad := filepath.Join(dir, "bad.conf")
	require.NoError(t, os.WriteFile(bad, []byte(srv.PluginConfig("bad", "  [inputs.qliksense_license.report]\n    period_days = 0.5\n")), 0o600))
	out.Reset()
	errOut.Reset()
	require.Equal(t, 1, run(t.Context(), []string{"report", "-config", bad, "-config", paths[1]}, &out, &errOut))
	require.Contains(t, errOut.String(), "period_days")
	require.Contains(t, out.String(), "Qlik Sense licenses of US")
}

// Sites whose names make the same file name — "prod eu" and "prod_eu" side by side in one
// file, "PROD_EU" in another (one file on Windows and macOS, which ignore case) — each get
// a page of their own: none overwrites another's, and stdout says which file is whose.
func TestReportCommandFileNamesOfSitesAlike(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t)
	dir := t.TempDir()
	both := filepath.Join(dir, "both.conf")
	require.NoError(t, os.WriteFile(both, []byte(srv.PluginConfig("prod eu", "")+srv.PluginConfig("prod_eu", "")), 0o600))
	upper := filepath.Join(dir, "upper.conf")
	require.NoError(t, os.WriteFile(upper, []byte(srv.PluginConfig("PROD_EU", "")), 0o600))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"report", "-config", both, "-config", upper, "-out", filepath.Join(dir, "r.html")}, &out, &errOut), errOut.String())
	files := map[string]string{} // lower-cased file name: its site
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		site, file, ok := strings.Cut(strings.TrimPrefix(line, "license report of site "), ": ")
		require.True(t, ok, line)
		require.Equal(t, dir, filepath.Dir(file))
		require.True(t, strings.HasPrefix(filepath.Base(file), "r-prod_eu") || strings.HasPrefix(filepath.Base(file), "r-PROD_EU"), file)
		key := strings.ToLower(file)
		require.NotContains(t, files, key, "site %q's page would overwrite site %q's", site, files[key])
		files[key] = site
		page, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Contains(t, string(page), "<title>Qlik Sense licenses of "+site+"</title>")
	}
	require.ElementsMatch(t, []string{"prod eu", "prod_eu", "PROD_EU"}, slices.Collect(maps.Values(files)))
	require.Contains(t, errOut.String(), "the same file name")
}
