package main

//lint:file-ignore SA1019 the classic dashboard model (dashboard.Dashboard) is what Grafana 9 to 12 import and provision; the SDK marks it deprecated in favour of dashboardv2, the schema of Grafana 12's new dashboard API only

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The dashboard's file, its uid and its variables.
const (
	dashboardFile = "qliksense-license-influxql.json"
	dashboardUID  = "qliksense-license"
	// datasourceVar picks the InfluxDB data source (at import, or later); every query
	// names it, so the file needs no __inputs and provisions as it is.
	datasourceVar = "datasource"
	siteVar       = "site"
)

// dash builds the panels of the dashboard, each on the data source of datasourceVar.
type dash struct{ ds common.DataSourceRef }

// series is a time-series query with its legend; rows a table's query.
func (d dash) series(refID, query, alias string) *influxQueryBuilder {
	return influxQL(d.ds, refID, timeSeries, query, alias)
}

func (d dash) rows(query string) *influxQueryBuilder {
	return influxQL(d.ds, "A", tableRows, query, "")
}

// panel is what every panel has: its title, description, size and queries.
type panel struct {
	title, description string
	w, h               uint32
	queries            []*influxQueryBuilder
}

// panelBuilder is what the SDK's builders of every panel type have (each returns itself).
type panelBuilder[B any] interface {
	Title(string) B
	Description(string) B
	Datasource(common.DataSourceRef) B
	Span(uint32) B
	Height(uint32) B
	WithTarget(cog.Builder[variants.Dataquery]) B
}

// with gives b the panel's title, description, size and queries, on the data source.
func with[B panelBuilder[B]](b B, d dash, p panel) B {
	b.Title(p.title).Datasource(d.ds).Span(p.w).Height(p.h)
	if p.description != "" {
		b.Description(p.description)
	}
	for _, q := range p.queries {
		b.WithTarget(q)
	}
	return b
}

// The SDK's zero values where Grafana has defaults (an empty orientation, no calculation,
// a hidden legend) are set to Grafana's defaults.

// lastNotNull is what a stat or a bar gauge shows of each series by default.
func lastNotNull() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})
}

func (d dash) stat(p panel) *stat.PanelBuilder {
	return with(stat.NewPanelBuilder().Orientation(common.VizOrientationAuto).ReduceOptions(lastNotNull()), d, p)
}

func (d dash) timeseries(p panel) *timeseries.PanelBuilder {
	return with(timeseries.NewPanelBuilder().
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).Calcs([]string{})).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeSingle).Sort(common.SortOrderNone)), d, p)
}

func (d dash) table(p panel) *table.PanelBuilder {
	return with(table.NewPanelBuilder().Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{})), d, p)
}

func (d dash) bargauge(p panel) *bargauge.PanelBuilder {
	return with(bargauge.NewPanelBuilder().Orientation(common.VizOrientationAuto).ReduceOptions(lastNotNull()), d, p)
}

func thresholds(steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}

// step is a threshold from value on (nil: from minus infinity).
func step(color string, value *float64) dashboard.Threshold {
	return dashboard.Threshold{Color: color, Value: value}
}

// buildDashboard is the dashboard for InfluxDB 1.x (InfluxQL): a row per subject, a panel
// for every measurement, filtered by the site variable.
func buildDashboard() (dashboard.Dashboard, error) {
	d := dash{common.DataSourceRef{Type: cog.ToPtr(influxPlugin), Uid: cog.ToPtr("${" + datasourceVar + "}")}}
	b := dashboard.NewDashboardBuilder("Qlik Sense licenses").
		Uid(dashboardUID).
		Tags([]string{"qlik-sense", "licenses", "telegraf"}).
		Timezone(common.TimeZoneBrowser).
		Editable().
		Version(1).
		Time("now-7d", "now").
		Refresh("5m").
		WithVariable(dashboard.NewDatasourceVariableBuilder(datasourceVar).
			Label("InfluxDB").
			Description("InfluxDB 1.x (InfluxQL) with the qliksense-license measurements").
			Type(influxPlugin)).
		WithVariable(dashboard.NewQueryVariableBuilder(siteVar).
			Label("Site").
			Datasource(d.ds).
			Query(dashboard.StringOrMap{String: cog.ToPtr(`SHOW TAG VALUES FROM "qlik_sense_license" WITH KEY = "site"`)}).
			Refresh(dashboard.VariableRefreshOnDashboardLoad).
			Multi(false).
			IncludeAll(false))
	d.pools(b)
	d.inactivity(b)
	d.serverLicense(b)
	d.releases(b)
	d.health(b)
	d.rightsizing(b)
	d.forecast(b)
	built, err := b.Build()
	// Ids in order, rows included: Grafana links, embeds and repeats panels by id, and the
	// SDK gives rows 0 and panels none.
	for i, p := range built.Panels {
		id := uint32(i + 1)
		if p.RowPanel != nil {
			p.RowPanel.Id = id
		} else {
			p.Panel.Id = &id
		}
	}
	return built, err
}

