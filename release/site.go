// Package release is the release sidecar's engine: it loads a site (the plugin's own
// configuration file), plans with the shared release policy, executes a plan safely
// (re-check, lock, cap, pacing), and records every outcome (audit log, spool, InfluxDB).
package release

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/robfig/cron/v3"

	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

// Site is one Qlik Sense site as the sidecar sees it: the plugin's configuration (with
// its QRS client and compiled policy) and the validated sidecar settings.
type Site struct {
	Path     string
	Name     string
	Plugin   *qliksense_license.QlikSenseLicense
	Settings Settings
}

// Settings are the validated sidecar keys of the release table.
type Settings struct {
	Schedule     cron.Schedule // nil: no scheduled runs
	ScheduleText string
	Location     *time.Location
	RunAtStart   bool
	Pacing       time.Duration
	Concurrency  int
	StateDir     string
	LockFile     string
	AuditLog     string // a path, or "stdout"
	Output       *qliksense_license.OutputConfig
	OutputTags   map[string]string
}

// DefaultStateDir is where locks and spools go when state_dir is not set.
func DefaultStateDir() string {
	if runtime.GOOS == "windows" {
		if pd := os.Getenv("ProgramData"); pd != "" {
			return filepath.Join(pd, "qliksense-license")
		}
	}
	return "/var/lib/qliksense-license"
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// LoadSite loads and validates one site file. The plugin's Init runs (it builds the QRS
// client and compiles the policy; it does not contact QRS).
func LoadSite(path string, log *slog.Logger) (*Site, error) {
	p, err := qliksense_license.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	p.Log = slogLogger{l: log.With("config", path)}
	if err := p.Init(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if p.Release == nil {
		return nil, fmt.Errorf("%s: no [inputs.%s.release] table: nothing to release", path, qliksense_license.PluginName)
	}
	s := &Site{Path: path, Name: p.Site, Plugin: p}
	if err := s.settings(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (s *Site) settings() error {
	r := s.Plugin.Release
	st := Settings{RunAtStart: r.RunAtStart, Pacing: time.Duration(r.Pacing), Concurrency: r.Concurrency, ScheduleText: r.Schedule}
	st.Location = time.Local
	if r.TimeZone != "" {
		loc, err := time.LoadLocation(r.TimeZone)
		if err != nil {
			return fmt.Errorf("release.time_zone = %q: expected an IANA time zone such as \"Europe/Stockholm\"", r.TimeZone)
		}
		st.Location = loc
	}
	if r.Schedule != "" {
		sched, err := cron.ParseStandard(r.Schedule)
		if err != nil {
			return fmt.Errorf("release.schedule = %q: expected a cron expression such as \"0 3 * * *\" or \"@every 24h\": %w", r.Schedule, err)
		}
		st.Schedule = sched
	}
	if st.Pacing < 0 || st.Pacing > time.Hour {
		return fmt.Errorf("release.pacing = %q: expected a duration from 0s to 1h", st.Pacing)
	}
	if st.Concurrency == 0 {
		st.Concurrency = 1
	}
	if st.Concurrency < 1 || st.Concurrency > 16 {
		return fmt.Errorf("release.concurrency = %d: expected 1 to 16", r.Concurrency)
	}
	st.StateDir = r.StateDir
	if st.StateDir == "" {
		st.StateDir = DefaultStateDir()
	}
	file := unsafeFileChars.ReplaceAllString(s.Name, "_")
	st.LockFile = r.LockFile
	if st.LockFile == "" {
		st.LockFile = filepath.Join(st.StateDir, file+".lock")
	}
	st.AuditLog = r.AuditLog
	if st.AuditLog == "" {
		st.AuditLog = filepath.Join(st.StateDir, file+"-audit.jsonl")
	}
	if o := r.Output; o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("release.output.url = %q: expected http(s)://HOST:PORT of InfluxDB or Telegraf's influxdb_v2_listener", o.URL)
		}
		if o.Bucket == "" {
			return errors.New(`release.output.bucket is required with release.output.url ("database/retention-policy" for InfluxDB 1.8)`)
		}
		if t := time.Duration(o.Timeout); t != 0 && (t < time.Second || t > 5*time.Minute) {
			return fmt.Errorf("release.output.timeout = %q: expected a duration from 1s to 5m", t)
		}
		st.Output = &r.Output
		st.OutputTags = o.Tags
	}
	s.Settings = st
	return nil
}

// InflightFile notes the DELETEs of the run in progress.
func (s *Site) InflightFile() string {
	return filepath.Join(s.Settings.StateDir, unsafeFileChars.ReplaceAllString(s.Name, "_")+"-inflight.jsonl")
}

// SpoolFile is where outcomes wait for delivery when the audit log is on stdout.
func (s *Site) SpoolFile() string {
	return filepath.Join(s.Settings.StateDir, unsafeFileChars.ReplaceAllString(s.Name, "_")+"-spool.jsonl")
}

// slogLogger lets the plugin's Init warnings (insecure_skip_verify, a readable key) reach
// the sidecar's structured log.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Level() telegraf.LogLevel  { return telegraf.Info }
func (slogLogger) AddAttribute(string, any)    {}
func (s slogLogger) Errorf(f string, a ...any) { s.l.Error(fmt.Sprintf(f, a...)) }
func (s slogLogger) Error(a ...any)            { s.l.Error(fmt.Sprint(a...)) }
func (s slogLogger) Warnf(f string, a ...any)  { s.l.Warn(fmt.Sprintf(f, a...)) }
func (s slogLogger) Warn(a ...any)             { s.l.Warn(fmt.Sprint(a...)) }
func (s slogLogger) Infof(f string, a ...any)  { s.l.Info(fmt.Sprintf(f, a...)) }
func (s slogLogger) Info(a ...any)             { s.l.Info(fmt.Sprint(a...)) }
func (s slogLogger) Debugf(f string, a ...any) { s.l.Debug(fmt.Sprintf(f, a...)) }
func (s slogLogger) Debug(a ...any)            { s.l.Debug(fmt.Sprint(a...)) }
func (s slogLogger) Tracef(f string, a ...any) { s.l.Debug(fmt.Sprintf(f, a...)) }
func (s slogLogger) Trace(a ...any)            { s.l.Debug(fmt.Sprint(a...)) }
