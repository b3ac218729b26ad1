// Package release orchestrates the release sidecar: the supervisor of the run command
// (schedules, runs, stop, reload), loading a site from the file the plugin reads too, and
// each run — recover what an earlier run left open, plan (release/plan, staged by
// release/notices), execute the releases in batches (re-check, lock, cap, pacing,
// read-back), send the notices, make the right-sizing moves (release/moves) — with every
// outcome recorded by the audit trail (release/audit).
package release

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release/notices"
	"github.com/qliksense-license/qliksense-license/release/source"
	"github.com/qliksense-license/qliksense-license/release/source/cloudsource"
	"github.com/qliksense-license/qliksense-license/release/source/qrssource"
)

// Site is one Qlik Sense site or Qlik Cloud tenant as the sidecar sees it: its
// configuration, its license source, its compiled release policy and the validated
// sidecar settings.
type Site struct {
	Path   string
	Name   string
	Config *siteconfig.Config
	// Source is the license source the engine releases through (release/source).
	Source source.Source
	// Client is a site's QRS client, for what only a site has (right-sizing, the
	// forecast, the doctor); nil for a tenant.
	Client *qrs.Client
	// Cloud is a tenant's Qlik Cloud client (the doctor); nil for a site.
	Cloud    *qcloud.Client
	Policy   *policy.Policy
	Settings *siteconfig.Sidecar
	// Notifier sends the notices and the digest; nil when no type gives notice and no
	// digest is asked for. Its templates were checked when the site was loaded.
	Notifier *notices.Notifier
	// RightsizeSettings is the validated [rightsize] table (move_to_analyzer acts in runs).
	RightsizeSettings *siteconfig.RightsizeSettings
	// ForecastSettings is the validated [forecast] table.
	ForecastSettings *siteconfig.ForecastSettings
}

// LoadSite loads and validates one site file and builds its QRS client (it does not
// contact QRS). Warnings about the connection (insecure_skip_verify, a readable key) go
// to log.
func LoadSite(path string, log *slog.Logger) (*Site, error) {
	return loadSite(path, log, true)
}

func loadSite(path string, log *slog.Logger, sidecar bool) (*Site, error) {
	c := siteconfig.Defaults()
	if err := siteconfig.Load(path, &c); err != nil {
		return nil, err
	}
	return build(path, &c, log, sidecar, 0)
}

// LoadTables loads every table of a file for the commands that read only — rightsize,
// forecast, report — each its own site, with no release table needed (the release policy
// applies when there is one): a site and a tenant side by side in one file are both
// served; a tenant gets its source and no QRS client (right-sizing refuses it:
// ErrTenantRightsize). With releaseSettings, a table with a
// release table also gets its sidecar settings, as LoadSite loads it (the report reads
// its audit log and notice state).
func LoadTables(path string, log *slog.Logger, releaseSettings bool) ([]*Site, error) {
	cs, err := siteconfig.LoadAll(path)
	if err != nil {
		return nil, err
	}
	if len(cs) > 1 {
		if err := checkTables(path, cs); err != nil {
			return nil, err
		}
	}
	var sites []*Site
	for i, c := range cs {
		table := 0
		if len(cs) > 1 {
			table = i + 1
		}
		s, err := build(path, c, log, releaseSettings && c.Release != nil, table)
		if err != nil {
			CloseSites(sites)
			return nil, err
		}
		sites = append(sites, s)
	}
	return sites, nil
}

// loadFile loads every table of a file for the sidecar — a site's, a tenant's, or several
// side by side (each its own site) — as LoadSite loads one. Of several, a table without a
// release table is the plugin's alone (a site or tenant only gathered): it is left out;
// at least one must have a release table.
func loadFile(path string, log *slog.Logger) ([]*Site, error) {
	cs, err := siteconfig.LoadAll(path)
	if err != nil {
		return nil, err
	}
	if len(cs) == 1 {
		s, err := build(path, cs[0], log, true, 0)
		if err != nil {
			return nil, err
		}
		return []*Site{s}, nil
	}
	if err := checkTables(path, cs); err != nil {
		return nil, err
	}
	var sites []*Site
	for i, c := range cs {
		if c.Release == nil { // gathered by the plugin only: nothing of it to release
			log.Info("a table without a release table: the sidecar leaves its site alone", "config", path, "table", i+1, "site", c.Site)
			continue
		}
		s, err := build(path, c, log, true, i+1)
		if err != nil {
			CloseSites(sites)
			return nil, err
		}
		sites = append(sites, s)
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("%s: no [[inputs.%s]] table has a [inputs.%s.release] table: nothing to release", path, siteconfig.PluginName, siteconfig.PluginName)
	}
	return sites, nil
}

