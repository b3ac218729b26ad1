// Command qliksense-license runs the qliksense_license input plugin through Telegraf's
// execd shim: line protocol on stdout, log lines with Telegraf's level prefixes on stderr.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/logger"
	"github.com/influxdata/telegraf/metric"
	"github.com/influxdata/telegraf/plugins/common/shim"
	"github.com/influxdata/telegraf/plugins/serializers/influx"

	"github.com/qliksense-license/qliksense-license/plugins/common/doctor"
	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// options are the command-line flags.
type options struct {
	configFile   string
	pollInterval time.Duration
	pollDisabled bool
	once         bool
	test         bool
	sample       bool
	showVersion  bool
	debug        bool
}

func newFlagSet(stderr io.Writer) (*flag.FlagSet, *options) {
	o := &options{}
	fs := flag.NewFlagSet("qliksense-license", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configFile, "config", "", "path to the plugin configuration file (its [[inputs.qliksense_license]] tables: sites and Qlik Cloud tenants)")
	fs.DurationVar(&o.pollInterval, "poll_interval", time.Minute, "how often to gather when Telegraf does not signal (execd signal = \"none\")")
	fs.BoolVar(&o.pollDisabled, "poll_interval_disabled", false, "gather only when Telegraf asks on stdin (execd signal = \"STDIN\")")
	fs.BoolVar(&o.once, "once", false, "gather once, print line protocol and exit: 0 when every QRS call succeeded, 1 otherwise")
	fs.BoolVar(&o.test, "test", false, "the connection doctor: contact the site step by step (certificates, TCP, TLS, QRS, license, rights), print what works and what does not with the fix, and exit: 0 when everything works")
	fs.BoolVar(&o.sample, "sample-config", false, "print the documented sample configuration and exit")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	fs.BoolVar(&o.debug, "debug", false, "log debug messages")
	return fs, o
}

func run(args []string, stdout, stderr io.Writer) int {
	fs, o := newFlagSet(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case o.showVersion:
		fmt.Fprintln(stdout, "qliksense-license", version)
		return 0
	case o.sample:
		fmt.Fprint(stdout, qliksense_license.New().SampleConfig())
		return 0
	case o.configFile == "":
		fmt.Fprintln(stderr, "E! -config is required: the path to the plugin configuration file")
		return 2
	}
	log := &prefixLogger{w: stderr, debug: o.debug}
	setupTelegrafLogging(log)

	plugin, err := qliksense_license.LoadConfigs(o.configFile)
	if err != nil {
		fmt.Fprintf(stderr, "E! %v\n", err)
		return 1
	}
	plugin.Log = log
	if o.test {
		fmt.Fprintf(stdout, "site file %s\n", o.configFile)
		ok, valid := true, 0
		for i, q := range plugin.Plugins {
			q.Log = log
			report := diagnose(context.Background(), q)
			if len(plugin.Plugins) > 1 {
				// The site, which Init derives from the URL; never the URL as given (it
				// may hold a password the configuration step refuses, masked).
				fmt.Fprintf(stdout, "site %s\n", cmp.Or(q.Site, fmt.Sprintf("of table %d", i+1)))
			}
			report.Print(stdout)
			ok = ok && report.OK()
			if q.Client() != nil || q.TenantClient() != nil { // Init passed: the table is valid
				valid++
			}
		}
		// The tables must name different sites, as the execd block checks at its start.
		if valid == len(plugin.Plugins) {
			if err := plugin.Distinct(); err != nil {
				fmt.Fprintf(stdout, "file %s\n", o.configFile)
				(&doctor.Report{Steps: []doctor.Step{{Name: "configuration", Detail: err.Error(),
					Fix: "each [[inputs.qliksense_license]] table of a file needs its own site"}}}).Print(stdout)
				ok = false
			}
		}
		if !ok {
			return 1
		}
		return 0
	}
	if o.once {
		return gatherOnce(plugin, stdout, log)
	}
	s := shim.New()
	if err := s.AddInput(plugin); err != nil {
		fmt.Fprintf(stderr, "E! %v\n", err)
		return 1
	}
	plugin.Log = log // the shim sets its own logger while adding the input
	interval := o.pollInterval
	if o.pollDisabled {
		interval = shim.PollIntervalDisabled
	}
	if err := s.Run(interval); err != nil {
		fmt.Fprintf(stderr, "E! %v\n", err)
		return 1
	}
	return 0
}

