package siteconfig

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Sidecar is the validated sidecar keys of a site's release table, with defaults and file
// names resolved.
type Sidecar struct {
	Schedule      cron.Schedule // nil: no scheduled runs
	ScheduleText  string
	Location      *time.Location
	RunAtStart    bool
	Pacing        time.Duration
	Concurrency   int
	RecheckMaxAge time.Duration
	SettleGrace   time.Duration // see ReleaseConfig.SettleGrace
	StateDir      string
	LockFile      string
	AuditLog      string // a path, or "stdout"
	Output        *OutputConfig
	// Notices: nil when no type gives notice and no digest is asked for.
	Notices *Notices

	fileName string // the site's name, safe in a file name
	// tenantHost is a tenant's host, safe in a file name ("" for a site): see tenantFiles.
	tenantHost string
}

// DefaultStateDir is where locks and spools go when state_dir is not set.
func DefaultStateDir() string {
	if runtime.GOOS == "windows" {
		if pd := programData(); pd != "" {
			return filepath.Join(pd, "qliksense-license")
		}
	}
	return "/var/lib/qliksense-license"
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Sidecar validates the sidecar's keys of a validated Config (Validate has named the
// site). Errors name the key and what is expected.
func (c *Config) Sidecar() (*Sidecar, error) {
	r := c.Release
	if r == nil {
		return nil, fmt.Errorf("no [inputs.%s.release] table: nothing to release", PluginName)
	}
	st := &Sidecar{RunAtStart: r.RunAtStart, Pacing: time.Duration(r.Pacing), Concurrency: r.Concurrency, ScheduleText: r.Schedule}
	st.Location = time.Local
	if r.TimeZone != "" {
		loc, err := time.LoadLocation(r.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("release.time_zone = %q: expected an IANA time zone such as \"Europe/Stockholm\"", r.TimeZone)
		}
		st.Location = loc
	}
	if r.Schedule != "" {
		sched, err := cron.ParseStandard(r.Schedule)
		if err != nil {
			return nil, fmt.Errorf("release.schedule = %q: expected a cron expression such as \"0 3 * * *\" or \"@every 24h\": %w", r.Schedule, err)
		}
		st.Schedule = sched
	}
	if st.Pacing < 0 || st.Pacing > time.Hour {
		return nil, fmt.Errorf("release.pacing = %q: expected a duration from 0s to 1h", st.Pacing)
	}
	if st.Concurrency == 0 {
		st.Concurrency = 1
	}
	if st.Concurrency < 1 || st.Concurrency > 16 {
		return nil, fmt.Errorf("release.concurrency = %d: expected 1 to 16", r.Concurrency)
	}
	st.RecheckMaxAge = time.Duration(r.RecheckMaxAge)
	if st.RecheckMaxAge == 0 {
		st.RecheckMaxAge = 10 * time.Second
	}
	if st.RecheckMaxAge < time.Second || st.RecheckMaxAge > 10*time.Minute {
		return nil, fmt.Errorf("release.recheck_max_age = %q: expected a duration from 1s to 10m", st.RecheckMaxAge)
	}
	var err error
	if st.SettleGrace, err = r.settleGrace(time.Duration(c.Timeout)); err != nil {
		return nil, err
	}
	st.StateDir = r.StateDir
	if st.StateDir == "" {
		st.StateDir = DefaultStateDir()
	}
	st.fileName = siteFileName(c.Site)
	if c.IsTenant() {
		st.tenantHost = tenantFileHost(c.Tenant)
	}
	st.LockFile = r.LockFile
	if st.LockFile == "" {
		st.LockFile = st.stateFile(".lock")
	}
	st.AuditLog = r.AuditLog
	if st.AuditLog == "" {
		st.AuditLog = st.stateFile("-audit.jsonl")
	}
	if o := r.Output; o.URL != "" {
		if _, err := checkURL("release.output.url", o.URL, "http(s)://HOST:PORT of InfluxDB or Telegraf's influxdb_v2_listener", outputCredentials, "http", "https"); err != nil {
			return nil, err
		}
		if o.Bucket == "" {
			return nil, errors.New(`release.output.bucket is required with release.output.url ("database/retention-policy" for InfluxDB 1.8)`)
		}
		if t := time.Duration(o.Timeout); t != 0 && (t < time.Second || t > 5*time.Minute) {
			return nil, fmt.Errorf("release.output.timeout = %q: expected a duration from 1s to 5m", t)
		}
		if _, err := o.TLSConfig(); err != nil {
			return nil, err
		}
		st.Output = &r.Output
	}
	n, err := r.notices(os.ReadFile)
	if err != nil {
		return nil, err
	}
	st.Notices = n
	return st, nil
}

func (s *Sidecar) stateFile(suffix string) string {
	return filepath.Join(s.StateDir, s.fileName+suffix)
}

// siteFileName is the site's name made safe as the start of a file name.
func siteFileName(site string) string { return unsafeFileChars.ReplaceAllString(site, "_") }

// NoticeFile is where the sidecar keeps this site's notices (Sidecar.NoticeFile), for the
// plugin, which reads it to count allocations waiting out their notice. Config must be
// validated (Validate names the site).
func (c *Config) NoticeFile() string {
	dir := DefaultStateDir()
	if c.Release != nil && c.Release.StateDir != "" {
		dir = c.Release.StateDir
	}
	host := ""
	if c.IsTenant() {
		host = tenantFileHost(c.Tenant)
	}
	return filepath.Join(dir, siteFileName(c.Site)+tenantFile(noticeSuffix, host))
}

const noticeSuffix = "-notices.json"

// tenantFile is the suffix of a state file about one tenant's users: a tenant's host is
// part of its name. Subjects repeat across tenants and a book of uses is one tenant's
// consumption: were a site's table pointed at another tenant (a trial replaced by
// production, a URL corrected), the other's watermark would skip this tenant's window
// (its users would look inactive) and the other's notices would stand for this tenant's
// users. Under its own name the new tenant's state starts afresh.
func tenantFile(suffix, host string) string {
	if host == "" {
		return suffix
	}
	return strings.TrimSuffix(suffix, ".json") + "-" + host + ".json"
}

// tenantFileHost is a tenant URL's host in lower case and without HTTPS's default port
// (the same tenant written another way keeps its files: ":443", an empty port, an IPv6
// address's brackets), safe in a file name; another port is kept ("host_8443").
func tenantFileHost(tenant string) string {
	host := tenant
	if u, err := url.Parse(tenant); err == nil && u.Host != "" {
		host = u.Host
		if p := u.Port(); p == "" || p == "443" {
			host = u.Hostname()
		}
	}
	return unsafeHostChars.ReplaceAllString(strings.ToLower(host), "_")
}

var unsafeHostChars = regexp.MustCompile(`[^a-z0-9.-]+`)

// InflightFile notes the DELETEs of the run in progress.
func (s *Sidecar) InflightFile() string { return s.stateFile("-inflight.jsonl") }

// NoticeFile remembers the notices sent, per allocation or assignment, across runs and
// restarts (a tenant's is named after its host too: tenantFile).
func (s *Sidecar) NoticeFile() string { return s.stateFile(tenantFile(noticeSuffix, s.tenantHost)) }

// ReportFile keeps the schedule of the license report ([report]).
func (s *Sidecar) ReportFile() string { return s.stateFile("-report.json") }

// MovesFile records the right-sizing moves in progress (rightsize.move_to_analyzer).
func (s *Sidecar) MovesFile() string { return s.stateFile("-moves.json") }

// UsesFile keeps a Qlik Cloud tenant's users' last use between runs, so that a run reads
// only the consumption newer than the last (named after the tenant's host too: tenantFile).
func (s *Sidecar) UsesFile() string { return s.stateFile(tenantFile("-uses.json", s.tenantHost)) }

// SpoolFile is where outcomes wait for delivery when the audit log is on stdout.
func (s *Sidecar) SpoolFile() string { return s.stateFile("-spool.jsonl") }
