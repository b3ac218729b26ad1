package ownerreport_test

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/ownerreport"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/report"
)

var made = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

func days(v float64) *float64 { return &v }

// One sentence per type, from the forecast's own fields and dates.
func TestAnswer(t *testing.T) {
	p := forecast.DefaultParams
	ok := forecast.Result{Status: forecast.OK, Trend: forecast.Rising, Pool: 500, SeatsToBuy: 40, BuyByDays: days(95), DaysToMargin: days(125)}
	require.Equal(t, "Professional: order 40 seats by 12 March 2027 to keep 10 % free until December 2027.", ownerreport.Answer("professional", ok, p, made))
	late := ok
	late.BuyByDays = days(-3)
	require.Equal(t, "Professional: order 40 seats now (the buy-by date, 4 December 2026, has passed) to keep 10 % free until December 2027.", ownerreport.Answer("professional", late, p, made))
	none := forecast.Result{Status: forecast.OK, Trend: forecast.Flat, Pool: 500}
	require.Equal(t, "Analyzer: nothing to buy: at least 10 % of the pool stays free until December 2027.", ownerreport.Answer("analyzer", none, p, made))
	require.Equal(t, "Analyzer: no forecast yet: 12 days of history, 28 needed.",
		ownerreport.Answer("analyzer", forecast.Result{Status: forecast.InsufficientHistory, HistoryDays: 12}, p, made))
	require.Equal(t, "Analyzer: no forecast: the license has no analyzer seats.", ownerreport.Answer("analyzer", forecast.Result{Status: forecast.NoPool}, p, made))
	p.MarginPercent, p.HorizonDays = 15, 180
	one := ok
	one.SeatsToBuy = 1
	require.Equal(t, "Professional: order 1 seat by 12 March 2027 to keep 15 % free until June 2027.", ownerreport.Answer("professional", one, p, made))
}

// A straight history: 0.5 seats a day up to 400 of 500.
func straight() ([]forecast.Day, forecast.Result) {
	var hist []forecast.Day
	for d := range 120 {
		hist = append(hist, forecast.Day{Date: made.Truncate(24*time.Hour).AddDate(0, 0, d-119), Held: 340.5 + 0.5*float64(d)})
	}
	return hist, forecast.Make(forecast.Input{Days: hist, Pool: 500, Now: made}, forecast.DefaultParams)
}

func page(t *testing.T, d *ownerreport.Data) (html, text string) {
	t.Helper()
	h, x, err := d.Parts()
	require.NoError(t, err)
	return h, x
}

// The chart: the history in the window as points (later right, more seats higher), the
// projection rising from today, the band around it, pool, margin, today and buy-by.
func TestChart(t *testing.T) {
	hist, r := straight()
	require.Equal(t, forecast.OK, r.Status)
	d := &ownerreport.Data{Site: "eu", Made: made, PeriodDays: 30, ChartDays: 60,
		Forecast: &report.Forecast{Site: "eu", Made: made, Params: forecast.DefaultParams, Results: map[string]forecast.Result{"professional": r}},
		History:  map[string][]forecast.Day{"professional": hist}}
	html, _ := page(t, d)
	svgs := regexp.MustCompile(`(?s)<svg[^>]*class="chart" data-type="professional".*?</svg>`).FindAllString(html, -1)
	require.Len(t, svgs, 1)
	svg := svgs[0]
	pts := func(class string) [][2]float64 {
		m := regexp.MustCompile(`class="` + class + `" points="([^"]+)"`).FindStringSubmatch(svg)
		require.NotNil(t, m, class)
		var out [][2]float64
		for _, p := range strings.Fields(m[1]) {
			var x, y float64
			_, err := fmtSscanf(p, &x, &y)
			require.NoError(t, err)
			out = append(out, [2]float64{x, y})
		}
		return out
	}
	held := pts("held")
	require.Len(t, held, 60, "the days of the last 60, today's included")
	for i := 1; i < len(held); i++ {
		require.Greater(t, held[i][0], held[i-1][0])
		require.Less(t, held[i][1], held[i-1][1], "growing: each day higher up")
	}
	proj := pts("projection")
	require.InDelta(t, held[len(held)-1][1], proj[0][1], 3, "the projection starts where the history ends")
	require.Less(t, proj[len(proj)-1][1], proj[0][1])
	require.Len(t, pts("band"), 2*len(proj))
	for _, mark := range []string{"pool", "margin", "today", "buy-by"} {
		require.Contains(t, svg, `class="`+mark+`"`)
	}
	require.Contains(t, svg, ">pool 500<")
	require.Contains(t, svg, ">margin 450 (10 % free)<")
	by := made.Add(time.Duration(*r.BuyByDays * 24 * float64(time.Hour))).Format("2 Jan")
	require.Contains(t, svg, ">buy by "+by+"<")
}

