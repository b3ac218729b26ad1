package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/evaluate"
	"github.com/qliksense-license/qliksense-license/plugins/common/history"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/report"
)

// forecastReport is the forecast of a site: its history from InfluxDB (one query) and,
// with a release policy, the allocations it would reclaim now (one evaluation of QRS).
func forecastReport(ctx context.Context, s *release.Site) (renderer, error) {
	f, _, err := siteForecast(ctx, s, time.Now(), nil)
	return f, err
}

// forecastTypes are the types whose reclaimable allocations the forecast counts: the
// professional and analyzer types the release policy enables.
func forecastTypes(pol *policy.Policy) []qrs.AccessType {
	var types []qrs.AccessType
	for _, t := range []qrs.AccessType{qrs.Professional, qrs.Analyzer} {
		if _, on := pol.Enabled(t); on {
			types = append(types, t)
		}
	}
	return types
}

// siteForecast is the forecast report of a site and the history it was made of.
// reclaimable, when not nil, is what the release policy would reclaim now by license_type,
// counted from an evaluation already made at now (the report's plan): QRS is not read
// again.
func siteForecast(ctx context.Context, s *release.Site, now time.Time, reclaimable map[string]int) (*report.Forecast, *history.Answer, error) {
	fs := s.ForecastSettings
	hc, err := fs.HistoryClient()
	if err != nil {
		return nil, nil, err
	}
	if hc.URL == "" || hc.Database == "" {
		return nil, nil, errors.New("[inputs.qliksense_license.forecast] needs url and database: where the history is")
	}
	if reclaimable == nil && s.Policy != nil {
		reclaimable = map[string]int{}
		if types := forecastTypes(s.Policy); len(types) > 0 {
			res, err := evaluate.Site(ctx, s.Client, evaluate.Options{Types: types, Policy: s.Policy, Now: now})
			if err != nil {
				return nil, nil, fmt.Errorf("evaluating the release policy: %w", err)
			}
			for _, t := range types {
				r := res.ByType[t]
				if r.Err != nil {
					return nil, nil, fmt.Errorf("reading %s allocations: %w", t, r.Err)
				}
				reclaimable[t.LicenseType()] = policy.Reclaimable(r.Reasons)
			}
		}
	}
	q := fs.Query
	q.Now = now
	a, err := hc.Read(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	return &report.Forecast{Site: s.Name, Made: now, Params: fs.Params, Results: a.Forecasts(fs.Params, reclaimable, now)}, a, nil
}
