package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/report"
)

// renderer is a report the read-only commands print.
type renderer interface {
	Render(w io.Writer, format string) error
}

// readOnlyCmd prints a report of each site made by report — every table of each file, a
// site or a tenant — loaded for a command that reads only (no release table needed); what
// names the report in errors. With sitesOnly (right-sizing, a site's only), the tenants of
// a file that also holds sites are left out and said so; a file of tenants alone is
// refused by the report.
func readOnlyCmd(ctx context.Context, configs []string, format string, stdout io.Writer, log *slog.Logger, what string, sitesOnly bool,
	report func(context.Context, *release.Site) (renderer, error)) int {
	code := 0
	for _, path := range configs {
		sites, err := release.LoadTables(path, log, false)
		if err != nil {
			log.Error("invalid configuration", "err", err)
			code = 1
			continue
		}
		for i, s := range sites {
			if sitesOnly && s.Client == nil && hasSite(sites) {
				log.Info(what+" is made for a Qlik Sense site: this file's tenant is left out", "config", path, "site", s.Name)
				s.Source.Close()
				continue
			}
			rep, err := report(ctx, s)
			s.Source.Close()
			if err != nil {
				log.Error(what+" failed", "site", s.Name, "config", s.Path, "err", err)
				code = 1
				continue
			}
			if err := rep.Render(stdout, format); err != nil {
				log.Error("writing the report failed", "err", err)
				for _, rest := range sites[i+1:] {
					rest.Source.Close()
				}
				return 1
			}
		}
	}
	return code
}

// hasSite reports whether sites holds a Qlik Sense site (not only tenants).
func hasSite(sites []*release.Site) bool {
	for _, s := range sites {
		if s.Client != nil {
			return true
		}
	}
	return false
}

// rightsizeReport is the right-sizing report of a site.
func rightsizeReport(ctx context.Context, s *release.Site) (renderer, error) {
	if s.Client == nil {
		return nil, fmt.Errorf("tenant %s: %w", s.Name, release.ErrTenantRightsize)
	}
	res, err := siteRightsize(ctx, s, time.Now())
	if err != nil {
		return nil, err
	}
	return &report.Rightsizing{Site: s.Name, LookbackDays: s.RightsizeSettings.LookbackDays, Result: res}, nil
}
