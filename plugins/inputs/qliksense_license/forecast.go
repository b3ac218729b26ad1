package qliksense_license

import (
	"context"
	"fmt"
	"time"

	"github.com/influxdata/telegraf"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
)

// Measurements of the forecast.
const (
	MeasurementForecast           = "qlik_sense_license_forecast"
	MeasurementForecastProjection = "qlik_sense_license_forecast_projection"
)

// gatherForecast reports qlik_sense_license_forecast (and its projection) when
// [forecast] is enabled. The history is read again, in one query, only after
// forecast.refresh; in between the last forecast is reported. A failed read is an error,
// retried at the next gather, and the last forecast is reported meanwhile. The projection
// changes only at a refresh, so it is written only then.
func (q *QlikSenseLicense) gatherForecast(ctx context.Context, acc telegraf.Accumulator, reclaimable map[string]int, ts time.Time) {
	fs := q.forecast
	if fs == nil || !fs.Enabled {
		return
	}
	now := q.now()
	refreshed := false
	if q.forecasts == nil || now.Sub(q.forecastAt) >= fs.Refresh {
		c, err := fs.HistoryClient()
		if err == nil {
			query := fs.Query
			query.Now = now
			a, rerr := c.Read(ctx, query)
			if err = rerr; err == nil {
				q.forecasts, q.forecastAt, refreshed = a.Forecasts(fs.Params, reclaimable, now), now, true
			}
		}
		if err != nil {
			acc.AddError(fmt.Errorf("forecast: %w", err))
		}
	}
	for t, r := range q.forecasts {
		tags := map[string]string{"site": q.Site, "license_type": t}
		acc.AddFields(MeasurementForecast, r.Fields(fs.Params, q.forecastAt), tags, ts)
		if !refreshed {
			continue
		}
		for _, p := range projectionPoints(r, fs.Params, q.forecastAt) {
			acc.AddFields(MeasurementForecastProjection, p.fields, tags, p.at)
		}
	}
}

type projected struct {
	at     time.Time
	fields map[string]any
}

// projectionWeek is the projection's grid: a point every seven days from the Unix epoch,
// at 00:00 UTC (Thursdays) — the instants InfluxDB's GROUP BY time(7d) starts its
// buckets at.
const projectionWeek = 7 * 24 * time.Hour

// projectionPoints draw the forecast for Grafana: held, the pool and the margin line at
// every point of the weekly grid from the forecast's day to the horizon. The grid is fixed
// (not counted from the forecast's day), so the next refresh writes the same timestamps
// and InfluxDB keeps one projection per type — the latest — at every future week; a
// grid point that has passed keeps the last projection made before it.
func projectionPoints(r forecast.Result, p forecast.Params, made time.Time) []projected {
	if r.Status != forecast.OK {
		return nil
	}
	start := made.UTC().Truncate(24 * time.Hour)
	week := int64(projectionWeek / time.Second)
	first := time.Unix((start.Unix()+week-1)/week*week, 0).UTC() // the grid's first point from start on
	end := start.AddDate(0, 0, p.HorizonDays)
	var out []projected
	for at := first; !at.After(end); at = at.Add(projectionWeek) {
		k := at.Sub(start).Hours() / 24
		out = append(out, projected{at: at, fields: map[string]any{
			"held": r.HeldIn(k), "pool": r.Pool, "margin_line": r.Pool * (1 - p.MarginPercent/100),
		}})
	}
	return out
}
