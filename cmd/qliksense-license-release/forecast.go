package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/history"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/release/report"
)

// forecastReport is the forecast of a site or a tenant: its history from InfluxDB (one
// query) and, with a release policy, the holders it would reclaim now (the plan of the
// site's license source, as the plan command makes it).
func forecastReport(ctx context.Context, s *release.Site) (renderer, error) {
	f, _, err := siteForecast(ctx, s, time.Now(), nil)
	return f, err
}

// forecastTypes are the types whose reclaimable holders the forecast counts: the
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

// planReclaimable is what the policy would reclaim now by license_type, counted from a
// plan without stages (its items are the evaluation's): the holders of each forecast
// type whose reason the policy reclaims, those beyond max_releases_per_run included.
func planReclaimable(p *plan.Plan, types []qrs.AccessType) map[string]int {
	reasons := map[qrs.AccessType]map[policy.Reason]int{}
	for _, t := range types {
		reasons[t] = map[policy.Reason]int{}
	}
	for _, it := range p.Items {
		if r := reasons[it.Type]; r != nil {
			r[it.Decision.Reason]++
		}
	}
	out := map[string]int{}
	for _, t := range types {
		out[t.LicenseType()] = policy.Reclaimable(reasons[t])
	}
	return out
}

// siteForecast is the forecast report of a site or a tenant and the history it was made
// of. reclaimable, when not nil, is what the release policy would reclaim now by
// license_type, counted from an evaluation already made at now (the report's plan): the
// source is not read again. Otherwise the site's source plans (release/source: QRS's
// evaluation, or the tenant's) and the forecast counts its plan.
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
			p, err := s.Source.Plan(ctx, s.Policy, s.Name, now, nil)
			if err != nil {
				return nil, nil, fmt.Errorf("evaluating the release policy: %w", err)
			}
			if len(p.Errors) > 0 {
				return nil, nil, fmt.Errorf("evaluating the release policy: %w", errors.Join(p.Errors...))
			}
			reclaimable = planReclaimable(p, types)
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