// Every part that is missing says why, in both parts; nothing is invented.
func TestMissingParts(t *testing.T) {
	d := &ownerreport.Data{Site: "eu", Made: made, PeriodDays: 30, ChartDays: 90, PoolsRead: made,
		Pools:       []ownerreport.Pool{{Type: qrs.Professional, Total: 10, Allocated: 9, Available: 1}},
		ForecastErr: errors.New("querying the history at http://influx:8086: 401 Unauthorized"),
		PlanErr:     errors.New("reading professional allocations: 503"),
		LicenseErr:  errors.New("reading the server license: 403"),
		AuditErr:    audit.ErrNoAuditFile,
	}
	html, text := page(t, d)
	for _, s := range []string{html, text} {
		require.Contains(t, s, "Professional: no forecast: querying the history at http://influx:8086: 401 Unauthorized.")
		require.Contains(t, s, "Not known: reading professional allocations: 503.")
		require.Contains(t, s, `Not known: audit_log = `)
		require.Contains(t, s, "Not read: reading the server license: 403")
	}
	require.Contains(t, text, "Right-sizing (QRS): not configured")
	require.Contains(t, html, "No history to draw.")
	require.NotContains(t, html, "<svg")
	require.Contains(t, text, "Pool 10, held 9 (allocated 9 + quarantined 0), available 1")

	// An expired license and the period's failures need a person.
	d.License, d.LicenseErr, d.LicenseRead = &qrs.License{IsExpired: true, ExpiredReason: "the license has expired"}, nil, made
	d.Audit, d.AuditErr = &audit.Period{Results: map[audit.Result]int{}, Reasons: map[string]int{},
		Failures: []audit.Outcome{{Time: made, Result: audit.Failed, Type: qrs.Professional, User: `LAB\ann`, AllocationID: "a1", Detail: "DELETE answered 500"}},
		Errors:   []audit.CountedError{{Error: "reading analyzer allocations: 503", Runs: 2}}}, nil
	_, text = page(t, d)
	require.Contains(t, text, "NEEDS A PERSON\n  - 7 Dec 2026 06:00 UTC: failed professional of LAB\\ann (a1): DELETE answered 500\n  - 2 run(s) reported: reading analyzer allocations: 503\n  - The server license has expired.")
	require.Contains(t, text, "SERVER LICENSE\n  EXPIRED (the license has expired)")
}

