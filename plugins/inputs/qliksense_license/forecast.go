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
// retried at the next gather, and the last forecast is reported meanwhile.
func (q *QlikSenseLicense) gatherForecast(ctx context.Context, acc telegraf.Accumulator, reclaimable map[string]int, ts time.Time) {
	fs := q.forecast
	if fs == nil || !fs.Enabled {
		return
	}
	now := q.now()
	if q.forecasts == nil || now.Sub(q.forecastAt) >= fs.Refresh {
		c, err := fs.HistoryClient()
		if err == nil {
			query := fs.Query
			query.Now = now
			a, rerr := c.Read(ctx, query)
			if err = rerr; err == nil {
				q.forecasts, q.forecastAt = a.Forecasts(fs.Params, reclaimable, now), now
			}
		}
		if err != nil {
			acc.AddError(fmt.Errorf("forecast: %w", err))
		}
	}
	for t, r := range q.forecasts {
		tags := map[string]string{"site": q.Site, "license_type": t}
		acc.AddFields(MeasurementForecast, r.Fields(fs.Params, q.forecastAt), tags, ts)
		for _, p := range projectionPoints(r, fs.Params, q.forecastAt) {
			acc.AddFields(MeasurementForecastProjection, p.fields, tags, p.at)
		}
	}
}

type projected struct {
	at     time.Time
	fields map[string]any
}

// projectionPoints draw the forecast for Grafana: held, the pool and the margin line, a
// point a week from the forecast's day to the horizon (future timestamps; each refresh
// overwrites them).
func projectionPoints(r forecast.Result, p forecast.Params, made time.Time) []projected {
	if r.Status != forecast.OK {
		return nil
	}
	start := made.UTC().Truncate(24 * time.Hour)
	var out []projected
	for k := 0; k <= p.HorizonDays; k += 7 {
		out = append(out, projected{at: start.AddDate(0, 0, k), fields: map[string]any{
			"held": r.HeldIn(float64(k)), "pool": r.Pool, "margin_line": r.Pool * (1 - p.MarginPercent/100),
		}})
	}
	return out
}
