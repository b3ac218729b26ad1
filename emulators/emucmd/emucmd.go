// Package emucmd is what the emulators' commands (qrs-emulator, qlik-cloud-emulator) share:
// the flag set, -version, -now, -hosts, the fault flags both APIs know, and serving until
// SIGINT or SIGTERM. Each command keeps its own flags and maps the fault flags onto its
// emulator's own fault settings.
package emucmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Command is one emulator command being run.
type Command struct {
	Name           string
	Flags          *flag.FlagSet
	Stdout, Stderr io.Writer

	version, now, hosts *string
	showVersion         *bool
}

// New starts the command name: its flag set (errors and usage to stderr) with -version,
// -hosts and -now ("the <clock>'s fixed clock"), the rest to be added by the caller.
func New(name, clock, version string, stdout, stderr io.Writer) *Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &Command{
		Name: name, Flags: fs, Stdout: stdout, Stderr: stderr, version: &version,
		showVersion: fs.Bool("version", false, "print the version and exit"),
		hosts:       fs.String("hosts", "", "extra comma-separated names for the server certificate"),
		now:         fs.String("now", "", "the "+clock+"'s fixed clock, RFC 3339 (default: the real clock)"),
	}
}

// Parse parses args. When done, the command ends with code: 0 after -h or -version
// (printed), 2 after a bad flag (the flag package has said why) or a bad -now.
func (c *Command) Parse(args []string) (code int, done bool) {
	if err := c.Flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	if *c.showVersion {
		fmt.Fprintln(c.Stdout, c.Name, *c.version)
		return 0, true
	}
	if _, err := c.parseNow(); err != nil {
		fmt.Fprintf(c.Stderr, "%s: -now %q: expected RFC 3339 such as 2026-05-04T10:00:00Z\n", c.Name, *c.now)
		return 2, true
	}
	return 0, false
}

func (c *Command) parseNow() (time.Time, error) {
	if *c.now == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, *c.now)
}

// Now is the -now clock, zero when not given (the real clock). Call it after Parse.
func (c *Command) Now() time.Time {
	t, _ := c.parseNow()
	return t
}

// Hosts are the -hosts names, blanks dropped.
func (c *Command) Hosts() []string {
	var out []string
	for _, h := range strings.Split(*c.hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// Failf prints "name: message" to stderr and returns code, for `return c.Failf(1, …)`.
func (c *Command) Failf(code int, format string, args ...any) int {
	fmt.Fprintf(c.Stderr, c.Name+": "+format+"\n", args...)
	return code
}

// Faults are the fault flags both emulators take; each command maps them onto its own
// emulator's fault settings.
type Faults struct {
	ErrorRate, TooManyRate, ResetRate, LoseAnswerRate *float64
	BadGatewayAfterRate, GatewayTimeoutAfterRate      *float64
	PathContains, Method                              *string
}

// FaultFlags adds the shared fault flags; methodUsage is -fault-method's help, which says
// what else the method limits in that emulator.
func (c *Command) FaultFlags(methodUsage string) Faults {
	fs := c.Flags
	return Faults{
		ErrorRate:               fs.Float64("error-rate", 0, "fraction of requests answered 500"),
		TooManyRate:             fs.Float64("429-rate", 0, "fraction of requests answered 429 with Retry-After"),
		ResetRate:               fs.Float64("reset-rate", 0, "fraction of connections reset before answering"),
		LoseAnswerRate:          fs.Float64("lose-answer-rate", 0, "fraction of requests carried out whose answer is lost (connection closed)"),
		BadGatewayAfterRate:     fs.Float64("bad-gateway-after-rate", 0, "fraction of requests carried out, then answered 502 (a proxy that gave up waiting)"),
		GatewayTimeoutAfterRate: fs.Float64("gateway-timeout-after-rate", 0, "fraction of requests carried out, then answered 504"),
		PathContains:            fs.String("fault-path", "", "limit faults to paths containing this"),
		Method:                  fs.String("fault-method", "", methodUsage),
	}
}

// Serve waits for SIGINT or SIGTERM, or for stop to close (tests; nil: never), then says
// it is stopping and shuts down, giving requests in flight 5 seconds. It returns 0.
func (c *Command) Serve(stop <-chan struct{}, shutdown func(context.Context) error) int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	select {
	case <-ctx.Done():
	case <-stop:
	}
	fmt.Fprintln(c.Stdout, c.Name+": stopping")
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = shutdown(sctx)
	return 0
}