// setupTelegrafLogging routes Telegraf's own logger (used by the shim and by acc.AddError)
// through our prefixed writer, and stops its early-log buffer from growing.
func setupTelegrafLogging(l *prefixLogger) {
	logger.RedirectLogging(io.Discard)
	_, _ = logger.AddCallback(func(level telegraf.LogLevel, _ time.Time, _ string, _ map[string]interface{}, args ...interface{}) {
		l.print(level, fmt.Sprint(args...))
	})
}

// gatherOnce runs Init and one Gather, writing metrics as line protocol.
func gatherOnce(plugin *qliksense_license.Several, stdout io.Writer, log *prefixLogger) int {
	if err := plugin.Init(); err != nil {
		log.Errorf("%v", err)
		return 1
	}
	acc := &lineAccumulator{out: stdout, log: log, serializer: influx.Serializer{SortFields: true}}
	if err := acc.serializer.Init(); err != nil {
		log.Errorf("creating the serializer: %v", err)
		return 1
	}
	if err := plugin.Gather(acc); err != nil {
		acc.AddError(err)
	}
	plugin.Wait() // several tables gather on their own
	if acc.errors > 0 || acc.writeErr != nil {
		return 1
	}
	return 0
}

// lineAccumulator writes each metric as line protocol as it is added; the plugin adds
// from several goroutines.
type lineAccumulator struct {
	mu         sync.Mutex
	out        io.Writer
	log        *prefixLogger
	serializer influx.Serializer
	errors     int
	writeErr   error
}

func (a *lineAccumulator) add(name string, fields map[string]interface{}, tags map[string]string, vt telegraf.ValueType, t []time.Time) {
	ts := time.Now()
	if len(t) > 0 {
		ts = t[0]
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := a.serializer.Serialize(metric.New(name, tags, fields, ts, vt))
	if err != nil {
		a.log.Errorf("serializing %s: %v", name, err)
		a.errors++
		return
	}
	if _, err := a.out.Write(b); err != nil && a.writeErr == nil {
		a.writeErr = err
		a.log.Errorf("writing metrics: %v", err)
	}
}

func (a *lineAccumulator) AddFields(n string, f map[string]interface{}, tg map[string]string, t ...time.Time) {
	a.add(n, f, tg, telegraf.Untyped, t)
}
func (a *lineAccumulator) AddGauge(n string, f map[string]interface{}, tg map[string]string, t ...time.Time) {
	a.add(n, f, tg, telegraf.Gauge, t)
}
func (a *lineAccumulator) AddCounter(n string, f map[string]interface{}, tg map[string]string, t ...time.Time) {
	a.add(n, f, tg, telegraf.Counter, t)
}
func (a *lineAccumulator) AddSummary(n string, f map[string]interface{}, tg map[string]string, t ...time.Time) {
	a.add(n, f, tg, telegraf.Summary, t)
}
func (a *lineAccumulator) AddHistogram(n string, f map[string]interface{}, tg map[string]string, t ...time.Time) {
	a.add(n, f, tg, telegraf.Histogram, t)
}
func (a *lineAccumulator) AddMetric(m telegraf.Metric) {
	a.add(m.Name(), m.Fields(), m.Tags(), m.Type(), []time.Time{m.Time()})
}
func (*lineAccumulator) SetPrecision(time.Duration) {}
func (a *lineAccumulator) AddError(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errors++
	a.log.Errorf("%v", err)
}
func (*lineAccumulator) WithTracking(int) telegraf.TrackingAccumulator { return nil }

// diagnose runs Init and the connection doctor on the plugin's site: every step from the
// certificates to the acting user's rights (-test). The plugin only reads, so no right to
// delete is required.
func diagnose(ctx context.Context, q *qliksense_license.QlikSenseLicense) *doctor.Report {
	if err := q.Init(); err != nil {
		return &doctor.Report{Steps: []doctor.Step{{Name: "configuration", Detail: err.Error(),
			Fix: "docs/configuration.md says what each setting expects"}}}
	}
	if q.IsTenant() {
		return doctor.CheckTenant(ctx, &q.Config, q.TenantClient(), doctor.Needs{}, time.Now())
	}
	return doctor.Check(ctx, &q.Config, q.Client(), doctor.Needs{}, time.Now())
}