// The sentences say what the forecast's fields say, also at their edges: a date beyond
// the forecast's 10-year cap is no date, enough days with too many gaps are not "too few
// days", and one of a thing is singular.
func TestSentenceEdges(t *testing.T) {
	p := forecast.DefaultParams
	require.Equal(t, "Analyzer: no forecast yet: 1 day of history, 28 needed.",
		ownerreport.Answer("analyzer", forecast.Result{Status: forecast.InsufficientHistory, HistoryDays: 1}, p, made))
	require.Equal(t, "Analyzer: no forecast yet: the 30 days of history have too many gaps to measure a trend.",
		ownerreport.Answer("analyzer", forecast.Result{Status: forecast.InsufficientHistory, HistoryDays: 30}, p, made))

	// A slow rise: the margin and the pool are reached decades away.
	slow := forecast.Result{Status: forecast.OK, Trend: forecast.Rising, Pool: 5000, HeldNow: 100, Available: 4900, GrowthPerDay: 0.01,
		LagDays: 28, HistoryDays: 120, DaysToMargin: days(440000), DaysToExhaustion: days(490000), BuyByDays: days(439970), Reclaimable: 1, ReclaimableDays: 100}
	require.Equal(t, "Professional: nothing to buy: at least 10 % of the pool stays free until December 2027.", ownerreport.Answer("professional", slow, p, made))
	basis := ownerreport.Basis(slow, p, made)
	require.NotContains(t, basis, "on not within")
	require.Contains(t, basis, "from 120 days of history. The free seats do not fall below 10 % within 10 years. Releasing the 1 allocation the policy would reclaim now moves these dates 100 days later.")

	// The margin within ten years, the pool beyond.
	slow.DaysToMargin, slow.BuyByDays, slow.ReclaimableDays, slow.Reclaimable = days(2000), days(1970), 1, 2
	basis = ownerreport.Basis(slow, p, made)
	require.Contains(t, basis, "The free seats fall below 10 % on 29 May 2032 and do not run out within 10 years; a purchase takes 30 days. Releasing the 2 allocations the policy would reclaim now moves these dates 1 day later.")
	slow.ReclaimableDays = 0.2
	require.Contains(t, ownerreport.Basis(slow, p, made), "moves these dates by less than a day.")
}