// checkTables validates the several tables of one file, each (naming its number) and side
// by side (siteconfig.Distinct).
func checkTables(path string, cs []*siteconfig.Config) error {
	for i, c := range cs {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%s: table %d: %w", path, i+1, err)
		}
	}
	if err := siteconfig.Distinct(cs); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// build makes the Site of a decoded table (validated here; Validate may run twice). Its
// errors name path, and table, the table's number among several (0: the file's only one).
func build(path string, cp *siteconfig.Config, log *slog.Logger, sidecar bool, table int) (*Site, error) {
	c := *cp
	wrap := func(err error) error { return fmt.Errorf("%s: %w", path, err) }
	if table > 0 {
		wrap = func(err error) error { return fmt.Errorf("%s: table %d (site %s): %w", path, table, c.Site, err) }
	}
	if err := c.Validate(); err != nil {
		return nil, wrap(err)
	}
	if sidecar && c.Release == nil {
		return nil, wrap(fmt.Errorf("no [inputs.%s.release] table: nothing to release", siteconfig.PluginName))
	}
	s := &Site{Path: path, Name: c.Site, Config: &c}
	var err error
	if s.Policy, err = c.CompilePolicy(); err != nil {
		return nil, wrap(err)
	}
	if s.RightsizeSettings, err = c.RightsizeSettings(); err != nil {
		return nil, wrap(err)
	}
	if s.ForecastSettings, err = c.ForecastSettings(); err != nil {
		return nil, wrap(err)
	}
	if sidecar {
		if s.Settings, err = c.Sidecar(); err != nil {
			return nil, wrap(err)
		}
		if s.Settings.Notices != nil {
			if s.Notifier, err = notices.NewNotifier(s.Settings, notices.NewSMTPMailer(s.Settings.Notices.Mail)); err != nil {
				return nil, wrap(err)
			}
		}
	}
	warn := log.With("config", path)
	warnf := func(format string, args ...any) { warn.Warn(fmt.Sprintf(format, args...)) }
	if c.IsTenant() {
		// No right-sizing for a tenant: the moves act on a site's QRS (a moves file left
		// under the same state name by a site must not be settled with no QRS client).
		s.RightsizeSettings = nil
		if s.Cloud, err = c.NewTenantClient(warnf); err != nil {
			return nil, wrap(err)
		}
		opt := cloudsource.Options{Timeout: time.Duration(c.Timeout), Retries: c.MaxRetries, Log: warn}
		if sidecar { // the read-only commands keep the last uses in memory: the file is the sidecar's
			opt.UsesFile = s.Settings.UsesFile()
			opt.Fresh = s.Settings.RecheckMaxAge
		}
		s.Source = cloudsource.New(s.Cloud, opt)
		return s, nil
	}
	if s.Client, err = c.NewClient(warnf); err != nil {
		return nil, wrap(err)
	}
	s.Source = qrssource.New(s.Client)
	return s, nil
}

// CloseSites closes the license sources of sites (loaded, and not to be used).
func CloseSites(sites []*Site) {
	for _, s := range sites {
		s.Source.Close()
	}
}

// ErrTenantRightsize: right-sizing reads a site's QRS (the professional allocations and
// the apps' use); a tenant is not right-sized yet.
var ErrTenantRightsize = errors.New("right-sizing (the rightsize command) is made for a Qlik Sense site only yet: a Qlik Cloud tenant is not right-sized")

// siteFiles are the sidecar's files of the sites loaded so far, each with its owner: two
// sites sharing one would block each other's runs (the lock), deliver each other's
// outcomes (an audit log is also the output's spool) or settle each other's open changes
// against the wrong source (the in-flight file) — e.g. sites "prod eu" and "prod_eu" in
// one state_dir, or two tables given the same audit_log. Paths are compared without case:
// Windows and macOS file systems ignore it.
type siteFiles map[string]fileOwner

type fileOwner struct{ site, path, key string }

// claim records the files of s, or says which site already has one of them.
func (f siteFiles) claim(s *Site) error {
	st := s.Settings
	if st == nil {
		return nil
	}
	for _, x := range []struct{ key, file string }{
		{"release.state_dir (the state files of the site's name)", st.InflightFile()},
		{"release.audit_log", st.AuditLog},
		{"release.lock_file", st.LockFile},
	} {
		if x.file == "" || x.file == "stdout" {
			continue
		}
		k := strings.ToLower(filepath.Clean(x.file))
		if o, dup := f[k]; dup {
			return fmt.Errorf("%s: site %q and site %q (%s) both use %s (%s; %s of site %q): give each site its own",
				s.Path, s.Name, o.site, o.path, x.file, x.key, o.key, o.site)
		}
		f[k] = fileOwner{site: s.Name, path: s.Path, key: x.key}
	}
	return nil
}
