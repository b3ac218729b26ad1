// Command qliksense-license-release releases Qlik Sense license allocations that nobody
// uses, per the release policy in the plugin's own configuration file: on a schedule
// (run), once (once), or not at all (plan shows what a run would do).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	influxlog "github.com/influxdata/influxdb-client-go/v2/log"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/butler"
	"github.com/qliksense-license/qliksense-license/release/ownerreport"
	"github.com/qliksense-license/qliksense-license/release/report"
)

var version = "dev"

const usage = `usage: qliksense-license-release COMMAND -config FILE [-config FILE ...] [flags]

Commands:
  run           the service: runs each site on its schedule; SIGHUP reloads, SIGINT/SIGTERM stop
  plan          evaluate now and change nothing: every allocation, its verdict and why
  once          one real run now (honours dry_run)
  rightsize     every professional holder, whether analyzer access would do, and why
                (authoring in the window, admin roles, protections); changes nothing;
                a site's only (a Qlik Cloud tenant beside a site is left out, and a
                file of tenants alone refused)
  report        the license report the owner reads: one self-contained HTML page per
                site or tenant (-out FILE, or stdout): pools, what to buy and when,
                charts, what the release policy reclaimed and can reclaim,
                right-sizing, failures, the server license; [report] enabled mails
                it on schedule (run)
  forecast      when to buy more licenses: per seat type, the trend of the history in
                InfluxDB ([forecast] table), the dates the pool and its margin are
                reached, buy by DATE, seats to buy; changes nothing
  check-config  validate the files and print the effective policy per site; with -connect
                also contact each site (and its InfluxDB output) step by step: the
                connection doctor
  convert-butler-config BUTLER.yaml
                print Butler's license settings as this project's configuration file
  install -config FILE [-config FILE ...] [-log-file PATH] [-data-dir DIR]
          [-account NAME [-password-stdin]]
                Windows: install (or reconfigure) the Windows service that runs "run"
                with these files, as this account (default LocalSystem)
  uninstall, start, stop, reload
                Windows: remove, start, stop or reload that service (reload: the
                service reads its files again, as sc control … paramchange does)
  version       print the version

Each -config file is the [[inputs.qliksense_license]] file the Telegraf plugin reads: a
Qlik Sense site's table, a Qlik Cloud tenant's, or several side by side. run, once, plan
and check-config take every table of it that has an [inputs.qliksense_license.release]
table, each its own site; report takes every table; forecast every table with a
[forecast] table, rightsize every site's (another table beside one is left out, and
said so; a file of such tables alone is refused).
`

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	configs  []string
	format   string
	logLevel string
	logJSON  bool
	logFile  string
	connect  bool
	service  bool
	out      string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd := args[0]
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "qliksense-license-release", version)
		return 0
	case "convert-butler-config":
		return convertButler(args[1:], stdout, stderr)
	case "install", "uninstall", "start", "stop", "reload":
		return serviceCommand(cmd, args[1:], stdout, stderr)
	}
	o := options{}
	fs := flag.NewFlagSet("qliksense-license-release "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Func("config", "a site's configuration file (repeat for several sites)", func(s string) error {
		o.configs = append(o.configs, s)
		return nil
	})
	fs.StringVar(&o.format, "format", report.FormatTable, "plan, rightsize and forecast: table, json or csv")
	fs.StringVar(&o.out, "out", "", "report: write the page to this file (several sites: FILE-SITE.html each) instead of stdout")
	fs.BoolVar(&o.connect, "connect", false, "check-config: also contact each site and its output (the connection doctor)")
	fs.BoolVar(&o.service, "service", false, "run: run under the Windows service manager (install writes it into the service's command line)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.logJSON, "log-json", false, "log JSON lines instead of text")
	fs.StringVar(&o.logFile, "log-file", "", "append the log to this file instead of stderr (a Windows service: the file install wrote into its command line, else %ProgramData%\\qliksense-license\\qliksense-license-release.log)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch cmd {
	case "run", "plan", "once", "check-config", "rightsize", "forecast", "report":
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if len(o.configs) == 0 {
		fmt.Fprintln(stderr, "-config is required: the site's configuration file")
		return 2
	}
	if o.service && (cmd != "run" || !serviceSupported) {
		fmt.Fprintln(stderr, "-service: only for run, on Windows (install sets it)")
		return 2
	}
	// The service manager starts the service with -service in its command line (install
	// writes it): that, not how the parent process looks, says it runs as a service.
	asService := cmd == "run" && (o.service || isWindowsService())
	if (cmd == "plan" || cmd == "rightsize" || cmd == "forecast") && o.format != report.FormatTable && o.format != report.FormatJSON && o.format != report.FormatCSV {
		fmt.Fprintf(stderr, "-format %q: expected table, json or csv\n", o.format)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintf(stderr, "-log-level %q: expected debug, info, warn or error\n", o.logLevel)
		return 2
	}
	logOut := stderr
	if o.logFile == "" && asService {
		o.logFile = defaultServiceLog()
	}
	if o.logFile != "" {
		err := os.MkdirAll(filepath.Dir(o.logFile), 0o750)
		var f *os.File
		if err == nil {
			f, err = os.OpenFile(o.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		}
		if err != nil {
			fmt.Fprintf(stderr, "-log-file: %v\n", err)
			if asService {
				return serviceFailed(exitLog, "-log-file: "+err.Error())
			}
			return 1
		}
		defer f.Close()
		logOut = f
	}
	var handler slog.Handler = slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level})
	if o.logJSON {
		handler = slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(handler)
	influxlog.Log = nil // its global logger would print outside our structured log

	switch cmd {
	case "rightsize":
		return readOnlyCmd(ctx, o.configs, o.format, stdout, log, "right-sizing", rightsizeApplies, rightsizeReport)
	case "forecast":
		return readOnlyCmd(ctx, o.configs, o.format, stdout, log, "forecast", forecastApplies, forecastReport)
	case "report":
		return reportCmd(ctx, o.configs, o.out, stdout, log)
	}
	sites, err := release.LoadSites(o.configs, log)
	if err != nil {
		log.Error("invalid configuration", "err", err)
		if asService { // reported to the service manager, not a silent exit (error 1053)
			return serviceFailed(exitConfig, "invalid configuration: "+err.Error())
		}
		return 1
	}
	switch cmd {
	case "check-config":
		code := 0
		for _, s := range sites {
			describe(stdout, s)
			if o.connect && !diagnose(ctx, stdout, s) {
				code = 1
			}
		}
		return code
	case "plan":
		return planCmd(ctx, sites, o.format, stdout, log)
	case "once":
		return onceCmd(ctx, sites, stdout, log)
	default:
		if asService {
			return runAsService(ctx, o.configs, sites, stdout, log)
		}
		return serve(ctx, o.configs, sites, stdout, log)
	}
}

func convertButler(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: qliksense-license-release convert-butler-config BUTLER.yaml > qliksense-license.conf")
		return 2
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer f.Close()
	if err := butler.Convert(f, stdout, filepath.Base(args[0])); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func planCmd(ctx context.Context, sites []*release.Site, format string, stdout io.Writer, log *slog.Logger) int {
	code := 0
	for _, s := range sites {
		r := &release.Runner{Site: s, Log: log, Now: time.Now}
		p, err := r.Plan(ctx)
		if err != nil {
			log.Error("planning failed", "site", s.Name, "err", err)
			code = 1
			continue
		}
		if err := report.Plan(stdout, p, format); err != nil {
			log.Error("writing the plan failed", "err", err)
			return 1
		}
		if len(p.Errors) > 0 {
			code = 1
		}
	}
	return code
}

// signals calls stop at the first SIGINT or SIGTERM; a second one ends the process at
// once (exit status 1): a DELETE then in flight is settled by the next start's recovery.
func signals(log *slog.Logger, stop func()) (cancel func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				n++
				if n == 1 {
					log.Info("stop requested: finishing the DELETEs in flight; a second signal exits at once", "signal", sig.String())
					stop()
					continue
				}
				log.Warn("second signal: exiting now; the next start settles any DELETE left in flight", "signal", sig.String())
				os.Exit(1)
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

func onceCmd(ctx context.Context, sites []*release.Site, stdout io.Writer, log *slog.Logger) int {
	stop := make(chan struct{})
	var once sync.Once
	defer signals(log, func() { once.Do(func() { close(stop) }) })()
	code := 0
	for _, s := range sites {
		r, err := release.NewRunner(s, log, stdout)
		if err != nil {
			log.Error("preparing the run failed", "site", s.Name, "err", err)
			code = 1
			continue
		}
		sum, err := r.Once(ctx, stop)
		r.FinalFlush(ctx) // after a stop; otherwise Once has delivered already
		if n := r.Pending(); n > 0 {
			log.Warn("outcomes wait in the spool for the output; the next run delivers them", "site", s.Name, "pending", n)
		}
		r.Close()
		if err != nil {
			log.Error("run failed", "site", s.Name, "err", err)
			code = 1
			continue
		}
		if sum.Failed > 0 || len(sum.Errors) > 0 {
			code = 1
		}
	}
	return code
}

// supervisor builds the run command's engine for these files.
func supervisor(paths []string, stdout io.Writer, log *slog.Logger) *release.Supervisor {
	return &release.Supervisor{
		Load:   func() ([]*release.Site, error) { return release.LoadSites(paths, log) },
		Log:    log,
		Stdout: stdout,
		Reports: &release.ReportJob{Build: func(ctx context.Context, s *release.Site, now time.Time) (*ownerreport.Data, error) {
			return ownerReport(ctx, s, now, log)
		}},
	}
}

// serve is the run command: the supervisor, stopped by SIGINT/SIGTERM and reloaded by
// SIGHUP.
func serve(ctx context.Context, paths []string, sites []*release.Site, stdout io.Writer, log *slog.Logger) int {
	sup := supervisor(paths, stdout, log)
	defer signals(log, sup.Stop)()
	hup := make(chan os.Signal, 1)
	notifyHUP(hup)
	done := make(chan struct{})
	defer func() { signal.Stop(hup); close(done) }()
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				log.Info("reload requested")
				sup.Reload()
			}
		}
	}()
	log.Info("starting", "sites", len(sites), "version", version)
	if err := sup.Serve(ctx, sites); err != nil {
		log.Error("starting failed", "err", err)
		return 1
	}
	return 0
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// describe prints a site's effective configuration; never a secret.
func describe(w io.Writer, s *release.Site) {
	r := s.Config.Release
	pol := s.Policy
	fmt.Fprintf(w, "site %s (%s)\n", s.Name, s.Path)
	if s.Cloud != nil {
		fmt.Fprintf(w, "  qlik cloud tenant: %s, auth %s\n", s.Cloud.Tenant(), s.Config.TenantAuthMode())
	} else {
		fmt.Fprintf(w, "  qrs: %s, auth %s\n", s.Client.BaseURL(), s.Config.Auth)
	}
	fmt.Fprintf(w, "  dry_run: %s\n", yesNo(pol.DryRun))
	fmt.Fprintf(w, "  max_releases_per_run: %d\n", pol.MaxReleasesPerRun)
	types := qrs.AccessTypes
	if pol.IsTenant() {
		types = policy.TenantTypes
	}
	for _, t := range types {
		if days, on := pol.Enabled(t); on {
			fmt.Fprintf(w, "  %s: released after %d days without use\n", t.Name(), days)
		} else {
			fmt.Fprintf(w, "  %s: not released\n", t.Name())
		}
	}
	pr := r.Protect
	if pol.IsTenant() {
		fmt.Fprintf(w, "  protected users (subject or email): %s\n", list(pr.Users))
		fmt.Fprintf(w, "  protected groups: %s\n", list(pr.Groups))
		fmt.Fprintf(w, "  protected roles: %s\n", list(pr.Roles))
		fmt.Fprintf(w, "  always release: disabled or deleted users %s\n", yesNo(r.AlwaysReleaseDisabled))
	} else {
		describeSiteProtection(w, r)
	}
	describeRuns(w, s)
}

// describeSiteProtection prints a site's protections.
func describeSiteProtection(w io.Writer, r *siteconfig.ReleaseConfig) {
	pr := r.Protect
	fmt.Fprintf(w, "  protected users: %s\n", list(pr.Users))
	fmt.Fprintf(w, "  protected user directories: %s\n", list(pr.UserDirectories))
	fmt.Fprintf(w, "  protected tags: %s\n", list(pr.Tags))
	fmt.Fprintf(w, "  protected custom properties: %s\n", list(pr.CustomProperties))
	var states []string
	for _, x := range []struct {
		on   bool
		name string
	}{{pr.InactiveUsers, "inactive"}, {pr.ActiveUsers, "active"}, {pr.BlockedUsers, "blocked"}, {pr.UnblockedUsers, "unblocked"}, {pr.RemovedExternallyUsers, "removed externally"}, {pr.PresentUsers, "present"}} {
		if x.on {
			states = append(states, x.name)
		}
	}
	fmt.Fprintf(w, "  protected user states: %s\n", list(states))
	fmt.Fprintf(w, "  always release: removed externally %s, inactive %s\n", yesNo(r.AlwaysReleaseRemovedExternally), yesNo(r.AlwaysReleaseInactive))
}

// describeRuns prints a site's schedule, state, notices and output.
func describeRuns(w io.Writer, s *release.Site) {
	st, pol := s.Settings, s.Policy
	if st.Schedule != nil {
		fmt.Fprintf(w, "  schedule: %s in %s, next run %s\n", st.ScheduleText, st.Location, st.Schedule.Next(time.Now().In(st.Location)).Format(time.RFC3339))
	} else {
		fmt.Fprintln(w, "  schedule: none (run with once)")
	}
	fmt.Fprintf(w, "  run at start: %s; pacing: %s; concurrency: %d\n", yesNo(st.RunAtStart), st.Pacing, st.Concurrency)
	fmt.Fprintf(w, "  lock: %s\n  audit log: %s\n", st.LockFile, st.AuditLog)
	if rs := s.RightsizeSettings; rs != nil && s.Cloud == nil {
		move := "off"
		if rs.MoveToAnalyzer {
			move = fmt.Sprintf("dry run, up to %d a run", rs.MaxMovesPerRun)
			if !rs.DryRun && !pol.DryRun {
				move = fmt.Sprintf("live, up to %d a run", rs.MaxMovesPerRun)
			}
		}
		fmt.Fprintf(w, "  rightsize: authoring in the last %d days; plugin measurement %s; move to analyzer: %s\n", rs.LookbackDays, yesNo(rs.Enabled), move)
	}
	if n := st.Notices; n != nil {
		var days []string
		for _, t := range qrs.AccessTypes {
			if d := pol.NoticeDays(t); d > 0 {
				days = append(days, fmt.Sprintf("%s %d days", t.Name(), d))
			}
		}
		without := "kept"
		if n.ReleaseWithoutEmail {
			without = "released without notice"
		}
		fmt.Fprintf(w, "  notices: %s; users without an email address: %s; state: %s\n", list(days), without, st.NoticeFile())
		m := n.Mail
		auth := "no authentication"
		if m.Username != "" {
			auth = "user " + m.Username + ", password set"
		}
		fmt.Fprintf(w, "  mail: %s:%d, tls %s, %s, from %s, one message per %s\n", m.Host, m.Port, m.TLS, auth, m.From, m.RateLimit)
		fmt.Fprintf(w, "  digest to: %s\n", list(n.DigestTo))
	}
	if rs, err := s.Config.ReportSettings(); err == nil && rs.Enabled {
		fmt.Fprintf(w, "  license report: mailed to %s on %q in %s, next %s; state %s\n", list(rs.To), rs.ScheduleText, rs.Location,
			rs.Schedule.Next(time.Now().In(rs.Location)).Format(time.RFC3339), st.ReportFile())
	}
	if st.Output != nil {
		token := "none"
		if !st.Output.Token.Empty() {
			token = "set"
		}
		fmt.Fprintf(w, "  output: %s, org %q, bucket %q, token %s; spool %s\n", st.Output.URL, st.Output.Org, st.Output.Bucket, token, st.SpoolFile())
	} else {
		fmt.Fprintln(w, "  output: none (audit log only)")
	}
}

func list(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return strings.Join(v, ", ")
}
