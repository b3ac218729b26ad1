package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
	"github.com/qliksense-license/qliksense-license/plugins/common/notice"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/ownerreport"
	"github.com/qliksense-license/qliksense-license/release/plan"
)

// ownerReport reads what the license report shows, each part as its own command reads it
// (forecast, plan, rightsize) plus the pools, the license and the audit log's period. A
// part that cannot be read is reported as such; the report is still made. A tenant's
// pools and license come from its license overview, its plan from its source; it is not
// right-sized.
func ownerReport(ctx context.Context, s *release.Site, now time.Time, log *slog.Logger) (*ownerreport.Data, error) {
	rs, err := s.Config.ReportSettings()
	if err != nil {
		return nil, err
	}
	d := &ownerreport.Data{Site: s.Name, Tenant: s.Cloud != nil, Made: now, PeriodDays: rs.PeriodDays, ChartDays: rs.ChartDays, Loc: rs.Location}
	if d.Tenant {
		tenantLicense(ctx, s, d)
	} else {
		siteLicense(ctx, s, d)
	}
	var reclaimable map[string]int
	if s.Policy != nil {
		d.Plan, reclaimable, d.PlanErr = sitePlan(ctx, s, now)
	}
	if s.Config.Forecast != nil { // the forecast table says where the history is
		f, a, err := siteForecast(ctx, s, now, reclaimable)
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
	if !d.Tenant {
		d.Rightsize, d.RightsizeErr = siteRightsize(ctx, s, now)
	}
	if s.Settings != nil {
		d.Audit, d.AuditErr = audit.ReadPeriod(s.Settings.AuditLog, now.AddDate(0, 0, -rs.PeriodDays), now)
		d.AuditRead = time.Now()
	}
	return d, nil
}

// siteLicense reads a site's pools (the access type overview) and server license (QRS).
func siteLicense(ctx context.Context, s *release.Site, d *ownerreport.Data) {
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
}

// tenantLicense reads a tenant's license overview once: its pools (the professional and
// analyzer allotments, their units and units used, as the plugin reports them) and its
// license (status and valid interval).
func tenantLicense(ctx context.Context, s *release.Site, d *ownerreport.Data) {
	ov, err := s.Cloud.Overview(ctx)
	d.PoolsRead, d.LicenseRead = time.Now(), time.Now()
	if err != nil {
		d.PoolsErr = fmt.Errorf("reading the tenant's license overview: %w", err)
		d.LicenseErr = d.PoolsErr
		return
	}
	d.Pools = tenantPools(ov)
	d.CloudLicense = &ownerreport.CloudLicense{Product: ov.Product, Status: ov.Status, ValidTo: ov.ValidTo, Expired: ov.Expired(d.LicenseRead)}
}

// tenantPools are a tenant's professional and analyzer pools: an allotment's units are
// the pool, its units used are held (the plugin's total and, without the assignments,
// allocated); a tenant quarantines nothing.
func tenantPools(ov *qcloud.Overview) []ownerreport.Pool {
	var out []ownerreport.Pool
	for _, t := range policy.TenantTypes {
		if a, on := ov.Allotment(string(t)); on {
			out = append(out, ownerreport.Pool{Type: t, Total: a.Units, Allocated: a.UnitsUsed, Available: max(0, a.Units-a.UnitsUsed)})
		}
	}
	return out
}

// sitePlan is the plan of a site or a tenant, as Runner.Plan makes it (through the
// site's license source, with the notices' stages), and what the forecast counts as
// reclaimable, from the same evaluation: the holders of each enabled professional and
// analyzer type whose reason the policy reclaims, counted before the notices' stages (a candidate kept for want of an address is still one the
// policy would reclaim, as the forecast command counts it). The report so reads each
// allocation list once. reclaimable is nil when the plan could not read everything (the
// forecast then reads what it needs itself, and says what failed).
func sitePlan(ctx context.Context, s *release.Site, now time.Time) (*plan.Plan, map[string]int, error) {
	var (
		stage       plan.Stager
		reclaimable map[string]int // counted before the stages
	)
	if n := s.Notifier; n != nil {
		state, err := notice.Load(n.StatePath)
		if err != nil {
			return nil, nil, err
		}
		staged := n.Stager(s.Policy, state)
		stage = func(ctx context.Context, p *plan.Plan, lookup plan.Lookup) error {
			reclaimable = planReclaimable(p, forecastTypes(s.Policy))
			return staged(ctx, p, lookup)
		}
	}
	p, err := s.Source.Plan(ctx, s.Policy, s.Name, now, stage)
	if err != nil || len(p.Errors) > 0 {
		return p, nil, err
	}
	if reclaimable == nil { // no stages: the items are the evaluation's
		reclaimable = planReclaimable(p, forecastTypes(s.Policy))
	}
	return p, reclaimable, nil
}

// reportCmd writes each site's report: to -out (one site), to stdout, or, for several
// sites, to one file per site beside -out.
func reportCmd(ctx context.Context, configs []string, out string, stdout io.Writer, log *slog.Logger) int {
	code := 0
	var all []*release.Site
	for _, path := range configs {
		// Every table of the file, a site or a tenant: with its release table's sidecar
		// settings (the audit log, the notices' state) when it has one.
		sites, err := release.LoadTables(path, log, true)
		if err != nil {
			log.Error("invalid configuration", "err", err)
			code = 1
			continue
		}
		all = append(all, sites...)
	}
	var files []string
	if out != "" {
		files = reportFiles(out, all, len(all) > 1 || len(configs) > 1, log)
	}
	for i, s := range all {
		d, err := ownerReport(ctx, s, time.Now(), log)
		s.Source.Close()
		if err != nil {
			log.Error("the license report failed", "site", s.Name, "err", err)
			code = 1
			continue
		}
		if out == "" {
			if err := d.HTML(stdout); err != nil {
				log.Error("writing the report failed", "err", err)
				release.CloseSites(all[i+1:])
				return 1
			}
			continue
		}
		file := files[i]
		if err := writeReport(file, d); err != nil {
			log.Error("writing the report failed", "err", err)
			release.CloseSites(all[i+1:])
			return 1
		}
		fmt.Fprintf(stdout, "license report of site %s: %s\n", s.Name, file)
	}
	return code
}

// reportFiles are the files -out names for sites, in order: out itself for one site; for
// several, one each beside it, FILE-SITE.ext with the site's name made safe. Two sites
// whose names make the same file name ("prod eu" and "prod_eu", or "Prod" and "prod" on
// a file system that ignores case) must not overwrite each other's page: the later one
// is numbered (FILE-SITE-2.ext), and the log says so.
func reportFiles(out string, sites []*release.Site, several bool, log *slog.Logger) []string {
	files := make([]string, len(sites))
	if !several {
		for i := range files {
			files[i] = out
		}
		return files
	}
	ext := filepath.Ext(out)
	owner := map[string]string{} // the file, lower-cased: its site
	for i, s := range sites {
		base := out[:len(out)-len(ext)] + "-" + unsafeInFileName.ReplaceAllString(s.Name, "_")
		file := base + ext
		for n := 2; owner[strings.ToLower(file)] != ""; n++ {
			file = base + "-" + strconv.Itoa(n) + ext
		}
		if file != base+ext {
			log.Warn("two sites' names make the same file name: this site's page is numbered", "site", s.Name,
				"other_site", owner[strings.ToLower(base+ext)], "file", file)
		}
		owner[strings.ToLower(file)] = s.Name
		files[i] = file
	}
	return files
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
