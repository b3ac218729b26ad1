package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/ownerreport"
)

// loadReportSite loads a site for the report: with its release table's sidecar settings
// (the audit log, the notices' state) when it has one; without, as the read-only commands.
func loadReportSite(path string, log *slog.Logger) (*release.Site, error) {
	c := siteconfig.Defaults()
	if err := siteconfig.Load(path, &c); err != nil {
		return nil, err
	}
	if c.Release != nil {
		return release.LoadSite(path, log)
	}
	return release.LoadRightsizeSite(path, log)
}

// ownerReport reads what the license report shows, each part as its own command reads it
// (forecast, plan, rightsize) plus the pools, the server license and the audit log's
// period. A part that cannot be read is reported as such; the report is still made.
func ownerReport(ctx context.Context, s *release.Site, now time.Time, log *slog.Logger) (*ownerreport.Data, error) {
	rs, err := s.Config.ReportSettings()
	if err != nil {
		return nil, err
	}
	d := &ownerreport.Data{Site: s.Name, Made: now, PeriodDays: rs.PeriodDays, ChartDays: rs.ChartDays, Loc: rs.Location}
	if ov, err := s.Client.AccessTypeOverview(ctx); err != nil {
		d.PoolsErr = fmt.Errorf("reading the access type overview: %w", err)
	} else {
		d.Pools = ownerreport.PoolsOf(ov)
	}
	d.PoolsRead = time.Now()
	if lic, err := s.Client.License(ctx); err != nil {
		d.LicenseErr = fmt.Errorf("reading the server license: %w", err)
	} else {
		d.License = lic
	}
	d.LicenseRead = time.Now()
	if s.Config.Forecast != nil { // the forecast table says where the history is
		f, a, err := siteForecast(ctx, s, now)
		if err != nil {
			d.ForecastErr = err
		} else {
			d.Forecast = f
			d.History = map[string][]forecast.Day{}
			for t, series := range a.Series {
				d.History[t] = series.Days
			}
		}
	}
	if s.Policy != nil {
		r := &release.Runner{Site: s, Log: log, Now: func() time.Time { return now }}
		d.Plan, d.PlanErr = r.Plan(ctx)
	}
	d.Rightsize, d.RightsizeErr = siteRightsize(ctx, s, now)
	if s.Settings != nil {
		d.Audit, d.AuditErr = audit.ReadPeriod(s.Settings.AuditLog, now.AddDate(0, 0, -rs.PeriodDays), now)
		d.AuditRead = time.Now()
	}
	return d, nil
}

// reportCmd writes each site's report: to -out (one site), to stdout, or, for several
// sites, to one file per site beside -out.
func reportCmd(ctx context.Context, configs []string, out string, stdout io.Writer, log *slog.Logger) int {
	code := 0
	for _, path := range configs {
		s, err := loadReportSite(path, log)
		if err != nil {
			log.Error("invalid configuration", "err", err)
			code = 1
			continue
		}
		d, err := ownerReport(ctx, s, time.Now(), log)
		s.Client.Close()
		if err != nil {
			log.Error("the license report failed", "site", s.Name, "err", err)
			code = 1
			continue
		}
		if out == "" {
			if err := d.HTML(stdout); err != nil {
				log.Error("writing the report failed", "err", err)
				return 1
			}
			continue
		}
		file := out
		if len(configs) > 1 {
			ext := filepath.Ext(out)
			file = out[:len(out)-len(ext)] + "-" + unsafeInFileName.ReplaceAllString(s.Name, "_") + ext
		}
		if err := writeReport(file, d); err != nil {
			log.Error("writing the report failed", "err", err)
			return 1
		}
		fmt.Fprintf(stdout, "license report of site %s: %s\n", s.Name, file)
	}
	return code
}

// unsafeInFileName: what a site's name may not bring into a file name.
var unsafeInFileName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func writeReport(path string, d *ownerreport.Data) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := d.HTML(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// siteRightsize is the right-sizing of a site, as the rightsize command reads it.
func siteRightsize(ctx context.Context, s *release.Site, now time.Time) (*rightsize.Result, error) {
	rs := s.RightsizeSettings
	return rightsize.Evaluate(ctx, s.Client, rightsize.Options{Now: now, LookbackDays: rs.LookbackDays, Policy: s.Policy})
}