func (d dash) pools(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("License pools")).
		WithPanel(d.stat(panel{title: "Available professional and analyzer licenses", description: "qlik_sense_license.available", w: 6, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT last("available") FROM "qlik_sense_license" WHERE "site" =~ /^$site$/ AND "license_type" =~ /^(professional|analyzer)$/ AND $timeFilter GROUP BY "license_type"`, "$tag_license_type")}})).
		WithPanel(d.timeseries(panel{title: "Allocated, used and quarantined over time", w: 12, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT mean("allocated") AS "allocated", mean("used") AS "used", mean("quarantined") AS "quarantined" FROM "qlik_sense_license" WHERE "site" =~ /^$site$/ AND "license_type" =~ /^(professional|analyzer)$/ AND $timeFilter GROUP BY time($__interval), "license_type" fill(none)`, "$tag_license_type $col")}})).
		WithPanel(d.stat(panel{title: "Licence totals and excess", w: 6, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT last("total") AS "total", last("excess") AS "excess" FROM "qlik_sense_license" WHERE "site" =~ /^$site$/ AND "license_type" =~ /^(professional|analyzer)$/ AND $timeFilter GROUP BY "license_type"`, "$tag_license_type $col")}})).
		WithPanel(d.timeseries(panel{title: "Analyzer capacity (minutes)", w: 8, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT mean("allocated_minutes") AS "allocated", mean("used_minutes") AS "used", mean("unavailable_minutes") AS "unavailable" FROM "qlik_sense_license" WHERE "site" =~ /^$site$/ AND "license_type" = 'analyzer_capacity' AND $timeFilter GROUP BY time($__interval) fill(none)`, "$col")}}).
			Unit("m")).
		WithPanel(d.timeseries(panel{title: "Tokens", w: 8, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT mean("allocated_tokens") AS "allocated", mean("used_tokens") AS "used" FROM "qlik_sense_license" WHERE "site" =~ /^$site$/ AND "license_type" =~ /^token_/ AND $timeFilter GROUP BY time($__interval), "license_type" fill(none)`, "$tag_license_type $col"),
			d.series("B", `SELECT mean("available_tokens") AS "available", mean("total_tokens") AS "total" FROM "qlik_sense_license" WHERE "site" =~ /^$site$/ AND "license_type" = 'tokens_available' AND $timeFilter GROUP BY time($__interval) fill(none)`, "$col")}})).
		WithPanel(d.table(panel{title: "License families switched on", w: 8, h: 8, queries: []*influxQueryBuilder{
			d.rows(`SELECT last("enabled") AS "enabled" FROM "qlik_sense_license" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY "license_type"`)}}))
}

func (d dash) inactivity(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("Inactivity and reclaimable")).
		WithPanel(d.bargauge(panel{title: "Allocations by days since last use", description: "qlik_sense_license_inactivity with the default inactivity_buckets", w: 12, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT last("days_0_7") AS "0-7", last("days_7_14") AS "7-14", last("days_14_30") AS "14-30", last("days_30_60") AS "30-60", last("days_60_90") AS "60-90", last("days_90_180") AS "90-180", last("days_180_365") AS "180-365", last("days_365_plus") AS "365+", last("never_used") AS "never used", last("quarantined") AS "quarantined" FROM "qlik_sense_license_inactivity" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY "license_type"`, "$tag_license_type $col")}})).
		WithPanel(d.timeseries(panel{title: "Reclaimable now, by the release policy", w: 6, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT mean("reclaimable") FROM "qlik_sense_license_reclaimable" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval), "license_type" fill(none)`, "$tag_license_type")}})).
		WithPanel(d.table(panel{title: "Kept by protection rules", w: 6, h: 8, queries: []*influxQueryBuilder{
			d.rows(`SELECT last("kept_protected_user") AS "users", last("kept_protected_directory") AS "directories", last("kept_protected_tag") AS "tags", last("kept_protected_custom_property") AS "custom properties", last("kept_quarantined") AS "quarantined", last("kept_recently_used") AS "recently used" FROM "qlik_sense_license_reclaimable" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY "license_type"`)}})).
		WithPanel(d.table(panel{title: "Least recently used allocations", description: "needs allocation_details = true", w: 12, h: 8, queries: []*influxQueryBuilder{
			d.rows(`SELECT last("days_since_last_use") AS "days since last use", last("never_used") AS "never used" FROM "qlik_sense_license_allocation" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY "license_type", "user_directory", "user_id" ORDER BY time DESC LIMIT 1`)}})).
		WithPanel(d.stat(panel{title: "Oldest last use (days)", w: 12, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT last("oldest_last_use_days") FROM "qlik_sense_license_inactivity" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY "license_type"`, "$tag_license_type")}}).
			Unit("d"))
}

