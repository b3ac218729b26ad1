package main

import (
	"fmt"
	"strings"
)

// The forecast's queries, in one place: change them here when the forecast is stored
// another way.

// projectionQuery draws the forecast's projection (qlik_sense_license_forecast_projection).
// The plugin writes it on a weekly grid (00:00 UTC every 7 days from the epoch), which
// GROUP BY time(7d) buckets start on; first() takes the grid point, so off-grid points an
// older version wrote later in the same week are not drawn.
const projectionQuery = `SELECT first("held") AS "projected held", first("pool") AS "projected pool", first("margin_line") AS "margin line" FROM "qlik_sense_license_forecast_projection" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time(7d), "license_type" fill(none)`

// column is an expression of the forecast's fields and its name.
type column struct{ expression, name string }

// latestForecast selects columns from the latest qlik_sense_license_forecast point of each
// group (where holds), and leaves out a column the latest point lacks, and a group whose
// latest point lacks them all: a forecast whose trend turned flat has no dates, and last()
// of a field alone would give an older point's date instead. "status" is in every forecast
// point, so the inner query's one row is the latest point with or without the columns.
func latestForecast(where, groupBy string, columns ...column) string {
	outer := make([]string, len(columns))
	inner := make([]string, len(columns))
	for i, c := range columns {
		outer[i] = fmt.Sprintf("last(%[1]q) AS %[1]q", c.name)
		inner[i] = fmt.Sprintf("%s AS %q", c.expression, c.name)
	}
	return fmt.Sprintf(`SELECT %s FROM (SELECT %s, "status" FROM "qlik_sense_license_forecast" WHERE %s GROUP BY %s ORDER BY time DESC LIMIT 1) GROUP BY %s ORDER BY time DESC`,
		strings.Join(outer, ", "), strings.Join(inner, ", "), where, groupBy, groupBy)
}

// The alert rules' latest forecast: the last two days, per site and type.
func alertForecast(c column) string {
	return latestForecast(`time > now() - 2d`, `"site", "license_type"`, c)
}

// The dashboard's latest forecast: the site's, in the time range, per type.
func panelForecast(columns ...column) string {
	return latestForecast(`"site" =~ /^$site$/ AND $timeFilter`, `"license_type"`, columns...)
}