// One allocation, one day: singular; a Valid To date already passed is not "in -3 days".
func TestViewSingularAndPassedExpiry(t *testing.T) {
	d := &ownerreport.Data{Site: "eu", Made: made, PeriodDays: 30, ChartDays: 90,
		Plan: &plan.Plan{Now: made, MaxReleasesPerRun: 10,
			Items:  []plan.Item{{Type: qrs.Professional, Holder: plan.Holder{ID: "a1", Name: `\`}, Decision: policy.Decision{Verdict: policy.Release, Reason: policy.ReasonInactive}}},
			Totals: []plan.Totals{{Type: qrs.Professional, Considered: 4, Release: 1, Keep: 3}}},
		License: &qrs.License{KeyDetails: "Valid To: 2026-12-08"}, LicenseRead: made}
	_, text := page(t, d)
	require.Contains(t, text, "  - 1 allocation: 1 at the next run, 0 beyond max_releases_per_run (10)")
	require.Contains(t, text, "SERVER LICENSE\n  Valid to 8 December 2026: 1 day from now")
	require.Contains(t, text, "  - The server license expires in 1 day (8 December 2026).")
	d.License.KeyDetails = "Valid To: 2026-12-04"
	_, text = page(t, d)
	require.Contains(t, text, "SERVER LICENSE\n  Valid to 4 December 2026: passed 3 days ago")
	require.Contains(t, text, "  - The server license's Valid To date (4 December 2026) has passed.")
}

// chartOf is the chart of a type in a page, and the y values of its held line.
func chartOf(t *testing.T, html, typ string) (string, []float64) {
	t.Helper()
	svg := regexp.MustCompile(`(?s)<svg[^>]*class="chart" data-type="` + typ + `".*?</svg>`).FindString(html)
	require.NotEmpty(t, svg, typ)
	m := regexp.MustCompile(`class="held" points="([^"]+)"`).FindStringSubmatch(svg)
	require.NotNil(t, m)
	var ys []float64
	for _, p := range strings.Fields(m[1]) {
		var x, y float64
		_, err := fmtSscanf(p, &x, &y)
		require.NoError(t, err)
		ys = append(ys, y)
	}
	return svg, ys
}

// The chart's edges: one day of history is a visible dot, a pool far above held does not
// squash held into a flat line along the bottom, and a falling forecast stops at 0 seats.
func TestChartEdges(t *testing.T) {
	day := made.Truncate(24 * time.Hour)
	d := &ownerreport.Data{Site: "eu", Made: made, PeriodDays: 30, ChartDays: 90,
		Pools:   []ownerreport.Pool{{Type: qrs.Analyzer, Total: 5000, Allocated: 50, Available: 4950}, {Type: qrs.Professional, Total: 20, Allocated: 7, Available: 13}},
		History: map[string][]forecast.Day{"professional": {{Date: day, Held: 7}}}}
	for i := range 60 {
		d.History["analyzer"] = append(d.History["analyzer"], forecast.Day{Date: day.AddDate(0, 0, i-59), Held: float64(40 + i%11)})
	}
	html, _ := page(t, d)
	svg, ys := chartOf(t, html, "professional")
	require.Len(t, ys, 1)
	require.Contains(t, svg, `<circle class="held-day"`)

	svg, ys = chartOf(t, html, "analyzer")
	top, bottom := ys[0], ys[0]
	for _, y := range ys {
		top, bottom = min(top, y), max(bottom, y)
	}
	require.Greater(t, bottom-top, 100.0, "held from 40 to 50 seats spans the chart's height, not a flat line")
	require.Contains(t, svg, ">pool 5000, margin 4500 (10 % free): far above the chart<")
	require.NotContains(t, svg, `class="pool"`)

	// Falling 2 seats a day to 62: the projection reaches 0 within 90 days.
	var hist []forecast.Day
	for i := range 120 {
		hist = append(hist, forecast.Day{Date: day.AddDate(0, 0, i-119), Held: 300 - 2*float64(i)})
	}
	r := forecast.Make(forecast.Input{Days: hist, Pool: 400, Now: made}, forecast.DefaultParams)
	require.Equal(t, forecast.Falling, r.Trend)
	require.Negative(t, r.HeldIn(90))
	d = &ownerreport.Data{Site: "eu", Made: made, PeriodDays: 30, ChartDays: 90, History: map[string][]forecast.Day{"professional": hist},
		Forecast: &report.Forecast{Made: made, Params: forecast.DefaultParams, Results: map[string]forecast.Result{"professional": r}}}
	html, _ = page(t, d)
	svg, _ = chartOf(t, html, "professional")
	require.NotRegexp(t, `>-\d`, svg, "no negative seat count on the axis")
}

// The period as far as the audit log holds it: a log that begins within the period says
// so (its zero is not the period's), and a period of many failures lists the latest only.
func TestAuditPeriodEdges(t *testing.T) {
	from := made.AddDate(0, 0, -30)
	a := &audit.Period{From: from, To: made, Results: map[audit.Result]int{audit.Released: 2}, Reasons: map[string]int{"inactive": 2}, Runs: 3,
		First: made.AddDate(0, 0, -2)}
	for i := range 45 {
		a.Failures = append(a.Failures, audit.Outcome{Time: from.Add(time.Duration(i) * time.Hour), Result: audit.Failed, Type: qrs.Professional, User: "LAB\\u" + strconv.Itoa(i), AllocationID: "a" + strconv.Itoa(i), Detail: "DELETE answered 500"})
	}
	d := &ownerreport.Data{Site: "eu", Made: made, PeriodDays: 30, ChartDays: 90, Audit: a, AuditRead: made}
	_, text := page(t, d)
	require.Contains(t, text, "  - The audit log begins on 5 Dec 2026 06:00 UTC: only what it holds is counted (a new install, or a rotated file)\n  - 3 runs")
	require.Contains(t, text, "NEEDS A PERSON\n  - 45 failures of the period; the latest 20 follow, the rest are in the audit log\n")
	require.Equal(t, 20, strings.Count(text, ": DELETE answered 500"))
	require.Contains(t, text, `of LAB\u44 (a44)`)
	require.NotContains(t, text, `(a24)`)

	a.First = from.Add(-time.Hour) // the log covers the period
	_, text = page(t, d)
	require.NotContains(t, text, "The audit log begins")
}

// Names and texts from QRS, the audit log and errors are text in the page, never markup:
// a site, user or error with <script> or a quote does not break out.
func TestPageEscapes(t *testing.T) {
	evil := `<script>alert("x")</script>"'><img src=x onerror=alert(1)>`
	d := &ownerreport.Data{Site: "eu" + evil, Made: made, PeriodDays: 30, ChartDays: 90,
		Pools:   []ownerreport.Pool{{Type: qrs.Professional, Total: 10, Allocated: 9, Available: 1}},
		History: map[string][]forecast.Day{"professional": {{Date: made.Truncate(24 * time.Hour), Held: 9}}},
		PlanErr: errors.New("reading " + evil),
		Audit: &audit.Period{From: made.AddDate(0, 0, -30), First: made.AddDate(0, 0, -40), Results: map[audit.Result]int{audit.Released: 1}, Reasons: map[string]int{evil: 1},
			Failures: []audit.Outcome{{Time: made, Result: audit.Failed, Type: qrs.Professional, User: `LAB\` + evil, AllocationID: "a1", Detail: evil}},
			Errors:   []audit.CountedError{{Error: evil, Runs: 1}}},
		License: &qrs.License{Serial: evil, KeyDetails: "Valid To: " + evil}, LicenseRead: made}
	html, text := page(t, d)
	require.NotContains(t, html, "<script")
	require.NotContains(t, html, "<img")
	require.NotContains(t, html, `"'>`)
	require.Contains(t, html, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#34;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;")
	require.Contains(t, text, evil, "the text part is plain text")
}

// Two years of history and a year ahead: the month labels do not run into each other.
func TestChartMonthLabels(t *testing.T) {
	var hist []forecast.Day
	for i := range 730 {
		hist = append(hist, forecast.Day{Date: made.Truncate(24*time.Hour).AddDate(0, 0, i-729), Held: 100 + 0.2*float64(i)})
	}
	r := forecast.Make(forecast.Input{Days: hist, Pool: 600, Now: made}, forecast.DefaultParams)
	require.Equal(t, forecast.OK, r.Status)
	d := &ownerreport.Data{Site: "eu", Made: made, PeriodDays: 30, ChartDays: 730, History: map[string][]forecast.Day{"professional": hist},
		Forecast: &report.Forecast{Made: made, Params: forecast.DefaultParams, Results: map[string]forecast.Result{"professional": r}}}
	html, _ := page(t, d)
	svg, _ := chartOf(t, html, "professional")
	labels := regexp.MustCompile(`<text[^>]* x="([\d.]+)" y="229"[^>]*>([^<]+)<`).FindAllStringSubmatch(svg, -1)
	require.GreaterOrEqual(t, len(labels), 6)
	prev := -100.0
	for _, l := range labels {
		x, err := strconv.ParseFloat(l[1], 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, x-prev, 42.0, "%s too close to the label before", l[2])
		prev = x
	}
	require.Contains(t, svg, ">Jan 2026<")
}

// A tenant: its license from the overview (through its last valid day, an expiring or an
// expired one needing a person), right-sizing not applicable, the freshness Qlik Cloud's.
func TestTenantView(t *testing.T) {
	d := &ownerreport.Data{Site: "cloud", Tenant: true, Made: made, PeriodDays: 30, ChartDays: 90, PoolsRead: made, LicenseRead: made,
		Pools:        []ownerreport.Pool{{Type: qrs.Professional, Total: 10, Allocated: 7, Available: 3}},
		CloudLicense: &ownerreport.CloudLicense{Product: "Qlik Cloud Analytics Standard", Status: "Ok", ValidTo: made.AddDate(0, 0, 11).Truncate(24 * time.Hour)}}
	html, text := page(t, d)
	last := d.CloudLicense.ValidTo.AddDate(0, 0, -1).Format("2 January 2006")
	require.Contains(t, text, "TENANT LICENSE\n  Valid to "+last+": ")
	require.Contains(t, text, "; Qlik Cloud Analytics Standard (status Ok)")
	require.Contains(t, text, "  - The tenant license expires in ")
	require.Contains(t, text, "RIGHT-SIZING\n  Not applicable to a Qlik Cloud tenant")
	require.Contains(t, text, "Seats per type (the tenant's license overview)")
	require.Contains(t, text, "Right-sizing: not applicable to a Qlik Cloud tenant")
	require.NotContains(t, text, "(QRS)")
	require.Contains(t, html, "Tenant license</h2>")
	require.NotContains(t, html, "Server license")

	d.CloudLicense.Expired, d.CloudLicense.Status = true, "Expired"
	_, text = page(t, d)
	require.Contains(t, text, "TENANT LICENSE\n  EXPIRED (valid to "+last+"); Qlik Cloud Analytics Standard\n")
	require.Contains(t, text, "  - The tenant's license has expired.")
}