func (d dash) serverLicense(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("Server license")).
		WithPanel(d.table(panel{title: "Server license", w: 12, h: 8, queries: []*influxQueryBuilder{
			d.rows(`SELECT last("expiry_date") AS "expiry date", last("days_until_expiry") AS "days until expiry", last("license_expired") AS "expired" FROM "qlik_sense_server_license" WHERE "site" =~ /^$site$/ AND $timeFilter`)}})).
		WithPanel(d.stat(panel{title: "Days until the server license expires", w: 12, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT last("days_until_expiry") FROM "qlik_sense_server_license" WHERE "site" =~ /^$site$/ AND $timeFilter`, "days")}}).
			Unit("d"))
}

func (d dash) releases(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("Releases")).
		WithPanel(d.timeseries(panel{title: "Outcomes over time", description: "qlik_sense_license_release; Butler's panel counted releases only: outcome = 'released'", w: 12, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT count("days_since_last_use") FROM "qlik_sense_license_release" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval), "license_type", "outcome" fill(none)`, "$tag_license_type $tag_outcome")}})).
		WithPanel(d.table(panel{title: "Released and quarantined allocations", w: 12, h: 8, queries: []*influxQueryBuilder{
			d.rows(`SELECT "days_since_last_use", "license_type", "user", "outcome", "reason", "detail" FROM "qlik_sense_license_release" WHERE "site" =~ /^$site$/ AND "outcome" =~ /^(released|quarantined)$/ AND $timeFilter ORDER BY time DESC LIMIT 200`)}})).
		WithPanel(d.table(panel{title: "Runs", w: 24, h: 8, queries: []*influxQueryBuilder{
			d.rows(`SELECT "candidates", "released", "quarantined", "dry_run_releases", "skipped", "failed", "deferred", "duration_seconds", "dry_run", "interrupted" FROM "qlik_sense_license_release_run" WHERE "site" =~ /^$site$/ AND $timeFilter ORDER BY time DESC LIMIT 50`)}}))
}

func (d dash) health(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("Collection health")).
		WithPanel(d.timeseries(panel{title: "Gather duration", w: 8, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT mean("duration_seconds") FROM "qlik_sense_license_gather" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval) fill(none)`, "duration")}}).
			Unit("s")).
		WithPanel(d.timeseries(panel{title: "QRS requests and bytes per gather", w: 8, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT mean("qrs_requests") AS "requests", mean("qrs_retries") AS "retries" FROM "qlik_sense_license_gather" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval) fill(none)`, "$col"),
			d.series("B", `SELECT mean("bytes_received") AS "bytes" FROM "qlik_sense_license_gather" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval) fill(none)`, "$col")}})).
		WithPanel(d.stat(panel{title: "Gather errors", w: 8, h: 8, queries: []*influxQueryBuilder{
			d.series("A", `SELECT sum("errors") FROM "qlik_sense_license_gather" WHERE "site" =~ /^$site$/ AND $timeFilter`, "errors")}}))
}

