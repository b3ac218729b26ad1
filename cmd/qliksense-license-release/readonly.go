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
// names the report in errors. A table the command does not apply to (applies says why:
// right-sizing is a site's, a forecast needs its [forecast] table) is left out, and said
// so, when another table of its file is one it applies to; a file of such tables alone is
// given to report, whose error names what is missing.
func readOnlyCmd(ctx context.Context, configs []string, format string, stdout io.Writer, log *slog.Logger, what string,
	applies func(*release.Site) (bool, string), report func(context.Context, *release.Site) (renderer, error)) int {
	code := 0
	for _, path := range configs {
		sites, err := release.LoadTables(path, log, false)
		if err != nil {
			log.Error("invalid configuration", "err", err)
			code = 1
			continue
		}
		anyApplies := false
		for _, s := range sites {
			ok, _ := applies(s)
			anyApplies = anyApplies || ok
		}
		for i, s := range sites {
			if ok, why := applies(s); !ok && anyApplies {
				log.Info(what+": "+why+": this table is left out", "config", path, "site", s.Name)
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
				release.CloseSites(sites[i+1:])
				return 1
			}
		}
	}
	return code
}

// rightsizeApplies: right-sizing is made for a Qlik Sense site (a tenant has no QRS).
func rightsizeApplies(s *release.Site) (bool, string) {
	return s.Client != nil, "right-sizing is made for a Qlik Sense site, not a Qlik Cloud tenant"
}

// forecastApplies: a forecast reads the history its [forecast] table names.
func forecastApplies(s *release.Site) (bool, string) {
	return s.Config.Forecast != nil, "no [inputs.qliksense_license.forecast] table says where its history is"
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