func (d dash) rightsizing(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("Right-sizing")).
		WithPanel(d.timeseries(panel{title: "Professional holders and analyzer candidates",
			description: "Professional holders who used Qlik Sense in the look-back window but authored no app or sheet in it, hold no admin role and are not protected: analyzer access would do (qlik_sense_license_rightsizing).",
			w:           12, h: 8, queries: []*influxQueryBuilder{
				d.series("A", `SELECT last("professional_holders") AS "professional holders", last("analyzer_candidates") AS "analyzer candidates" FROM "qlik_sense_license_rightsizing" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval) fill(none)`, "")}})).
		WithPanel(d.table(panel{title: "Professional access kept, by reason",
			description: "Why the other professional holders keep professional access; idle ones are left to the release policy.",
			w:           12, h: 8, queries: []*influxQueryBuilder{
				d.rows(`SELECT last("kept_authored_app") AS "authored an app", last("kept_authored_sheet") AS "authored a sheet", last("kept_admin_role") AS "admin role", last("kept_protected") AS "protected", last("kept_idle") AS "idle (release policy)", last("lookback_days") AS "look-back days" FROM "qlik_sense_license_rightsizing" WHERE "site" =~ /^$site$/ AND $timeFilter`)}}))
}

func (d dash) forecast(b *dashboard.DashboardBuilder) {
	b.WithRow(dashboard.NewRowBuilder("Forecast: when to buy more licenses")).
		WithPanel(d.timeseries(panel{title: "Seats held vs pool, with the forecast and the margin line",
			description: "Daily peak of seats held (allocated + quarantined) and the pool; from the forecast's day on, the projected held seats, the pool and the margin line (qlik_sense_license_forecast_projection, a point a week to forecast.horizon_days). Set the time picker's end in the future (for example now-180d to now+1y) to see the projection.",
			w:           16, h: 9, queries: []*influxQueryBuilder{
				d.series("A", `SELECT max("held") AS "held", last("pool") AS "pool" FROM (SELECT "allocated" + "quarantined" AS "held", "total" AS "pool" FROM "qlik_sense_license" WHERE "site" =~ /^$site$/ AND ("license_type" = 'professional' OR "license_type" = 'analyzer') AND $timeFilter GROUP BY "license_type") WHERE $timeFilter GROUP BY time(1d), "license_type" fill(none)`, "$tag_license_type $col"),
				d.series("B", projectionQuery, "$tag_license_type $col")}}).
			Unit("none").
			LineWidth(2)).
		WithPanel(d.stat(panel{title: "Buy by",
			description: "The last day to start a purchase so that the seats arrive (lead_time_days) before what is available falls below the margin; negative days: already late. No value: demand is flat or falling.",
			w:           4, h: 5, queries: []*influxQueryBuilder{
				d.rows(panelForecast(column{`"buy_by_days"`, "days left"}, column{`"buy_by_date"`, "buy by"}))}}).
			Thresholds(thresholds(step("red", nil), step("orange", cog.ToPtr(0.0)), step("green", cog.ToPtr(30.0)))).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Fields("/.*/").Values(true))).
		WithPanel(d.stat(panel{title: "Seats to buy", description: "Seats to add now so that the pool keeps its margin up to forecast.horizon_days.", w: 4, h: 5, queries: []*influxQueryBuilder{
			d.series("A", panelForecast(column{`"seats_to_buy"`, "seats to buy"}), "$tag_license_type $col")}}).
			Unit("none").
			Thresholds(thresholds(step("green", nil), step("orange", cog.ToPtr(1.0)))).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))).
		// Under the two stats, beside the chart (placed by hand: the builder would start a new line).
		WithPanel(d.table(panel{title: "Forecast per license type",
			description: "The numbers of the qliksense-license-release forecast report: growth with its band (10th–90th percentile of the history's growth rates), the days to exhaustion and to the margin, what releasing the reclaimable allocations adds, the fit's residual.",
			w:           8, h: 4, queries: []*influxQueryBuilder{
				d.rows(panelForecast(column{`"status"`, "status"}, column{`"trend"`, "trend"}, column{`"growth_per_day"`, "growth/day"},
					column{`"growth_low"`, "low"}, column{`"growth_high"`, "high"}, column{`"days_to_exhaustion"`, "days to exhaustion"},
					column{`"days_to_margin"`, "days to margin"}, column{`"reclaimable_days"`, "days the reclaimable add"},
					column{`"fit_residual_seats"`, "residual (seats)"}, column{`"history_days"`, "history days"}))}}).
			GridPos(dashboard.GridPos{X: 16, Y: 84, W: 8, H: 4}))
}
